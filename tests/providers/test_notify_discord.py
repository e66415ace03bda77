"""NotifyDiscord through DotFlow against a real HTTP server on 127.0.0.1: embeds, filtering,
retries, a dead server, and the webhook URL never shown."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import pytest
from fault_server import FaultServer
from notify_support import WORKFLOW, Script, bad, capture_everything, every_line, ok, run, task_ids
from pytest_httpserver import HTTPServer

from dotflow import TypeStatus, action
from dotflow.abc.notify import Notify
from dotflow.errors import UsageError
from dotflow.providers import NotifyDiscord

HOOK = "/api/webhooks/112233445566778899/SECRET-discord-hook-Zq81xL0p"
COMPLETED, FAILED = 0x4CAF50, 0xF44336


def make(server: Any, **options: Any) -> NotifyDiscord:
    """A NotifyDiscord posting to HOOK on a local server (a pytest-httpserver or a FaultServer)."""
    root = server.url_for("") if isinstance(server, HTTPServer) else server.url
    settings: dict[str, Any] = {"backoff_max": 0.05, "flush_timeout": 5.0}
    settings.update(options)
    return NotifyDiscord(root.rstrip("/") + HOOK, **settings)


def test_is_a_notify_with_1x_defaults() -> None:
    """NotifyDiscord(webhook_url) is a Notify with 1.x's defaults and color table."""
    notify = NotifyDiscord("https://discord.com" + HOOK)
    assert isinstance(notify, Notify)
    assert (notify.notification_type, notify.show_result, notify.timeout) == (None, False, 1.5)
    assert NotifyDiscord.COLORS[TypeStatus.FAILED] == FAILED and NotifyDiscord.COLORS[TypeStatus.PAUSED] == 0x607D8B


def test_repr_hides_the_webhook() -> None:
    """repr() shows the webhook URL as https://discord.com/api/webhooks/***."""
    text = repr(NotifyDiscord("https://discord.com" + HOOK))
    assert text == (
        "NotifyDiscord(webhook_url='https://discord.com/api/webhooks/***', notification_type=None, "
        "show_result=False, timeout=1.5)"
    )


def test_an_empty_webhook_url_switches_it_off_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    """``NotifyDiscord(os.getenv("DISCORD_WEBHOOK_URL", ""))`` with the variable unset: one WARNING,
    the workflow runs, nothing is sent."""
    with caplog.at_level(logging.WARNING, logger="dotflow.notify"):
        notify = NotifyDiscord("  ")
    assert [r.getMessage() for r in caplog.records if r.name == "dotflow.notify"] == [
        "NotifyDiscord: webhook_url is empty (an unset variable?), so it sends nothing; give the channel's webhook URL"
    ]
    flow = run(notify)
    notify.flush(1)
    assert [t.status for t in flow.result_task()] == ["Completed"] and notify.sent == notify.failed == 0


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("discord.com" + HOOK, "must be an http:// or https:// URL"),
        ("https://discord.com" + HOOK + " ", None),
        ("https://discord.com" + HOOK + "\n#x", "whitespace"),
        ("https://discord.com" + HOOK + "#frag", "fragment"),
    ],
)
def test_a_bad_webhook_url_is_a_one_line_usage_error_that_hides_it(url: str, message: str | None) -> None:
    """A bad webhook URL raises a one-line UsageError that names the problem and never shows the
    URL's id or token (surrounding blanks are only stripped)."""
    if message is None:
        assert NotifyDiscord(url).webhook_url == url.strip()
        return
    with pytest.raises(UsageError) as caught:
        NotifyDiscord(url)
    text = str(caught.value)
    assert message in text and "\n" not in text
    assert "SECRET-discord-hook" not in text and "112233445566778899" not in text


def test_a_failed_task_posts_1x_embed(httpserver: HTTPServer) -> None:
    """A Failed task posts {"embeds": [{title, color, description, fields: [Error]}]} as 1.x does."""
    backend = Script(httpserver, then=(204, None, {}))
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    flow = run(notify, [bad])
    notify.flush()
    (task_id,) = task_ids(flow)
    assert backend.paths == [HOOK]
    assert backend.bodies == [
        {
            "embeds": [
                {
                    "title": "\u274c Failed",
                    "color": FAILED,
                    "description": f"`{WORKFLOW}` — Task {task_id}",
                    "fields": [{"name": "Error", "value": "`ValueError`: bad_value in *column* [3]"}],
                }
            ]
        }
    ]
    assert notify.sent == 1


