"""The fault-injection server: routing, bookkeeping, each mode's behaviour, the control routes and the CLI.

Clients here are http.client and raw sockets only: the server must be proven on its own, not through
the dotflow client it is meant to test.
"""

from __future__ import annotations

import http.client
import json
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fault_server
import pytest
from fault_server import (
    MODES,
    FaultServer,
    clear_record,
    fetch_record,
    heartbeats_in,
    log_records_in,
    request_cancel,
    request_lease_loss,
    summarize,
    tokens_in,
)

SCRIPT = Path(fault_server.__file__).resolve()

Serve = Callable[..., FaultServer]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start FaultServers for one test; every one is stopped at teardown, whatever the test did."""
    started: list[FaultServer] = []

    def make(mode: str = "healthy", **options: Any) -> FaultServer:
        server = FaultServer(mode, **options).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


def call(
    port: int, method: str, path: str, body: Any = None, *, timeout: float = 2.0
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection: (status, lower-cased headers, body)."""
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def send_raw(port: int, method: str, path: str, body: bytes = b"") -> socket.socket:
    """Send one request on a raw socket and return the socket unread (for modes that never answer)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=2.0)
    head = f"{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode() + body)
    return sock


def recorded(count: int) -> Callable[[FaultServer], bool]:
    return lambda server: len(server.requests()) >= count


# -- construction, routing, the record ---------------------------------------------------------------


def test_unknown_mode_is_refused() -> None:
    """A mode outside MODES raises ValueError at construction."""
    with pytest.raises(ValueError, match="unknown fault mode"):
        FaultServer("flaky")
    assert "healthy" in MODES and len(MODES) == 15


def test_url_and_port_follow_the_bound_port_and_base_path(serve: Serve) -> None:
    """url is http://127.0.0.1:{port}{base_path}, with the port actually bound when 0 was asked."""
    server = serve()
    assert server.port > 0
    assert server.url == f"http://127.0.0.1:{server.port}/api/v1"
    other = serve(base_path="/api/v1/cli/")
    assert other.url == f"http://127.0.0.1:{other.port}/api/v1/cli"


def test_context_manager_starts_and_stops() -> None:
    """`with FaultServer()` serves inside the block and refuses connections after it."""
    with FaultServer() as server:
        assert call(server.port, "GET", "/api/v1/workflows")[0] == 200
    with pytest.raises(ConnectionRefusedError):
        call(server.port, "GET", "/api/v1/workflows")


@pytest.mark.parametrize("prefix", ["/api/v1", "/api/v1/cli"])
def test_routes_are_recognised_under_any_prefix(serve: Serve, prefix: str) -> None:
    """The first `workflows` segment starts the route, whatever prefix comes before it."""
    server = serve()
    port = server.port
    call(port, "POST", f"{prefix}/workflows", {"id": "w1"})
    call(port, "PATCH", f"{prefix}/workflows/w1", {"status": "In progress"})
    call(port, "POST", f"{prefix}/workflows/w1/tasks", {"id": 0, "status": "Not started"})
    call(port, "POST", f"{prefix}/workflows/w1/tasks", {"task_id": 1, "status": "Not started"})
    call(port, "PATCH", f"{prefix}/workflows/w1/tasks/0", {"status": "Completed"})
    call(port, "GET", f"{prefix}/workflows")
    call(port, "GET", f"{prefix}/health")
    got = [(r.method, r.route, r.workflow_id, r.task_id) for r in server.requests()]
    assert got == [
        ("POST", "workflows", "w1", None),
        ("PATCH", "workflow", "w1", None),
        ("POST", "tasks", "w1", "0"),
        ("POST", "tasks", "w1", "1"),
        ("PATCH", "task", "w1", "0"),
        ("GET", "workflows", None, None),
        ("GET", "other", None, None),
    ]


def test_percent_encoded_ids_are_decoded_per_segment(serve: Serve) -> None:
    """Ids are decoded after splitting, so `a%2Fb%20c` is the one id "a/b c" and `%2E%2E` is ".."."""
    server = serve()
    path = "/api/v1/workflows/a%2Fb%20c/tasks/%2E%2E?attempt=1"
    assert call(server.port, "PATCH", path, {"status": "Completed"})[0] == 200
    call(server.port, "PATCH", "/api/v1/workflows/a%2Fb%20c/", {"status": "Completed"})
    task, workflow = server.requests()
    assert (task.route, task.workflow_id, task.task_id, task.path) == ("task", "a/b c", "..", path)
    assert (workflow.route, workflow.workflow_id) == ("workflow", "a/b c")
    assert server.final_statuses("a/b c") == {"..": "Completed"}


def test_healthy_answers_json_201_to_post_and_200_otherwise(serve: Serve) -> None:
    """Healthy: 201 to POST, 200 to the rest, JSON bodies with an exact Content-Length."""
    server = serve()
    status, headers, body = call(server.port, "POST", "/api/v1/workflows", {"id": "w"})
    assert status == 201 and headers["content-type"] == "application/json"
    assert int(headers["content-length"]) == len(body) and json.loads(body)["ok"] is True
    assert call(server.port, "PATCH", "/api/v1/workflows/w", {"status": "Completed"})[0] == 200
    assert call(server.port, "GET", "/api/v1/workflows")[0] == 200


def test_record_holds_raw_request_parsed_body_and_times_in_order(serve: Serve) -> None:
    """Recorded keeps lower-cased headers, raw bytes, JSON (None when invalid) and monotonic times, in order."""
    server = serve()
    before = time.monotonic()
    call(server.port, "POST", "/api/v1/workflows", {"id": "w"})
    call(server.port, "POST", "/api/v1/workflows", b"{not json")
    call(server.port, "GET", "/api/v1/workflows")
    after = time.monotonic()
    first, broken, ping = server.requests()
    assert first.headers["content-type"] == "application/json" and first.body == {"id": "w"}
    assert first.raw == b'{"id": "w"}' and first.status == 201
    assert broken.body is None and broken.raw == b"{not json" and broken.workflow_id is None
    assert ping.body is None and ping.raw == b""
    assert before <= first.at <= broken.at <= ping.at <= after
    server.clear()
    assert server.requests() == []


