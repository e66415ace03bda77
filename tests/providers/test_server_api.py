"""ServerAPI over real HTTP on 127.0.0.1: request shapes, delivery, retries, faults, secrecy and ping.

The backend is ``fault_server.FaultServer`` (a plain ``http.server``, Nagle on unless the mode says
otherwise, like the dev servers users run), or pytest-httpserver where a test scripts answers.
"""

from __future__ import annotations

import json
import logging
import pickle
import re
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fault_server import FaultServer
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from dotflow.abc.server import Server
from dotflow.errors import ConfigError
from dotflow.providers.server_api import PingResult, PingStatus, ServerAPI, mask_url

TOKEN = "tok-SECRET-9f3b2c7e41d0"


class FakeWorkflow:
    """What create_workflow receives: an object whose str() is the id, with a name."""

    def __init__(self, workflow_id: str = "wf-1", name: str | None = None) -> None:
        self.workflow_id = workflow_id
        self.name = name

    def __str__(self) -> str:
        return self.workflow_id


class FakeTask:
    """The attributes and result() that ServerAPI reads from a task."""

    def __init__(self, task_id: Any = "0", workflow_id: str = "wf-1", status: str = "Not started") -> None:
        self.task_id = task_id
        self.workflow_id = workflow_id
        self.status = status
        self.extra: dict[str, Any] = {}

    def result(self, max: int | None = None) -> dict[str, Any]:
        data = {"task_id": self.task_id, "workflow_id": self.workflow_id, "status": self.status, **self.extra}
        if max is not None and len(json.dumps(data)) > max:
            data = {key: value for key, value in data.items() if key not in self.extra}
        return data


@pytest.fixture
def servers() -> Iterator[Callable[..., FaultServer]]:
    """Start FaultServers by mode; all are stopped at teardown."""
    started: list[FaultServer] = []

    def start(mode: str = "nodelay", **options: Any) -> FaultServer:
        server = FaultServer(mode, **options).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def make_api() -> Iterator[Callable[..., ServerAPI]]:
    """A ServerAPI factory with short timeouts; every one is flushed at teardown."""
    made: list[ServerAPI] = []

    def make(base_url: str, **options: Any) -> ServerAPI:
        settings: dict[str, Any] = {"timeout": 2.0, "flush_timeout": 5.0, "retries": 3, "backoff_max": 0.05}
        settings.update(options)
        api = ServerAPI(base_url, TOKEN, **settings)
        made.append(api)
        return api

    yield make
    for api in made:
        api.flush(timeout=0)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing every level of the dotflow loggers."""
    caplog.set_level(logging.DEBUG, logger="dotflow")
    return caplog


def _lines(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dotflow") and r.levelno >= level]


def _bodies(server: FaultServer) -> list[Any]:
    return [r.body for r in server.requests()]


# -- request shapes -----------------------------------------------------------------------------


def test_is_a_server() -> None:
    """ServerAPI implements the Server contract."""
    assert isinstance(ServerAPI("https://api.test/v1", TOKEN), Server)


def test_create_workflow_posts_id_and_name(servers: Any, make_api: Any) -> None:
    """create_workflow sends POST {base}/workflows with the id and, when known, the name."""
    backend = servers()
    api = make_api(backend.url)
    api.create_workflow(FakeWorkflow("wf-1", name="nightly"))
    api.create_workflow(FakeWorkflow("wf-2"))
    api.flush()
    calls = sorted((r.method, r.path, json.dumps(r.body, sort_keys=True)) for r in backend.requests())
    assert calls == [
        ("POST", "/api/v1/workflows", '{"id": "wf-1", "name": "nightly"}'),
        ("POST", "/api/v1/workflows", '{"id": "wf-2"}'),
    ]


def test_update_workflow_patches_the_status_of_the_id_it_is_given(servers: Any, make_api: Any) -> None:
    """update_workflow gets the workflow id itself (as 1.x passes it) and PATCHes {base}/workflows/{id}."""
    backend = servers()
    api = make_api(backend.url)
    api.update_workflow("wf-1", status="In progress")
    api.update_workflow(workflow="wf-1", status="Completed")
    api.flush()
    assert [(r.method, r.path, r.body) for r in backend.requests()] == [
        ("PATCH", "/api/v1/workflows/wf-1", {"status": "In progress"}),
        ("PATCH", "/api/v1/workflows/wf-1", {"status": "Completed"}),
    ]


def test_create_task_posts_the_result_with_task_id_renamed_id(servers: Any, make_api: Any) -> None:
    """create_task POSTs task.result() to the tasks URL, with ``task_id`` sent as ``id``."""
    backend = servers()
    api = make_api(backend.url)
    api.create_task(FakeTask("3"))
    api.flush()
    (call,) = backend.requests()
    assert (call.method, call.path) == ("POST", "/api/v1/workflows/wf-1/tasks")
    assert call.body == {"id": "3", "workflow_id": "wf-1", "status": "Not started"}


def test_update_task_patches_the_result(servers: Any, make_api: Any) -> None:
    """update_task PATCHes task.result() unchanged to the task's URL."""
    backend = servers()
    api = make_api(backend.url)
    api.update_task(FakeTask("3", status="Completed"))
    api.flush()
    (call,) = backend.requests()
    assert (call.method, call.path) == ("PATCH", "/api/v1/workflows/wf-1/tasks/3")
    assert call.body == {"task_id": "3", "workflow_id": "wf-1", "status": "Completed"}