def test_show_result_adds_a_result_field_within_discords_1024_characters(httpserver: HTTPServer) -> None:
    """show_result=True adds a Result field holding task.result() as JSON; a big result is capped so
    the field stays within Discord's 1024 characters (1.x overran it and Discord refused the embed)."""

    @action
    def big() -> str:
        return "x" * 5_000

    backend = Script(httpserver, then=(204, None, {}))
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, show_result=True)
    run(notify, [ok, big])
    notify.flush()
    small, large = (body["embeds"][0] for body in backend.bodies)
    assert small["title"] == "\u2705 Completed" and small["color"] == COMPLETED
    (field,) = small["fields"]
    assert field["name"] == "Result" and field["value"].startswith("```json\n") and field["value"].endswith("```")
    assert json.loads(field["value"][len("```json\n"):-3])["current_context"] == {"answer": 42}
    assert len(large["fields"][0]["value"]) <= 1024


def test_notification_type_sends_only_that_status(httpserver: HTTPServer) -> None:
    """notification_type=COMPLETED: of a completed and a failed task, only the completion is sent."""
    backend = Script(httpserver, then=(204, None, {}))
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED)
    run(notify, [ok, bad])
    notify.flush()
    assert [body["embeds"][0]["title"] for body in backend.bodies] == ["\u2705 Completed"]


def test_a_429_waits_what_discord_asks_then_delivers(httpserver: HTTPServer) -> None:
    """Discord's 429 {"retry_after": 0.4} (seconds) is honoured, then the embed is delivered."""
    limited = {"message": "You are being rate limited.", "retry_after": 0.4, "global": False}
    backend = Script(httpserver, [(429, limited, {})], then=(204, None, {}))
    notify = make(httpserver, notification_type=TypeStatus.COMPLETED, backoff_max=5.0)
    run(notify)
    notify.flush()
    assert len(backend.calls) == 2 and notify.sent == 1
    assert backend.calls[1][0] - backend.calls[0][0] >= 0.4


def test_503s_are_retried_until_delivered() -> None:
    """Two 503 answers, then the embed goes through."""
    with FaultServer("unavailable", fail_first=2, base_path="") as server:
        notify = make(server, notification_type=TypeStatus.COMPLETED)
        run(notify)
        notify.flush()
        assert [r.status for r in server.requests()] == [503, 503, 201]
    assert notify.sent == 1


def test_a_deleted_webhook_is_logged_once_with_what_to_do(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A 404 (deleted webhook) is not retried and is logged once, saying to copy the URL again."""
    Script(httpserver, then=(404, {"message": "Unknown Webhook", "code": 10015}, {}))
    notify = make(httpserver, notification_type=TypeStatus.FAILED)
    run(notify, [bad, bad])
    notify.flush()
    assert len(httpserver.log) == 2
    rejected = [r.getMessage() for r in caplog.records if "rejected a message" in r.getMessage()]
    assert len(rejected) == 1 and "Unknown Webhook" in rejected[0] and "copy it again" in rejected[0]


def test_a_dead_server_costs_the_workflow_nothing() -> None:
    """Against a server that never answers, start() returns at once and flush(0.5) is bounded."""
    with FaultServer("blackhole") as server:
        notify = make(server)
        began = time.monotonic()
        flow = run(notify, [ok, bad, ok])
        assert time.monotonic() - began < 0.5
        assert [task.status for task in flow.result_task()] == [TypeStatus.COMPLETED, TypeStatus.FAILED,
                                                                 TypeStatus.COMPLETED]
        began = time.monotonic()
        notify.flush(timeout=0.5)
        assert time.monotonic() - began < 1.5 and notify.pending == 0


def test_the_webhook_never_appears_in_any_log_line_error_or_repr(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """Refused, never answering, 500 and 401 servers, every logger at DEBUG: neither the webhook's
    token nor its id is in any record, output or repr."""
    capture_everything(caplog)
    Script(httpserver, [(500, {"message": "boom"}, {})], then=(401, {"message": f"bad {HOOK}"}, {}))
    notifiers = [make(httpserver)]
    with FaultServer("refused") as refused, FaultServer("blackhole") as hole:
        notifiers += [make(refused, retries=1), make(hole, timeout=0.2)]
        for notify in notifiers:
            run(notify, [ok, bad])
            notify.flush(timeout=1.0)
    assert all(notify.failed for notify in notifiers)
    text = every_line(caplog) + "".join(capfd.readouterr()) + "".join(map(repr, notifiers))
    assert "rejected a message with HTTP 401" in text
    assert "SECRET-discord-hook" not in text and "112233445566778899" not in text
    assert logging.getLogger("dotflow").handlers == []
