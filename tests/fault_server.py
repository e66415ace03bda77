"""A fault-injection HTTP server that imitates the backend receiving dotflow status reports.

Standard library only: benchmark scripts also run it under a venv holding nothing but the stdlib and an
old dotflow. It is used two ways:

* in-process, from tests::

      with FaultServer("unavailable", fail_first=2) as server:
          run_something_that_reports_to(server.url)
          assert server.wait_for(lambda s: s.final_statuses().get("0") == "Completed", timeout=5)

* as a separate process, from benchmarks::

      python tests/fault_server.py MODE [--delay S] [--fail-first N] [--body-size B] [--port P] [--base-path P]
                                        [--protocol 2] [--heartbeat-interval S] [--cancel-after N] ...

  which prints one JSON line ``{"url": ..., "port": ...}`` and serves until SIGTERM/SIGINT or until its
  stdin reaches EOF; the record is then read with :func:`fetch_record` and :func:`summarize`, and a
  cancel or a lost lease is asked for with :func:`request_cancel` and :func:`request_lease_loss`.

Routes are recognised under any path prefix (our client sends ``/api/v1/workflows/...``, dotflow 1.0.1
sends ``/api/v1/cli/workflows/...``): the path is split on ``/``, each segment percent-decoded, and the
first segment equal to ``workflows`` starts the route. The modes are listed in :data:`MODES` and
described on :class:`FaultServer`.

Protocol version 2 (``docs/protocol/openapi.yaml``, the runner's heartbeat and logs calls, the
``Dotflow-Protocol`` and ``Dotflow-Token`` answer headers) is a set of options orthogonal to the mode:
``FaultServer("slow", protocol=2, heartbeat_interval=1, cancel_after=3)`` is a slow version-2 backend.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, HTTPServer, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import unquote

MODES: tuple[str, ...] = (
    "healthy",
    "nodelay",
    "slow",
    "blackhole",
    "refused",
    "unauthorized",
    "unavailable",
    "reset",
    "stall",
    "error",
    "redirect",
    "bigbody",
    "single",
    "strict",
    "trickle",
)

# Control routes for a parent in another process; exact paths, so no API route (which always holds a
# "workflows" segment after some prefix) can collide with them.
RECORD_PATH = "/__fault__/record"
CLEAR_PATH = "/__fault__/clear"
CANCEL_PATH = "/__fault__/cancel"
LEASE_PATH = "/__fault__/lease"

PROTOCOLS: tuple[int, ...] = (1, 2)
# The routes protocol version 2 adds: POST {prefix}/workflows/{wid}/heartbeat and .../logs.
V2_ROUTES: tuple[str, ...] = ("heartbeat", "logs")
_FOREVER = float("inf")  # a logs_delay that never ends: a black-holed logs endpoint
# What a heartbeat is answered once the lease is gone: the backend declared the run Crashed (410) or gave
# the work to another runner (409).
LEASE_STATUSES: tuple[int, ...] = (409, 410)
DEFAULT_CANCEL_REASON = "cancel requested by the fault server"
DEFAULT_CANCEL_GRACE = 10

DEFAULT_REDIRECT = "http://127.0.0.2:9/elsewhere"
# The body length trickle mode promises, then sends at one byte a second.
TRICKLE_LENGTH = 60

# bigbody writes this one buffer over and over instead of building body_size bytes in memory.
_CHUNK = b"x" * (1 << 20)
# What reset mode sends before the RST: a status line and half a header, so the client has started
# parsing an answer when the connection dies under it.
_RESET_PREFIX = b"HTTP/1.1 200 OK\r\nContent-Le"
# How long stop() waits, in all, for handler threads to notice it; the handlers only ever block on the
# stop event or on a socket that stop() shuts down, so this is a bound, not an expected wait.
_STOP_JOIN = 0.5


class Recorded(NamedTuple):
    """One request as the server received it, and what it answered."""

    method: str
    path: str  # raw path as received (still percent-encoded)
    headers: dict[str, str]  # header names lower-cased
    body: Any  # parsed JSON, or None when empty/invalid
    raw: bytes
    at: float  # time.monotonic() when the request was fully read
    status: int | None  # the HTTP status answered, None when the mode never answered
    route: str  # "workflows" | "workflow" | "tasks" | "task" | "heartbeat" | "logs" | "other"
    workflow_id: str | None  # decoded
    task_id: str | None  # decoded; for POST .../tasks taken from body["id"] or body["task_id"]

    @property
    def token(self) -> str | None:
        """The ``X-User-Token`` the request carried, None without one."""
        return self.headers.get("x-user-token")


class Heartbeat(NamedTuple):
    """One ``POST .../workflows/{wid}/heartbeat`` as received, whatever it was answered."""

    at: float  # when it was fully read: time.monotonic(), or seconds from the server's start cross-process
    workflow_id: str | None
    body: Any  # the parsed JSON body, None when empty or invalid
    status: int | None  # the status answered, None when never answered


# -- routing -----------------------------------------------------------------------------------------


def _parse_route(path: str) -> tuple[str, str | None, str | None]:
    """``(route, workflow_id, task_id)`` for a raw request path, ids decoded."""
    target = path.split("?", 1)[0]
    # Split before decoding: an id holding "%2F" must stay one segment.
    segments = [unquote(segment) for segment in target.split("/")]
    try:
        start = segments.index("workflows")
    except ValueError:
        return "other", None, None
    rest = segments[start + 1 :]
    if rest and rest[-1] == "":
        rest = rest[:-1]  # a trailing slash names the same route
    if not rest:
        return "workflows", None, None
    if len(rest) == 1:
        return "workflow", rest[0], None
    if len(rest) == 2 and rest[1] in V2_ROUTES:
        return rest[1], rest[0], None
    if rest[1] != "tasks" or len(rest) > 3:
        return "other", rest[0], None
    if len(rest) == 2:
        return "tasks", rest[0], None
    return "task", rest[0], rest[2]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _strict_json(raw: bytes) -> bool:
    """Whether ``raw`` is JSON as RFC 8259 defines it: Python's reader also takes NaN and Infinity."""
    try:
        json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return False
    return True


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError too
        return None


