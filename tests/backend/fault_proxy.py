"""A fault-injecting HTTP proxy in front of the reference backend, for runs that must survive a
flaky network and a backend that comes and goes. Standard library only; on 127.0.0.1.

What it does to a request is decided by :class:`Fault` rules, each matching some routes of the
runner protocol and some of their requests (after ``skip`` of them, ``times`` of them): answer a
status without forwarding (5xx bursts), cut the connection halfway through the request body (not
forwarded), forward then lose the answer (the backend stored it, the runner never hears so),
forward then hold the answer (slow answers, slow heartbeat answers), hold the request before
forwarding it (a copy that reaches the backend after the runner gave up and sent its retry and
more), or hold it for good (a stuck endpoint). The backend itself dying shows as 502, as any
reverse proxy answers when its upstream refuses; :meth:`FaultProxy.retarget` points the proxy at
a backend started again. ``single=True`` serves one connection at a time (a keep-alive client
holds it until it lets go), and every answer goes out as two writes with Nagle on, as Python's and
most development servers answer.
"""

from __future__ import annotations

import http.client
import socket
import struct
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import unquote, urlsplit

# What a fault does to a request it matches.
ACTIONS = ("answer", "cut", "lose", "slow", "late", "stuck")
# The routes of the runner protocol under /api/v1, as :func:`route` names them.
ROUTES = ("workflows", "workflow", "tasks", "task", "heartbeat", "logs", "other")
STUCK_LIMIT = 60.0  # a stuck request is let go after this (or when the proxy stops), whatever comes first


@dataclass(frozen=True)
class Fault:
    """``action`` on the requests of ``routes`` (every route when empty) and ``methods`` (every
    method when empty): the first ``skip`` matching requests pass, then ``times`` of them (all the
    rest when None) get it. ``seconds`` is the hold of ``slow`` and ``late``, ``status`` the answer
    of ``answer``."""

    action: str
    routes: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()
    skip: int = 0
    times: int | None = None
    seconds: float = 0.0
    status: int = 503

    def __post_init__(self) -> None:
        assert self.action in ACTIONS, self.action
        assert set(self.routes) <= set(ROUTES), self.routes

    def matches(self, method: str, where: str) -> bool:
        return (not self.routes or where in self.routes) and (not self.methods or method in self.methods)


class Seen(NamedTuple):
    """One request the proxy took: its method, raw path, route and what was done to it."""

    method: str
    path: str
    route: str
    fate: str  # "forward", an action of ACTIONS, "unavailable" or "lose_first", or "down" (502)
    status: int | None  # what the runner was answered; None when it got no answer


def route(path: str) -> str:
    """The runner protocol's route of a raw path under ``/api/v1`` (one of :data:`ROUTES`)."""
    segments = [unquote(part) for part in path.split("?", 1)[0].split("/")]
    rest = segments[3:] if segments[1:3] == ["api", "v1"] else []
    if not rest or rest[0] != "workflows":
        return "other"
    shapes = {1: "workflows", 2: "workflow"}
    if len(rest) in shapes:
        return shapes[len(rest)]
    if len(rest) == 3 and rest[2] in ("tasks", "heartbeat", "logs"):
        return rest[2]
    return "task" if len(rest) == 4 and rest[2] == "tasks" else "other"


