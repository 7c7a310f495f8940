"""An SMTP server for Folio's tests: aiosmtpd, keeping each message it accepts as a JSON file
(envelope, headers, decoded text and HTML parts) in a folder the test reads.

    python3 mail_sink.py PORT FOLDER

Prints "ready" once it listens; stops when its standard input closes.
"""
import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Keep:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        # A mailbox that does not exist, for the tests of permanent refusals.
        if address.startswith("reject-"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "headers": [[k, str(v)] for k, v in message.items()],
            "text": text.get_content() if text else "",
            "html": html.get_content() if html else "",
        }
        self.count += 1
        name = f"{time.time_ns()}-{self.count}.json"
        path = os.path.join(self.folder, name)
        with open(path + ".tmp", "w") as out:
            json.dump(record, out)
        os.rename(path + ".tmp", path)
        return "250 Message accepted for delivery"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keep(folder), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    sys.stdin.read()
    controller.stop()


if __name__ == "__main__":
    main()
