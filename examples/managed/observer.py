"""A tiny local backend that prints every status report it receives.

    python examples/managed/observer.py --port 8765

It answers the four ServerAPI endpoints (POST/PATCH under /api/v1/workflows...) with 201/200
and prints one line per call, so you can watch a managed run on one machine. It stops after
``--max-seconds`` (default 600) so it never lingers.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PRINT = threading.Lock()


class Observer(BaseHTTPRequestHandler):
    # Keep-alive with Nagle on, like Flask's and Django's dev servers: dotflow's client is made
    # not to stall on it (see dotflow/delivery/_quickack.py).
    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        what = body.get("status") or ""
        token = "token ok" if self.headers.get("X-User-Token") else "NO TOKEN"
        with _PRINT:  # requests arrive on several connections at once: one whole line each
            print(f"{self.command:<5} {self.path}  {what}  ({token})", flush=True)
        answer = json.dumps({"ok": True}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_POST = do_PATCH = do_GET = _handle

    def log_message(self, format: str, *args: object) -> None:  # the print above is the log
        pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--max-seconds", type=float, default=600.0)
    args = parser.parse_args(argv)
    server = ThreadingHTTPServer((args.host, args.port), Observer)
    print(f"observer listening on http://{args.host}:{server.server_address[1]}/api/v1", flush=True)
    stopper = threading.Timer(args.max_seconds, server.shutdown)
    stopper.daemon = True
    stopper.start()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        sys.exit(0)


if __name__ == "__main__":
    main()