def test_chunked_request_bodies_are_read_whole(serve: Serve) -> None:
    """A chunked request body is read to its end and parsed like a Content-Length one."""
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        conn.request("POST", "/api/v1/workflows", body=iter([b'{"id": ', b'"w9"}']), encode_chunked=True)
        assert conn.getresponse().read() and conn.sock is not None
        conn.request("GET", "/api/v1/workflows")  # same connection: the first body was consumed exactly
        assert conn.getresponse().status == 200
    finally:
        conn.close()
    assert server.created_workflows() == ["w9"]


# -- bookkeeping -------------------------------------------------------------------------------------


def test_only_reports_answered_2xx_count(serve: Serve) -> None:
    """task/final/workflow statuses hold only 2xx-answered reports; requests() holds every attempt."""
    server = serve("unavailable", fail_first=2)
    port = server.port
    # The first two reports are answered 503: a backend would not have stored "Not started" nor "Failed".
    call(port, "POST", "/api/v1/workflows/w/tasks", {"id": 7, "status": "Not started"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/7", {"status": "Failed"})
    call(port, "POST", "/api/v1/workflows/w/tasks", {"id": 7, "status": "In progress"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/7", {"status": "Completed"})
    call(port, "PATCH", "/api/v1/workflows/w", {"status": "Completed"})
    assert [r.status for r in server.requests()] == [503, 503, 201, 200, 200]
    assert server.task_statuses() == {"7": ["In progress", "Completed"]}
    assert server.final_statuses() == {"7": "Completed"}
    assert server.workflow_statuses("w") == ["Completed"]


def test_failed_answers_store_nothing(serve: Serve) -> None:
    """Under `error` every report is recorded with 500 and none counts as stored."""
    server = serve("error")
    call(server.port, "POST", "/api/v1/workflows", {"id": "w"})
    call(server.port, "POST", "/api/v1/workflows/w/tasks", {"id": 0, "status": "Completed"})
    assert [r.status for r in server.requests()] == [500, 500]
    assert server.task_statuses() == {} and server.created_workflows() == []


def test_statuses_are_ordered_and_filtered_by_workflow(serve: Serve) -> None:
    """Statuses keep receipt order per task, and a workflow id filters tasks and workflow statuses."""
    server = serve()
    port = server.port
    for wid in ("w1", "w2"):
        call(port, "POST", "/api/v1/workflows", {"id": wid})
        call(port, "POST", f"/api/v1/workflows/{wid}/tasks", {"id": 0, "status": "Not started"})
        call(port, "PATCH", f"/api/v1/workflows/{wid}/tasks/0", {"status": "In progress"})
        call(port, "PATCH", f"/api/v1/workflows/{wid}", {"status": "In progress"})
    call(port, "PATCH", "/api/v1/workflows/w2/tasks/0", {"status": "Failed"})
    call(port, "PATCH", "/api/v1/workflows/w2", {"status": "Failed"})
    assert server.created_workflows() == ["w1", "w2"]
    assert server.task_statuses("w1") == {"0": ["Not started", "In progress"]}
    assert server.task_statuses("w2") == {"0": ["Not started", "In progress", "Failed"]}
    assert server.final_statuses("w1") == {"0": "In progress"}
    assert server.workflow_statuses("w2") == ["In progress", "Failed"]
    assert server.workflow_statuses() == ["In progress", "In progress", "Failed"]


def test_wait_for_is_bounded(serve: Serve) -> None:
    """wait_for returns True as soon as the predicate holds, and False once the timeout has passed."""
    server = serve()
    started = time.monotonic()
    assert server.wait_for(lambda s: False, timeout=0.1) is False
    assert 0.1 <= time.monotonic() - started < 0.5
    call(server.port, "GET", "/api/v1/workflows")
    assert server.wait_for(recorded(1), timeout=1.0) is True


# -- Nagle -------------------------------------------------------------------------------------------


def _median_keepalive_ms(port: int, count: int = 10) -> float:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request("GET", "/api/v1/workflows")  # connection set-up, not measured
        conn.getresponse().read()
        times = []
        for _ in range(count):
            started = time.perf_counter()
            conn.request("GET", "/api/v1/workflows")
            conn.getresponse().read()
            times.append((time.perf_counter() - started) * 1000)
        return statistics.median(times)
    finally:
        conn.close()


def test_healthy_keeps_nagle_and_nodelay_does_not(serve: Serve) -> None:
    """On one keep-alive connection healthy answers wait on the delayed ACK (>20 ms), nodelay ones do not."""
    assert _median_keepalive_ms(serve("healthy").port) > 20
    assert _median_keepalive_ms(serve("nodelay").port) < 20


# -- fault modes -------------------------------------------------------------------------------------


def test_slow_answers_after_the_delay(serve: Serve) -> None:
    """slow: a healthy answer, `delay` seconds late."""
    server = serve("slow", delay=0.2)
    started = time.monotonic()
    assert call(server.port, "POST", "/api/v1/workflows", {"id": "w"})[0] == 201
    assert time.monotonic() - started >= 0.2
    assert server.created_workflows() == ["w"]


def test_slow_sleep_ends_on_stop(serve: Serve) -> None:
    """slow: stop() cuts the sleep short; the request stays unanswered and the client sees the close."""
    server = serve("slow", delay=30)
    sock = send_raw(server.port, "GET", "/api/v1/workflows")
    try:
        assert server.wait_for(recorded(1), timeout=1)
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1
        assert sock.recv(100) == b""
    finally:
        sock.close()
    assert server.requests()[0].status is None


def test_blackhole_reads_and_never_answers(serve: Serve) -> None:
    """blackhole: the client times out waiting, the request is recorded with status None."""
    server = serve("blackhole")
    with pytest.raises(TimeoutError):
        call(server.port, "POST", "/api/v1/workflows", {"id": "w"}, timeout=0.3)
    (rec,) = server.requests()
    assert rec.body == {"id": "w"} and rec.status is None
    assert server.created_workflows() == []


def test_stop_is_prompt_and_idempotent_with_a_blocked_handler(serve: Serve) -> None:
    """stop() returns in under 1 s with a blackhole handler blocked, closes its connection, and can repeat."""
    server = serve("blackhole")
    sock = send_raw(server.port, "GET", "/api/v1/workflows")
    try:
        assert server.wait_for(recorded(1), timeout=1)
        started = time.monotonic()
        server.stop()
        server.stop()
        assert time.monotonic() - started < 1
        assert sock.recv(100) == b""
    finally:
        sock.close()
    assert server._live == {}
    with pytest.raises(ConnectionRefusedError):
        call(server.port, "GET", "/api/v1/workflows")


def test_stop_releases_idle_keepalive_connections(serve: Serve) -> None:
    """stop() also ends handlers idle between keep-alive requests, promptly."""
    server = serve()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        conn.request("GET", "/api/v1/workflows")
        conn.getresponse().read()
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 1
        assert server._live == {}
    finally:
        conn.close()


def test_refused_has_nothing_listening(serve: Serve) -> None:
    """refused: connecting to url's port raises ConnectionRefusedError and nothing is recorded."""
    server = serve("refused")
    assert server.url == f"http://127.0.0.1:{server.port}/api/v1" and server.port > 0
    with pytest.raises(ConnectionRefusedError):
        call(server.port, "GET", "/api/v1/workflows")
    assert server.requests() == []


def test_unauthorized_answers_401_to_everything(serve: Serve) -> None:
    """unauthorized: 401 with {"detail": "invalid token"} on every route."""
    server = serve("unauthorized")
    for method, path in [("GET", "/api/v1/workflows"), ("POST", "/api/v1/workflows/w/tasks")]:
        status, _, body = call(server.port, method, path, {"id": 1, "status": "Completed"})
        assert (status, json.loads(body)) == (401, {"detail": "invalid token"})
    assert server.task_statuses() == {}


def test_unavailable_fails_the_first_n_over_all_connections(serve: Serve) -> None:
    """unavailable: the first fail_first requests, on any connections, get 503 busy; then healthy."""
    server = serve("unavailable", fail_first=3)
    answers = [call(server.port, "POST", "/api/v1/workflows", {"id": f"w{i}"}) for i in range(5)]
    assert [status for status, _, _ in answers] == [503, 503, 503, 201, 201]
    assert json.loads(answers[0][2]) == {"detail": "busy"}
    assert server.created_workflows() == ["w3", "w4"]


def test_reset_drops_the_connection_mid_answer(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    """reset: the client gets a connection reset (or an incomplete answer), the record has status None."""
    server = serve("reset")
    with pytest.raises((ConnectionResetError, http.client.IncompleteRead, http.client.BadStatusLine)):
        call(server.port, "POST", "/api/v1/workflows", {"id": "w"})
    sock = send_raw(server.port, "GET", "/api/v1/workflows")
    try:
        received = b""
        with pytest.raises(ConnectionResetError):
            while chunk := sock.recv(100):  # the partial answer may or may not arrive before the RST
                received += chunk
        assert b"HTTP/1.1 200 OK\r\nContent-Le".startswith(received)
    finally:
        sock.close()
    assert server.wait_for(recorded(2), timeout=1)
    assert [r.status for r in server.requests()] == [None, None]
    server.stop()
    assert capfd.readouterr() == ("", "")


def test_stall_sends_headers_and_never_the_body(serve: Serve) -> None:
    """stall: status and Content-Length 20 arrive, reading the body times out, the record has status None."""
    server = serve("stall")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=0.3)
    try:
        conn.request("GET", "/api/v1/workflows")
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Length")) == (200, "20")
        with pytest.raises(TimeoutError):
            response.read()
    finally:
        conn.close()
    assert [r.status for r in server.requests()] == [None]


def test_error_answers_500_forever(serve: Serve) -> None:
    """error: 500 with {"detail": "boom"} to every request."""
    server = serve("error")
    for _ in range(3):
        status, _, body = call(server.port, "GET", "/api/v1/workflows")
        assert (status, json.loads(body)) == (500, {"detail": "boom"})


@pytest.mark.parametrize(
    ("redirect_to", "target"),
    [(None, "http://127.0.0.2:9/elsewhere"), ("http://other.invalid", "http://other.invalid")],
)
def test_redirect_answers_307_with_location(serve: Serve, redirect_to: str | None, target: str) -> None:
    """redirect: 307 with an empty body and Location = target + the request's path."""
    server = serve("redirect", redirect_to=redirect_to)
    status, headers, body = call(server.port, "PATCH", "/api/v1/workflows/w", {"status": "Completed"})
    assert (status, body, headers["content-length"]) == (307, b"", "0")
    assert headers["location"] == f"{target}/api/v1/workflows/w"
    assert server.workflow_statuses() == []


def test_bigbody_client_may_read_part_and_hang_up(serve: Serve, capfd: pytest.CaptureFixture[str]) -> None:
    """bigbody: Content-Length is body_size; a client reading 64 KiB then closing leaves stderr silent."""
    server = serve("bigbody")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        conn.request("POST", "/api/v1/workflows", body=b'{"id": "w"}')
        response = conn.getresponse()
        assert (response.status, response.getheader("Content-Length")) == (201, "50000000")
        assert response.read(65536) == b"x" * 65536
    finally:
        conn.close()
    assert server.created_workflows() == ["w"]
    server.stop()  # joins the handler, which has met the closed connection by now or is released
    assert server._errors == []
    assert capfd.readouterr() == ("", "")


def test_bigbody_sends_the_whole_body_to_a_reader(serve: Serve) -> None:
    """bigbody: a client reading to the end gets exactly body_size bytes, and the connection stays usable."""
    server = serve("bigbody", body_size=3 * (1 << 20) + 5)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
    try:
        for _ in range(2):
            conn.request("GET", "/api/v1/workflows")
            assert len(conn.getresponse().read()) == 3 * (1 << 20) + 5
    finally:
        conn.close()


# -- control routes and the other process ------------------------------------------------------------


# single serves one connection at a time: the test's open connection would hold it
@pytest.mark.parametrize("mode", [m for m in MODES if m not in ("refused", "single")])
def test_control_routes_are_served_in_every_mode(serve: Serve, mode: str) -> None:
    """GET /__fault__/record and POST /__fault__/clear work in every listening mode and are not recorded."""
    server = serve(mode, delay=30, body_size=10)
    sock = send_raw(server.port, "POST", "/api/v1/cli/workflows/w/tasks", b'{"id": 3, "status": "Completed"}')
    try:
        assert server.wait_for(recorded(1), timeout=1)
        (item,) = fetch_record(server.port, timeout=2)
        assert set(item) == set(fault_server.Recorded._fields) - {"raw"}
        assert (item["route"], item["workflow_id"], item["task_id"]) == ("tasks", "w", "3")
        assert item["body"] == {"id": 3, "status": "Completed"} and 0 <= item["at"] < 5
        assert len(server.requests()) == 1
        clear_record(server.port, timeout=2)
        assert fetch_record(server.port, timeout=2) == [] and server.requests() == []
    finally:
        sock.close()


def test_summarize_shares_the_servers_bookkeeping(serve: Serve) -> None:
    """summarize() over fetch_record() agrees with the server's own statuses, and filters by workflow."""
    server = serve("unavailable", fail_first=1)
    port = server.port
    call(port, "POST", "/api/v1/workflows", {"id": "w"})  # 503: not stored
    call(port, "POST", "/api/v1/workflows", {"id": "w"})
    for tid, final in [(0, "Completed"), (1, "Failed"), (2, "Completed")]:
        call(port, "POST", "/api/v1/workflows/w/tasks", {"id": tid, "status": "In progress"})
        call(port, "PATCH", f"/api/v1/workflows/w/tasks/{tid}", {"status": final})
    call(port, "PATCH", "/api/v1/workflows/w", {"status": "Completed"})
    call(port, "PATCH", "/api/v1/workflows/other", {"status": "Failed"})
    records = fetch_record(port)
    assert summarize(records) == {
        "requests": 10,
        "answered_2xx": 9,
        "tasks": 3,
        "final": {"Completed": 2, "Failed": 1},
        "workflow": ["Completed", "Failed"],
        "heartbeats": 0,
        "log_records": 0,
    }
    assert summarize(records, "w")["workflow"] == server.workflow_statuses("w") == ["Completed"]
    assert summarize(records, "w")["requests"] == 9
    assert summarize([r._asdict() for r in server.requests()]) == summarize(records)


def test_cli_prints_its_url_serves_and_exits_on_sigterm() -> None:
    """The CLI prints one JSON line, serves the record to fetch_record, and exits 0 on SIGTERM."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "healthy", "--base-path", "/api/v1/cli"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["url"] == f"http://127.0.0.1:{info['port']}/api/v1/cli"
        assert call(info["port"], "POST", "/api/v1/cli/workflows", {"id": "w"})[0] == 201
        assert [(r["route"], r["workflow_id"], r["status"]) for r in fetch_record(info["port"])] == [
            ("workflows", "w", 201)
        ]
        proc.terminate()
        assert proc.wait(timeout=5) == 0
        out, err = proc.communicate(timeout=5)
        assert (out, err) == ("", "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_exits_when_stdin_reaches_eof() -> None:
    """The CLI stops by itself, exit 0, once its stdin is closed (a parent that died)."""
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "blackhole"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        json.loads(proc.stdout.readline())
        proc.stdin.close()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# -- single, strict, trickle -------------------------------------------------------------------------


def test_single_serves_one_connection_at_a_time(serve: Serve) -> None:
    """single: a second keep-alive connection's request waits until the first connection closes."""
    server = serve("single")
    first = send_raw(server.port, "PATCH", "/api/v1/workflows/w", b'{"status": "In progress"}')
    assert first.recv(4096).startswith(b"HTTP/1.1 200")
    second = send_raw(server.port, "PATCH", "/api/v1/workflows/w", b'{"status": "Completed"}')
    try:
        second.settimeout(0.5)
        with pytest.raises(socket.timeout):
            second.recv(4096)  # not taken while the first is open
        first.close()
        second.settimeout(2.0)
        assert second.recv(4096).startswith(b"HTTP/1.1 200")
        assert server.workflow_statuses() == ["In progress", "Completed"]
    finally:
        second.close()


def test_strict_rejects_nan_and_infinity(serve: Serve) -> None:
    """strict: a body holding NaN or Infinity (Python's json writes them) is answered 400; JSON is stored."""
    server = serve("strict")
    bad = b'{"id": 1, "status": "Completed", "current_context": NaN}'
    assert call_bytes(server.port, "POST", "/api/v1/workflows/w/tasks", bad) == 400
    assert call_bytes(server.port, "POST", "/api/v1/workflows/w/tasks", b'{"x": -Infinity}') == 400
    assert call_bytes(server.port, "POST", "/api/v1/workflows/w/tasks", b'{"id": 1, "status": "Completed"}') == 201
    assert server.final_statuses() == {"1": "Completed"}


def test_trickle_sends_headers_then_a_byte_a_second(serve: Serve) -> None:
    """trickle: the headers at once, then the promised body one byte a second."""
    server = serve("trickle")
    sock = send_raw(server.port, "GET", "/api/v1/workflows", b"")
    try:
        head = sock.recv(4096)
        assert head.startswith(b"HTTP/1.1 200") and f"Content-Length: {fault_server.TRICKLE_LENGTH}".encode() in head
        began = time.monotonic()
        assert sock.recv(4096) == b" " and 0.5 < time.monotonic() - began < 2.0
    finally:
        sock.close()


def call_bytes(port: int, method: str, path: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


# -- protocol version 2 ------------------------------------------------------------------------------

HEARTBEAT = "/api/v1/workflows/w/heartbeat"
LOGS = "/api/v1/workflows/w/logs"


def beat_body(seq: int, running: list[str] | None = None) -> dict[str, Any]:
    """A heartbeat body shaped as protocol.md's example."""
    return {
        "seq": seq,
        "sent_at": "2026-12-07T01:02:03.456Z",
        "interval": 15,
        "attempt": 1,
        "run_attempt": 1,
        "running": running if running is not None else ["0-ab12cd34"],
        "progress": {"0-ab12cd34": {"done": seq, "total": 10, "message": "rows"}},
    }


def log_body(*lines: str, first: int = 1, dropped: int = 0) -> dict[str, Any]:
    records = [
        {
            "seq": first + i,
            "ts": "2026-12-07T01:02:03.456Z",
            "task": "0-ab12cd34",
            "stream": "stdout",
            "level": None,
            "line": line,
        }
        for i, line in enumerate(lines)
    ]
    return {"records": records, "dropped": dropped}


def heartbeat(port: int, seq: int = 1, *, path: str = HEARTBEAT, timeout: float = 2.0) -> tuple[int, Any]:
    """POST one heartbeat: (status, parsed JSON answer)."""
    status, _, body = call(port, "POST", path, beat_body(seq), timeout=timeout)
    return status, json.loads(body) if body else None


def answer_head(port: int, method: str, path: str, body: Any = None) -> tuple[int, dict[str, str]]:
    """Status and lower-cased headers of one answer, its body left unread (stall and trickle never end it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body).encode())
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"protocol": 3}, "protocol must be one of"),
        ({"lease_status": 500}, "lease_status must be one of"),
        ({"cancel_after": 0}, "cancel_after counts heartbeats from 1"),
        ({"lease_lost_after": 0}, "lease_lost_after counts heartbeats from 1"),
        ({"refresh_after": 0}, "refresh_after counts requests from 1"),
        ({"heartbeat_delay": -1}, "heartbeat_delay must be >= 0"),
    ],
)
def test_version_2_options_are_checked(options: dict[str, Any], message: str) -> None:
    """Options that cannot mean anything raise ValueError at construction."""
    with pytest.raises(ValueError, match=message):
        FaultServer(**options)


@pytest.mark.parametrize("prefix", ["/api/v1", "/api/v1/cli"])
def test_heartbeat_and_logs_routes_are_recognised(serve: Serve, prefix: str) -> None:
    """POST .../workflows/{wid}/heartbeat and .../logs are the routes "heartbeat" and "logs", the id decoded;
    anything deeper is "other"."""
    server = serve(protocol=2)
    call(server.port, "POST", f"{prefix}/workflows/a%2Fb/heartbeat", beat_body(1))
    call(server.port, "POST", f"{prefix}/workflows/a%2Fb/logs/", log_body("x"))
    call(server.port, "POST", f"{prefix}/workflows/w/heartbeat/more", {})
    got = [(r.route, r.workflow_id, r.task_id) for r in server.requests()]
    assert got == [("heartbeat", "a/b", None), ("logs", "a/b", None), ("other", "w", None)]


def test_protocol_1_is_a_version_1_backend(serve: Serve) -> None:
    """By default the v2 routes are recorded and answered 404, and no answer carries Dotflow-Protocol."""
    server = serve()
    assert server.protocol == 1
    status, headers, _ = call(server.port, "POST", "/api/v1/workflows/w/tasks", {"id": 0, "status": "Not started"})
    assert status == 201 and "dotflow-protocol" not in headers
    for path, body in [(HEARTBEAT, beat_body(1)), (LOGS, log_body("line"))]:
        status, headers, raw = call(server.port, "POST", path, body)
        assert (status, json.loads(raw)) == (404, {"detail": "Not Found"})
        assert "dotflow-protocol" not in headers
    assert [(r.route, r.status) for r in server.requests()] == [("tasks", 201), ("heartbeat", 404), ("logs", 404)]
    assert [beat.status for beat in server.heartbeats()] == [404]
    assert server.log_records() == []  # a 404 stored nothing


# modes whose answers have a status line; refused, reset and blackhole never give one
@pytest.mark.parametrize("mode", [m for m in MODES if m not in ("refused", "reset", "blackhole")])
def test_protocol_2_header_is_on_every_answer_in_every_mode(serve: Serve, mode: str) -> None:
    """At protocol 2, Dotflow-Protocol: 2 is on every API answer, the fault modes' ones included."""
    server = serve(mode, protocol=2, delay=0.05, body_size=10, fail_first=1)
    for method, path, body in [
        ("POST", "/api/v1/workflows/w/tasks", {"id": 0, "status": "Not started"}),
        ("PATCH", "/api/v1/workflows/w", {"status": "Completed"}),
        ("POST", HEARTBEAT, beat_body(1)),
    ]:
        status, headers = answer_head(server.port, method, path, body)
        assert headers.get("dotflow-protocol") == "2", (mode, method, path, status)


def test_protocol_2_answers_heartbeats_and_logs(serve: Serve) -> None:
    """At protocol 2 a heartbeat gets 200 {} (no option set), logs 200 {"accepted": n}, another method 405."""
    server = serve(protocol=2)
    status, headers, raw = call(server.port, "POST", HEARTBEAT, beat_body(1))
    assert (status, json.loads(raw), headers["dotflow-protocol"]) == (200, {}, "2")
    status, _, raw = call(server.port, "POST", LOGS, log_body("a", "b"))
    assert (status, json.loads(raw)) == (200, {"accepted": 2})
    status, headers, _ = call(server.port, "GET", HEARTBEAT)
    assert (status, headers["allow"]) == (405, "POST")
    assert [beat.body for beat in server.heartbeats()] == [beat_body(1)]


def test_heartbeat_interval_is_in_every_answer(serve: Serve) -> None:
    """heartbeat_interval: each 200 answer's body is {"interval": N}, the number as given."""
    server = serve(protocol=2, heartbeat_interval=5)
    assert [heartbeat(server.port, seq) for seq in (1, 2)] == [(200, {"interval": 5})] * 2
    other = serve(protocol=2, heartbeat_interval=0.25)
    assert heartbeat(other.port) == (200, {"interval": 0.25})


def test_cancel_after_cancels_from_the_nth_heartbeat_on(serve: Serve) -> None:
    """cancel_after=3: beats 1 and 2 are plain, 3 and later carry the cancel with its tasks, reason, grace."""
    server = serve(
        protocol=2,
        heartbeat_interval=1,
        cancel_after=3,
        cancel_tasks=["0-ab", "2-cd"],
        cancel_reason="requested by alice",
        cancel_grace=2.5,
    )
    answers = [heartbeat(server.port, seq) for seq in range(1, 5)]
    cancel = {"tasks": ["0-ab", "2-cd"], "reason": "requested by alice", "grace": 2.5}
    assert answers == [(200, {"interval": 1})] * 2 + [(200, {"interval": 1, "cancel": cancel})] * 2


def test_cancel_of_the_whole_run_sends_null_tasks(serve: Serve) -> None:
    """Without cancel_tasks the cancel is of the whole run: "tasks": null, the default reason and grace."""
    server = serve(protocol=2, cancel_after=1)
    expected = {"tasks": None, "reason": fault_server.DEFAULT_CANCEL_REASON, "grace": fault_server.DEFAULT_CANCEL_GRACE}
    assert heartbeat(server.port) == (200, {"cancel": expected})


def test_cancel_method_cancels_from_the_next_answer(serve: Serve) -> None:
    """cancel() while the server runs: the next heartbeat answer carries it; a second call replaces it,
    keeping the reason and grace it does not give."""
    server = serve(protocol=2, cancel_grace=3)
    assert heartbeat(server.port, 1) == (200, {})
    given = server.cancel(tasks=["1-ef"], reason="by the test")
    assert given == {"tasks": ["1-ef"], "reason": "by the test", "grace": 3}
    assert heartbeat(server.port, 2) == (200, {"cancel": given})
    assert server.cancel(grace=0) == {"tasks": None, "reason": "by the test", "grace": 0}
    assert heartbeat(server.port, 3) == (200, {"cancel": {"tasks": None, "reason": "by the test", "grace": 0}})


@pytest.mark.parametrize("lease_status", [409, 410])
def test_lease_lost_after_answers_the_lease_status(serve: Serve, lease_status: int) -> None:
    """lease_lost_after=2: beat 1 is answered 200, beats 2 and later lease_status, a cancel notwithstanding."""
    server = serve(protocol=2, lease_lost_after=2, lease_status=lease_status, cancel_after=1)
    statuses = [heartbeat(server.port, seq) for seq in (1, 2, 3)]
    assert statuses[0][0] == 200 and "cancel" in statuses[0][1]
    assert statuses[1:] == [(lease_status, {"detail": "lease lost"})] * 2
    # the task reports go on being answered: only the heartbeat says the lease is gone
    assert call(server.port, "PATCH", "/api/v1/workflows/w/tasks/0", {"status": "Completed"})[0] == 200


def test_lose_lease_method_answers_from_the_next_heartbeat(serve: Serve) -> None:
    """lose_lease() while the server runs; its status defaults to lease_status and must be 409 or 410."""
    server = serve(protocol=2, lease_status=410)
    assert heartbeat(server.port, 1)[0] == 200
    assert server.lose_lease() == 410
    assert heartbeat(server.port, 2) == (410, {"detail": "lease lost"})
    assert server.lose_lease(409) == 409
    assert heartbeat(server.port, 3)[0] == 409
    with pytest.raises(ValueError, match="lost lease"):
        server.lose_lease(500)


@pytest.mark.parametrize("forced", [404, 405, 500])
def test_heartbeat_status_is_forced_on_every_heartbeat(serve: Serve, forced: int) -> None:
    """heartbeat_status: every heartbeat gets it (over a cancel or a lost lease), other routes do not."""
    server = serve(protocol=2, heartbeat_status=forced, cancel_after=1, lease_lost_after=1, heartbeat_interval=5)
    for seq in (1, 2):
        status, body = heartbeat(server.port, seq)
        assert status == forced and "cancel" not in body and "interval" not in body
    assert call(server.port, "POST", LOGS, log_body("x"))[0] == 200


def test_logs_status_is_forced_on_every_logs_post(serve: Serve) -> None:
    """logs_status: every logs POST gets it and nothing is counted stored; heartbeats are not affected."""
    server = serve(protocol=2, logs_status=405)
    assert call(server.port, "POST", LOGS, log_body("x"))[0] == 405
    assert heartbeat(server.port)[0] == 200
    assert server.log_records() == []


def test_heartbeat_delay_slows_heartbeats_only(serve: Serve) -> None:
    """heartbeat_delay: a heartbeat is answered that late, while reports on other connections are not."""
    server = serve(protocol=2, heartbeat_delay=0.4, heartbeat_interval=2)
    pending = send_raw(server.port, "POST", HEARTBEAT, json.dumps(beat_body(1)).encode())
    try:
        began = time.monotonic()
        assert call(server.port, "PATCH", "/api/v1/workflows/w/tasks/0", {"status": "In progress"})[0] == 200
        assert time.monotonic() - began < 0.3
        assert pending.recv(4096).startswith(b"HTTP/1.1 200")
        assert time.monotonic() - began >= 0.3
    finally:
        pending.close()


def test_heartbeat_delay_decides_the_answer_when_it_is_sent(serve: Serve) -> None:
    """A cancel asked for while a heartbeat is being delayed is in that heartbeat's answer."""
    server = serve(protocol=2, heartbeat_delay=0.5)
    pending = send_raw(server.port, "POST", HEARTBEAT, json.dumps(beat_body(1)).encode())
    try:
        assert server.wait_for(recorded(1), timeout=1)
        server.cancel(reason="while waiting")
        answer = b""
        while b"while waiting" not in answer and (chunk := pending.recv(4096)):
            answer += chunk
        assert b'"reason": "while waiting"' in answer
    finally:
        pending.close()


def test_heartbeat_delay_ends_on_stop(serve: Serve) -> None:
    """stop() cuts a heartbeat's delay short: it stays unanswered and stop() is prompt."""
    server = serve(protocol=2, heartbeat_delay=30)
    sock = send_raw(server.port, "POST", HEARTBEAT, json.dumps(beat_body(1)).encode())
    try:
        assert server.wait_for(recorded(1), timeout=1)
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 1
        assert sock.recv(100) == b""
    finally:
        sock.close()
    assert [beat.status for beat in server.heartbeats()] == [None]


def test_heartbeat_blackhole_never_answers_heartbeats_only(serve: Serve) -> None:
    """heartbeat_blackhole: a heartbeat times out (recorded, status None), every other route is answered,
    and stop() ends the blocked handler at once."""
    server = serve(protocol=2, heartbeat_blackhole=True)
    with pytest.raises(TimeoutError):
        heartbeat(server.port, timeout=0.3)
    assert call(server.port, "POST", "/api/v1/workflows/w/tasks", {"id": 0, "status": "Not started"})[0] == 201
    assert call(server.port, "POST", LOGS, log_body("still stored"))[0] == 200
    sock = send_raw(server.port, "POST", HEARTBEAT, json.dumps(beat_body(2)).encode())
    try:
        assert server.wait_for(lambda s: len(s.heartbeats()) == 2, timeout=1)
        began = time.monotonic()
        server.stop()
        assert time.monotonic() - began < 1
        assert sock.recv(100) == b""
    finally:
        sock.close()
    assert [beat.status for beat in server.heartbeats()] == [None, None]
    assert server._live == {}
    assert [record["line"] for record in server.log_records()] == ["still stored"]


def test_version_2_routes_follow_the_fault_mode(serve: Serve) -> None:
    """The mode comes first: error answers a heartbeat 500, unavailable 503 until its failures are spent,
    blackhole never answers it."""
    error = serve("error", protocol=2, heartbeat_interval=5)
    assert heartbeat(error.port)[0] == 500
    unavailable = serve("unavailable", protocol=2, fail_first=1, heartbeat_interval=5)
    assert heartbeat(unavailable.port, 1)[0] == 503
    assert heartbeat(unavailable.port, 2) == (200, {"interval": 5})
    blackhole = serve("blackhole", protocol=2)
    with pytest.raises(TimeoutError):
        heartbeat(blackhole.port, timeout=0.3)


@pytest.mark.parametrize("protocol", [1, 2])
def test_refresh_token_is_on_answers_from_the_nth_request(serve: Serve, protocol: int) -> None:
    """refresh_token with refresh_after=3: answers 1 and 2 carry no Dotflow-Token, 3 and later do, on every
    route and at either protocol; user_tokens() and Recorded.token say what each request carried."""
    server = serve(protocol=protocol, refresh_token="tok-new", refresh_after=3)
    seen = []
    for token in ["tok-old", "tok-old", None, "tok-new"]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=2)
        try:
            headers = {"Content-Type": "application/json"} | ({"X-User-Token": token} if token else {})
            conn.request("PATCH", "/api/v1/workflows/w", body=b'{"status": "In progress"}', headers=headers)
            response = conn.getresponse()
            response.read()
            seen.append(response.getheader("Dotflow-Token"))
        finally:
            conn.close()
    assert seen == [None, None, "tok-new", "tok-new"]
    assert server.user_tokens() == ["tok-old", "tok-old", None, "tok-new"]
    assert [r.token for r in server.requests()] == server.user_tokens()
    assert tokens_in(r._asdict() for r in server.requests()) == server.user_tokens()


def test_refresh_token_is_on_fault_answers_too(serve: Serve) -> None:
    """The token header rides on every answer, a 401 included: the mode does not decide it."""
    server = serve("unauthorized", protocol=2, refresh_token="tok-2")
    status, headers, _ = call(server.port, "POST", "/api/v1/workflows", {"id": "w"})
    assert (status, headers["dotflow-token"], headers["dotflow-protocol"]) == (401, "tok-2", "2")


def test_heartbeats_lists_every_heartbeat_with_its_time(serve: Serve) -> None:
    """heartbeats(): every heartbeat in order of receipt, answered or not, with its receive time, body,
    status and workflow id, filtered by workflow."""
    server = serve("unavailable", protocol=2, fail_first=1)
    before = time.monotonic()
    call(server.port, "POST", "/api/v1/workflows/w1/heartbeat", beat_body(1))  # 503
    call(server.port, "POST", "/api/v1/workflows/w1/tasks", {"id": 0, "status": "In progress"})
    call(server.port, "POST", "/api/v1/workflows/w2/heartbeat", beat_body(1))
    call(server.port, "POST", "/api/v1/workflows/w1/heartbeat", beat_body(2))
    after = time.monotonic()
    beats = server.heartbeats()
    assert [(b.workflow_id, b.body["seq"], b.status) for b in beats] == [("w1", 1, 503), ("w2", 1, 200), ("w1", 2, 200)]
    assert before <= beats[0].at <= beats[1].at <= beats[2].at <= after
    assert [b.body["seq"] for b in server.heartbeats("w1")] == [1, 2]
    assert heartbeats_in(fetch_record(server.port), "w2")[0].body == beat_body(1)


def test_log_records_flattens_the_stored_batches(serve: Serve) -> None:
    """log_records(): the records of the logs POSTs answered 2xx, flattened in order; a refused batch is
    not there; log_dropped() sums the dropped counts; both filter by workflow."""
    server = serve("unavailable", protocol=2, fail_first=1)
    call(server.port, "POST", LOGS, log_body("lost", first=1))  # 503
    call(server.port, "POST", LOGS, log_body("one", "two", first=1, dropped=3))
    call(server.port, "POST", "/api/v1/workflows/other/logs", log_body("elsewhere", first=1))
    call(server.port, "POST", LOGS, log_body("three", first=3, dropped=1))
    assert [(r["seq"], r["line"]) for r in server.log_records("w")] == [(1, "one"), (2, "two"), (3, "three")]
    assert [r["line"] for r in server.log_records()] == ["one", "two", "elsewhere", "three"]
    assert (server.log_dropped("w"), server.log_dropped()) == (4, 4)
    assert log_records_in(fetch_record(server.port), "other")[0]["line"] == "elsewhere"
    assert summarize(fetch_record(server.port))["log_records"] == 4


def test_cancelled_and_skipped_statuses_are_kept(serve: Serve) -> None:
    """The version 2 statuses Cancelled and Skipped (and the backend's Crashed) go through the bookkeeping
    like any other status."""
    server = serve(protocol=2)
    port = server.port
    for tid in (0, 1, 2):
        call(port, "POST", "/api/v1/workflows/w/tasks", {"id": tid, "status": "Not started"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/0", {"status": "In progress"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/0", {"status": "Cancelled"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/1", {"status": "Skipped"})
    call(port, "PATCH", "/api/v1/workflows/w/tasks/2", {"status": "Crashed"})
    call(port, "PATCH", "/api/v1/workflows/w", {"status": "Cancelled"})
    assert server.task_statuses("w")["0"] == ["Not started", "In progress", "Cancelled"]
    assert server.final_statuses("w") == {"0": "Cancelled", "1": "Skipped", "2": "Crashed"}
    assert server.workflow_statuses("w") == ["Cancelled"]
    assert summarize(fetch_record(port))["final"] == {"Cancelled": 1, "Skipped": 1, "Crashed": 1}


def test_cancel_and_lease_control_routes_refuse_bad_bodies(serve: Serve) -> None:
    """POST /__fault__/cancel and /__fault__/lease answer 400 to a body they cannot use, and are not recorded."""
    server = serve(protocol=2)
    for path, body in [
        ("/__fault__/cancel", {"tasks": "0-ab"}),
        ("/__fault__/cancel", {"grace": "soon"}),
        ("/__fault__/cancel", [1]),
        ("/__fault__/lease", {"status": 500}),
    ]:
        assert call(server.port, "POST", path, body)[0] == 400, (path, body)
    assert heartbeat(server.port) == (200, {})
    assert call(server.port, "POST", "/__fault__/cancel", b"")[0] == 200  # empty: the configured cancel
    assert heartbeat(server.port)[1]["cancel"]["tasks"] is None
    assert [r.route for r in server.requests()] == ["heartbeat", "heartbeat"]


def test_cli_serves_version_2_and_takes_a_cancel_from_the_parent() -> None:
    """The CLI's version 2 flags reach the server, and request_cancel / request_lease_loss change its
    answers from another process."""
    flags = (
        "--protocol 2 --heartbeat-interval 5 --cancel-after 2 --cancel-task 0-ab --cancel-task 1-cd"
        " --cancel-reason cli --cancel-grace 2 --refresh-token tok-cli --refresh-after 2 --lease-status 410"
    )
    proc = subprocess.Popen(
        [sys.executable, str(SCRIPT), "healthy", *flags.split()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = json.loads(proc.stdout.readline())["port"]
        status, headers, raw = call(port, "POST", HEARTBEAT, beat_body(1))
        assert (status, json.loads(raw), headers["dotflow-protocol"], "dotflow-token" in headers) == (
            200,
            {"interval": 5},
            "2",
            False,
        )
        status, headers, raw = call(port, "POST", HEARTBEAT, beat_body(2))
        cancel = {"tasks": ["0-ab", "1-cd"], "reason": "cli", "grace": 2}
        assert (status, json.loads(raw), headers["dotflow-token"]) == (
            200,
            {"interval": 5, "cancel": cancel},
            "tok-cli",
        )
        assert request_cancel(port, reason="from the parent") == {
            "tasks": None,
            "reason": "from the parent",
            "grace": 2,
        }
        assert heartbeat(port, 3)[1]["cancel"]["reason"] == "from the parent"
        assert request_lease_loss(port) == 410
        assert heartbeat(port, 4) == (410, {"detail": "lease lost"})
        assert summarize(fetch_record(port))["heartbeats"] == 4
        proc.terminate()
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
