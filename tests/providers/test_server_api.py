"""ServerAPI: request shapes, encoding, retries, secrecy, non-blocking delivery and bounded flush."""

from __future__ import annotations

import json
import logging
import pickle
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import responses
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Request, Response

from dotflow.abc.server import Server
from dotflow.errors import ConfigError
from dotflow.providers import server_api
from dotflow.providers.server_api import PingResult, PingStatus, ServerAPI, mask_url

TOKEN = "tok-SECRET-9f3b2c7e41d0"
BASE = "https://api.test/api/v1"
ANY_URL = re.compile(r"https://api\.test/.*")


class FakeWorkflow:
    """The two attributes ServerAPI reads from a workflow."""

    def __init__(self, workflow_id: str = "wf-1", name: str | None = None) -> None:
        self.workflow_id = workflow_id
        self.name = name


class FakeTask:
    """The attributes and the result() method ServerAPI reads from a task."""

    def __init__(self, task_id: Any = 0, workflow_id: str = "wf-1", status: str = "Not started") -> None:
        self.task_id = task_id
        self.workflow_id = workflow_id
        self.status = status
        self.max_seen: int | None = None

    def result(self, max: int) -> dict[str, Any]:
        self.max_seen = max
        return {"task_id": self.task_id, "workflow_id": self.workflow_id, "status": self.status, "duration": 1.5}


@pytest.fixture
def make_server() -> Iterator[Callable[..., ServerAPI]]:
    """A ServerAPI factory with small timeouts; every server is stopped at teardown."""
    made: list[ServerAPI] = []

    def make(base_url: str = BASE, **options: Any) -> ServerAPI:
        settings: dict[str, Any] = {"timeout": 2.0, "flush_timeout": 3.0, "retries": 3, "backoff_max": 0.05}
        settings.update(options)
        server = ServerAPI(base_url, TOKEN, **settings)
        made.append(server)
        return server

    yield make
    for server in made:
        server.flush(timeout=0)


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A `responses` mock active for the whole test (the sender thread goes through it too)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def dotflow_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """caplog capturing every level of the dotflow loggers."""
    caplog.set_level(logging.DEBUG, logger="dotflow")
    return caplog


def _dotflow_lines(caplog: pytest.LogCaptureFixture, level: int = logging.DEBUG) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name.startswith("dotflow") and r.levelno >= level]


def _body(call: Any) -> Any:
    return json.loads(call.request.body)


@pytest.fixture
def elsewhere() -> Iterator[HTTPServer]:
    """A second real HTTP server on 127.0.0.1, standing for another host a redirect points to."""
    server = HTTPServer(host="127.0.0.1")
    server.expect_request(re.compile(".*")).respond_with_data("stolen", status=200)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


def _senders(servers: list[ServerAPI]) -> int:
    names = {f"dotflow-server-sender-{id(server):x}" for server in servers}
    return sum(1 for t in threading.enumerate() if t.name in names and t.is_alive())


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- request shapes -----------------------------------------------------------------------


def test_is_a_server() -> None:
    """ServerAPI implements the Server contract."""
    assert isinstance(ServerAPI(BASE, TOKEN), Server)


