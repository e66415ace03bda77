"""NotifyTelegram through DotFlow against a real HTTP server on 127.0.0.1: messages, filtering,
retries, a dead server, and the bot token never shown."""

from __future__ import annotations

import json
import logging
import pickle
import re
import time
from typing import Any

import pytest
from fault_server import FaultServer
from notify_support import WORKFLOW, Script, bad, capture_everything, every_line, flaky, ok, run, task_ids
from pytest_httpserver import HTTPServer

from dotflow import Config, DotFlow, TypeStatus, action
from dotflow.abc.notify import Notify
from dotflow.errors import UsageError
from dotflow.providers import NotifyTelegram

TOKEN = "123456:SECRET-tg-token_9f3b2c7e41d0"
PATH = f"/bot{TOKEN}/sendMessage"


def make(server: Any, **options: Any) -> NotifyTelegram:
    """A NotifyTelegram on a local server (a pytest-httpserver or a FaultServer), chat 42."""
    url = server.url_for("/") if isinstance(server, HTTPServer) else server.url
    settings: dict[str, Any] = {"base_url": url, "backoff_max": 0.05, "flush_timeout": 5.0}
    settings.update(options)
    return NotifyTelegram(TOKEN, 42, **settings)


# -- the 1.x surface -----------------------------------------------------------------------------


def test_is_a_notify_with_1x_defaults() -> None:
    """NotifyTelegram(token, chat_id) is a Notify with 1.x's defaults: every status, no result, 1.5 s."""
    notify = NotifyTelegram(TOKEN, 42)
    assert isinstance(notify, Notify)
    assert (notify.notification_type, notify.show_result, notify.timeout) == (None, False, 1.5)
    assert (notify.token, notify.chat_id, notify.base_url) == (TOKEN, 42, "https://api.telegram.org")


def test_repr_hides_the_token() -> None:
    """repr() shows token='***' and the chat, never the token."""
    text = repr(NotifyTelegram(TOKEN, 42, notification_type=TypeStatus.FAILED))
    assert text == "NotifyTelegram(token='***', chat_id=42, notification_type='Failed', show_result=False, timeout=1.5)"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "12 34"}, "is not a bot token"),
        ({"token": "123/../x"}, "is not a bot token"),
        ({"chat_id": True}, "chat_id=True"),
        ({"notification_type": "failed"}, "notification_type='failed'"),
        ({"timeout": 0}, "timeout=0"),
        ({"retries": -1}, "retries=-1"),
        ({"base_url": "ftp://example.com"}, "must be an http:// or https:// URL"),
        ({"base_url": "https://example.com/?token=x"}, "must not hold a query"),
    ],
)
def test_a_bad_argument_is_a_one_line_usage_error(kwargs: dict[str, Any], message: str) -> None:
    """Each bad argument raises a one-line UsageError naming it, never echoing the token."""
    arguments: dict[str, Any] = {"token": TOKEN, "chat_id": 42, **kwargs}
    with pytest.raises(UsageError) as caught:
        NotifyTelegram(**arguments)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert TOKEN not in text and (not kwargs.get("token") or kwargs["token"] not in text)