def test_a_report_is_capped_at_five_megabytes(servers: Any, make_api: Any) -> None:
    """A task whose result is 6 MB is sent capped (task.result(max=5_000_000)), never above 5 MB."""
    backend = servers()
    api = make_api(backend.url)
    task = FakeTask("big", status="Completed")
    task.extra["current_context"] = "x" * 6_000_000
    api.update_task(task)
    api.flush()
    (call,) = backend.requests()
    assert len(call.raw) <= 5_000_000 and call.body["status"] == "Completed"


def test_headers_carry_the_token_json_and_an_idempotency_key_on_posts(servers: Any, make_api: Any) -> None:
    """Every request has X-User-Token and Content-Type: application/json; each POST has its own
    Idempotency-Key and a PATCH has none."""
    backend = servers()
    api = make_api(backend.url)
    api.create_workflow(FakeWorkflow())
    api.create_task(FakeTask("1"))
    api.create_task(FakeTask("2"))
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    calls = backend.requests()
    assert len(calls) == 4
    assert all(r.headers["x-user-token"] == TOKEN and r.headers["content-type"] == "application/json" for r in calls)
    keys = [r.headers.get("idempotency-key") for r in calls if r.method == "POST"]
    assert len(set(keys)) == 3 and all(key and len(key) >= 32 for key in keys)
    assert all("idempotency-key" not in r.headers for r in calls if r.method == "PATCH")


def test_a_retried_post_keeps_its_idempotency_key(servers: Any, make_api: Any) -> None:
    """A POST answered 503 twice is sent again with the same Idempotency-Key, then delivered."""
    backend = servers("unavailable", fail_first=2)
    api = make_api(backend.url)
    api.create_task(FakeTask("1"))
    api.flush()
    calls = backend.requests()
    assert [r.status for r in calls] == [503, 503, 201]
    assert len({r.headers["idempotency-key"] for r in calls}) == 1
    assert (api.sent, api.failed) == (1, 0)


def test_a_trailing_slash_in_base_url_is_tolerated(servers: Any, make_api: Any) -> None:
    """A base_url ending in '/' yields the same paths, without a double slash."""
    backend = servers()
    api = make_api(backend.url + "/")
    api.update_task(FakeTask("1"))
    api.flush()
    assert [r.path for r in backend.requests()] == ["/api/v1/workflows/wf-1/tasks/1"]


def test_hostile_ids_reach_the_wire_as_single_encoded_segments(servers: Any, make_api: Any) -> None:
    """Ids holding '/', '?', '#', spaces, '.' or '..' stay one percent-encoded segment on the request line."""
    backend = servers()
    api = make_api(backend.url)
    api.update_task(FakeTask("..", workflow_id="a/b?c#d e"))
    api.update_workflow("..", status="Failed")
    api.create_task(FakeTask(".", workflow_id="."))
    api.flush()
    assert sorted(r.path for r in backend.requests()) == [
        "/api/v1/workflows/%2E%2E",
        "/api/v1/workflows/%2E/tasks",
        "/api/v1/workflows/a%2Fb%3Fc%23d%20e/tasks/%2E%2E",
    ]


# -- delivery -----------------------------------------------------------------------------------


def test_a_nagle_on_keep_alive_server_answers_without_the_delayed_ack_stall(servers: Any, make_api: Any) -> None:
    """50 terminal reports of one task, sent one after another over keep-alive to a Nagle-on
    http.server, take well under a second (the 40 ms delayed-ACK stall would make it over 2 s)."""
    backend = servers("healthy")
    api = make_api(backend.url)
    started = time.monotonic()
    for n in range(50):
        api.update_task(FakeTask("1", status="Completed" if n % 2 else "Failed"))
    api.flush()
    assert time.monotonic() - started < 1.0
    assert len(backend.requests()) == 50 and api.sent == 50


