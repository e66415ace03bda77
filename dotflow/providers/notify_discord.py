"""NotifyDiscord: a Discord embed per task status change, posted to a webhook in the background."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from dotflow.errors import UsageError
from dotflow.providers._notify import (
    HTTPNotify,
    Post,
    check_number,
    dumps,
    failure,
    headline,
    http_url_problem,
    result_text,
    status_filter,
    switched_off,
)
from dotflow.redact import Redactor, origin, userinfo
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    import requests

# Discord's limits on an embed's parts, in characters.
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELD_MAX = 1024
_FENCE = "```json\n{}```"


class NotifyDiscord(HTTPNotify):
    """``NotifyDiscord(webhook_url, notification_type=None, show_result=False, timeout=1.5)``, as in
    dotflow 1.x: one embed per task status change (or only for the status(es)
    ``notification_type`` names), posted to a channel's webhook:

    ```text
        {"embeds": [{"title": "❌ Failed", "color": 0xF44336,
                     "description": "`<workflow id>` — Task <task id>",
                     "fields": [{"name": "Result", ...}, {"name": "Error", "value": "`ValueError`: ..."}]}]}
    ```

    ``show_result=True`` adds the ``Result`` field (the task's ``result()`` as JSON, capped to
    Discord's 1024 characters a field, which 1.x overran); ``Error`` comes with a Failed status.

    Delivery never blocks the task nor fails the workflow: the embed is built when the status
    changes and queued; one background sender posts it with ``timeout`` seconds per request,
    retrying connection errors, timeouts, 429 (waiting what Discord asks) and 5xx up to
    ``retries`` times. ``flush(timeout)`` delivers what is pending (``flush_timeout`` by default;
    ``dotflow start``, ``DotFlow.flush()`` and the interpreter's exit call it). The webhook URL is
    a secret: it never appears in a log line, an error or ``repr()``
    (``https://discord.com/api/webhooks/***``).

    Keyword-only: ``flush_timeout``, ``retries``, ``backoff_max`` (cap on one wait, seconds) and
    ``session`` (a ready ``requests.Session``, used as is and never closed).
    """

    service = "Discord"
    COLORS = {
        TypeStatus.COMPLETED: 0x4CAF50,
        TypeStatus.FAILED: 0xF44336,
        TypeStatus.RETRY: 0xFF9800,
        TypeStatus.IN_PROGRESS: 0x2196F3,
        TypeStatus.NOT_STARTED: 0x9E9E9E,
        TypeStatus.PAUSED: 0x607D8B,
        TypeStatus.CANCELLED: 0x9C27B0,
        TypeStatus.SKIPPED: 0x9E9E9E,
    }

    def __init__(
        self,
        webhook_url: str,
        notification_type: str | Iterable[str] | None = None,
        show_result: bool = False,
        timeout: float = 1.5,
        *,
        flush_timeout: float = 5.0,
        retries: int = 3,
        backoff_max: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        off = switched_off("NotifyDiscord", "give the channel's webhook URL", webhook_url=webhook_url)
        problem = None if off else http_url_problem(webhook_url)
        if problem is not None:
            shown = _shown(webhook_url) if isinstance(webhook_url, str) and webhook_url.strip() else webhook_url
            raise UsageError(
                f"NotifyDiscord(webhook_url={shown!r}) {problem}; copy the URL from the channel's "
                "Integrations > Webhooks (https://discord.com/api/webhooks/<id>/<token>)"
            )
        self.webhook_url = webhook_url.strip()
        self.notification_type = notification_type
        self.show_result = bool(show_result)
        self.timeout = float(check_number("NotifyDiscord", "timeout", timeout))
        self._wanted = status_filter("NotifyDiscord", notification_type)
        self._keep_settings(flush_timeout, retries, backoff_max)
        self._off = off
        if off:
            self._hide, self._shown = Redactor(), ""
            return
        self._start(
            base_url=self.webhook_url,
            path="",
            ping_path="",  # GET of a webhook answers its description, and sends nothing
            shown=_shown(self.webhook_url),
            hide=Redactor.remembering(*_secrets(self.webhook_url)),
            session=session,
        )

    def __repr__(self) -> str:
        return (
            f"NotifyDiscord(webhook_url={self._shown!r}, notification_type={self.notification_type!r}, "
            f"show_result={self.show_result!r}, timeout={self.timeout!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy in another process gets its own queue and sender; an injected session stays here
        args = (self.webhook_url, self.notification_type, self.show_result, self.timeout)
        return (_rebuild, (args, self._settings))

    def _post(self, task: Any) -> Post:
        return Post(dumps({"embeds": [self._embed(task)]}))

    def _embed(self, task: Any) -> dict[str, Any]:
        status = str(task.status)
        fields: list[dict[str, str]] = []
        embed = {
            "title": headline(status)[:TITLE_MAX],
            "color": self.COLORS.get(status, 0x9E9E9E),
            "description": f"`{task.workflow_id}` — Task {task.task_id}"[:DESCRIPTION_MAX],
            "fields": fields,
        }
        if self.show_result:
            room = FIELD_MAX - len(_FENCE.format(""))
            fields.append({"name": "Result", "value": _FENCE.format(result_text(task, room))})
        error = failure(task)
        if error is not None:
            fields.append({"name": "Error", "value": f"`{error[0]}`: {error[1]}"[:FIELD_MAX]})
        return embed

    def _hint(self, status: int) -> str:
        if status in (401, 403, 404):
            return "the webhook was deleted or its URL is wrong: copy it again from the channel's Integrations"
        return ""


def _shown(url: str) -> str:
    """The webhook URL as it may be shown: ``https://discord.com/api/webhooks/***``."""
    base = origin(url)
    if base.endswith("/..."):
        base = base[: -len("/...")]
    try:
        path = urlsplit(url).path
    except ValueError:
        path = ""
    at = path.find("/webhooks/")
    return base + (path[: at + len("/webhooks/")] if at >= 0 else "/") + "***"


def _secrets(url: str) -> list[str | None]:
    """The parts of a webhook URL that hide it: the whole, its path, id and token, query, userinfo."""
    parts = urlsplit(url)
    path = parts.path
    at = path.find("/webhooks/")
    tail = path[at + len("/webhooks/") :] if at >= 0 else path.lstrip("/")
    parts_of = [path, tail, *tail.split("/"), parts.query, userinfo(url)]
    return [url, *(part for part in parts_of if part and len(part) >= 4)]  # shorter ones are no secret


def _rebuild(args: tuple[Any, ...], options: dict[str, Any]) -> NotifyDiscord:
    return NotifyDiscord(*args, **options)
