"""NotifyApprise through DotFlow, with apprise's json:// target posting to a real HTTP server on
127.0.0.1: messages, one sender per service, retries, the extra, and the URLs never shown."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta
from typing import Any

import engine_support
import pytest
from fault_server import FaultServer
from notify_support import WORKFLOW, Script, bad, capture_everything, every_line, flaky, ok, run, task_ids
from pytest_httpserver import HTTPServer

from dotflow import TypeStatus
from dotflow.abc.notify import Notify
from dotflow.errors import MissingExtraError, UsageError
from dotflow.providers import NotifyApprise

pytest.importorskip("apprise")
# apprise's own import warns on Python 3.11 (its pgp module imports imghdr)
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

SECRETS = ("PASSWORD-ap-7c1e9d", "SECRET-path-5b2f00", "SECRET-header-e41a77")


def json_url(port: int, path: str = "/hook") -> str:
    return f"json://localhost:{port}{path}"


def test_is_a_notify_and_needs_the_notify_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """NotifyApprise is a Notify; without apprise installed it raises one line giving the pip command."""
    assert isinstance(NotifyApprise("json://localhost:9/x"), Notify)
    monkeypatch.setitem(sys.modules, "apprise", None)  # what an absent package looks like to import
    with pytest.raises(MissingExtraError) as caught:
        NotifyApprise("json://localhost:9/x")
    assert str(caught.value) == "NotifyApprise needs apprise: pip install 'dotflow[notify]'"


def test_importing_the_notify_providers_loads_no_sdk() -> None:
    """Importing the three notify providers loads neither apprise nor requests nor urllib3."""
    code = (
        "import sys, json\n"
        "from dotflow.providers import NotifyApprise, NotifyDiscord, NotifyTelegram\n"
        "import dotflow.providers.notify_apprise, dotflow.providers.notify_telegram\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('apprise', 'requests', 'urllib3'))))\n"
    )
    assert json.loads(engine_support.run_python(code)) == []


def test_repr_and_urls_show_only_the_schemes() -> None:
    """repr() and .urls show each URL as its scheme and ***: the URLs hold tokens and passwords."""
    notify = NotifyApprise([f"json://user:{SECRETS[0]}@localhost:9/x", "JSONS://localhost/y"])
    assert notify.urls == ["json://***", "jsons://***"]
    assert repr(notify) == (
        "NotifyApprise(urls=['json://***', 'jsons://***'], notification_type=None, show_result=False)"
    )


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ([], "takes an apprise URL or a list of them"),
        (42, "takes an apprise URL or a list of them"),
        (["json://localhost/x", ""], "takes an apprise URL or a list of them"),
        (f"nosuchscheme://{SECRETS[1]}", "urls[0]='nosuchscheme://***') is not a URL apprise can send to"),
    ],
)
def test_bad_urls_are_a_one_line_usage_error_without_the_url(urls: Any, message: str) -> None:
    """A missing, mistyped or unknown URL raises a one-line UsageError that shows no part of it."""
    with pytest.raises(UsageError) as caught:
        NotifyApprise(urls)
    text = str(caught.value)
    assert message in text and "\n" not in text and SECRETS[1] not in text


def test_a_failed_task_sends_title_body_and_failure_type(httpserver: HTTPServer) -> None:
    """The json:// service gets the title "<symbol> Failed", a body with the error and the ids, and
    apprise's type "failure"."""
    backend = Script(httpserver)
    notify = NotifyApprise(json_url(httpserver.port), notification_type=TypeStatus.FAILED)
    flow = run(notify, [ok, bad])
    notify.flush()
    (body,) = backend.bodies
    assert backend.paths == ["/hook"]
    assert (body["title"], body["type"]) == ("\u274c Failed", "failure")
    assert body["message"] == f"ValueError: bad_value in *column* [3]\n{WORKFLOW} — Task {task_ids(flow)[1]}"


def test_status_maps_to_apprises_types_and_show_result_leads_the_body(httpserver: HTTPServer) -> None:
    """Completed is "success" and Retry "warning"; show_result=True starts the body with the result JSON."""
    backend = Script(httpserver)
    notify = NotifyApprise(json_url(httpserver.port), notification_type=[TypeStatus.COMPLETED, TypeStatus.RETRY],
                           show_result=True)
    run(notify, [ok, flaky])
    notify.flush()
    assert [(body["title"], body["type"]) for body in backend.bodies] == [
        ("\u2705 Completed", "success"),
        ("\u2757 Retry", "warning"),
    ]
    assert json.loads(backend.bodies[0]["message"].split("\n")[0])["current_context"] == {"answer": 42}


def test_each_service_gets_every_message_and_a_dead_one_delays_no_other(httpserver: HTTPServer) -> None:
    """With a service that never answers listed first, the live one still gets its message at
    once (each service has its own sender), and flush(0.5) stays bounded."""
    backend = Script(httpserver)
    with FaultServer("blackhole") as hole:
        notify = NotifyApprise([json_url(hole.port), json_url(httpserver.port, "/a"), json_url(httpserver.port, "/b")],
                               notification_type=TypeStatus.COMPLETED)
        began = time.monotonic()
        run(notify)
        assert time.monotonic() - began < 0.5
        deadline = time.monotonic() + 3
        while len(backend.calls) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert sorted(backend.paths) == ["/a", "/b"]
        began = time.monotonic()
        notify.flush(timeout=0.5)
        assert time.monotonic() - began < 1.5
    assert notify.sent == 2 and notify.failed == 1


def test_a_send_apprise_reports_failed_is_retried_until_delivered() -> None:
    """apprise's send fails on two 503s; dotflow retries and the third attempt is delivered."""
    with FaultServer("unavailable", fail_first=2, base_path="") as server:
        notify = NotifyApprise(json_url(server.port), notification_type=TypeStatus.COMPLETED, backoff_max=0.05)
        run(notify)
        notify.flush(timeout=5)
        assert [r.status for r in server.requests()] == [503, 503, 201]
    assert notify.sent == 1 and notify.failed == 0


def test_apprises_rate_limit_wait_is_read_from_the_service() -> None:
    """The wait before the next send is the service's rate minus the time since its last send."""
    from dotflow.providers.notify_apprise import _throttle_wait

    class Service:
        request_rate_per_sec = 5.5
        _last_io_datetime = datetime.now() - timedelta(seconds=2)

    assert 3.0 < _throttle_wait(Service()) <= 3.5
    Service.request_rate_per_sec = 0
    assert _throttle_wait(Service()) == 0.0


def test_no_part_of_a_url_appears_in_any_log_line_error_or_repr(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """A URL with a password, a secret path and a secret header, sent to refused, never answering
    and failing servers with every logger at DEBUG (apprise's and urllib3's included): none of
    its secrets is in any record, output or repr."""
    capture_everything(caplog)
    Script(httpserver, then=(500, {"detail": "boom"}, {}))
    tail = f"/hook/{SECRETS[1]}?+X-Api-Key={SECRETS[2]}"
    with FaultServer("refused") as refused, FaultServer("blackhole") as hole:
        ports = (httpserver.port, refused.port, hole.port)
        urls = [f"json://user:{SECRETS[0]}@localhost:{port}{tail}" for port in ports]
        notify = NotifyApprise(urls, retries=1, backoff_max=0.05)
        run(notify, [ok, bad])
        notify.flush(timeout=1.5)
    assert len(httpserver.log) >= 1 and notify.failed
    text = every_line(caplog) + "".join(capfd.readouterr()) + repr(notify)
    assert "apprise" in text  # apprise's own lines were captured, and scrubbed
    for secret in SECRETS:
        assert secret not in text