def test_tasks_are_reported_concurrently_over_max_connections(servers: Any, make_api: Any) -> None:
    """8 tasks' terminal reports against a server taking 0.3 s each go 4 at a time: about 0.6 s, not 2.4 s."""
    backend = servers("slow", delay=0.3)
    api = make_api(backend.url, max_connections=4)
    started = time.monotonic()
    for tid in range(8):
        api.update_task(FakeTask(str(tid), status="Completed"))
    api.flush()
    assert time.monotonic() - started < 1.5
    assert sorted(backend.final_statuses().values()) == ["Completed"] * 8


def test_each_task_is_reported_in_order_and_ends_on_its_last_status(servers: Any, make_api: Any) -> None:
    """200 interleaved updates of 10 tasks: each task's statuses arrive in order (queued ones a newer
    one replaced are skipped) and every task ends on its final status."""
    backend = servers()
    api = make_api(backend.url)
    for step in range(20):
        for tid in range(10):
            api.update_task(FakeTask(str(tid), status=f"step {step:02d}"))
    for tid in range(10):
        api.update_task(FakeTask(str(tid), status="Completed"))
    api.flush()
    for tid, statuses in backend.task_statuses().items():
        assert statuses[-1] == "Completed" and statuses[:-1] == sorted(statuses[:-1]), tid
    assert len(backend.final_statuses()) == 10


def test_hooks_return_at_once_while_the_server_hangs(servers: Any, make_api: Any) -> None:
    """Against a black hole, 200 reports are queued in well under a second; nothing waits on the network."""
    backend = servers("blackhole")
    api = make_api(backend.url)
    started = time.monotonic()
    for tid in range(100):
        task = FakeTask(str(tid))
        api.create_task(task)
        task.status = "Completed"
        api.update_task(task)
    assert time.monotonic() - started < 1.0
    assert api.pending == 200


def test_the_body_is_a_snapshot_taken_when_the_hook_is_called(servers: Any, make_api: Any) -> None:
    """A report carries the task as it was at hook time, though the task changes before it is sent."""
    backend = servers("slow", delay=0.2)
    api = make_api(backend.url)
    task = FakeTask("1")
    api.create_task(task)
    task.status = "Completed"
    api.update_task(task)
    task.status = "changed later"
    api.flush()
    assert [body["status"] for body in _bodies(backend)] == ["Not started", "Completed"]


def test_senders_start_with_the_first_report(servers: Any, make_api: Any) -> None:
    """Construction starts no thread; the first report starts a sender."""

    def senders() -> int:
        return sum(1 for t in threading.enumerate() if t.name == "dotflow-server-sender" and t.is_alive())

    backend = servers()
    before = senders()
    api = make_api(backend.url)
    assert senders() == before
    api.update_task(FakeTask())
    assert senders() >= 1
    api.flush()