@pytest.mark.parametrize("empty", [{"token": ""}, {"chat_id": " "}, {"token": "", "chat_id": ""}])
def test_an_empty_token_or_chat_id_switches_it_off_with_one_warning(
    empty: dict[str, Any], httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """``NotifyTelegram(os.getenv("BOT_TOKEN", ""), ...)`` with the variable unset (1.0.1's docs do
    this): one WARNING saying what to set, the workflow runs, and nothing is sent."""
    with caplog.at_level(logging.WARNING, logger="dotflow.notify"):
        notify = NotifyTelegram(**{"token": TOKEN, "chat_id": 42, **empty}, base_url=httpserver.url_for("/"))
    warnings = [r.getMessage() for r in caplog.records if r.name == "dotflow.notify"]
    assert len(warnings) == 1 and "empty (an unset variable?), so it sends nothing" in warnings[0]
    flow = run(notify)
    notify.flush(1)
    assert [t.status for t in flow.result_task()] == ["Completed"]
    assert httpserver.log == [] and notify.sent == notify.failed == notify.pending == 0
    assert notify.ping().status.value == "auth"


# -- messages ------------------------------------------------------------------------------------


def test_a_completed_task_sends_1x_send_message_json(httpserver: HTTPServer) -> None:
    """A Completed task POSTs {chat_id, text, parse_mode: markdown} to /bot<token>/sendMessage, the
    text being the status symbol and name, then the workflow id and the task id."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED)
    flow = run(notify)
    notify.flush()
    (task_id,) = task_ids(flow)
    assert backend.paths == [PATH]
    assert backend.bodies == [
        {"chat_id": 42, "text": f"\u2705 Completed\n`{WORKFLOW}` — Task {task_id}", "parse_mode": "markdown"}
    ]
    assert notify.sent == 1 and notify.failed == 0 and notify.pending == 0


def test_a_failed_task_carries_its_error_line_escaped_for_markdown(httpserver: HTTPServer) -> None:
    """A Failed message has `<Exception>`: <message>, with markdown's _ * ` [ escaped outside the code."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    flow = run(notify, [bad])
    notify.flush()
    (task_id,) = task_ids(flow)
    (body,) = backend.bodies
    assert body["text"] == (
        f"\u274c Failed\n`ValueError`: bad\\_value in \\*column\\* \\[3]\n`{WORKFLOW}` — Task {task_id}"
    )


def test_text_telegram_cannot_parse_is_sent_again_as_plain_text(httpserver: HTTPServer) -> None:
    """When Telegram answers 400 "can't parse entities", the same words go again without parse_mode."""
    refusal = {"ok": False, "error_code": 400, "description": "Bad Request: can't parse entities: byte offset 9"}
    backend = Script(httpserver, [(400, refusal, {})])
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    flow = run(notify, [bad])
    notify.flush()
    (task_id,) = task_ids(flow)
    assert len(backend.bodies) == 2 and "parse_mode" not in backend.bodies[1]
    assert backend.bodies[1] == {
        "chat_id": 42,
        "text": f"\u274c Failed\nValueError: bad_value in *column* [3]\n{WORKFLOW} — Task {task_id}",
    }
    assert notify.sent == 1


def test_show_result_adds_the_result_as_a_json_block(httpserver: HTTPServer) -> None:
    """show_result=True puts task.result() in a ```json block between the status and the footer."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, show_result=True)
    run(notify)
    notify.flush()
    (body,) = backend.bodies
    match = re.fullmatch(r"\u2705 Completed\n```json\n(.*)```\n`wf-notify` — Task \S+", body["text"], re.S)
    assert match is not None
    assert json.loads(match.group(1))["current_context"] == {"answer": 42}


def test_show_result_of_a_failure_masks_credentials_and_leaves_out_the_traceback(httpserver: HTTPServer) -> None:
    """The result block of a Failed task: a URL's user:password in the error is masked (and its
    query dropped), and no traceback (the machine's paths and source) goes to the chat."""

    @action
    def leaks() -> None:
        raise ConnectionError("cannot reach postgresql://admin:hunter2@db/x or http://u:pw@h/?key=SECRET")

    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.FAILED, show_result=True)
    run(notify, [leaks])
    notify.flush()
    (body,) = backend.bodies
    assert "hunter2" not in body["text"] and "pw@" not in body["text"] and "SECRET" not in body["text"]
    assert "postgresql://***@db/x" in body["text"] and "Traceback" not in body["text"]


def test_a_big_result_is_cut_to_fit_telegrams_4096_characters(httpserver: HTTPServer) -> None:
    """A 20,000-character result still makes a message Telegram takes (at most 4096 characters)."""

    @action
    def big() -> str:
        return "`x" * 10_000

    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, show_result=True)
    run(notify, [big])
    notify.flush()
    (body,) = backend.bodies
    assert len(body["text"]) <= 4096 and body["text"].count("```") == 2