def _body_id(body: Any, *keys: str) -> str | None:
    """The first of ``keys`` present in a dict body, as text (dotflow task ids are ints)."""
    if isinstance(body, dict):
        for key in keys:
            value = body.get(key)
            if value is not None:
                return str(value)
    return None


# -- bookkeeping, shared by FaultServer (in-process) and summarize (cross-process) ---------------------
#
# Both work on mappings with the Recorded field names: FaultServer passes Recorded._asdict(), a parent
# process passes the dicts fetch_record() returned. One implementation, so the two can never disagree.


def _answered(record: Mapping[str, Any]) -> bool:
    """Answered 2xx: what a real backend would have stored."""
    status = record.get("status")
    return isinstance(status, int) and 200 <= status < 300


def _reported_status(record: Mapping[str, Any]) -> str | None:
    body = record.get("body")
    if isinstance(body, dict) and body.get("status") is not None:
        return str(body["status"])
    return None


def _matches(record: Mapping[str, Any], workflow_id: str | None) -> bool:
    return workflow_id is None or record.get("workflow_id") == workflow_id


def _task_reports(records: Iterable[Mapping[str, Any]], workflow_id: str | None) -> Iterator[tuple[str, str]]:
    """``(task_id, status)`` of every 2xx task report, in order of receipt."""
    for record in records:
        if not (_answered(record) and _matches(record, workflow_id)):
            continue
        if (record.get("method"), record.get("route")) not in (("POST", "tasks"), ("PATCH", "task")):
            continue
        task_id, status = record.get("task_id"), _reported_status(record)
        if task_id is not None and status is not None:
            yield task_id, status