def test_flush_is_safe_from_several_threads(servers: Any, make_api: Any) -> None:
    """Concurrent flush() calls all return and every report is delivered once."""
    backend = servers()
    api = make_api(backend.url)
    for tid in range(20):
        api.update_task(FakeTask(str(tid), status="Completed"))
    threads = [threading.Thread(target=api.flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not any(t.is_alive() for t in threads)
    assert (api.sent, len(backend.requests())) == (20, 20)


# -- retries and faults -------------------------------------------------------------------------


def test_transient_answers_are_retried_until_delivered(httpserver: HTTPServer, make_api: Any) -> None:
    """408, 429 and 5xx are retried, and the report is delivered once the server answers 2xx."""
    for status in (500, 408, 429, 503, 200):
        httpserver.expect_ordered_request("/api/workflows/wf-1/tasks/1").respond_with_data("", status=status)
    api = make_api(httpserver.url_for("/api"), retries=5)
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert [response.status_code for _, response in httpserver.log] == [500, 408, 429, 503, 200]
    assert (api.sent, api.failed) == (1, 0)


def test_retries_are_bounded_and_the_loss_is_reported_once(
    servers: Any, make_api: Any, logs: pytest.LogCaptureFixture
) -> None:
    """With retries=2, a report answered 500 forever is tried 3 times, then given up; the flush line counts it."""
    backend = servers("error")
    api = make_api(backend.url, retries=2)
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert len(backend.requests()) == 3
    assert (api.sent, api.failed, api.pending) == (0, 1, 0)
    (lost,) = [m for m in _lines(logs, logging.WARNING) if "lost" in m]
    assert "1 report(s) lost, 1 of them terminal" in lost and "server answered HTTP 500" in lost


def test_retry_after_is_honoured(httpserver: HTTPServer, make_api: Any) -> None:
    """A 429 with Retry-After: 0.3 delays the next attempt by at least that long."""
    times: list[float] = []

    def answer(request: Request) -> Response:
        times.append(time.monotonic())
        return Response("", 429, headers={"Retry-After": "0.3"}) if len(times) == 1 else Response("", 200)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(answer)
    api = make_api(httpserver.url_for("/api"), backoff_max=2.0)
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert len(times) == 2 and times[1] - times[0] >= 0.25


def test_retry_after_is_capped_by_backoff_max(httpserver: HTTPServer, make_api: Any) -> None:
    """A Retry-After of 120 s waits only backoff_max before the next attempt."""
    httpserver.expect_ordered_request(re.compile(".*")).respond_with_data("", 503, headers={"Retry-After": "120"})
    httpserver.expect_ordered_request(re.compile(".*")).respond_with_data("", 200)
    api = make_api(httpserver.url_for("/api"), backoff_max=0.1)
    started = time.monotonic()
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert time.monotonic() - started < 2.0 and api.sent == 1


def test_a_flush_cuts_a_long_backoff_short(httpserver: HTTPServer, make_api: Any, logs: Any) -> None:
    """flush(0.3) returns near its deadline while a report waits out a 60 s Retry-After."""
    httpserver.expect_request(re.compile(".*")).respond_with_data("", 503, headers={"Retry-After": "60"})
    api = make_api(httpserver.url_for("/api"), backoff_max=60.0)
    api.update_task(FakeTask("1", status="Completed"))
    _wait(lambda: httpserver.log)
    started = time.monotonic()
    api.flush(timeout=0.3)
    assert time.monotonic() - started < 1.0
    (lost,) = [m for m in _lines(logs, logging.WARNING) if "lost" in m]
    assert "1 report(s) lost, 1 of them terminal: 1 still queued when the 0.3 s flush timeout ran out" in lost


@pytest.mark.parametrize("mode", ["reset", "stall", "blackhole", "refused"])
def test_a_broken_server_costs_at_most_the_flush_timeout(
    servers: Any, make_api: Any, logs: pytest.LogCaptureFixture, mode: str
) -> None:
    """Reset mid-answer, headers then silence, no answer, connection refused: flush(1 s) returns in about
    a second, one line says the reports were lost, and neither the token nor a traceback is logged."""
    backend = servers(mode)
    api = make_api(backend.url, timeout=0.5, flush_timeout=1.0, retries=10)
    api.create_task(FakeTask("1"))
    api.update_task(FakeTask("1", status="Completed"))
    started = time.monotonic()
    api.flush()
    assert time.monotonic() - started < 1.8
    (lost,) = [m for m in _lines(logs, logging.WARNING) if "lost" in m]
    assert "2 report(s) lost, 1 of them terminal" in lost
    assert all(TOKEN not in m for m in _lines(logs)) and not any(r.exc_info for r in logs.records)
    assert backend.final_statuses() == {}


def test_a_rejection_is_not_retried_and_is_logged_once_per_route(
    servers: Any, make_api: Any, logs: pytest.LogCaptureFixture
) -> None:
    """401 to 20 tasks' POSTs: each POST is sent once, their PATCHes never (no row to update), one
    warning for the route with the server's answer and the token hint, one flush line with the totals."""
    backend = servers("unauthorized")
    api = make_api(backend.url)
    for tid in range(20):
        task = FakeTask(str(tid))
        api.create_task(task)
        task.status = "Completed"
        api.update_task(task)
    api.flush()
    assert [r.method for r in backend.requests()] == ["POST"] * 20
    warnings = _lines(logs, logging.WARNING)
    rejected = [m for m in warnings if "was rejected with HTTP 401" in m]
    assert len(rejected) == 1
    assert "POST /api/v1/workflows/wf-1/tasks" in rejected[0] and "invalid token" in rejected[0]
    assert "check SERVER_USER_TOKEN" in rejected[0]
    (lost,) = [m for m in warnings if "lost" in m]
    assert "40 report(s) lost, 20 of them terminal: 20 rejected with HTTP 401" in lost
    assert "20 not sent: its creation was not delivered" in lost
    assert all(TOKEN not in m for m in _lines(logs))


def test_a_post_answered_409_counts_as_created(httpserver: HTTPServer, make_api: Any) -> None:
    """A POST answered 409 Conflict (the row exists, say from an earlier attempt) lets the task's PATCH go."""
    httpserver.expect_request("/api/workflows/wf-1/tasks", method="POST").respond_with_data("", 409)
    httpserver.expect_request("/api/workflows/wf-1/tasks/1", method="PATCH").respond_with_data("", 200)
    api = make_api(httpserver.url_for("/api"))
    api.create_task(FakeTask("1"))
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert [request.method for request, _ in httpserver.log] == ["POST", "PATCH"]
    assert (api.sent, api.failed) == (2, 0)


def test_a_redirect_is_never_followed_so_the_token_stays_home(
    servers: Any, make_api: Any, logs: pytest.LogCaptureFixture
) -> None:
    """A 307 to another server is not followed (that server gets nothing) and the log names only its host."""
    elsewhere = servers()
    backend = servers("redirect", redirect_to=f"http://user:pw@127.0.0.1:{elsewhere.port}/steal?token={TOKEN}")
    api = make_api(backend.url)
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    assert elsewhere.requests() == [] and len(backend.requests()) == 1
    (redirected,) = [m for m in _lines(logs, logging.WARNING) if "was rejected with HTTP 307" in m]
    assert f"127.0.0.1:{elsewhere.port}" in redirected
    for secret in (TOKEN, "/steal", "user:pw", "pw@"):
        assert all(secret not in m for m in _lines(logs))


def test_a_huge_answer_is_not_read(servers: Any, make_api: Any) -> None:
    """A 50 MB answer body is read 64 KiB deep at most: the report counts as delivered and memory stays flat."""
    backend = servers("bigbody", body_size=50_000_000)
    api = make_api(backend.url)
    tracemalloc.start()
    try:
        api.update_task(FakeTask("1", status="Completed"))
        api.flush()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert api.sent == 1 and peak < 5_000_000


# -- secrecy and configuration ------------------------------------------------------------------


def test_a_token_in_base_url_is_hidden_from_every_logged_path(
    servers: Any, make_api: Any, logs: pytest.LogCaptureFixture
) -> None:
    """A token inside base_url's path is redacted from rejection and loss lines, the repr and base_url."""
    backend = servers("unauthorized", base_path=f"/{TOKEN}/api")
    api = make_api(backend.url)
    api.create_task(FakeTask("1"))
    api.flush()
    lines = _lines(logs)
    assert any("/***/api/workflows/wf-1/tasks" in m for m in lines)
    assert all(TOKEN not in m for m in lines)
    assert TOKEN not in repr(api) and TOKEN not in api.base_url


def test_an_error_quoting_the_token_is_logged_without_it(make_api: Any, logs: pytest.LogCaptureFixture) -> None:
    """A task whose result() raises a message holding the token is logged with the token redacted."""

    class Leaky(FakeTask):
        def result(self, max: int | None = None) -> dict[str, Any]:
            raise RuntimeError(f"could not read task, token={TOKEN}")

    api = make_api("http://127.0.0.1:9/api")
    api.update_task(Leaky())
    (line,) = [m for m in _lines(logs, logging.WARNING) if "could not queue" in m]
    assert TOKEN not in line and "token=***" in line


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://api.test/v1",
        "api.test/v1",
        "localhost:8080",
        "http://",
        "https:///v1",
        "file:///etc/passwd",
        "https://api.test/v1?x=1",
        "https://api.test/v1#top",
        "https://api.test:notaport/v1",
        "https://api .test/v1",
    ],
)
def test_a_bad_base_url_is_a_one_line_config_error(url: str) -> None:
    """A base_url that is not http(s) with a host, or holds a query or fragment, raises ConfigError on one line."""
    with pytest.raises(ConfigError) as info:
        ServerAPI(url, TOKEN)
    message = str(info.value)
    assert "\n" not in message and "base_url" in message and TOKEN not in message


