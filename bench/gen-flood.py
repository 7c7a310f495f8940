#!/usr/bin/env python3
"""Signed activities for bench/federation's inbox flood: COUNT `Like`s of the blog's posts, each
from one of the bench's followers (u1..uN on 500 instances, 127.1.x.y:PORT), each with an id of
its own, signed as Mastodon signs (draft-cavage rsa-sha256 over `(request-target) host date
digest`) with one key that every follower's actor carries.

    gen-flood.py COUNT INSTANCES PER_INSTANCE INBOX_PORT BLOG_HOST POSTS_FILE OUT KEY_OUT

POSTS_FILE: the posts' URLs, one a line. OUT: one request a line, tab-separated:
date, digest, signature header, body. KEY_OUT: the public key (PEM), for the actors' rows."""
import base64
import hashlib
import json
import sys
import time
from email.utils import formatdate

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

count, instances, per_instance, inbox_port = (int(a) for a in sys.argv[1:5])
blog_host, posts_file, out_file, key_out = sys.argv[5:9]
posts = [line.strip() for line in open(posts_file) if line.strip()]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
with open(key_out, "wb") as f:
    f.write(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
date = formatdate(time.time(), usegmt=True)
run = int(time.time())
with open(out_file, "w") as out:
    for n in range(count):
        i = n % instances
        host = f"127.1.{i // 250}.{i % 250 + 1}:{inbox_port}"
        user = f"u{(n // instances) % per_instance + 1}"
        actor = f"http://{host}/users/{user}"
        body = json.dumps({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"http://{host}/likes/{run}-{n}",
            "type": "Like",
            "actor": actor,
            "object": posts[n % len(posts)],
        }, separators=(",", ":"))
        digest = "SHA-256=" + base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        text = (f"(request-target): post /fediverse/inbox\nhost: {blog_host}\n"
                f"date: {date}\ndigest: {digest}")
        signature = base64.b64encode(
            key.sign(text.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()
        header = (f'keyId="{actor}#main-key",algorithm="rsa-sha256",'
                  f'headers="(request-target) host date digest",signature="{signature}"')
        out.write(f"{date}\t{digest}\t{header}\t{body}\n")