def test_notification_type_sends_only_that_status(httpserver: HTTPServer) -> None:
    """notification_type=FAILED: of a completed and a failed task, only the failure is sent."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    flow = run(notify, [ok, bad])
    notify.flush()
    assert [body["text"].split("\n")[0] for body in backend.bodies] == ["\u274c Failed"]
    assert backend.bodies[0]["text"].endswith(task_ids(flow)[1])


def test_notification_type_takes_a_list_of_statuses(httpserver: HTTPServer) -> None:
    """notification_type=[RETRY, FAILED] sends a retried task's Retry and Failed, nothing else."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=[TypeStatus.RETRY, TypeStatus.FAILED])
    run(notify, [ok, flaky])
    notify.flush()
    assert [body["text"].split("\n")[0] for body in backend.bodies] == ["\u2757 Retry", "\u274c Failed"]


def test_every_status_is_sent_by_default_the_last_being_terminal(httpserver: HTTPServer) -> None:
    """Without a filter each task's messages arrive in order and end with its terminal status;
    Not started is sent when the task is added, as in 1.x."""
    backend = Script(httpserver)
    notify = make(httpserver)
    flow = DotFlow(config=Config(notify=notify), workflow_id=WORKFLOW)
    flow.task.add(ok)
    notify.flush()
    assert [body["text"].split("\n")[0] for body in backend.bodies] == ["\u26aa Not started"]
    flow.start()
    notify.flush()
    heads = [body["text"].split("\n")[0] for body in backend.bodies]
    assert heads[-1] == "\u2705 Completed" and set(heads) <= {"\u26aa Not started", "\U0001f535 In progress",
                                                              "\u2705 Completed"}
    assert heads.count("\u2705 Completed") == 1


# -- delivery ------------------------------------------------------------------------------------


def test_a_429_waits_the_retry_after_telegram_gives_then_delivers(httpserver: HTTPServer) -> None:
    """Telegram's 429 {"parameters": {"retry_after": ...}} is honoured: the retry comes that much
    later, and the message is delivered."""
    too_many = {"ok": False, "error_code": 429, "description": "Too Many Requests", "parameters": {"retry_after": 0.4}}
    backend = Script(httpserver, [(429, too_many, {})])
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, backoff_max=5.0)
    run(notify)
    notify.flush()
    assert len(backend.calls) == 2 and notify.sent == 1
    assert backend.calls[1][0] - backend.calls[0][0] >= 0.4


def test_a_retry_after_header_is_honoured(httpserver: HTTPServer) -> None:
    """A 429 with a Retry-After header and no JSON hint waits that long."""
    backend = Script(httpserver, [(429, {"ok": False}, {"Retry-After": "1"})])
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, backoff_max=5.0)
    run(notify)
    notify.flush()
    assert len(backend.calls) == 2 and backend.calls[1][0] - backend.calls[0][0] >= 1.0


def test_503s_are_retried_until_delivered() -> None:
    """Two 503 answers, then the message goes through on the third attempt."""
    with FaultServer("unavailable", fail_first=2, base_path="") as server:
        notify = make(server, notification_type=TypeStatus.COMPLETED)
        run(notify)
        notify.flush()
        assert [r.status for r in server.requests()] == [503, 503, 201]
        assert all(r.path == PATH for r in server.requests())
    assert notify.sent == 1 and notify.failed == 0