@pytest.mark.parametrize(
    "url",
    [
        "ftp://alice:hunter2@api.test/v1",
        "https://alice:hun ter2@api.test/v1",
        "https://alice:hun'ter2@api .test/v1",
        "https://alice:hunter2@api.test/v1?k=1",
    ],
)
def test_a_bad_base_url_error_never_shows_the_password(url: str) -> None:
    """The error for a bad URL shows user:pass@ as ***@, whatever the password holds."""
    with pytest.raises(ConfigError) as info:
        ServerAPI(url, TOKEN)
    assert "hunter2" not in str(info.value) and "hun" not in str(info.value) and "alice" not in str(info.value)
    assert "***@" in str(info.value)


@pytest.mark.parametrize("token", ["", "   ", None, f"{TOKEN}\nX-Evil: 1", f"{TOKEN}\u00e9"])
def test_a_bad_token_is_refused_without_being_echoed(token: Any) -> None:
    """An empty, missing or header-breaking token raises ConfigError that never repeats the token."""
    with pytest.raises(ConfigError) as info:
        ServerAPI("https://api.test/v1", token)
    assert TOKEN not in str(info.value) and "user_token" in str(info.value)


@pytest.mark.parametrize(
    ("option", "value"),
    [("retries", -1), ("timeout", 0), ("backoff_max", 0), ("flush_timeout", -1), ("signal_flush_timeout", -0.5),
     ("max_connections", 0), ("max_connections", 65), ("queue_size", 0), ("retries", 1.5), ("timeout", True)],
)
def test_a_bad_number_names_the_option(option: str, value: Any) -> None:
    """An out-of-range or mistyped setting raises ConfigError naming it."""
    with pytest.raises(ConfigError, match=option):
        ServerAPI("https://api.test/v1", TOKEN, **{option: value})


