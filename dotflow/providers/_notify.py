"""What the notify providers share: the status filter, the message parts, and background delivery.

``QueuedNotify`` turns ``hook_status_task`` into a message built on the caller's thread (a
snapshot of the task) and queued on a ``DeliveryQueue``: one lane per task, so a task's messages
go out in order, a terminal one (Completed, Failed) is never replaced nor dropped, and a
non-terminal one still queued when a newer message of the same task comes is replaced by it.
``HTTPNotify`` sends the queued messages as JSON POSTs over ``dotflow.delivery.http``'s
connections (no redirect followed, answers read 64 KiB deep at most), one sender per provider,
which is what a chat's rate limit wants, and retries what the queue retries (connection errors,
timeouts, 408, 429, 5xx, honouring ``Retry-After``).
"""

from __future__ import annotations

import json
import logging
import math
import re
import weakref
from collections.abc import Callable, Iterable
from time import monotonic
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import urlsplit

from dotflow.abc.log import exception_name
from dotflow.abc.notify import Notify
from dotflow.delivery import retry
from dotflow.delivery.queue import SENT, DeliveryQueue, Kind, Outcome, drop, transient
from dotflow.errors import UsageError
from dotflow.redact import Redactor, mask_credentials, one_line
from dotflow.types import NOTIFIABLE, TypeStatus

if TYPE_CHECKING:
    import requests

    from dotflow.delivery.http import Answer, Connection, HTTPChannel, PingResult

logger = logging.getLogger("dotflow.notify")

STATUSES = NOTIFIABLE
# Messages queued per provider before the oldest non-terminal ones are dropped to make room.
QUEUE_SIZE = 1_000
# Characters of an error message put in a notification.
ERROR_TEXT = 1_000
_RETRY_AFTER = re.compile(r'"retry_after"\s*:\s*([0-9]+(?:\.[0-9]+)?)')


# -- settings ------------------------------------------------------------------------------------


