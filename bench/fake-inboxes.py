#!/usr/bin/env python3
"""Fediverse inboxes for bench/federation: one asyncio server on 0.0.0.0:PORT answers every
instance (each is a 127.x.y.z address of its own, all on the loopback). Each POST is answered
202 after DELAY seconds (a remote server's time) and recorded as one line, "host activity-id",
in OUT. Prints "ready" when listening."""
import asyncio
import json
import sys

PORT = int(sys.argv[1])
OUT = sys.argv[2]
DELAY = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0

out = open(OUT, "a", buffering=1)


async def handle(reader, writer):
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            if DELAY:
                await asyncio.sleep(DELAY)
            try:
                activity = json.loads(body).get("id", "?")
            except ValueError:
                activity = "unreadable"
            # RFC 9421 (Signature-Input, Content-Digest) or draft-cavage (Signature, Digest).
            signed = (
                "signed"
                if "signature" in headers and ("content-digest" in headers or "digest" in headers)
                else "unsigned"
            )
            out.write(f"{headers.get('host', '?')} {activity} {signed}\n")
            writer.write(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main():
    server = await asyncio.start_server(handle, "0.0.0.0", PORT, backlog=1024)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