class FaultProxy:
    """Forward to ``target`` (``http://host:port``), applying ``faults`` in order (the first that
    takes a request decides). Kept for the first proxy test: ``unavailable`` answers 503 to the
    first requests; ``lose_first`` resets the connection after forwarding the first request of each
    method and path after them (the backend stored it; its answer is lost, so the runner retries)."""

    def __init__(self, target: str, *faults: Fault, unavailable: int = 0, lose_first: bool = False,
                 single: bool = False) -> None:
        self.retarget(target)
        self.faults = faults
        self.unavailable, self.lose_first = unavailable, lose_first
        self._seen: set[tuple[str, str]] = set()
        self._matched = [0] * len(faults)  # requests each fault matched so far
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.count = 0
        self.refused = 0
        self.lost: list[tuple[str, str]] = []  # (method, path) of the requests whose answers were lost
        self.seen: list[Seen] = []
        self.holding = 0  # late requests held, not yet forwarded
        server_class = HTTPServer if single else ThreadingHTTPServer
        self._server = server_class(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def retarget(self, target: str) -> None:
        """Forward to ``target`` from now on (a backend started again, on another port)."""
        parts = urlsplit(target)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80

    def fired(self, action: str) -> int:
        """How many requests got ``action`` (or ``down``, ``unavailable``, ``lose_first``)."""
        with self.lock:
            return sum(1 for seen in self.seen if seen.fate == action)

    def settled(self) -> bool:
        """Whether every late request was forwarded (the backend has had every copy it will get)."""
        with self.lock:
            return self.holding == 0

    def _fate(self, method: str, path: str) -> tuple[str, Fault | None]:
        where = route(path)
        with self.lock:
            self.count += 1
            if self.count <= self.unavailable:
                self.refused += 1
                return "unavailable", None
            if self.lose_first and (method, path) not in self._seen:
                self._seen.add((method, path))
                return "lose_first", None
            for index, fault in enumerate(self.faults):
                if fault.matches(method, where):
                    self._matched[index] += 1
                    rank = self._matched[index] - fault.skip
                    if rank >= 1 and (fault.times is None or rank <= fault.times):
                        self.holding += fault.action == "late"
                        return fault.action, fault
            return "forward", None

    def _note(self, method: str, path: str, fate: str, status: int | None) -> None:
        with self.lock:
            self.seen.append(Seen(method, path, route(path), fate, status))

    def _forward(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, list[Any], bytes]:
        """The backend's answer; 502 when it cannot be reached (it is down)."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            answer = conn.getresponse()
            return answer.status, answer.getheaders(), answer.read()
        except (ConnectionError, OSError):
            return 502, [], b'{"error": "the backend cannot be reached"}'
        finally:
            conn.close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reset(self) -> None:
                """End the connection with a RST, so the runner sees it die rather than close."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def _reply(self, status: int, headers: list[Any], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("content-length", "connection", "transfer-encoding", "date", "server"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()  # the status line and headers: one write; the body another
                self.wfile.write(data)

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fate, fault = proxy._fate(self.command, self.path)
                if fate == "cut":  # half the body read, then the connection dies: nothing forwarded
                    self.rfile.read(length // 2)
                    proxy._note(self.command, self.path, fate, None)
                    self._reset()
                    return
                body = self.rfile.read(length)
                if fate in ("unavailable", "answer"):
                    status = 503 if fault is None else fault.status
                    proxy._note(self.command, self.path, fate, status)
                    self._reply(status, [], b'{"error": "unavailable on purpose"}')
                    return
                if fate == "stuck":  # never forwarded, never answered
                    proxy._note(self.command, self.path, fate, None)
                    proxy.stopping.wait(STUCK_LIMIT)
                    self._reset()
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
                if fate == "late" and fault is not None:
                    try:
                        if proxy.stopping.wait(fault.seconds):
                            return
                        status, answer_headers, data = proxy._forward(self.command, self.path, body, headers)
                    finally:
                        with proxy.lock:
                            proxy.holding -= 1
                else:
                    status, answer_headers, data = proxy._forward(self.command, self.path, body, headers)
                if fate in ("lose", "lose_first"):  # stored by the backend, but the runner never hears it
                    with proxy.lock:
                        proxy.lost.append((self.command, self.path))
                    proxy._note(self.command, self.path, fate, None)
                    self._reset()
                    return
                if fate == "slow" and fault is not None and proxy.stopping.wait(fault.seconds):
                    return
                proxy._note(self.command, self.path, "down" if status == 502 else fate, status)
                try:
                    self._reply(status, answer_headers, data)
                except OSError:  # a late answer to a runner that gave up on it
                    self.close_connection = True

            do_GET = do_POST = do_PATCH = _any

        return Handler

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