def test_create_workflow_posts_id_and_name(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """create_workflow sends POST {base}/workflows with the id and the name."""
    rsps.add(responses.POST, f"{BASE}/workflows", status=201)
    server = make_server()
    server.create_workflow(FakeWorkflow("wf-1", name="nightly"))
    server.flush()
    assert len(rsps.calls) == 1
    assert _body(rsps.calls[0]) == {"id": "wf-1", "name": "nightly"}


def test_create_workflow_omits_name_when_unknown(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """create_workflow sends only the id when the workflow has no name."""
    rsps.add(responses.POST, f"{BASE}/workflows", status=201)
    server = make_server()
    server.create_workflow(FakeWorkflow("wf-1", name=None))
    server.create_workflow(FakeWorkflow("wf-2", name=""))
    server.flush()
    assert [_body(c) for c in rsps.calls] == [{"id": "wf-1"}, {"id": "wf-2"}]


def test_update_workflow_patches_status(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """update_workflow sends PATCH {base}/workflows/{wid} with the status."""
    rsps.add(responses.PATCH, f"{BASE}/workflows/wf-1", status=200)
    server = make_server()
    server.update_workflow(FakeWorkflow("wf-1"), "Completed")
    server.flush()
    assert len(rsps.calls) == 1
    assert _body(rsps.calls[0]) == {"status": "Completed"}


def test_create_task_renames_task_id_to_id(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """create_task POSTs task.result(max=5_000_000) to the tasks URL, task_id renamed to id."""
    rsps.add(responses.POST, f"{BASE}/workflows/wf-1/tasks", status=201)
    server = make_server()
    task = FakeTask(3)
    server.create_task(task)
    server.flush()
    assert task.max_seen == 5_000_000
    assert _body(rsps.calls[0]) == {"id": 3, "workflow_id": "wf-1", "status": "Not started", "duration": 1.5}


def test_update_task_patches_result(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """update_task PATCHes task.result(max=5_000_000) unchanged to the task's URL."""
    rsps.add(responses.PATCH, f"{BASE}/workflows/wf-1/tasks/3", status=200)
    server = make_server()
    task = FakeTask(3, status="Completed")
    server.update_task(task)
    server.flush()
    assert task.max_seen == 5_000_000
    assert _body(rsps.calls[0]) == {"task_id": 3, "workflow_id": "wf-1", "status": "Completed", "duration": 1.5}


def test_every_request_has_token_and_json_headers(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """Each request carries X-User-Token and Content-Type: application/json."""
    rsps.add(responses.POST, ANY_URL, status=200)
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    server.create_workflow(FakeWorkflow())
    server.update_workflow(FakeWorkflow(), "In progress")
    server.create_task(FakeTask())
    server.update_task(FakeTask())
    server.flush()
    assert len(rsps.calls) == 4
    for call in rsps.calls:
        assert call.request.headers["X-User-Token"] == TOKEN
        assert call.request.headers["Content-Type"] == "application/json"


def test_trailing_slash_in_base_url_is_tolerated(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """A base_url ending in '/' yields the same URLs, without a double slash."""
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server(BASE + "/")
    server.update_task(FakeTask(1))
    server.flush()
    assert rsps.calls[0].request.url == f"{BASE}/workflows/wf-1/tasks/1"


def test_hostile_ids_stay_single_segments(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """Ids holding '/', '?', '#', spaces, '.' or '..' are percent-encoded and never change the path."""
    rsps.add(responses.PATCH, ANY_URL, status=200)
    rsps.add(responses.POST, ANY_URL, status=200)
    server = make_server()
    server.update_task(FakeTask("..", workflow_id="a/b?c#d e"))
    server.update_workflow(FakeWorkflow(".."), "Failed")
    server.create_task(FakeTask(".", workflow_id="."))
    server.flush()
    assert [c.request.url for c in rsps.calls] == [
        f"{BASE}/workflows/a%2Fb%3Fc%23d%20e/tasks/%2E%2E",
        f"{BASE}/workflows/%2E%2E",
        f"{BASE}/workflows/%2E/tasks",
    ]


def test_hostile_ids_reach_the_wire_encoded(make_server: Callable[..., ServerAPI], httpserver: HTTPServer) -> None:
    """On a real socket the request line keeps %2E%2E and %2F, so no proxy or server can climb the path."""
    raw: list[str] = []

    def handler(request: Request) -> Response:
        raw.append(request.environ["RAW_URI"])
        return Response("", 200)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    server = make_server(httpserver.url_for("/api"))
    server.update_task(FakeTask("..", workflow_id="a/b?c#d e"))
    server.flush()
    assert raw == ["/api/workflows/a%2Fb%3Fc%23d%20e/tasks/%2E%2E"]


# -- retries -----------------------------------------------------------------------------


def test_client_error_is_not_retried_and_logged_once(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """A 4xx other than 408/429 is sent once and logged once at WARNING with status and path, no token."""
    rsps.add(responses.PATCH, ANY_URL, status=404)
    server = make_server()
    server.update_task(FakeTask(7))
    server.flush()
    assert len(rsps.calls) == 1
    rejected = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "rejected with" in m]
    assert len(rejected) == 1
    assert "404" in rejected[0] and "/api/v1/workflows/wf-1/tasks/7" in rejected[0]
    assert all(TOKEN not in m for m in _dotflow_lines(dotflow_logs))
    assert (server.sent, server.failed, server.pending) == (0, 1, 0)


@pytest.mark.parametrize("statuses", [[500, 200], [503, 502, 200], [429, 200], [408, 504, 200]])
def test_transient_statuses_are_retried_until_success(
    make_server: Callable[..., ServerAPI], rsps: Any, statuses: list[int]
) -> None:
    """408, 429 and 5xx are retried, and the report is delivered once the server answers 2xx."""
    for status in statuses:
        rsps.add(responses.PATCH, ANY_URL, status=status)
    server = make_server()
    server.update_task(FakeTask())
    server.flush()
    assert [c.response.status_code for c in rsps.calls] == statuses
    assert (server.sent, server.failed) == (1, 0)


def test_connection_errors_are_retried(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """A connection error or timeout is retried like a 5xx."""
    rsps.add(responses.PATCH, ANY_URL, body=requests.ConnectionError("refused"))
    rsps.add(responses.PATCH, ANY_URL, body=requests.ReadTimeout("slow"))
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    server.update_task(FakeTask())
    server.flush()
    assert len(rsps.calls) == 3
    assert (server.sent, server.failed) == (1, 0)


def test_retries_are_bounded(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """With retries=2 a report that keeps failing is tried 3 times, then given up and counted as lost."""
    rsps.add(responses.PATCH, ANY_URL, status=503)
    server = make_server(retries=2)
    server.update_task(FakeTask())
    server.flush()
    assert len(rsps.calls) == 3
    assert (server.sent, server.failed, server.pending) == (0, 1, 0)
    lost = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "lost" in m]
    assert len(lost) == 1 and "1 report(s) lost" in lost[0] and "HTTP 503" in lost[0]


def test_retry_after_is_honoured(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """A Retry-After of 0.3 s on a 429 delays the next attempt by at least that long."""
    times: list[float] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        times.append(time.monotonic())
        return (429, {"Retry-After": "0.3"}, "") if len(times) == 1 else (200, {}, "")

    rsps.add_callback(responses.PATCH, ANY_URL, callback=answer)
    server = make_server(backoff_max=2.0)
    server.update_task(FakeTask())
    server.flush()
    assert len(times) == 2
    assert times[1] - times[0] >= 0.25


def test_retry_after_is_capped_by_backoff_max(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """A Retry-After of 120 s waits only backoff_max before the next attempt."""
    rsps.add(responses.PATCH, ANY_URL, status=503, headers={"Retry-After": "120"})
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server(backoff_max=0.1)
    started = time.monotonic()
    server.update_task(FakeTask())
    server.flush(timeout=5)
    assert time.monotonic() - started < 2.0
    assert server.sent == 1


def test_flush_cuts_a_backoff_wait_short(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """flush(timeout) returns near its deadline even while the sender waits out a long Retry-After."""
    rsps.add(responses.PATCH, ANY_URL, status=503, headers={"Retry-After": "60"})
    server = make_server(backoff_max=60.0)
    server.update_task(FakeTask())
    server.update_task(FakeTask())
    started = time.monotonic()
    server.flush(timeout=0.3)
    assert time.monotonic() - started < 1.5
    lost = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "lost" in m]
    assert len(lost) == 1 and "2 report(s) lost" in lost[0] and "HTTP 503" in lost[0]
    assert (server.failed, server.pending) == (2, 0)


# -- redirects and rejections ---------------------------------------------------------------


def test_redirect_is_not_followed_so_the_token_stays_home(
    make_server: Callable[..., ServerAPI], httpserver: HTTPServer, elsewhere: HTTPServer
) -> None:
    """A 302 to another host is not followed: that host never gets a request nor the token."""
    target = elsewhere.url_for("/steal")
    httpserver.expect_request(re.compile(".*")).respond_with_data("", status=302, headers={"Location": target})
    server = make_server(httpserver.url_for("/api"))
    server.update_task(FakeTask())
    server.flush()
    assert elsewhere.log == []
    assert len(httpserver.log) == 1
    assert (server.sent, server.failed, server.pending) == (0, 1, 0)


def test_redirect_is_a_rejection_logged_with_the_target_host_only(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """A 3xx is sent once, not retried, and logged with its status and target host, never its path or query."""
    location = f"https://user:pw@evil.test:8443/steal/path?token={TOKEN}&q=querysecret"
    rsps.add(responses.PATCH, ANY_URL, status=307, headers={"Location": location})
    server = make_server()
    server.update_task(FakeTask())
    server.flush()
    assert len(rsps.calls) == 1
    lines = _dotflow_lines(dotflow_logs, logging.WARNING)
    redirected = [m for m in lines if "HTTP 307" in m and "evil.test" in m]
    assert len(redirected) == 1
    for secret in (TOKEN, "querysecret", "/steal", "user:pw", "pw@"):
        assert all(secret not in m for m in _dotflow_lines(dotflow_logs))
    assert (server.sent, server.failed) == (0, 1)


def test_rejections_are_logged_once_per_status_and_summed_at_flush(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """62 reports answered 401 give one WARNING for the first and one flush line with the totals per status."""
    rsps.add(responses.POST, ANY_URL, status=401)
    rsps.add(responses.PATCH, ANY_URL, status=401)
    server = make_server()
    server.create_workflow(FakeWorkflow())
    for tid in range(20):
        task = FakeTask(tid)
        server.create_task(task)
        server.update_task(task)
        server.update_task(task)
    server.update_workflow(FakeWorkflow(), "Completed")
    server.flush(timeout=30)
    assert len(rsps.calls) == 62
    lines = _dotflow_lines(dotflow_logs, logging.WARNING)
    assert len(lines) == 2
    assert "HTTP 401" in lines[0] and "POST /api/v1/workflows" in lines[0] and "SERVER_USER_TOKEN" in lines[0]
    assert "62 report(s) lost" in lines[1] and "62 reports rejected (401: 62)" in lines[1]
    assert (server.sent, server.failed) == (0, 62)


def test_each_rejected_status_is_logged_once(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """Two statuses give two first-rejection lines, and the flush line counts each status."""
    rsps.add(responses.PATCH, f"{BASE}/workflows/wf-1/tasks/1", status=404)
    rsps.add(responses.PATCH, f"{BASE}/workflows/wf-1/tasks/2", status=422)
    server = make_server()
    for _ in range(3):
        server.update_task(FakeTask(1))
        server.update_task(FakeTask(2))
    server.flush()
    rejected = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "rejected with" in m]
    assert [m.split("HTTP ")[1][:3] for m in rejected] == ["404", "422"]
    lost = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "lost" in m]
    assert len(lost) == 1 and "6 reports rejected (404: 3, 422: 3)" in lost[0]


def test_logged_paths_hide_a_token_in_the_base_url(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """A token inside base_url's path is redacted from rejection, give-up and failure lines alike."""
    rsps.add(responses.PATCH, re.compile(r".*/tasks/1$"), status=401)
    rsps.add(responses.PATCH, re.compile(r".*/tasks/2$"), status=503)
    rsps.add(responses.PATCH, re.compile(r".*/tasks/3$"), body=requests.exceptions.InvalidHeader("bad"))
    server = make_server(f"https://api.test/{TOKEN}/api", retries=1)
    for tid in (1, 2, 3):
        server.update_task(FakeTask(tid))
    server.flush()
    lines = _dotflow_lines(dotflow_logs)
    assert server.failed == 3
    assert sum("/***/api/workflows/wf-1/tasks/" in m for m in lines) >= 3
    assert all(TOKEN not in m for m in lines)


# -- configuration and secrecy -----------------------------------------------------------


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
        "https://api.test:notaport/v1",
        "https://api .test/v1",
    ],
)
def test_bad_base_url_raises_config_error(url: str) -> None:
    """A base_url that is not http(s) with a host raises ConfigError with a one-line message."""
    with pytest.raises(ConfigError) as info:
        ServerAPI(url, TOKEN)
    message = str(info.value)
    assert "\n" not in message and "base_url" in message and TOKEN not in message


def test_bad_base_url_message_masks_credentials() -> None:
    """The ConfigError for a bad URL shows user:pass@ as ***@."""
    with pytest.raises(ConfigError) as info:
        ServerAPI("ftp://alice:hunter2@api.test/v1", TOKEN)
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert "***@api.test" in str(info.value)


@pytest.mark.parametrize("token", ["", "   ", None, f"{TOKEN}\nX-Evil: 1", f"{TOKEN}\u00e9"])
def test_bad_token_raises_config_error_without_echoing_it(token: Any) -> None:
    """An empty, missing or header-breaking token raises ConfigError that never repeats the token."""
    with pytest.raises(ConfigError) as info:
        ServerAPI(BASE, token)
    assert TOKEN not in str(info.value) and "user_token" in str(info.value)


def test_bad_numbers_raise_config_error() -> None:
    """A negative retries or a non-positive timeout raises ConfigError naming the option."""
    with pytest.raises(ConfigError, match="retries"):
        ServerAPI(BASE, TOKEN, retries=-1)
    with pytest.raises(ConfigError, match="timeout"):
        ServerAPI(BASE, TOKEN, timeout=0)


def test_repr_hides_token_and_userinfo() -> None:
    """repr() shows the masked base_url and user_token='***'."""
    text = repr(ServerAPI("https://alice:hunter2@api.test/v1/", TOKEN))
    assert text == "ServerAPI(base_url='https://***@api.test/v1', user_token='***', timeout=15.0)"


def test_mask_url_never_leaks_a_password() -> None:
    """mask_url hides user:pass@, even a malformed password holding '/'."""
    assert mask_url("https://u:p@h.test/x") == "https://***@h.test/x"
    assert mask_url("https://h.test/x") == "https://h.test/x"
    assert "se/cret" not in mask_url("https://u:se/cret@h.test/x")


def test_token_never_logged_even_when_an_error_quotes_it(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """Errors whose text contains the token are logged by type only; no record holds the token."""
    rsps.add(responses.PATCH, ANY_URL, body=requests.ConnectionError(f"refused with {TOKEN}"))
    rsps.add(responses.POST, ANY_URL, body=requests.exceptions.InvalidHeader(f"bad {TOKEN}"))
    server = make_server(retries=1)
    server.update_task(FakeTask())
    server.create_task(FakeTask())
    server.flush()
    assert server.failed == 2
    lines = _dotflow_lines(dotflow_logs)
    assert lines and all(TOKEN not in line for line in lines)
    assert all(TOKEN not in (r.exc_text or "") for r in dotflow_logs.records)


def test_pickled_copy_keeps_settings_and_hides_token() -> None:
    """A pickled ServerAPI comes back with the same settings and a fresh, empty queue."""
    copy = pickle.loads(pickle.dumps(ServerAPI(BASE, TOKEN, retries=2)))
    assert repr(copy) == repr(ServerAPI(BASE, TOKEN)) and copy.pending == 0


# -- never raising, snapshots, lifecycle --------------------------------------------------


def test_hooks_never_raise(make_server: Callable[..., ServerAPI], dotflow_logs: pytest.LogCaptureFixture) -> None:
    """A task whose result() fails, or objects missing attributes, are logged and never raise."""

    class Broken(FakeTask):
        def result(self, max: int) -> dict[str, Any]:
            raise RuntimeError("no result")

    server = make_server()
    server.create_task(Broken())
    server.update_task(Broken())
    server.create_workflow(object())
    server.update_workflow(object(), "Failed")
    server.update_task(FakeTask("", workflow_id="wf-1"))
    assert server.pending == 0
    assert len([m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "could not queue" in m]) == 5


def test_body_is_snapshotted_when_the_hook_is_called(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """A report carries the task's state at hook time, even if the task changes before it is sent."""
    gate = threading.Event()

    def slow(request: Any) -> tuple[int, dict[str, str], str]:
        gate.wait(5)
        return (200, {}, "")

    rsps.add_callback(responses.POST, ANY_URL, callback=slow)
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    task = FakeTask(1)
    server.create_task(task)  # blocks the sender until the gate opens
    task.status = "In progress"
    server.update_task(task)
    task.status = "Completed"
    gate.set()
    server.flush()
    assert [_body(c)["status"] for c in rsps.calls] == ["Not started", "In progress"]


def test_sender_starts_on_first_report(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """No thread runs after construction; the first report starts one sender, flush stops it."""
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    name = f"dotflow-server-sender-{id(server):x}"

    def senders() -> int:
        return sum(1 for t in threading.enumerate() if t.name == name and t.is_alive())

    assert senders() == 0
    server.update_task(FakeTask())
    server.update_task(FakeTask())
    assert senders() == 1
    server.flush()
    deadline = time.monotonic() + 2
    while senders() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert senders() == 0


def test_json_is_encoded_on_the_sender_thread(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """Hooks hand a dict to the queue; json encoding (and its default=str) runs on the sender thread."""
    threads: list[str] = []

    class Probe:
        def __str__(self) -> str:
            threads.append(threading.current_thread().name)
            return "probe"

    class ProbeTask(FakeTask):
        def result(self, max: int) -> dict[str, Any]:
            return dict(super().result(max), probe=Probe())

    rsps.add(responses.POST, ANY_URL, status=201)
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    server.create_task(ProbeTask(1))
    server.update_task(ProbeTask(1))
    server.flush()
    assert [_body(c)["probe"] for c in rsps.calls] == ["probe", "probe"]
    assert len(threads) == 2 and all(name.startswith("dotflow-server-sender-") for name in threads)


def test_idle_senders_exit_and_restart_on_the_next_report(
    make_server: Callable[..., ServerAPI], rsps: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """30 servers left without a flush stop their senders once idle; a later report starts one again."""
    monkeypatch.setattr(server_api, "_SENDER_IDLE", 0.05)
    rsps.add(responses.POST, ANY_URL, status=201)
    rsps.add(responses.PATCH, ANY_URL, status=200)
    servers = [make_server() for _ in range(30)]
    for server in servers:
        server.create_workflow(FakeWorkflow())
    deadline = time.monotonic() + 10
    while _senders(servers) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _senders(servers) == 0
    assert [s.sent for s in servers] == [1] * 30
    servers[0].update_task(FakeTask())
    servers[0].flush()
    assert (servers[0].sent, servers[0].failed) == (2, 0)


def test_counters_and_flush_idempotence(
    make_server: Callable[..., ServerAPI], rsps: Any, dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """sent counts deliveries; a second flush returns at once and logs nothing; later reports still go out."""
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    for _ in range(3):
        server.update_task(FakeTask())
    server.flush()
    started = time.monotonic()
    server.flush()
    server.flush(timeout=0)
    assert time.monotonic() - started < 0.1
    assert (server.sent, server.failed, server.pending) == (3, 0, 0)
    server.update_task(FakeTask())
    server.flush()
    assert server.sent == 4
    assert _dotflow_lines(dotflow_logs, logging.WARNING) == []


def test_flush_is_safe_from_several_threads(make_server: Callable[..., ServerAPI], rsps: Any) -> None:
    """Concurrent flush() calls all return and the queue is delivered once."""
    rsps.add(responses.PATCH, ANY_URL, status=200)
    server = make_server()
    for _ in range(20):
        server.update_task(FakeTask())
    threads = [threading.Thread(target=server.flush) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert not any(t.is_alive() for t in threads)
    assert (server.sent, len(rsps.calls)) == (20, 20)


# -- ping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"status": 200}, PingStatus.OK),
        ({"status": 401}, PingStatus.AUTH),
        ({"status": 403}, PingStatus.AUTH),
        ({"status": 500}, PingStatus.ERROR),
        ({"status": 404}, PingStatus.REACHABLE),
        ({"status": 405}, PingStatus.REACHABLE),
        ({"status": 501}, PingStatus.REACHABLE),
        ({"status": 400}, PingStatus.ERROR),
        ({"status": 302, "headers": {"Location": "https://elsewhere.test/x"}}, PingStatus.ERROR),
        ({"body": requests.ConnectionError("refused")}, PingStatus.UNREACHABLE),
        ({"body": requests.ConnectTimeout("slow")}, PingStatus.UNREACHABLE),
    ],
)
def test_ping_classifies_the_answer(rsps: Any, answer: dict[str, Any], expected: PingStatus) -> None:
    """ping() GETs {base}/workflows with the token and maps the answer to ok/auth/reachable/unreachable/error."""
    rsps.add(responses.GET, f"{BASE}/workflows", **answer)
    result = ServerAPI(BASE, TOKEN).ping()
    assert isinstance(result, PingResult) and result.status is expected
    assert bool(result) is (expected in (PingStatus.OK, PingStatus.REACHABLE))
    assert len(rsps.calls) == 1
    assert rsps.calls[0].request.headers["X-User-Token"] == TOKEN
    assert TOKEN not in result.detail


@pytest.mark.parametrize("status", [404, 405, 501])
def test_ping_counts_a_missing_get_route_as_reachable(rsps: Any, status: int) -> None:
    """A backend with only the POST/PATCH routes answering 404/405/501 is 'reachable', and the detail says why."""
    rsps.add(responses.GET, f"{BASE}/workflows", status=status)
    result = ServerAPI(BASE, TOKEN).ping()
    assert result.status == "reachable"
    assert result.detail == f"HTTP {status}: the server answered; the token could not be checked with GET /workflows"


def test_ping_does_not_follow_a_redirect(httpserver: HTTPServer, elsewhere: HTTPServer) -> None:
    """ping() given a 302 to another host sends nothing there and reports an error naming only that host."""
    target = elsewhere.url_for(f"/steal?token={TOKEN}")
    httpserver.expect_request("/api/workflows").respond_with_data("", status=302, headers={"Location": target})
    result = ServerAPI(httpserver.url_for("/api"), TOKEN, timeout=2).ping()
    assert elsewhere.log == []
    assert result.status is PingStatus.ERROR
    assert "HTTP 302" in result.detail and "127.0.0.1" in result.detail
    assert TOKEN not in result.detail and "/steal" not in result.detail


def test_ping_on_a_closed_port_is_unreachable() -> None:
    """ping() against a closed port on 127.0.0.1 returns 'unreachable' without raising."""
    result = ServerAPI(f"http://127.0.0.1:{_closed_port()}", TOKEN, timeout=2).ping()
    assert result.status == "unreachable"


# -- real server on 127.0.0.1 -------------------------------------------------------------


def test_order_is_kept_under_load(make_server: Callable[..., ServerAPI], httpserver: HTTPServer) -> None:
    """200 interleaved reports for 10 tasks arrive in exactly the order the hooks were called."""
    seen: list[tuple[str, str, str]] = []

    def handler(request: Request) -> Response:
        seen.append((request.method, request.environ["RAW_URI"], request.get_json()["status"]))
        return Response("", 200)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(handler)
    server = make_server(httpserver.url_for("/api"))
    expected = []
    for step in range(20):
        for tid in range(10):
            server.update_task(FakeTask(tid, status=f"step-{step}"))
            expected.append(("PATCH", f"/api/workflows/wf-1/tasks/{tid}", f"step-{step}"))
    server.flush(timeout=30)
    assert seen == expected
    assert (server.sent, server.failed) == (200, 0)


def test_hooks_return_fast_while_server_is_slow(make_server: Callable[..., ServerAPI], httpserver: HTTPServer) -> None:
    """With a server taking 0.5 s per request, queuing 20 reports takes well under 0.5 s."""

    def slow(request: Request) -> Response:
        time.sleep(0.5)
        return Response("", 200)

    httpserver.expect_request(re.compile(".*")).respond_with_handler(slow)
    server = make_server(httpserver.url_for("/api"))
    started = time.monotonic()
    for tid in range(20):
        server.update_task(FakeTask(tid))
    elapsed = time.monotonic() - started
    assert elapsed < 0.25
    assert server.pending > 0
    server.flush(timeout=0.1)


def test_flush_with_dead_server_is_bounded(
    make_server: Callable[..., ServerAPI], dotflow_logs: pytest.LogCaptureFixture
) -> None:
    """With nothing listening, flush returns within flush_timeout plus slack and logs one 'lost' line."""
    server = make_server(f"http://127.0.0.1:{_closed_port()}", flush_timeout=1.0, retries=5, backoff_max=5.0)
    server.create_workflow(FakeWorkflow())
    server.create_task(FakeTask())
    server.update_task(FakeTask())
    started = time.monotonic()
    server.flush()
    assert time.monotonic() - started < 2.5
    lost = [m for m in _dotflow_lines(dotflow_logs, logging.WARNING) if "lost" in m]
    assert len(lost) == 1
    assert "3 report(s) lost" in lost[0] and "server unreachable: ConnectionError" in lost[0]
    assert TOKEN not in lost[0]
    assert (server.sent, server.failed, server.pending) == (0, 3, 0)


def test_import_does_not_load_requests() -> None:
    """Importing the module stays cheap: requests is imported only when a report is sent."""
    code = "import sys, dotflow.providers.server_api; print('requests' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"


def test_a_short_token_does_not_garble_the_shown_url() -> None:
    """A one-letter token is hidden where it stands alone, not inside 'http' or the host."""
    server = ServerAPI("http://127.0.0.1:9/api/t/x", "t")
    assert "http://127.0.0.1:9/api/***/x" in repr(server)