@pytest.mark.parametrize("option", ["timeout", "flush_timeout", "signal_flush_timeout", "backoff_max"])
def test_a_duration_past_an_hour_is_refused_with_the_allowed_range(option: str) -> None:
    """1e10 seconds passed validation and overflowed the queue's waits (every report lost, exit 0): every
    duration is bounded, and the one-line error names the setting and the range."""
    with pytest.raises(ConfigError) as info:
        ServerAPI("https://api.test/v1", TOKEN, **{option: 1e10})
    message = str(info.value)
    assert message.startswith(f"ServerAPI {option} 10000000000.0 must be a number") and "3600 (seconds)" in message
    assert "\n" not in message


@pytest.mark.parametrize("password", ["hunter2", "hun'ter2", 'hun"ter2', "hun%20ter2", "p/ss"])
def test_repr_and_base_url_hide_the_token_and_any_password(password: str) -> None:
    """repr() and base_url show user:pass@ as ***@ and the token as ***, whatever the password holds."""
    url = f"https://alice:{password}@api.test/v1/"
    if "/" in password:
        with pytest.raises(ConfigError) as info:  # an unencoded '/' cannot be in a password
            ServerAPI(url, TOKEN)
        assert password not in str(info.value)
        return
    api = ServerAPI(url, TOKEN)
    assert repr(api) == "ServerAPI(base_url='https://***@api.test/v1', user_token='***', timeout=15.0)"
    assert password not in api.base_url and TOKEN not in repr(api.options)


def test_plain_http_to_another_host_warns_once(logs: pytest.LogCaptureFixture) -> None:
    """http:// to a host that is not this machine warns (once per URL) that the token travels unencrypted;
    loopback and https do not."""
    for _ in range(2):
        ServerAPI("http://backend.example/api", TOKEN)
    ServerAPI("http://127.0.0.1:8000/api", TOKEN)
    ServerAPI("http://localhost:8000/api", TOKEN)
    ServerAPI("http://[::1]:8000/api", TOKEN)
    ServerAPI("https://backend.example/api", TOKEN)
    warned = [m for m in _lines(logs, logging.WARNING) if "unencrypted" in m]
    assert len(warned) == 1 and "http://backend.example/api" in warned[0]


def test_mask_url_never_leaks_a_password() -> None:
    """mask_url hides user:pass@, even a password holding '/', quotes or spaces."""
    assert mask_url("https://u:p@h.test/x") == "https://***@h.test/x"
    assert mask_url("https://h.test/x") == "https://h.test/x"
    for password in ("se/cret", "se'cret", "se cret"):
        assert "cret" not in mask_url(f"https://u:{password}@h.test/x")


def test_a_pickled_copy_keeps_the_settings_and_hides_the_token() -> None:
    """A pickled ServerAPI comes back with the same settings and an empty queue of its own."""
    original = ServerAPI("https://api.test/v1", TOKEN, retries=2, max_connections=2)
    copy = pickle.loads(pickle.dumps(original))
    assert copy.options == original.options and copy.pending == 0
    assert TOKEN not in repr(copy)


def test_hooks_never_raise(make_api: Any, logs: pytest.LogCaptureFixture) -> None:
    """A task whose result() fails, an empty id or objects missing attributes are logged, never raised;
    the task whose result() fails still has its status queued (was: dropped, the status lost)."""

    class Broken(FakeTask):
        def result(self, max: int | None = None) -> dict[str, Any]:
            raise RuntimeError("no result")

    api = make_api("http://127.0.0.1:9/api")
    api.create_task(Broken())
    api.update_task(Broken())
    api.create_workflow(FakeWorkflow(""))
    api.update_workflow("", status="Failed")
    api.update_task(FakeTask(""))
    api.create_task(object())
    assert api.pending + api.failed == 2  # Broken's POST and PATCH, with its status, queued (or given up since)
    assert len([m for m in _lines(logs, logging.WARNING) if "could not queue" in m]) == 6


def test_import_does_not_load_requests() -> None:
    """Importing the provider stays cheap: requests is imported only when a connection opens."""
    code = "import sys, dotflow.providers.server_api as s; s.ServerAPI; print('requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_a_short_token_does_not_garble_the_shown_url() -> None:
    """A one-letter token is hidden where it stands alone, not inside 'http' or the host."""
    assert "http://127.0.0.1:9/api/***/x" in repr(ServerAPI("http://127.0.0.1:9/api/t/x", "t"))


