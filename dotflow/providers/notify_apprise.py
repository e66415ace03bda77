"""NotifyApprise: task status notifications to Slack, Teams, e-mail and the other services apprise reaches."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from time import monotonic
from typing import Any, NamedTuple
from urllib.parse import unquote

from dotflow.delivery.queue import SENT, DeliveryQueue, Outcome, drop, transient
from dotflow.errors import MissingExtraError, UsageError
from dotflow.providers._notify import (
    QueuedNotify,
    failure,
    headline,
    hide_in_logs,
    result_text,
    status_filter,
)
from dotflow.redact import Redactor, userinfo
from dotflow.types import TypeStatus

# Characters of a result put in a message; apprise then fits the body to each service.
RESULT_MAX = 4_000
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
# A part of a URL shorter than this is not taken for a secret (apprise's own parameter values).
_PART_MIN = 4


class _Message(NamedTuple):
    title: str
    body: str
    kind: str  # an apprise NotifyType name: INFO, SUCCESS, WARNING, FAILURE


class NotifyApprise(QueuedNotify):
    """``NotifyApprise(urls, notification_type=None, show_result=False)``: a notification per task
    status change (or only for the status(es) ``notification_type`` names) to every service in
    ``urls``, one apprise URL or a list of them: ``slack://...``, ``msteams://...``,
    ``mailto://user:pass@example.com``, ``tgram://bottoken/chat``, ``discord://id/token``,
    ``json://host/path`` and the rest of https://github.com/caronc/apprise/wiki.
    Needs the ``notify`` extra: ``pip install 'dotflow[notify]'``.

    The title is ``<symbol> <status>``; the body holds the result (``show_result=True``), the
    error of a Failed task and ``<workflow id> — Task <task id>``. The type is apprise's
    success (Completed), failure (Failed), warning (Retry) or info.

    Each service has its own background sender, so one that is down delays no other. A message is
    built when the status changes and queued; a send apprise reports as failed is retried up to
    ``retries`` times (apprise does not say why it failed). apprise's own per-service rate limit
    and timeouts (``?cto=`` / ``?rto=`` in a URL) apply. ``flush(timeout)`` delivers what is
    pending (``flush_timeout`` by default; ``dotflow start``, ``DotFlow.flush()`` and the
    interpreter's exit call it). The URLs hold tokens and passwords: none appears in a log line
    (apprise's own ``apprise`` logger included), an error or ``repr()``, which shows only each
    URL's scheme (``'slack://***'``).
    """

    def __init__(
        self,
        urls: str | Iterable[str],
        notification_type: str | Iterable[str] | None = None,
        show_result: bool = False,
        *,
        flush_timeout: float = 10.0,
        retries: int = 3,
        backoff_max: float = 30.0,
    ) -> None:
        try:
            import apprise
        except ImportError as exc:
            raise MissingExtraError("NotifyApprise needs apprise: pip install 'dotflow[notify]'") from exc
        given = _url_list(urls)
        self._urls = given
        self.notification_type = notification_type
        self.show_result = bool(show_result)
        self._wanted = status_filter("NotifyApprise", notification_type)
        self._keep_settings(flush_timeout, retries, backoff_max)
        self._hide = Redactor.remembering(*(part for url in given for part in _url_secrets(url)))
        self._shown = [_shown(url) for url in given]
        # before apprise parses a URL: it logs parts of it
        hide_in_logs(self, self._hide, "apprise", "urllib3.connectionpool")
        types = {name: getattr(apprise.NotifyType, name) for name in ("INFO", "SUCCESS", "WARNING", "FAILURE")}
        queues = []
        for index, (url, shown) in enumerate(zip(given, self._shown)):
            service = apprise.Apprise.instantiate(url)
            if service is None:
                raise UsageError(
                    f"NotifyApprise(urls[{index}]={shown!r}) is not a URL apprise can send to (unknown scheme, "
                    "or a part missing or malformed); see https://github.com/caronc/apprise/wiki"
                )
            opener = _opener(service, types, apprise.NotifyFormat.TEXT)
            queues.append(self._new_queue(opener, f"dotflow notify apprise {shown}", shown))
        self._queues = tuple(queues)

    @property
    def urls(self) -> list[str]:
        """The services, each shown as its scheme only (``['slack://***']``): the URLs are secrets."""
        return list(self._shown)

    def __repr__(self) -> str:
        return (
            f"NotifyApprise(urls={self._shown!r}, notification_type={self.notification_type!r}, "
            f"show_result={self.show_result!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # a copy in another process gets its own queues and senders
        return (_rebuild, ((list(self._urls), self.notification_type, self.show_result), self._settings))

    def _route(self, task: Any) -> Iterable[tuple[DeliveryQueue, Any]]:
        message = self._message(task)
        return ((queue, message) for queue in self._queues)

    def _message(self, task: Any) -> _Message:
        status = str(task.status)
        lines = []
        if self.show_result:
            lines.append(result_text(task, RESULT_MAX))
        error = failure(task)
        if error is not None:
            lines.append(f"{error[0]}: {error[1]}")
        lines.append(f"{task.workflow_id} — Task {task.task_id}")
        kind = {TypeStatus.COMPLETED: "SUCCESS", TypeStatus.FAILED: "FAILURE", TypeStatus.RETRY: "WARNING",
                TypeStatus.CANCELLED: "WARNING"}
        return _Message(headline(status), "\n".join(lines), kind.get(status, "INFO"))


def _opener(service: Any, types: dict[str, Any], body_format: Any) -> Any:
    return lambda: _Channel(service, types, body_format)


class _Channel:
    """Sends to one apprise service; its sender is the only one using it. ``types`` maps a
    message's kind to apprise's NotifyType, and ``body_format`` is apprise's TEXT format."""

    def __init__(self, service: Any, types: dict[str, Any], body_format: Any) -> None:
        self._service = service
        self._types = types
        self._body_format = body_format
        self._timeouts = (service.socket_connect_timeout, service.socket_read_timeout)

    def send(self, message: _Message, deadline: float | None) -> Outcome:
        service = self._service
        connect, read = self._timeouts
        if deadline is not None:  # a flush is waiting: neither apprise's rate limit nor a request may outlive it
            left = deadline - monotonic()
            wait = _throttle_wait(service)
            if wait > left:
                return transient("apprise's rate limit for this service", retry_after=wait)
            connect, read = max(0.05, min(connect, left)), max(0.05, min(read, left))
        service.socket_connect_timeout, service.socket_read_timeout = connect, read
        try:
            ok = service.notify(
                body=message.body,
                title=message.title,
                notify_type=self._types[message.kind],
                body_format=self._body_format,
            )
        except Exception as exc:  # a plugin's bug: its text may hold the URL
            return drop(f"apprise failed with {type(exc).__name__}")
        return SENT if ok else transient("apprise could not deliver it (its 'apprise' logger says why)")

    def close(self) -> None:
        pass


def _throttle_wait(service: Any) -> float:
    """Seconds apprise would sleep before its next send to this service (its rate limit)."""
    # apprise keeps the time of the last send private and offers no public way to read it; read
    # defensively, since a later apprise may rename it (then no wait is assumed)
    last = getattr(service, "_last_io_datetime", None)
    rate = getattr(service, "request_rate_per_sec", 0) or 0
    if not isinstance(last, datetime) or not isinstance(rate, (int, float)) or rate <= 0:
        return 0.0
    return max(0.0, rate - (datetime.now() - last).total_seconds())


def _url_list(urls: Any) -> list[str]:
    if isinstance(urls, str):
        given = [urls]
    elif isinstance(urls, Iterable):
        given = list(urls)
    else:
        given = None
    if not given or not all(isinstance(url, str) and url.strip() for url in given):
        raise UsageError(
            "NotifyApprise(urls=...) takes an apprise URL or a list of them, like 'slack://TokenA/TokenB/TokenC' "
            "or 'mailto://user:pass@example.com'"
        )
    return [url.strip() for url in given]


def _shown(url: str) -> str:
    match = _SCHEME.match(url)
    return f"{match.group(1).lower()}://***" if match else "***"


def _url_secrets(url: str) -> list[str]:
    """The parts of an apprise URL that may be secret: apprise puts tokens in the host, the path,
    the user, the password and the query, so every part but the scheme counts."""
    match = _SCHEME.match(url)
    rest = url[match.end() :] if match else url
    parts = [url, rest]
    credentials = userinfo(url)
    if credentials:
        parts += [credentials, *credentials.split(":", 1)]
        rest = rest[len(credentials) + 1 :]
    rest, _, fragment = rest.partition("#")
    rest, _, query = rest.partition("?")
    host, _, path = rest.partition("/")
    parts += [fragment, query, host, host.rsplit(":", 1)[0], path, *path.split("/")]
    for pair in query.split("&"):
        parts += pair.split("=", 1)[1:]
    parts += [unquote(part) for part in parts]
    return [part for part in parts if len(part) >= _PART_MIN]


def _rebuild(args: tuple[Any, ...], options: dict[str, Any]) -> NotifyApprise:
    return NotifyApprise(*args, **options)
