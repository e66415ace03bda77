"""NotifyTelegram: a Telegram message per task status change, sent by a bot in the background."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

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
from dotflow.redact import Redactor, credential_parts, mask_url

if TYPE_CHECKING:
    import requests

    from dotflow.delivery.http import Answer

API_ROOT = "https://api.telegram.org"
# Telegram takes 4096 characters; what the parsing leaves of the markdown is kept under this.
TEXT_LIMIT = 4_000
_TOKEN = re.compile(r"[A-Za-z0-9:_\-]+")
_MARKDOWN = re.compile(r"([_*`\[])")


class NotifyTelegram(HTTPNotify):
    """``NotifyTelegram(token, chat_id, notification_type=None, show_result=False, timeout=1.5)``,
    as in dotflow 1.x: a bot (``token`` from @BotFather) posts to ``chat_id`` a message per task
    status change, or only for the status(es) ``notification_type`` names:

    ```text
        ✅ Completed                                ❌ Failed
        `<workflow id>` — Task <task id>            `ValueError`: <message>
                                                    `<workflow id>` — Task <task id>
    ```

    ``show_result=True`` adds the task's ``result()`` as a JSON block (capped to fit the message).
    The text is Telegram's ``markdown``, with the task's own text escaped; if Telegram still
    cannot parse it, the message is sent again as plain text.

    Delivery never blocks the task nor fails the workflow: the message is built when the status
    changes and queued; one background sender posts to ``{base_url}/bot<token>/sendMessage``
    with ``timeout`` seconds per request, retrying connection errors, timeouts, 429 (waiting the
    ``retry_after`` Telegram gives) and 5xx up to ``retries`` times. ``flush(timeout)`` delivers
    what is pending (``flush_timeout`` by default; ``dotflow start``, ``DotFlow.flush()`` and the
    interpreter's exit call it). The token never appears in a log line, an error or ``repr()``.

    Keyword-only: ``base_url`` (another Bot API server, a local one in tests), ``flush_timeout``,
    ``retries``, ``backoff_max`` (cap on one wait, seconds) and ``session`` (a ready
    ``requests.Session``, used as is and never closed).
    """

    service = "Telegram"

    def __init__(
        self,
        token: str,
        chat_id: int | str,
        notification_type: str | Iterable[str] | None = None,
        show_result: bool = False,
        timeout: float = 1.5,
        *,
        base_url: str = API_ROOT,
        flush_timeout: float = 5.0,
        retries: int = 3,
        backoff_max: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        off = switched_off(
            "NotifyTelegram", "give the bot token from @BotFather and the chat's id", token=token, chat_id=chat_id
        )
        if not off and (not isinstance(token, str) or not _TOKEN.fullmatch(token.strip())):
            raise UsageError(
                "NotifyTelegram(token='***') is not a bot token: it must be letters, digits and ':_-', "
                "like '123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11' from @BotFather"
            )
        if not off and (isinstance(chat_id, bool) or not isinstance(chat_id, (int, str)) or not str(chat_id).strip()):
            raise UsageError(f"NotifyTelegram(chat_id={chat_id!r}); give the chat's id (an int, or '@channelname')")
        problem = http_url_problem(base_url)
        if problem is None and ("?" in base_url):
            problem = "must not hold a query ('?')"
        if problem is not None:
            shown = mask_url(base_url) if isinstance(base_url, str) else type(base_url).__name__
            raise UsageError(f"NotifyTelegram(base_url={shown!r}) {problem}; the default is {API_ROOT!r}")
        self.token = token.strip()
        self.chat_id = chat_id.strip() if isinstance(chat_id, str) else chat_id
        self.notification_type = notification_type
        self.show_result = bool(show_result)
        self.timeout = float(check_number("NotifyTelegram", "timeout", timeout))
        self.base_url = base_url.strip().rstrip("/")
        self._wanted = status_filter("NotifyTelegram", notification_type)
        self._keep_settings(flush_timeout, retries, backoff_max)
        self._off = off
        if off:
            self._hide = Redactor()
            return
        self._start(
            base_url=self.base_url,
            path=f"/bot{self.token}/sendMessage",
            ping_path=f"/bot{self.token}/getMe",
            shown=f"{mask_url(self.base_url)}/bot***/sendMessage",
            hide=Redactor.remembering(self.token, *credential_parts(self.base_url)),
            session=session,
        )

    def __repr__(self) -> str:
        where = "" if self.base_url == API_ROOT else f", base_url={mask_url(self.base_url)!r}"
        return (
            f"NotifyTelegram(token='***', chat_id={self.chat_id!r}, notification_type={self.notification_type!r}, "
            f"show_result={self.show_result!r}, timeout={self.timeout!r}{where})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy in another process gets its own queue and sender; an injected session stays here
        args = (self.token, self.chat_id, self.notification_type, self.show_result, self.timeout)
        return (_rebuild, (args, {"base_url": self.base_url, **self._settings}))

    # -- the message -------------------------------------------------------------------------

    def _post(self, task: Any) -> Post:
        markdown, plain = self._text(task)
        body = {"chat_id": self.chat_id, "text": markdown, "parse_mode": "markdown"}
        return Post(dumps(body), dumps({"chat_id": self.chat_id, "text": plain}))

    def _text(self, task: Any) -> tuple[str, str]:
        """The message as Telegram markdown, and the same words as plain text."""
        head = headline(str(task.status))
        workflow_id, task_id = str(task.workflow_id), str(task.task_id)
        footer = f"{workflow_id} — Task {task_id}"
        error = failure(task)
        markdown, plain = [_escape(head)], [head]
        if self.show_result:
            used = len(head) + len(footer) + (len(error[0]) + len(error[1]) + 3 if error else 0) + 16
            result = _block(task, TEXT_LIMIT - used)
            if result is not None:
                markdown.append(f"```json\n{result}```")
                plain.append(result)
        if error is not None:
            name, message = error
            markdown.append(f"`{_code(name)}`: {_escape(message)}")
            plain.append(f"{name}: {message}")
        markdown.append(f"`{_code(workflow_id)}` — Task {_escape(task_id)}")
        plain.append(footer)
        return "\n".join(markdown), "\n".join(plain)

    # -- the answers -------------------------------------------------------------------------

    def _unparsable(self, answer: Answer) -> bool:
        return answer.status == 400 and "can't parse entities" in answer.text.lower()

    def _hint(self, status: int) -> str:
        if status in (401, 404):
            return "check the bot token (from @BotFather)"
        if status == 403:
            return "the bot cannot post to chat_id (blocked, removed, or never added to the chat)"
        if status == 400:
            return "check chat_id"
        return ""


def _escape(text: str) -> str:
    """``text`` outside any entity, with legacy markdown's four special characters escaped."""
    return _MARKDOWN.sub(r"\\\1", text)


def _code(text: str) -> str:
    """``text`` inside a `code` entity, where nothing can be escaped and a backtick would end it."""
    return text.replace("`", "'")


def _block(task: Any, limit: int) -> str | None:
    """The task's result as JSON for a ```json block, or None when too little room is left.
    A backtick (only ever inside a JSON string) is written ``\\u0060``, the same JSON."""
    if limit < 16:
        return None
    text = result_text(task, limit)
    ticks = text.count("`")
    if ticks:
        text = result_text(task, limit - 5 * ticks).replace("`", "\\u0060")
    return text


def _rebuild(args: tuple[Any, ...], options: dict[str, Any]) -> NotifyTelegram:
    return NotifyTelegram(*args, **options)