# -- ping ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, PingStatus.OK),
        (401, PingStatus.AUTH),
        (403, PingStatus.AUTH),
        (500, PingStatus.ERROR),
        (404, PingStatus.REACHABLE),
        (405, PingStatus.REACHABLE),
        (501, PingStatus.REACHABLE),
        (400, PingStatus.ERROR),
        (302, PingStatus.ERROR),
    ],
)
def test_ping_classifies_the_answer(httpserver: HTTPServer, status: int, expected: PingStatus) -> None:
    """ping() GETs {base}/workflows with the token and maps the answer to ok/auth/reachable/error."""
    headers = {"Location": "https://elsewhere.test/x"} if status == 302 else {}
    httpserver.expect_request("/api/workflows", method="GET").respond_with_data("", status, headers=headers)
    result = ServerAPI(httpserver.url_for("/api"), TOKEN, timeout=2).ping()
    assert isinstance(result, PingResult) and result.status is expected
    assert bool(result) is (expected in (PingStatus.OK, PingStatus.REACHABLE))
    ((request, _),) = httpserver.log
    assert request.headers["X-User-Token"] == TOKEN and TOKEN not in result.detail


def test_ping_explains_a_missing_get_route(httpserver: HTTPServer) -> None:
    """A backend with only the POST/PATCH routes answering 404 is 'reachable', and the detail says why."""
    httpserver.expect_request("/api/workflows").respond_with_data("", 404)
    result = ServerAPI(httpserver.url_for("/api"), TOKEN).ping()
    assert result.detail == "HTTP 404: the server answered; the token could not be checked with GET /workflows"


def test_ping_does_not_follow_a_redirect(servers: Any) -> None:
    """ping() given a 307 to another server sends nothing there and names only that host."""
    elsewhere = servers()
    backend = servers("redirect", redirect_to=f"http://127.0.0.1:{elsewhere.port}/steal?token={TOKEN}")
    result = ServerAPI(backend.url, TOKEN, timeout=2).ping()
    assert elsewhere.requests() == [] and result.status is PingStatus.ERROR
    assert "HTTP 307" in result.detail and f"127.0.0.1:{elsewhere.port}" in result.detail
    assert TOKEN not in result.detail and "/steal" not in result.detail


@pytest.mark.parametrize("mode", ["refused", "blackhole"])
def test_ping_of_a_dead_server_is_unreachable(servers: Any, mode: str) -> None:
    """ping() against a closed port or a server that never answers returns 'unreachable' without raising."""
    backend = servers(mode)
    started = time.monotonic()
    assert ServerAPI(backend.url, TOKEN, timeout=0.5).ping().status is PingStatus.UNREACHABLE
    assert time.monotonic() - started < 2


def test_ping_is_bounded_as_a_whole_against_a_trickling_server(servers: Any) -> None:
    """A server that sends its headers and then a byte a second (each read succeeds within the timeout)
    cannot hold ping() past its timeout: the bound is on the whole request, not on each read."""
    backend = servers("trickle")
    started = time.monotonic()
    result = ServerAPI(backend.url, TOKEN, timeout=2).ping()
    assert time.monotonic() - started < 4 and result.status is PingStatus.UNREACHABLE, result


def test_a_report_to_a_trickling_server_is_bounded_by_its_timeout(servers: Any, make_api: Any) -> None:
    """The same server for a report: the request ends at its timeout (then retries, within the flush)."""
    backend = servers("trickle")
    api = make_api(backend.url, timeout=2, retries=0)
    api.update_workflow(workflow="wf-1", status="In progress")
    started = time.monotonic()
    api.flush(timeout=20)
    assert time.monotonic() - started < 5 and api.failed == 1


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def test_a_result_that_cannot_be_encoded_still_reports_the_status_as_strict_json(servers: Any) -> None:
    """Results nested 5,000 deep (RecursionError while queueing: the terminal report was lost) and
    NaN or Infinity (invalid JSON a strict server answers 400, also for a NaN initial context): every
    report is strict JSON, what cannot be encoded is a marker, and every terminal status arrives."""
    from dotflow import Config, DotFlow, action

    @action
    def deep() -> Any:
        return _nested(5_000)

    @action
    def not_a_number() -> Any:
        return {"ratio": float("nan"), "high": float("inf"), "low": -float("inf"), "ok": 1.5}

    @action
    def echo(initial_context: Any) -> Any:
        return initial_context.storage

    backend = servers("strict")
    flow = DotFlow(config=Config(server=ServerAPI(backend.url, TOKEN, flush_timeout=5)))
    flow.task.add(step=deep)
    flow.task.add(step=not_a_number)
    flow.task.add(step=echo, initial_context=float("nan"))
    flow.start()
    flow.flush()
    wid = flow.workflow_id
    assert all(r.status in (200, 201) for r in backend.requests()), [(r.path, r.status) for r in backend.requests()]
    assert sorted(backend.final_statuses(wid).values()) == ["Completed"] * 3
    assert backend.workflow_statuses(wid) == ["In progress", "Completed"]
    last = {r.task_id: r.body for r in backend.requests() if r.route == "task"}
    deep_body, nan_body, echo_body = (last[str(task.task_id)] for task in flow.task.queue)
    assert "not encoded" in json.dumps(deep_body["current_context"])
    assert nan_body["current_context"] == {"ratio": "NaN", "high": "Infinity", "low": "-Infinity", "ok": 1.5}
    assert echo_body["initial_context"] == "NaN" and echo_body["current_context"] == "NaN"