def _task_statuses(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> dict[str, list[str]]:
    statuses: dict[str, list[str]] = {}
    for task_id, status in _task_reports(records, workflow_id):
        statuses.setdefault(task_id, []).append(status)
    return statuses


def _final_statuses(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> dict[str, str]:
    return {task_id: statuses[-1] for task_id, statuses in _task_statuses(records, workflow_id).items()}


def _workflow_statuses(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> list[str]:
    statuses: list[str] = []
    for record in records:
        if _answered(record) and _matches(record, workflow_id):
            if (record.get("method"), record.get("route")) == ("PATCH", "workflow"):
                status = _reported_status(record)
                if status is not None:
                    statuses.append(status)
    return statuses


def _created_workflows(records: Iterable[Mapping[str, Any]]) -> list[str]:
    return [
        str(record["workflow_id"])
        for record in records
        if _answered(record)
        and (record.get("method"), record.get("route")) == ("POST", "workflows")
        and record.get("workflow_id") is not None
    ]


def heartbeats_in(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> list[Heartbeat]:
    """Every heartbeat POST among ``records``, answered or not, in order of receipt."""
    return [
        Heartbeat(record.get("at", 0.0), record.get("workflow_id"), record.get("body"), record.get("status"))
        for record in records
        if (record.get("method"), record.get("route")) == ("POST", "heartbeat") and _matches(record, workflow_id)
    ]


def _stored_log_bodies(records: Iterable[Mapping[str, Any]], workflow_id: str | None) -> Iterator[dict[str, Any]]:
    """The bodies of the logs POSTs answered 2xx (what a backend kept), in order of receipt."""
    for record in records:
        if (record.get("method"), record.get("route")) != ("POST", "logs"):
            continue
        body = record.get("body")
        if _answered(record) and _matches(record, workflow_id) and isinstance(body, dict):
            yield body


def log_records_in(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> list[Any]:
    """The log records of every logs POST answered 2xx, flattened in order of receipt.

    Nothing is deduplicated: a batch sent twice and stored twice shows twice, as a backend that does not
    look at ``seq`` would have stored it. Each record is a copy of what was sent (a dict, unless the runner
    sent something else, which is kept as it came).
    """
    flat: list[Any] = []
    for body in _stored_log_bodies(records, workflow_id):
        batch = body.get("records")
        if isinstance(batch, list):
            flat.extend(dict(item) if isinstance(item, dict) else item for item in batch)
    return flat


def log_dropped_in(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> int:
    """The sum of the ``dropped`` counts of the logs POSTs answered 2xx."""
    total = 0
    for body in _stored_log_bodies(records, workflow_id):
        dropped = body.get("dropped")
        if isinstance(dropped, int) and not isinstance(dropped, bool):
            total += dropped
    return total


def tokens_in(records: Iterable[Mapping[str, Any]], workflow_id: str | None = None) -> list[str | None]:
    """The ``X-User-Token`` of each request, in order of receipt (None for a request without one)."""
    tokens: list[str | None] = []
    for record in records:
        if _matches(record, workflow_id):
            headers = record.get("headers")
            tokens.append(headers.get("x-user-token") if isinstance(headers, Mapping) else None)
    return tokens


def summarize(records: list[dict[str, Any]], workflow_id: str | None = None) -> dict[str, Any]:
    """What a backend would have stored, from :func:`fetch_record`'s records (or ``Recorded._asdict()``).

    ``requests`` and ``answered_2xx`` count the records of ``workflow_id`` when one is given, else all;
    ``tasks`` is the number of distinct task ids seen in 2xx task reports; ``final`` counts tasks by
    their last 2xx status; ``workflow`` lists the 2xx workflow statuses in order; ``heartbeats`` counts
    the heartbeat POSTs received (answered or not) and ``log_records`` the records of the logs POSTs
    answered 2xx.
    """
    chosen = [record for record in records if _matches(record, workflow_id)]
    final = _final_statuses(chosen)
    counts: dict[str, int] = {}
    for status in final.values():
        counts[status] = counts.get(status, 0) + 1
    return {
        "requests": len(chosen),
        "answered_2xx": sum(1 for record in chosen if _answered(record)),
        "tasks": len(final),
        "final": counts,
        "workflow": _workflow_statuses(chosen),
        "heartbeats": len(heartbeats_in(chosen)),
        "log_records": len(log_records_in(chosen)),
    }


# -- cross-process helpers ---------------------------------------------------------------------------


def _control_call(method: str, path: str, port: int, host: str, timeout: float, payload: Any = None) -> Any:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if payload is None:
            conn.request(method, path)
        else:
            conn.request(method, path, body=_json(payload), headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"fault server answered {response.status} to {method} {path}")
    return json.loads(data)


def fetch_record(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> list[dict[str, Any]]:
    """The record of a fault server in another process: Recorded fields but ``raw``, ``at`` from its start."""
    return list(_control_call("GET", RECORD_PATH, port, host, timeout)["requests"])


def clear_record(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Empty the record of a fault server in another process."""
    _control_call("POST", CLEAR_PATH, port, host, timeout)


def request_cancel(
    port: int,
    tasks: Iterable[str] | None = None,
    reason: str | None = None,
    grace: float | None = None,
    *,
    host: str = "127.0.0.1",
    timeout: float = 10.0,
) -> dict[str, Any]:
    """:meth:`FaultServer.cancel` on a fault server in another process; the cancel it will now answer."""
    payload = {"tasks": None if tasks is None else [str(task) for task in tasks], "reason": reason, "grace": grace}
    return dict(_control_call("POST", CANCEL_PATH, port, host, timeout, payload)["cancel"])


def request_lease_loss(port: int, status: int | None = None, *, host: str = "127.0.0.1", timeout: float = 10.0) -> int:
    """:meth:`FaultServer.lose_lease` on a fault server in another process; the status heartbeats now get."""
    return int(_control_call("POST", LEASE_PATH, port, host, timeout, {"status": status})["status"])


def _free_port(host: str) -> int:
    # Bound and closed at once: nothing listens there afterwards, so connecting is refused (unless another
    # program happens to take the port in between, which a test run can live with).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _json(payload: Any) -> bytes:
    return json.dumps(payload, default=str).encode()


# -- the HTTP side -----------------------------------------------------------------------------------


class _Slot:
    """A record in the making: appended when the request is read, its status filled in on answering.

    Handlers hold their slot, so clear() can drop slots from the list without any handler noticing.
    ``number`` is the request's rank over the server's life (from 1, all routes), ``beat`` the heartbeat's
    rank (from 1, 0 for any other request); clear() resets neither count.
    """

    __slots__ = ("rec", "number", "beat")

    def __init__(self, rec: Recorded, number: int, beat: int) -> None:
        self.rec = rec
        self.number = number
        self.beat = beat


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open many connections at once; the default backlog of 5 would make some of them wait.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], fault: FaultServer) -> None:
        self.fault = fault
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(host), a reverse DNS lookup that can take seconds in a
        # sandbox; the name is only used for CGI variables.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # The default prints a traceback to stderr. Clients hanging up on a fault is the point of this
        # server, so connection errors are silent; anything else is kept for a test to look at.
        error = sys.exc_info()[1]
        if error is not None and not isinstance(error, OSError):
            self.fault._note_error(error)


class _SingleHTTPServer(HTTPServer):
    """``single`` mode: Python's plain ``HTTPServer``, one connection at a time (HTTP/1.1 keep-alive
    holds it until the client closes it), the others waiting in its accept queue."""

    def __init__(self, address: tuple[str, int], fault: FaultServer) -> None:
        self.fault = fault
        super().__init__(address, _Handler)

    server_bind = _HTTPServer.server_bind
    handle_error = _HTTPServer.handle_error


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: connections stay open between requests, like a real backend behind requests.Session.
    protocol_version = "HTTP/1.1"
    server: _HTTPServer | _SingleHTTPServer
    # Headers every answer to the request being served carries (Dotflow-Protocol, Dotflow-Token), whatever
    # the mode makes of it; set by _serve for an API request, empty otherwise.
    _extra_headers: Sequence[tuple[str, str]] = ()

    def setup(self) -> None:
        # StreamRequestHandler.setup reads this attribute; set on the instance, it is per server. Only
        # nodelay turns Nagle off: healthy keeps the default, like Python's, Flask's and Django's dev servers.
        self.disable_nagle_algorithm = self.server.fault.mode == "nodelay"
        super().setup()
        self.server.fault._track(self)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fault._untrack(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no access log on stderr: tests and benchmarks read it

    def send_response(self, code: int, message: str | None = None) -> None:
        # Every way a mode starts an answer goes through here, so no mode can leave these headers out.
        super().send_response(code, message)
        for name, value in self._extra_headers:
            self.send_header(name, value)

    # -- reading -------------------------------------------------------------------------------------

    def _read_body(self) -> bytes:
        """The whole request body: answering before it is read would desynchronise a keep-alive connection."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        text = self.headers.get("Content-Length")
        if not text:
            return b""
        try:
            length = int(text)
        except ValueError:
            length = -1
        if length < 0:
            # No usable length: where the next request starts is unknown, so this one is the last.
            self.close_connection = True
            return b""
        data = self.rfile.read(length)
        if len(data) < length:
            self.close_connection = True  # the client went away mid-body
        return data

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = True
                break
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers: read and dropped
                break
            parts.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF closing the chunk
        return b"".join(parts)

    def _header_dict(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        return headers

    # -- dispatch ------------------------------------------------------------------------------------

    def _serve(self) -> None:
        fault = self.server.fault
        raw = self._read_body()
        target = self.path.split("?", 1)[0]
        if target.startswith("/__fault__/"):
            self._control(target, raw)
            return
        slot = fault._record(self.command, self.path, self._header_dict(), raw)
        self._extra_headers = fault._answer_headers(slot)
        try:
            getattr(self, f"_mode_{fault.mode}")(slot)
        finally:
            # An error answer for an unparsable next request on this connection must not carry them.
            self._extra_headers = ()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _serve

    def _control(self, target: str, raw: bytes) -> None:
        fault = self.server.fault
        if target == RECORD_PATH and self.command == "GET":
            self._answer(None, 200, _json({"requests": fault._record_dicts()}))
        elif target == CLEAR_PATH and self.command == "POST":
            fault.clear()
            self._answer(None, 200, _json({"cleared": True}))
        elif target == CANCEL_PATH and self.command == "POST":
            self._control_cancel(raw)
        elif target == LEASE_PATH and self.command == "POST":
            self._control_lease(raw)
        else:
            self._answer(None, 404, _json({"detail": "unknown fault-server route"}))

    @staticmethod
    def _control_body(raw: bytes) -> dict[str, Any] | None:
        """A control route's JSON object ({} for an empty body), None when the body is anything else."""
        if not raw.strip():
            return {}
        body = _parse_json(raw)
        return body if isinstance(body, dict) else None

    def _control_cancel(self, raw: bytes) -> None:
        body = self._control_body(raw)
        tasks = None if body is None else body.get("tasks")
        reason = None if body is None else body.get("reason")
        grace = None if body is None else body.get("grace")
        valid = (
            body is not None
            and (tasks is None or (isinstance(tasks, list) and all(isinstance(task, str) for task in tasks)))
            and (reason is None or isinstance(reason, str))
            and (grace is None or (isinstance(grace, (int, float)) and not isinstance(grace, bool)))
        )
        if not valid:
            detail = "expected {tasks: null | [str], reason: str | null, grace: number | null}"
            self._answer(None, 400, _json({"detail": detail}))
            return
        cancel = self.server.fault.cancel(tasks, reason, grace)
        self._answer(None, 200, _json({"cancel": cancel}))

    def _control_lease(self, raw: bytes) -> None:
        body = self._control_body(raw)
        status = None if body is None else body.get("status")
        if body is None or not (status is None or status in LEASE_STATUSES):
            self._answer(None, 400, _json({"detail": f"expected {{status: null | one of {LEASE_STATUSES}}}"}))
            return
        self._answer(None, 200, _json({"status": self.server.fault.lose_lease(status)}))

    # -- answering -----------------------------------------------------------------------------------

    def _end_headers(self, slot: _Slot | None, status: int) -> None:
        """Write the status line and headers (one write), the record marked answered first.

        Marked before the bytes go out, so a client that has read the answer always finds it recorded;
        unmarked again if the headers could not be written at all.
        """
        fault = self.server.fault
        if slot is not None:
            fault._set_status(slot, status)
        try:
            self.end_headers()
        except OSError:
            if slot is not None:
                fault._set_status(slot, None)
            raise

    def _answer(
        self,
        slot: _Slot | None,
        status: int,
        payload: bytes,
        *,
        content_type: str | None = "application/json",
        extra: Iterable[tuple[str, str]] = (),
    ) -> None:
        # Headers and body are two writes, the way Python's, Flask's and Django's dev servers answer:
        # with Nagle on, that is what stalls a keep-alive client on its delayed ACK.
        self.send_response(status)
        if content_type is not None:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in extra:
            self.send_header(name, value)
        self._end_headers(slot, status)
        if payload and self.command != "HEAD":
            self.wfile.write(payload)

    def _ok_status(self) -> int:
        return 201 if self.command == "POST" else 200

    def _mode_healthy(self, slot: _Slot) -> None:
        rec = slot.rec
        if rec.route in V2_ROUTES:
            self._version_2_route(slot)
            return
        payload: dict[str, Any] = {"ok": True, "route": rec.route}
        if rec.workflow_id is not None:
            payload["workflow_id"] = rec.workflow_id
        if rec.task_id is not None:
            payload["task_id"] = rec.task_id
        self._answer(slot, self._ok_status(), _json(payload))

    _mode_nodelay = _mode_healthy  # the difference is in setup(): TCP_NODELAY on the connection

    def _version_2_route(self, slot: _Slot) -> None:
        """A healthy answer to ``POST .../heartbeat`` or ``.../logs``: 404 from a version 1 backend."""
        fault = self.server.fault
        if fault.protocol == 1:
            self._answer(slot, 404, _json({"detail": "Not Found"}))
        elif self.command != "POST":
            self._answer(slot, 405, _json({"detail": "Method Not Allowed"}), extra=[("Allow", "POST")])
        elif slot.rec.route == "heartbeat":
            self._heartbeat(slot)
        elif fault.logs_delay > 0 and fault._stopping.wait(None if fault.logs_delay == _FOREVER else fault.logs_delay):
            self.close_connection = True  # stopped mid-sleep (or a black hole): never answered
        elif fault.logs_status is not None:
            self._answer(slot, fault.logs_status, _json({"detail": f"logs answered {fault.logs_status} on purpose"}))
        else:
            body = slot.rec.body
            batch = body.get("records") if isinstance(body, dict) else None
            self._answer(slot, 200, _json({"accepted": len(batch) if isinstance(batch, list) else 0}))

    def _heartbeat(self, slot: _Slot) -> None:
        fault = self.server.fault
        if fault.heartbeat_blackhole:
            # Read, recorded with status None, never answered; the connection closes when the server stops.
            fault._stopping.wait()
            self.close_connection = True
            return
        if fault.heartbeat_delay > 0 and fault._stopping.wait(fault.heartbeat_delay):
            self.close_connection = True  # stopped mid-sleep: never answered
            return
        # Decided after the delay: the answer says what the backend knows when it answers.
        status, payload = fault._heartbeat_answer(slot.beat)
        self._answer(slot, status, _json(payload))

    def _mode_slow(self, slot: _Slot) -> None:
        if self.server.fault._stopping.wait(self.server.fault.delay):
            self.close_connection = True  # stopped mid-sleep: never answered
            return
        self._mode_healthy(slot)

    def _mode_blackhole(self, slot: _Slot) -> None:
        # Read, recorded with status None, never answered; the connection closes when the server stops.
        self.server.fault._stopping.wait()
        self.close_connection = True

    def _mode_unauthorized(self, slot: _Slot) -> None:
        self._answer(slot, 401, _json({"detail": "invalid token"}))

    def _mode_unavailable(self, slot: _Slot) -> None:
        if self.server.fault._take_failure():
            self._answer(slot, 503, _json({"detail": "busy"}))
        else:
            self._mode_healthy(slot)

    def _mode_error(self, slot: _Slot) -> None:
        self._answer(slot, 500, _json({"detail": "boom"}))

    def _mode_redirect(self, slot: _Slot) -> None:
        location = (self.server.fault.redirect_to or DEFAULT_REDIRECT) + self.path
        self._answer(slot, 307, b"", content_type=None, extra=[("Location", location)])

    def _mode_reset(self, slot: _Slot) -> None:
        self.close_connection = True
        try:
            self.wfile.write(_RESET_PREFIX)
            # SO_LINGER on with a zero timeout: close() sends RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            # rfile is a makefile() on the socket and holds a reference to it: while it is open,
            # close() would only mark the socket closed and the RST would wait for finish().
            self.rfile.close()
            self.connection.close()

    def _mode_stall(self, slot: _Slot) -> None:
        # Status None: the client gets headers promising 20 bytes, never the bytes.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "20")
        self.end_headers()
        self.server.fault._stopping.wait()
        self.close_connection = True

    _mode_single = _mode_healthy  # the difference is the server: one connection at a time

    def _mode_strict(self, slot: _Slot) -> None:
        if slot.rec.raw and not _strict_json(slot.rec.raw):
            self._answer(slot, 400, _json({"detail": "the body is not valid JSON"}))
        else:
            self._mode_healthy(slot)

    def _mode_trickle(self, slot: _Slot) -> None:
        # Status None: headers promising TRICKLE_LENGTH bytes, then one byte a second, until stop().
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(TRICKLE_LENGTH))
        self.end_headers()
        for _ in range(TRICKLE_LENGTH):
            if self.server.fault._stopping.wait(1.0):
                break
            try:
                self.wfile.write(b" ")
            except OSError:
                break
        self.close_connection = True

    def _mode_bigbody(self, slot: _Slot) -> None:
        fault = self.server.fault
        status = self._ok_status()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(fault.body_size))
        self._end_headers(slot, status)
        if self.command == "HEAD":
            return
        remaining = fault.body_size
        view = memoryview(_CHUNK)
        try:
            while remaining > 0:
                if fault._stopping.is_set():
                    self.close_connection = True
                    return
                size = min(len(_CHUNK), remaining)
                self.wfile.write(view[:size])
                remaining -= size
        except OSError:
            # The client read what it wanted and hung up (BrokenPipeError, ConnectionResetError), or
            # stop() shut the socket down: the rest of the body has nowhere to go.
            self.close_connection = True


# -- the server --------------------------------------------------------------------------------------


class FaultServer:
    """An HTTP server imitating a dotflow status backend, misbehaving the way ``mode`` says.

    Healthy answers are JSON, 201 to POST and 200 otherwise. The modes:

    * ``healthy``: Nagle left on (the default of Python's, Flask's and Django's dev servers). Headers and
      body go out as two writes, so a keep-alive client that does not set TCP_QUICKACK waits ~40 ms per
      answer on its own delayed ACK. That is the realistic case, kept on purpose.
    * ``nodelay``: healthy with TCP_NODELAY.
    * ``slow``: healthy after sleeping ``delay`` seconds per request (cut short by stop()).
    * ``blackhole``: reads the request and never answers, until stop().
    * ``refused``: nothing listens on the port, so connecting is refused; nothing is recorded.
    * ``unauthorized``: 401 ``{"detail": "invalid token"}`` to everything.
    * ``unavailable``: 503 ``{"detail": "busy"}`` to the first ``fail_first`` requests (counted over all
      connections, and not reset by clear()), then healthy.
    * ``reset``: sends half a status line and header, then closes with an RST.
    * ``stall``: sends headers with ``Content-Length: 20``, never the body, until stop().
    * ``error``: 500 ``{"detail": "boom"}`` forever.
    * ``redirect``: 307 to ``(redirect_to or DEFAULT_REDIRECT) + path``, empty body.
    * ``bigbody``: healthy statuses with a ``body_size`` byte body, given up when the client hangs up.
    * ``single``: healthy, but served by Python's plain (not threading) ``HTTPServer``: one connection at
      a time, held while the client keeps it alive; the others wait in the accept queue.
    * ``strict``: healthy, but a body that is not strict JSON (NaN, Infinity) is answered 400
      ``{"detail": "the body is not valid JSON"}``, as a server whose JSON reader follows RFC 8259.
    * ``trickle``: sends headers promising ``TRICKLE_LENGTH`` bytes, then one byte a second.

    The control routes ``GET /__fault__/record`` and ``POST /__fault__/clear`` are served in every mode
    (but ``refused``) and are not recorded; so are ``POST /__fault__/cancel`` and ``POST /__fault__/lease``
    (:meth:`cancel` and :meth:`lose_lease` for a parent in another process).

    Protocol version 2, whatever the mode:

    * ``protocol``: 1 (the default) is a version 1 backend, the server as it always was; the version 2
      routes ``POST .../workflows/{wid}/heartbeat`` and ``.../logs`` are recorded (routes ``heartbeat`` and
      ``logs``) and answered 404, as a backend that lacks them would. At 2 every answer carries
      ``Dotflow-Protocol: 2`` and the two routes answer as below.
    * ``refresh_token`` with ``refresh_after`` N: the answer to the N-th request (counted from 1 over all
      routes and the server's life) and to every later one carries ``Dotflow-Token: <refresh_token>``, at
      either protocol.

    The version 2 routes get these answers where the mode answers healthily (healthy, nodelay, slow,
    single, strict, unavailable once its failures are spent); the other modes treat them like every route
    (blackhole never answers them, error answers 500...). A method other than POST gets 405. Logs are
    answered 200 ``{"accepted": <records in the batch>}``, or ``logs_status`` with a detail when it is set,
    ``logs_delay`` seconds late (``math.inf``, ``--logs-delay inf``: never, a black hole until stop()).
    A heartbeat, numbered from 1 over the server's life (clear() does not reset the count):

    * ``heartbeat_blackhole``: never answered, until stop().
    * ``heartbeat_delay``: answered that many seconds late (cut short by stop(), then never answered).
    * ``heartbeat_status``: answered that status with a detail, whatever the options below say.
    * ``lease_lost_after`` N: the N-th heartbeat and every later one get ``lease_status`` (409 or 410);
      :meth:`lose_lease` does the same from the next answer on.
    * otherwise 200 with a JSON object, ``{}`` unless ``heartbeat_interval`` adds ``"interval"`` and a
      cancel adds ``"cancel": {"tasks": cancel_tasks, "reason": cancel_reason, "grace": cancel_grace}``: from
      the ``cancel_after``-th heartbeat on, or from the next answer on after :meth:`cancel`.

    What an answer says is decided when it is sent (after ``heartbeat_delay``), as a backend answers from
    what it knows then. The values are sent as given, out-of-range ones included (an interval of 0, a
    negative grace), so a test can give the runner what a broken backend would.
    """

    def __init__(
        self,
        mode: str = "healthy",
        *,
        delay: float = 2.0,
        fail_first: int = 3,
        body_size: int = 50_000_000,
        redirect_to: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        base_path: str = "/api/v1",
        protocol: int = 1,
        heartbeat_interval: float | None = None,
        heartbeat_status: int | None = None,
        heartbeat_delay: float = 0.0,
        heartbeat_blackhole: bool = False,
        cancel_after: int | None = None,
        cancel_tasks: Iterable[str] | None = None,
        cancel_reason: str = DEFAULT_CANCEL_REASON,
        cancel_grace: float = DEFAULT_CANCEL_GRACE,
        lease_lost_after: int | None = None,
        lease_status: int = 409,
        logs_status: int | None = None,
        logs_delay: float = 0.0,
        refresh_token: str | None = None,
        refresh_after: int = 1,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; one of {', '.join(MODES)}")
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, not {protocol!r}")
        if lease_status not in LEASE_STATUSES:
            raise ValueError(f"lease_status must be one of {LEASE_STATUSES}, not {lease_status!r}")
        for name, count in (("cancel_after", cancel_after), ("lease_lost_after", lease_lost_after)):
            if count is not None and count < 1:
                raise ValueError(f"{name} counts heartbeats from 1, not {count!r}")
        if refresh_after < 1:
            raise ValueError(f"refresh_after counts requests from 1, not {refresh_after!r}")
        if heartbeat_delay < 0:
            raise ValueError(f"heartbeat_delay must be >= 0, not {heartbeat_delay!r}")
        self.mode = mode
        self.delay = delay
        self.fail_first = fail_first
        self.body_size = body_size
        self.redirect_to = redirect_to
        self.host = host
        stripped = base_path.strip("/")
        self.base_path = f"/{stripped}" if stripped else ""
        self.protocol = protocol
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_status = heartbeat_status
        self.heartbeat_delay = heartbeat_delay
        self.heartbeat_blackhole = heartbeat_blackhole
        self.cancel_after = cancel_after
        self.cancel_tasks: list[str] | None = None if cancel_tasks is None else [str(t) for t in cancel_tasks]
        self.cancel_reason = cancel_reason
        self.cancel_grace = cancel_grace
        self.lease_lost_after = lease_lost_after
        self.lease_status = lease_status
        self.logs_status = logs_status
        if not logs_delay >= 0:
            raise ValueError(f"logs_delay must be >= 0, not {logs_delay!r}")
        self.logs_delay = logs_delay
        self.refresh_token = refresh_token
        self.refresh_after = refresh_after
        self._port = port
        self._lock = threading.Lock()
        self._slots: list[_Slot] = []
        self._failures = 0
        # Requests and heartbeats received over the server's life; clear() does not reset them.
        self._received = 0
        self._beats = 0
        # Set by cancel() and lose_lease(): every answer from then on carries the cancel / loses the lease.
        self._cancelled = False
        self._lease_lost: int | None = None
        self._errors: list[BaseException] = []
        # Set by stop(): every handler that blocks (slow, blackhole, stall) waits on this event.
        self._stopping = threading.Event()
        self._httpd: _HTTPServer | _SingleHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Open connections and their handler threads, so stop() can release handlers blocked on a read.
        self._live: dict[_Handler, threading.Thread] = {}
        self._started = False
        self._stopped = False
        self._origin = time.monotonic()

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self) -> FaultServer:
        with self._lock:
            if self._started:
                raise RuntimeError("FaultServer.start() was already called")
            self._started = True
        self._origin = time.monotonic()
        if self.mode == "refused":
            if self._port == 0:
                self._port = _free_port(self.host)
            return self
        httpd: _HTTPServer | _SingleHTTPServer
        if self.mode == "single":
            httpd = _SingleHTTPServer((self.host, self._port), self)
        else:
            httpd = _HTTPServer((self.host, self._port), self)
        self._httpd = httpd
        self._port = int(httpd.server_address[1])
        # A short poll interval: shutdown() waits for serve_forever to notice, and stop() must be prompt.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fault-server-{self.mode}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            if not self._started or self._stopped:
                return
            self._stopped = True
        self._stopping.set()
        httpd = self._httpd
        if httpd is None:
            return  # refused: nothing was listening
        if self.mode == "single":
            # its one handler holds the serving thread: free it first, or shutdown() waits for ever
            with self._lock:
                serving = list(self._live)
            for handler in serving:
                _shutdown(handler.connection)
        httpd.shutdown()
        httpd.server_close()  # the listening socket: new connections are refused from here on
        with self._lock:
            live = list(self._live.items())
        # Handlers idle between keep-alive requests block in readline(); shutting their sockets down makes
        # the read return at once. _track() does the same for a connection accepted during this loop.
        for handler, _ in live:
            _shutdown(handler.connection)
        deadline = time.monotonic() + _STOP_JOIN
        for _, thread in live:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}{self.base_path}"

    # -- the record ----------------------------------------------------------------------------------

    def requests(self) -> list[Recorded]:
        """Every request, in the order they were fully read."""
        with self._lock:
            return [slot.rec for slot in self._slots]

    def clear(self) -> None:
        with self._lock:
            self._slots = []

    def wait_for(self, predicate: Callable[[FaultServer], bool], timeout: float) -> bool:
        """Poll ``predicate(self)`` every 10 ms; True as soon as it holds, False after ``timeout`` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            if predicate(self):
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            time.sleep(min(0.01, remaining))

    def _dicts(self) -> list[dict[str, Any]]:
        return [rec._asdict() for rec in self.requests()]

    def task_statuses(self, workflow_id: str | None = None) -> dict[str, list[str]]:
        """Task id -> statuses of its task reports answered 2xx, in order of receipt."""
        return _task_statuses(self._dicts(), workflow_id)

    def final_statuses(self, workflow_id: str | None = None) -> dict[str, str]:
        """Task id -> the status of its last task report answered 2xx."""
        return _final_statuses(self._dicts(), workflow_id)

    def workflow_statuses(self, workflow_id: str | None = None) -> list[str]:
        """Statuses of the ``PATCH .../workflows/{wid}`` reports answered 2xx, in order."""
        return _workflow_statuses(self._dicts(), workflow_id)

    def created_workflows(self) -> list[str]:
        """Ids of the ``POST .../workflows`` answered 2xx, in order."""
        return _created_workflows(self._dicts())

    def heartbeats(self, workflow_id: str | None = None) -> list[Heartbeat]:
        """Every ``POST .../heartbeat`` received, answered or not, in order: receive time, body, status."""
        return heartbeats_in(self._dicts(), workflow_id)

    def log_records(self, workflow_id: str | None = None) -> list[Any]:
        """The records of the ``POST .../logs`` answered 2xx, flattened in order of receipt."""
        return log_records_in(self._dicts(), workflow_id)

    def log_dropped(self, workflow_id: str | None = None) -> int:
        """The sum of ``dropped`` over the ``POST .../logs`` answered 2xx."""
        return log_dropped_in(self._dicts(), workflow_id)

    def user_tokens(self, workflow_id: str | None = None) -> list[str | None]:
        """The ``X-User-Token`` each request carried, in order of receipt (None for a request without one)."""
        return tokens_in(self._dicts(), workflow_id)

    # -- version 2, while the server runs ------------------------------------------------------------

    def cancel(
        self, tasks: Iterable[str] | None = None, reason: str | None = None, grace: float | None = None
    ) -> dict[str, Any]:
        """Answer every heartbeat from now on with a cancel of ``tasks`` (None: the whole run).

        ``reason`` and ``grace`` left None keep the values given at construction (or by an earlier call).
        Another call replaces the cancel. Returns the cancel the answers will carry.
        """
        with self._lock:
            self.cancel_tasks = None if tasks is None else [str(task) for task in tasks]
            if reason is not None:
                self.cancel_reason = reason
            if grace is not None:
                self.cancel_grace = grace
            self._cancelled = True
            return self._cancel_payload()

    def lose_lease(self, status: int | None = None) -> int:
        """Answer every heartbeat from now on with ``status`` (409 or 410; None: ``lease_status``)."""
        chosen = self.lease_status if status is None else status
        if chosen not in LEASE_STATUSES:
            raise ValueError(f"a lost lease is answered one of {LEASE_STATUSES}, not {chosen!r}")
        with self._lock:
            self._lease_lost = chosen
        return chosen

    # -- used by the handlers ------------------------------------------------------------------------

    def _record(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Slot:
        body = _parse_json(raw)
        route, workflow_id, task_id = _parse_route(path)
        if method == "POST" and route == "workflows":
            workflow_id = _body_id(body, "id", "workflow_id")
        elif method == "POST" and route == "tasks":
            task_id = _body_id(body, "id", "task_id")
        with self._lock:
            # Timestamped under the lock, so the list order and the `at` order are the same.
            rec = Recorded(method, path, headers, body, raw, time.monotonic(), None, route, workflow_id, task_id)
            self._received += 1
            beat = 0
            if (method, route) == ("POST", "heartbeat"):
                self._beats += 1
                beat = self._beats
            slot = _Slot(rec, self._received, beat)
            self._slots.append(slot)
        return slot

    def _answer_headers(self, slot: _Slot) -> list[tuple[str, str]]:
        """The headers every answer to ``slot``'s request carries, whatever the mode answers."""
        headers = []
        if self.protocol == 2:
            headers.append(("Dotflow-Protocol", "2"))
        if self.refresh_token is not None and slot.number >= self.refresh_after:
            headers.append(("Dotflow-Token", self.refresh_token))
        return headers

    def _cancel_payload(self) -> dict[str, Any]:
        # Called with the lock held.
        tasks = None if self.cancel_tasks is None else list(self.cancel_tasks)
        return {"tasks": tasks, "reason": self.cancel_reason, "grace": self.cancel_grace}

    def _heartbeat_answer(self, beat: int) -> tuple[int, dict[str, Any]]:
        """The status and JSON body that answer the ``beat``-th heartbeat now (version 2)."""
        with self._lock:
            if self.heartbeat_status is not None:
                return self.heartbeat_status, {"detail": f"heartbeat answered {self.heartbeat_status} on purpose"}
            lease = self._lease_lost
            if lease is None and self.lease_lost_after is not None and beat >= self.lease_lost_after:
                lease = self.lease_status
            if lease is not None:
                return lease, {"detail": "lease lost"}
            payload: dict[str, Any] = {}
            if self.heartbeat_interval is not None:
                payload["interval"] = self.heartbeat_interval
            if self._cancelled or (self.cancel_after is not None and beat >= self.cancel_after):
                payload["cancel"] = self._cancel_payload()
            return 200, payload

    def _set_status(self, slot: _Slot, status: int | None) -> None:
        with self._lock:
            slot.rec = slot.rec._replace(status=status)

    def _record_dicts(self) -> list[dict[str, Any]]:
        items = []
        for item in self._dicts():
            del item["raw"]
            item["at"] -= self._origin
            items.append(item)
        return items

    def _take_failure(self) -> bool:
        """True for the first ``fail_first`` calls over the server's life, on any thread."""
        with self._lock:
            if self._failures < self.fail_first:
                self._failures += 1
                return True
            return False

    def _track(self, handler: _Handler) -> None:
        with self._lock:
            self._live[handler] = threading.current_thread()
        # stop() sets the event before it looks at _live: either it saw this handler, or this sees the event.
        if self._stopping.is_set():
            _shutdown(handler.connection)

    def _untrack(self, handler: _Handler) -> None:
        with self._lock:
            self._live.pop(handler, None)

    def _note_error(self, error: BaseException) -> None:
        with self._lock:
            self._errors.append(error)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed (reset mode) or disconnected


# -- command line ------------------------------------------------------------------------------------


def _watch_stdin(done: threading.Event) -> None:
    # EOF on stdin means the parent is gone (or closed the pipe on purpose): stop rather than linger.
    try:
        while os.read(0, 65536):
            pass
    except OSError:
        pass
    done.set()


def _number(text: str) -> float:
    """An argparse type: ``5`` stays the int 5 (answered as ``5``, not ``5.0``), ``0.5`` is a float."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A fault-injection HTTP server imitating a dotflow backend.")
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--delay", type=float, default=2.0, help="slow: seconds before each answer")
    parser.add_argument("--fail-first", type=int, default=3, help="unavailable: requests answered 503")
    parser.add_argument("--body-size", type=int, default=50_000_000, help="bigbody: bytes in each body")
    parser.add_argument("--redirect-to", default=None, help="redirect: Location prefix")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--base-path", default="/api/v1", help="path prefix in the printed url")
    parser.add_argument(
        "--ignore-stdin", action="store_true", help="do not stop on stdin EOF (for a parent giving /dev/null)"
    )
    v2 = parser.add_argument_group("protocol version 2 (see FaultServer)")
    v2.add_argument("--protocol", type=int, choices=PROTOCOLS, default=1, help="2: a version 2 backend")
    v2.add_argument("--heartbeat-interval", type=_number, default=None, help='heartbeat answers carry {"interval": S}')
    v2.add_argument("--heartbeat-status", type=int, default=None, help="answer every heartbeat this status")
    v2.add_argument("--heartbeat-delay", type=float, default=0.0, help="seconds before answering a heartbeat")
    v2.add_argument("--heartbeat-blackhole", action="store_true", help="never answer a heartbeat")
    v2.add_argument("--cancel-after", type=int, default=None, help="the N-th heartbeat on carries a cancel")
    v2.add_argument(
        "--cancel-task", action="append", default=None, metavar="TASK_ID", help="cancel this task (repeat); none: all"
    )
    v2.add_argument("--cancel-reason", default=DEFAULT_CANCEL_REASON)
    v2.add_argument("--cancel-grace", type=_number, default=DEFAULT_CANCEL_GRACE)
    v2.add_argument("--lease-lost-after", type=int, default=None, help="the N-th heartbeat on gets --lease-status")
    v2.add_argument("--lease-status", type=int, choices=LEASE_STATUSES, default=409)
    v2.add_argument("--logs-status", type=int, default=None, help="answer every logs POST this status")
    v2.add_argument("--logs-delay", type=float, default=0.0, help="answer logs POSTs S seconds late (inf: never)")
    v2.add_argument("--refresh-token", default=None, help="answers carry Dotflow-Token: TOKEN ...")
    v2.add_argument("--refresh-after", type=int, default=1, help="... from the N-th request on")
    args = parser.parse_args(argv)

    done = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        done.set()

    # Installed before anything is served, so an early SIGTERM still ends in a clean exit 0.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = FaultServer(
        args.mode,
        delay=args.delay,
        fail_first=args.fail_first,
        body_size=args.body_size,
        redirect_to=args.redirect_to,
        host=args.host,
        port=args.port,
        base_path=args.base_path,
        protocol=args.protocol,
        heartbeat_interval=args.heartbeat_interval,
        heartbeat_status=args.heartbeat_status,
        heartbeat_delay=args.heartbeat_delay,
        heartbeat_blackhole=args.heartbeat_blackhole,
        cancel_after=args.cancel_after,
        cancel_tasks=args.cancel_task,
        cancel_reason=args.cancel_reason,
        cancel_grace=args.cancel_grace,
        lease_lost_after=args.lease_lost_after,
        lease_status=args.lease_status,
        logs_status=args.logs_status,
        logs_delay=args.logs_delay,
        refresh_token=args.refresh_token,
        refresh_after=args.refresh_after,
    ).start()
    try:
        print(json.dumps({"url": server.url, "port": server.port}), flush=True)
        if not args.ignore_stdin:
            threading.Thread(target=_watch_stdin, args=(done,), name="fault-server-stdin", daemon=True).start()
        # A bounded wait in a loop: the signal handler runs between waits on every platform.
        while not done.wait(0.2):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
