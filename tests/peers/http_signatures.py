"""RFC 9421 HTTP Message Signatures by another implementation (pyauth's
http-message-signatures), driven by tests/it/fediverse.rs. Reads a JSON request on stdin:
{"method", "url", "headers": {name: value}, "body": text, "key": PEM, "key_id"}.

    http_signatures.py sign     prints the headers with Content-Digest, Signature-Input and
                                Signature added (rsa-v1_5-sha256, private key)
    http_signatures.py verify   verifies the request's RFC 9421 signature and its body digest
                                with the public key; prints the covered components
"""

import json
import sys

from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
from http_message_signatures import (
    HTTPMessageSigner,
    HTTPMessageVerifier,
    HTTPSignatureKeyResolver,
    algorithms,
)


class Request:
    def __init__(self, method, url, headers):
        self.method = method
        self.url = url
        self.headers = headers


class Keys(HTTPSignatureKeyResolver):
    def __init__(self, key_id, pem):
        self.key_id = key_id
        self.pem = pem.encode()

    def resolve_private_key(self, key_id):
        assert key_id == self.key_id, key_id
        return load_pem_private_key(self.pem, password=None)

    def resolve_public_key(self, key_id):
        assert key_id == self.key_id, key_id
        return load_pem_public_key(self.pem)


def main():
    command = sys.argv[1]
    given = json.load(sys.stdin)
    request = Request(given["method"], given["url"], dict(given["headers"]))
    body = given["body"].encode()
    keys = Keys(given["key_id"], given["key"])
    if command == "sign":
        signer = HTTPMessageSigner(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=keys)
        signer.sign(
            request,
            key_id=given["key_id"],
            covered_component_ids=("@method", "@authority", "@target-uri"),
            body=body,
        )
        print(json.dumps(request.headers))
    elif command == "verify":
        verifier = HTTPMessageVerifier(signature_algorithm=algorithms.RSA_V1_5_SHA256, key_resolver=keys)
        results = verifier.verify(
            request,
            require_components=("@method", "@target-uri"),
            body=body if body else None,
        )
        print(json.dumps([str(c) for c in results[0].covered_components]))
    else:
        sys.exit(f"unknown command {command}")


main()
