"""Other people's Webmention and microformats code, driven by tests/it/webmention.rs.

    webmention.py send SOURCE TARGET   ronkyuu discovers TARGET's endpoint and sends; prints
                                       the endpoint's status
    webmention.py parse URL            mf2py parses the page; prints its items as JSON
"""

import json
import sys


def main():
    command = sys.argv[1]
    if command == "send":
        import ronkyuu

        result = ronkyuu.sendWebmention(sys.argv[2], sys.argv[3], test_urls=False, timeout=10)
        if result is None:
            print("no endpoint found", file=sys.stderr)
            sys.exit(1)
        print(result.status_code)
    elif command == "parse":
        import mf2py

        print(json.dumps(mf2py.parse(url=sys.argv[2])))
    else:
        sys.exit(f"unknown command {command}")


main()