def test_a_rejection_is_logged_once_with_telegrams_reason_and_not_retried(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 "chat not found" is not retried; one warning gives Telegram's reason and what to check,
    and the flush's warning counts every lost message."""
    Script(httpserver, then=(400, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, {}))
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    caplog.set_level(logging.WARNING, logger="dotflow")
    run(notify, [bad, bad])
    notify.flush()
    assert len(httpserver.log) == 2 and notify.failed == 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    rejected = [line for line in warnings if "rejected a message" in line]
    assert len(rejected) == 1 and "chat not found" in rejected[0] and "check chat_id" in rejected[0]
    assert any("2 report(s) lost" in line and "2 of them terminal" in line for line in warnings)


def test_a_redirect_is_not_followed(httpserver: HTTPServer, caplog: pytest.LogCaptureFixture) -> None:
    """A 302 is not followed (the token would go along): the message is given up, and logged once."""
    with FaultServer("nodelay") as elsewhere:
        Script(httpserver, then=(302, {}, {"Location": elsewhere.url + "/steal"}))
        notify = make(httpserver, notification_type=TypeStatus.COMPLETED)
        run(notify)
        notify.flush()
        assert elsewhere.requests() == [] and notify.failed == 1
    assert any("redirect, not followed" in r.getMessage() for r in caplog.records)


def test_a_dead_server_costs_the_workflow_nothing() -> None:
    """Against a server that never answers, start() returns at once, every task completes, and
    flush(0.5) returns in about half a second, giving up what is left."""
    with FaultServer("blackhole") as server:
        notify = make(server)
        began = time.monotonic()
        flow = run(notify, [ok, ok, ok])
        assert time.monotonic() - began < 0.5
        assert [task.status for task in flow.result_task()] == [TypeStatus.COMPLETED] * 3
        began = time.monotonic()
        notify.flush(timeout=0.5)
        assert time.monotonic() - began < 1.5
        assert notify.pending == 0 and notify.failed >= 3


def test_a_refused_connection_is_retried_then_given_up_within_the_flush() -> None:
    """Connection refused is retried up to ``retries`` times, then given up; the flush is bounded."""
    with FaultServer("refused") as server:
        notify = make(server, notification_type=TypeStatus.COMPLETED, retries=2)
        run(notify)
        began = time.monotonic()
        notify.flush(timeout=3)
        assert time.monotonic() - began < 3.5
    assert notify.failed == 1 and notify.sent == 0


def test_an_injected_session_is_used(httpserver: HTTPServer) -> None:
    """session= sends through the given requests.Session (its headers go along)."""
    import requests

    session = requests.Session()
    session.headers["X-Test"] = "injected"
    Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, session=session)
    run(notify)
    notify.flush()
    (request, _), = httpserver.log
    assert request.headers["X-Test"] == "injected"


def test_a_pickled_copy_works_on_its_own(httpserver: HTTPServer) -> None:
    """pickle gives a working copy with the same settings and its own queue."""
    backend = Script(httpserver)
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED)
    copy = pickle.loads(pickle.dumps(notify))
    assert repr(copy) == repr(notify) and copy._queue is not notify._queue
    run(copy)
    copy.flush()
    assert len(backend.bodies) == 1


# -- secrecy -------------------------------------------------------------------------------------


def test_the_token_never_appears_in_any_log_line_error_or_repr(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Refused, never answering, 401 and 503 servers, with every logger at DEBUG (urllib3's request
    lines included): the token is in no record, no output and no repr."""
    capture_everything(caplog)
    refusal = {"ok": False, "description": f"Unauthorized {TOKEN}"}
    Script(httpserver, [(503, {"ok": False}, {})], then=(401, refusal, {}))
    notifiers = [make(httpserver)]
    with FaultServer("refused") as refused, FaultServer("blackhole") as hole:
        notifiers += [make(refused, retries=1), make(hole, timeout=0.2)]
        for notify in notifiers:
            run(notify, [ok, bad])
            notify.flush(timeout=1.0)
    assert len(httpserver.log) >= 2 and all(notify.failed for notify in notifiers)
    text = every_line(caplog) + "".join(capfd.readouterr()) + "".join(map(repr, notifiers))
    assert "rejected a message with HTTP 401" in text
    assert TOKEN not in text and TOKEN.split(":")[1] not in text


# -- ping (dotflow profile check --ping) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, "ok"), (401, "auth"), (404, "auth"), (500, "error")],
)
def test_ping_asks_get_me_and_sends_no_message(httpserver: HTTPServer, status: int, expected: str) -> None:
    """``ping()`` GETs ``/bot<token>/getMe``, which checks the token without a message to anyone."""
    httpserver.expect_request(f"/bot{TOKEN}/getMe", method="GET").respond_with_json({"ok": status == 200},
                                                                                   status=status)
    result = make(httpserver).ping()
    assert (result.status.value, result.detail) == (expected, f"HTTP {status}")
    assert bool(result) is (expected == "ok")
    assert [request.path for request, _ in httpserver.log] == [f"/bot{TOKEN}/getMe"]


def test_ping_of_nothing_listening_is_unreachable() -> None:
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = NotifyTelegram(TOKEN, 42, base_url=f"http://127.0.0.1:{port}", timeout=2).ping()
    assert result.status.value == "unreachable" and TOKEN not in result.detail
