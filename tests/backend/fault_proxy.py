"""A fault-injecting HTTP proxy in front of the reference backend, for runs that must survive a
flaky network: the first requests answered 503 without reaching the backend, and some requests
forwarded (so the backend stores them) but their answers lost (the connection reset), which a
runner can only retry. Standard library only; one thread per connection, on 127.0.0.1."""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class FaultProxy:
    """Forward to ``target`` (``http://host:port``): answer 503 to the first ``unavailable``
    requests; with ``lose_first``, reset the connection after forwarding the first request of each
    method and path after them (the backend stored it; its answer is lost, so the runner retries)."""

    def __init__(self, target: str, *, unavailable: int = 0, lose_first: bool = False) -> None:
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.unavailable, self.lose_first = unavailable, lose_first
        self._seen: set[tuple[str, str]] = set()
        self.lock = threading.Lock()
        self.count = 0
        self.refused = 0
        self.lost: list[tuple[str, str]] = []  # (method, path) of the requests whose answers were lost
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def _fate(self, method: str, path: str) -> str:
        with self.lock:
            self.count += 1
            if self.count <= self.unavailable:
                self.refused += 1
                return "unavailable"
            if self.lose_first and (method, path) not in self._seen:
                self._seen.add((method, path))
                return "lose"
            return "forward"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fate = proxy._fate(self.command, self.path)
                if fate == "unavailable":
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                conn = http.client.HTTPConnection(proxy.host, proxy.port, timeout=30)
                try:
                    conn.request(self.command, self.path, body=body, headers=headers)
                    answer = conn.getresponse()
                    data = answer.read()
                finally:
                    conn.close()
                if fate == "lose":  # stored by the backend, but the runner never hears it
                    with proxy.lock:
                        proxy.lost.append((self.command, self.path))
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for key, value in answer.getheaders():
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _any

        return Handler

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