def status_filter(owner: str, value: Any) -> frozenset[str] | None:
    """The statuses ``notification_type`` selects: None (or "") for every one, a status, or
    several of them (a list or tuple, which 1.x did not take)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        values: tuple[Any, ...] = (value,)
    elif isinstance(value, Iterable):
        values = tuple(value)
    else:
        values = (value,)
    unknown = [item for item in values if item not in STATUSES]
    if unknown or not values:
        raise UsageError(
            f"{owner}(notification_type={value!r}); use None (every status), one of "
            f"{', '.join(map(repr, STATUSES))} (TypeStatus.FAILED, ...), or a list of them"
        )
    return frozenset(values)


def check_number(owner: str, name: str, value: Any, *, minimum: float = 0.0, integer: bool = False) -> Any:
    """``value`` if it is a finite number (an int when ``integer``) of at least ``minimum``
    (above it when ``minimum`` is 0 and ``name`` is a timeout)."""
    kind = int if integer else (int, float)
    ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
    if ok and name == "timeout":
        ok = value > 0
    if not ok or value < minimum:
        what = "an integer" if integer else "a number"
        bound = "greater than 0" if name == "timeout" else f">= {minimum:g}"
        raise UsageError(f"{owner}({name}={value!r}); it must be {what} {bound}")
    return value


def http_url_problem(url: Any) -> str | None:
    """What is wrong with a URL a message is POSTed to (a query is allowed, as Discord's
    ``?thread_id=`` needs), or None."""
    if not isinstance(url, str) or not url.strip():
        return "must be a non-empty string"
    if any(ch.isspace() or not ch.isprintable() for ch in url.strip()):
        return "holds whitespace or a control character"
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL with a host"
    if parts.fragment or "#" in url:
        return "must not hold a fragment ('#')"
    return None


# -- the message parts ---------------------------------------------------------------------------


def headline(status: str) -> str:
    """``<symbol> <status>``, as 1.x titles a notification."""
    symbol = TypeStatus.get_symbol(status)
    return f"{symbol} {status}" if symbol else status


def failure(task: Any) -> tuple[str, str] | None:
    """``(exception class name, one-line message)`` of a Failed task's last error, ``(status,
    reason)`` of a Cancelled or Skipped one, else None."""
    if task.status in TypeStatus.NEW:
        reason = getattr(task, "reason", None)
        return (str(task.status), one_line(str(reason), ERROR_TEXT)) if reason else None
    if task.status != TypeStatus.FAILED:
        return None
    errors = task.errors
    if not errors:
        return None
    last = errors[-1]
    return exception_name(last.exception), one_line(str(last.message), ERROR_TEXT)


def result_text(task: Any, limit: int) -> str:
    """The task's ``result()`` as JSON of at most ``limit`` characters, with credentials in URLs
    masked (an error's message may carry one) and no traceback (file paths and source lines of
    the machine have no business in a chat)."""
    value = task.result(max=max(2, limit))
    if isinstance(value, dict):
        value = {**value, "errors": [_shareable(error) for error in value.get("errors") or []]}
        if value.get("error") is not None:
            value["error"] = _shareable(value["error"])
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return mask_credentials(text)[:limit]


def _shareable(error: Any) -> Any:
    if not isinstance(error, dict):
        return error
    return {**error, "traceback": None, "message": one_line(str(error.get("message", "")), 1000)}


# -- secrets in other libraries' log lines --------------------------------------------------------


class _Scrub(logging.Filter):
    """Hides the live notifiers' secrets in the records of a library's logger: urllib3 logs each
    request's path at DEBUG (a bot token, a webhook's), apprise logs URLs and connection errors."""

    def __init__(self) -> None:
        super().__init__()
        # each live notifier's Redactor, kept while its notifier lives
        self.owners: weakref.WeakKeyDictionary[QueuedNotify, Redactor] = weakref.WeakKeyDictionary()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            hides = list(self.owners.values())
            if hides:
                text = record.getMessage()
                clean = text
                for hide in hides:
                    clean = hide(clean)
                if clean != text:
                    record.msg, record.args = clean, None
        except Exception:  # a filter lets the record through whatever happens
            pass
        return True


_scrubs: dict[str, _Scrub] = {}


def switched_off(owner: str, fix: str, **values: Any) -> bool:
    """Whether one of ``values`` is an empty string, which is what ``os.getenv(NAME, "")`` gives
    for an unset variable; then one WARNING says the notifier sends nothing and what to set. 1.x
    took such a value and failed every message on the network; a bad value that is not empty is
    still a UsageError."""
    empty = [name for name, value in values.items() if isinstance(value, str) and not value.strip()]
    if empty:
        verb = "is" if len(empty) == 1 else "are"
        logger.warning(
            "%s: %s %s empty (an unset variable?), so it sends nothing; %s", owner, " and ".join(empty), verb, fix
        )
    return bool(empty)


def hide_in_logs(owner: QueuedNotify, hide: Redactor, *names: str) -> None:
    """Have the loggers ``names`` hide what ``hide`` (``owner``'s secrets) redacts while ``owner``
    lives (a filter is attached to each the first time: when a notifier is made, never at import)."""
    for name in names:
        scrub = _scrubs.get(name)
        if scrub is None:
            scrub = _scrubs[name] = _Scrub()
            logging.getLogger(name).addFilter(scrub)
        scrub.owners[owner] = hide


# -- queued delivery -----------------------------------------------------------------------------


class QueuedNotify(Notify):
    """A notifier whose messages are built at once and delivered in the background.

    A subclass sets ``_wanted`` (``status_filter``), ``_hide`` (a Redactor of its secrets) and
    ``_queues`` (its DeliveryQueues), and implements ``_route(task)``: the ``(queue, payload)``
    pairs one status change sends.
    """

    _wanted: frozenset[str] | None
    _hide: Redactor
    _queues: tuple[DeliveryQueue, ...] = ()
    _flush_timeout: float = 0.0
    _off = False  # set by ``switched_off``: a secret left empty, so nothing is sent

    def hook_status_task(self, task: Any) -> None:
        if self._off:
            return
        status = task.status
        if self._wanted is not None and status not in self._wanted:
            return
        try:
            kind = Kind.FINAL if status in TypeStatus.TERMINAL else Kind.UPDATE
            lane = (str(task.workflow_id), str(task.task_id))
            for queue, payload in self._route(task):
                queue.put(lane, kind, payload)
        except Exception as exc:  # the Reporter would log the text, which may hold a secret
            logger.warning(
                "%s: could not queue the notification (%s: %s); the workflow goes on without it",
                type(self).__name__,
                type(exc).__name__,
                self._hide(one_line(str(exc), 200)),
            )

    def _keep_settings(self, flush_timeout: Any, retries: Any, backoff_max: Any) -> None:
        """Check the delivery settings and keep them, for this notifier's queues and for a copy
        rebuilt in another process (``_settings``, its keyword arguments)."""
        owner = type(self).__name__
        self._flush_timeout = float(check_number(owner, "flush_timeout", flush_timeout))
        self._settings = {
            "flush_timeout": flush_timeout,
            "retries": check_number(owner, "retries", retries, integer=True),
            "backoff_max": check_number(owner, "backoff_max", backoff_max, minimum=0.001),
        }

    def _new_queue(self, open_channel: Callable[[], Any], label: str, target: str) -> DeliveryQueue:
        """A queue with one sender (a chat wants its messages in order) and the kept settings."""
        return DeliveryQueue(
            open_channel,
            label=label,
            target=target,
            workers=1,
            queue_size=QUEUE_SIZE,
            retries=self._settings["retries"],
            backoff_max=self._settings["backoff_max"],
            flush_timeout=self._flush_timeout,
            logger=logger,
        )

    def _route(self, task: Any) -> Iterable[tuple[DeliveryQueue, Any]]:
        raise NotImplementedError

    def flush(self, timeout: float | None = None) -> None:
        """Deliver what is queued, waiting at most ``timeout`` seconds (default ``flush_timeout``).
        What is still queued then is given up, and one warning counts it. Never raises."""
        wait = self._flush_timeout if timeout is None else max(0.0, float(timeout))
        deadline = monotonic() + wait
        for index, queue in enumerate(self._queues):  # the others' senders go on meanwhile
            queue.flush(wait if index == 0 else max(0.0, deadline - monotonic()))

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: deliver until ``deadline`` (``time.monotonic()``) at the latest."""
        for queue in self._queues:
            queue.hasten(deadline)

    @property
    def flush_timeout(self) -> float:
        return self._flush_timeout

    @property
    def sent(self) -> int:
        """Messages delivered."""
        return sum(queue.sent for queue in self._queues)

    @property
    def failed(self) -> int:
        """Messages given up: rejected, out of retries, dropped for room, or left when a flush ran out of time."""
        return sum(queue.lost for queue in self._queues)

    @property
    def pending(self) -> int:
        """Messages queued or being sent."""
        return sum(queue.pending for queue in self._queues)


class Post(NamedTuple):
    """One queued message: the JSON body, and another to send if the service cannot parse the first."""

    body: bytes
    fallback: bytes | None = None


def dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8")


class HTTPNotify(QueuedNotify):
    """A notifier POSTing JSON to one URL that carries its secret (a bot token, a webhook)."""

    service = "the service"  # "Telegram", "Discord": how log lines name the other end
    timeout: float

    def _start(
        self,
        *,
        base_url: str,
        path: str,
        ping_path: str,
        shown: str,
        hide: Redactor,
        session: requests.Session | None,
    ) -> None:
        from dotflow.delivery.http import Transport

        self._hide = hide
        hide_in_logs(self, hide, "urllib3.connectionpool")
        self._shown = shown
        self._path = path
        self._ping_path = ping_path
        self._transport = Transport(base_url, None, session)  # the secret is in the URL: no token header
        self._rejected: set[int] = set()  # HTTP statuses already logged
        self._queue = self._new_queue(self._open_channel, f"dotflow notify {self.service}", shown)
        self._queues = (self._queue,)

    def _route(self, task: Any) -> Iterable[tuple[DeliveryQueue, Any]]:
        return ((self._queue, self._post(task)),)

    def _post(self, task: Any) -> Post:
        raise NotImplementedError

    def ping(self) -> PingResult:
        """One synchronous ``GET`` that checks the secret without sending a message (what
        ``dotflow profile check --ping`` calls); never raises. ``OK`` when the service takes the
        secret, ``AUTH`` when it refuses it (401, 403, or 404: no such bot or webhook)."""
        from dotflow.delivery.http import PingResult, PingStatus, probe

        if self._off:
            return PingResult(PingStatus.AUTH, "its secret is empty")
        return probe(self._transport, self._ping_path, self.timeout, self._hide, refused=(401, 403, 404))

    def _open_channel(self) -> HTTPChannel:
        from dotflow.delivery.http import HTTPChannel

        return HTTPChannel(self._transport.connect(), self._send)

    def _send(self, connection: Connection, post: Post, deadline: float | None) -> Outcome:
        """One message over the sender's ``connection``; what happens to it, as a delivery Outcome."""
        from urllib3 import exceptions as errors  # loaded by the connection already: a lookup

        timeout = self.timeout
        if deadline is not None:  # a flush is waiting: no request may outlive it
            timeout = max(0.05, min(timeout, deadline - monotonic()))
        try:
            return self._deliver(connection, post, timeout)
        except errors.SSLError as exc:  # a certificate problem does not go away by retrying
            return drop(f"failed with TLS error {type(exc).__name__}")
        except (errors.HTTPError, OSError) as exc:  # refused, reset, timed out: the text holds the URL
            # urllib3 makes a refused connection a kind of connect timeout: it is not one
            timed_out = isinstance(exc, (errors.TimeoutError, TimeoutError))
            what = "timed out" if timed_out and not isinstance(exc, errors.NewConnectionError) else "unreachable"
            return transient(f"{self.service} {what}: {type(exc).__name__}")
        except Exception as exc:
            return drop(f"failed with {type(exc).__name__}")

    def _deliver(self, connection: Connection, post: Post, timeout: float) -> Outcome:
        """One message: the POST, and the fallback body when the service says it cannot parse it."""
        answer = connection.request("POST", self._path, post.body, timeout, {})
        if post.fallback is not None and self._unparsable(answer):
            answer = connection.request("POST", self._path, post.fallback, timeout, {})
        return self._outcome(answer)

    def _unparsable(self, answer: Answer) -> bool:
        return False

    def _hint(self, status: int) -> str:
        """What to check after a rejection with ``status`` ("" when nothing useful to say)."""
        return ""

    def _outcome(self, answer: Answer) -> Outcome:
        status = answer.status
        if 200 <= status < 300:
            return SENT
        if retry.is_transient(status):
            return transient(f"{self.service} answered HTTP {status}", _retry_after(answer))
        if status not in self._rejected:
            self._rejected.add(status)
            said = " ".join(answer.text.split())
            if 300 <= status < 400:
                hint = "a redirect, not followed, so the URL's secret stays with its host"
            else:
                hint = self._hint(status)
            logger.warning(
                "dotflow notify: %s rejected a message with HTTP %d%s%s; not retried, and later HTTP %d "
                "rejections are counted in the warning of the next flush",
                self.service,
                status,
                f" ({self._hide(said)[:200]})" if said else "",
                f"; {hint}" if hint else "",
                status,
            )
        return drop(f"rejected with HTTP {status}")


def _retry_after(answer: Answer) -> float | None:
    """The wait an answer asks for: its ``Retry-After`` header, else a ``retry_after`` in its JSON
    body (Telegram's ``parameters.retry_after``, Discord's ``retry_after``)."""
    seconds = retry.parse_retry_after(answer.retry_after)
    if seconds is None:
        match = _RETRY_AFTER.search(answer.text)
        if match is not None:
            seconds = float(match.group(1))
    return seconds