def _wait(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_user_and_password_in_base_url_are_sent_as_basic_auth(servers: Any, make_api: Any) -> None:
    """``https://user:pass@host/...`` sends Basic credentials, as requests would, besides the token."""
    backend = servers()
    api = make_api(backend.url.replace("http://", "http://bob:s3cret@"))
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    (call,) = backend.requests()
    assert call.headers["authorization"] == "Basic Ym9iOnMzY3JldA==" and call.headers["x-user-token"] == TOKEN


def test_a_post_given_up_takes_its_patches_with_it(httpserver: HTTPServer, make_api: Any) -> None:
    """A task's POST answered 503 until its retries run out: its PATCHes are never sent (no row to update)."""
    httpserver.expect_request("/api/workflows/wf-1/tasks", method="POST").respond_with_data("", 503)
    httpserver.expect_request(re.compile(".*"), method="PATCH").respond_with_data("", 200)
    api = make_api(httpserver.url_for("/api"), retries=5, backoff_max=0.01)
    task = FakeTask("1")
    api.create_task(task)
    task.status = "In progress"
    api.update_task(task)
    task.status = "Completed"
    api.update_task(task)
    api.flush()
    assert [request.method for request, _ in httpserver.log] == ["POST"] * 6
    # the POST, the In progress (a task's first update is kept, never replaced) and the Completed
    assert (api.sent, api.failed) == (0, 3)


@pytest.mark.parametrize(
    ("key", "value"),
    [("base_url", "https://api.test/v1?x=1"), ("base_url", "https://api.test/v1#f"), ("base_url", "ftp://api.test"),
     ("base_url", "https://api.test/v1"), ("backoff_max", 0.0), ("backoff_max", 0.5), ("timeout", 0.0),
     ("flush_timeout", 0.0), ("retries", 0), ("max_connections", 65), ("max_connections", 1), ("queue_size", 0)],
)
def test_a_profile_and_serverapi_accept_exactly_the_same_values(key: str, value: Any, tmp_path: Any) -> None:
    """One validator per setting: a value ServerAPI refuses, the profile refuses too, and the reverse."""
    from dotflow.profiles import resolve

    settings = {"base_url": "https://api.test/v1", "user_token": TOKEN, key: value}
    try:
        ServerAPI(**settings)
        api_ok = True
    except ConfigError:
        api_ok = False
    env = {f"DOTFLOW_SERVER_{k.upper()}": str(v) for k, v in settings.items()}
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    try:
        resolve(env=env, cwd=tmp_path).config()
        profile_ok = True
    except ConfigError:
        profile_ok = False
    assert api_ok == profile_ok


def test_a_refused_connection_is_called_unreachable(servers: Any, make_api: Any, logs: Any) -> None:
    """A closed port is reported as 'server unreachable', not as a timeout."""
    backend = servers("refused")
    api = make_api(backend.url, retries=0)
    api.update_task(FakeTask("1", status="Completed"))
    api.flush()
    (lost,) = [m for m in _lines(logs, logging.WARNING) if "lost" in m]
    assert "server unreachable: NewConnectionError" in lost


def _self_signed(folder: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, made with cryptography (moto's dependency)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_https_reports_go_over_one_verified_keep_alive_connection(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture
) -> None:
    """Over https the direct connection verifies the certificate against requests' CA bundle setting
    (REQUESTS_CA_BUNDLE here) and keeps one connection across idle spells, and a certificate it
    cannot verify drops the report as a TLS error, not retried."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    connections: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_PATCH(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            connections.append(id(self.connection))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    url = f"https://127.0.0.1:{server.server_address[1]}/api/v1"
    try:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", cert)
        api = ServerAPI(url, TOKEN, max_connections=1, flush_timeout=5)
        for status in ("In progress", "Completed", "Failed"):
            api.update_workflow(workflow="wf-1", status=status)
            api.flush()
            time.sleep(0.2)
        assert api.sent == 3 and len(set(connections)) == 1
        monkeypatch.delenv("REQUESTS_CA_BUNDLE")
        untrusted = ServerAPI(url, TOKEN, retries=3, flush_timeout=5)
        untrusted.update_workflow(workflow="wf-1", status="Completed")
        untrusted.flush()
        assert untrusted.failed == 1 and len(connections) == 3
        assert any("TLS error" in m for m in _lines(logs, logging.WARNING))
    finally:
        server.shutdown()
        server.server_close()
