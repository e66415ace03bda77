"""ServerAPI: reports workflow and task status to a remote HTTP API from a background sender thread."""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import math
import os
import random
import re
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urljoin, urlsplit

from dotflow.abc.server import Server
from dotflow.errors import ConfigError
from dotflow.redact import mask_credentials as mask_url

if TYPE_CHECKING:
    import requests

__all__ = ["PingResult", "PingStatus", "ServerAPI", "mask_url"]

logger = logging.getLogger("dotflow.server")

#: Largest task result (in characters) sent in one report, as the contract fixes it.
TASK_RESULT_MAX = 5_000_000

# First backoff window in seconds; window n is min(backoff_max, _BACKOFF_BASE * 2**n).
_BACKOFF_BASE = 0.25
_EXAMPLE_URL = "https://example.com/api/v1"
# Seconds a sender thread waits on an empty queue before it exits; the next report starts a new
# one. Idle workflows (built but never run, or between runs) then hold no thread.
_SENDER_IDLE = 1.5
# The contract has only POST and PATCH routes, so a sound backend may answer ping()'s GET with these.
_NO_GET_ROUTE = (404, 405, 501)
# requests re-quotes a URL leaving these characters alone; a token inside base_url is logged in that form.
_REQUOTE_SAFE = "!#$%&'()*+,/:;=?@[]~"


class PingStatus(str, Enum):
    """What ``ServerAPI.ping()`` found. The values are the strings the CLI prints."""

    OK = "ok"  # a 2xx answer: the server is there and took the token
    AUTH = "auth"  # 401 or 403: the server is there and refused the token
    # 404, 405 or 501 to GET /workflows: the server is there, but the contract has no GET route,
    # so the token could not be checked
    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"  # no answer: connection refused, DNS, TLS or timeout
    ERROR = "error"  # any other answer (400, 500, a redirect, ...) or a local failure; see ``detail``


@dataclass(frozen=True)
class PingResult:
    """The outcome of one ``ping()``: a ``status`` and a short ``detail`` ("HTTP 401", "ConnectTimeout").

    True when nothing wrong was found: ``OK``, or ``REACHABLE`` (the token was not checked).
    """

    status: PingStatus
    detail: str

    def __bool__(self) -> bool:
        return self.status in (PingStatus.OK, PingStatus.REACHABLE)


class _Report(NamedTuple):
    """One queued HTTP call; the hook snapshots the body, the sender encodes it as JSON."""

    method: str
    path: str  # already percent-encoded, relative to base_url
    body: Any  # a fresh JSON-safe dict, owned by the queue from the moment it is enqueued
    hook: str


class _Answer(NamedTuple):
    """What the sender needs from one HTTP response."""

    status: int
    retry_after: str | None
    location: str | None


class _Outcome(NamedTuple):
    """How one report ended: sent, or given up; ``rejected`` holds the status of a 3xx/4xx refusal."""

    sent: bool
    rejected: int | None = None
    request: str = ""  # "PATCH /api/workflows/wf-1", redacted, for the first-rejection line
    hint: str = ""


_SHORT_TOKEN = 8


def _redact(text: str, token: str) -> str:
    """``text`` without the token, raw or percent-encoded the way requests or ``quote`` write it.

    A token shorter than 8 characters is hidden only where it stands alone (between
    non-alphanumeric characters): replacing every "t" would turn "http" into "h***p"."""
    if not token:
        return text
    for form in sorted({token, quote(token, safe=_REQUOTE_SAFE), quote(token, safe="")}, key=len, reverse=True):
        if len(form) >= _SHORT_TOKEN:
            text = text.replace(form, "***")
        else:
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])", "***", text)
    return text


def _check_token(user_token: Any) -> str:
    if not isinstance(user_token, str):
        raise ConfigError(
            f"ServerAPI user_token must be a string, got {type(user_token).__name__}; "
            "pass the token your server issued (SERVER_USER_TOKEN)"
        )
    token = user_token.strip()
    if not token:
        raise ConfigError(
            "ServerAPI user_token is empty; set SERVER_USER_TOKEN (or pass user_token=...) "
            "to the token your server issued"
        )
    if any(not (" " <= ch <= "~") for ch in token):
        raise ConfigError(
            "ServerAPI user_token holds a character that cannot go in an HTTP header "
            "(a control or non-ASCII character); check SERVER_USER_TOKEN for a stray newline or quote"
        )
    return token


def _check_base_url(base_url: Any, token: str) -> str:
    if not isinstance(base_url, str):
        raise ConfigError(f"ServerAPI base_url must be a string like {_EXAMPLE_URL!r}, got {type(base_url).__name__}")
    url = base_url.strip()
    shown = _redact(mask_url(url), token)
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ConfigError(f"ServerAPI base_url {shown!r} holds whitespace or a control character; remove it")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ConfigError(f"ServerAPI base_url {shown!r} is not a valid URL; expected e.g. {_EXAMPLE_URL!r}") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ConfigError(f"ServerAPI base_url {shown!r} must start with http:// or https://, e.g. {_EXAMPLE_URL!r}")
    if not host:
        raise ConfigError(f"ServerAPI base_url {shown!r} has no host; expected e.g. {_EXAMPLE_URL!r}")
    if "?" in url or "#" in url:
        raise ConfigError(
            f"ServerAPI base_url {shown!r} must not hold a query or fragment ('?', '#'); "
            f"give only the API root, e.g. {_EXAMPLE_URL!r}"
        )
    return url.rstrip("/")


def _number(name: str, value: Any, *, minimum: float, strict: bool) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if math.isnan(number) or number < minimum or (strict and number == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ConfigError(f"ServerAPI {name}={value!r} is invalid; it must be a number {bound}")
    return number


def _segment(value: Any, what: str) -> str:
    """``value`` as one percent-encoded path segment that no id can turn into path syntax."""
    text = "" if value is None else str(value)
    if not text:
        raise ValueError(f"the {what} is empty")
    encoded = quote(text, safe="")
    if encoded in (".", ".."):
        # quote() leaves dots alone, and a "." or ".." segment would climb the path.
        encoded = encoded.replace(".", "%2E")
    return encoded


def _redirect_host(url: str, location: str | None) -> str:
    """The host (and port) a redirect points to, without userinfo, path or query."""
    if not location:
        return "no Location"
    try:
        parts = urlsplit(urljoin(url, location))
        host, port = parts.hostname, parts.port
    except ValueError:
        return "an invalid Location"
    if not host:
        return "an invalid Location"
    if ":" in host:
        host = f"[{host}]"  # IPv6
    return f"{host}:{port}" if port else host


def _to_json(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode("utf-8")


def _parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - datetime.now(timezone.utc)).total_seconds()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _flush_at_exit(ref: weakref.ReferenceType[ServerAPI]) -> None:
    server = ref()
    if server is not None:
        server.flush()


class ServerAPI(Server):
    """Reports to a remote API without ever making the workflow wait on the network.

    Each hook snapshots its report (``task.result()`` on the caller's thread) and appends
    the dict to an in-process FIFO queue, then returns; JSON encoding happens on the sender.
    One daemon sender thread, started on the first report, delivers the queue in order over
    one keep-alive ``requests.Session``; one sender and one queue keep the order of every
    task's reports. The sender exits after ``_SENDER_IDLE`` seconds with nothing queued and
    the next report starts a new one. Connection errors, timeouts, 408, 429 and 5xx are
    retried up to ``retries`` times with full-jitter exponential backoff capped at
    ``backoff_max`` seconds (``Retry-After`` is honoured, capped the same way). Other 4xx
    answers, and any 3xx, are dropped: redirects are never followed, because requests would
    forward ``X-User-Token`` to whatever host a redirect names. The first rejection of each
    status is logged; the rest are counted and summed up by the flush warning. Nothing is
    ever raised into the workflow: failures go to the ``dotflow.server`` logger.

    Call ``flush()`` when the run ends; an ``atexit`` hook calls it too.

    ``session`` injects a ready ``requests.Session`` (or subclass); it is used as is and
    never closed. The token is never logged, raised or shown by ``repr()``.
    """

    def __init__(
        self,
        base_url: str,
        user_token: str,
        timeout: float = 15.0,
        *,
        flush_timeout: float = 10.0,
        retries: int = 5,
        backoff_max: float = 30.0,
        session: requests.Session | None = None,
    ) -> None:
        self._token = _check_token(user_token)
        self._base_url = _check_base_url(base_url, self._token)
        self._shown_url = _redact(mask_url(self._base_url), self._token)
        self._timeout = _number("timeout", timeout, minimum=0.0, strict=True)
        self._flush_timeout = _number("flush_timeout", flush_timeout, minimum=0.0, strict=False)
        self._backoff_max = _number("backoff_max", backoff_max, minimum=0.0, strict=False)
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ConfigError(f"ServerAPI retries={retries!r} is invalid; it must be an integer >= 0")
        self._retries = retries
        self._given_session = session
        self._random = random.Random()
        self._prepared_base: str | None = None
        self._atexit_registered = False
        self._reset_runtime()

    def _reset_runtime(self) -> None:
        """Fresh queue, lock and counters: at construction, and in a child after ``fork()``."""
        self._pid = os.getpid()
        # Condition() wraps an RLock, so a flush() from a signal handler that interrupted
        # a hook on the same thread does not deadlock.
        self._cond = threading.Condition()
        self._queue: deque[_Report] = deque()
        self._thread: threading.Thread | None = None
        self._generation = 0
        self._abort = threading.Event()
        self._deadline: float | None = None
        self._sent = 0
        self._failed = 0
        self._failed_since_flush = 0
        self._rejected: dict[int, int] = {}  # rejections per HTTP status since the last flush
        self._last_error: str | None = None
        self._outage_logged = False

    def __repr__(self) -> str:
        return f"ServerAPI(base_url={self._shown_url!r}, user_token='***', timeout={self._timeout!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy sent to another process gets its own queue and sender; the session stays here.
        return (
            _rebuild,
            (self._base_url, self._token, self._timeout, self._flush_timeout, self._retries, self._backoff_max),
        )

    # -- read-only state ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root, with any ``user:pass@`` masked."""
        return self._shown_url

    @property
    def sent(self) -> int:
        """Reports the server accepted (a 2xx answer)."""
        with self._cond:
            return self._sent

    @property
    def failed(self) -> int:
        """Reports given up: rejected, out of retries, or still queued when a flush timed out."""
        with self._cond:
            return self._failed

    @property
    def pending(self) -> int:
        """Reports queued or in flight, not yet delivered nor given up."""
        with self._cond:
            return len(self._queue)

    # -- the Server hooks --------------------------------------------------------------

    def create_workflow(self, workflow: Any) -> None:
        try:
            body: dict[str, Any] = {"id": str(workflow.workflow_id)}
            name = getattr(workflow, "name", None)
            if name:
                body["name"] = str(name)
            _segment(workflow.workflow_id, "workflow id")
            self._enqueue(_Report("POST", "/workflows", body, "create_workflow"))
        except Exception as exc:
            self._hook_failed("create_workflow", exc)

    def update_workflow(self, workflow: Any, status: str = "") -> None:
        try:
            path = f"/workflows/{_segment(workflow.workflow_id, 'workflow id')}"
            body = {"status": getattr(status, "value", status)}  # a TypeStatus member sends its text
            self._enqueue(_Report("PATCH", path, body, "update_workflow"))
        except Exception as exc:
            self._hook_failed("update_workflow", exc)

    def create_task(self, task: Any) -> None:
        try:
            path = f"/workflows/{_segment(task.workflow_id, 'workflow id')}/tasks"
            result = task.result(max=TASK_RESULT_MAX)
            body = {("id" if key == "task_id" else key): value for key, value in result.items()}
            body.setdefault("id", task.task_id)
            self._enqueue(_Report("POST", path, body, "create_task"))
        except Exception as exc:
            self._hook_failed("create_task", exc)

    def update_task(self, task: Any) -> None:
        try:
            wid = _segment(task.workflow_id, "workflow id")
            tid = _segment(task.task_id, "task id")
            # result() snapshots the task here, on its thread (a fresh dict); the sender encodes it later.
            body = task.result(max=TASK_RESULT_MAX)
            self._enqueue(_Report("PATCH", f"/workflows/{wid}/tasks/{tid}", body, "update_task"))
        except Exception as exc:
            self._hook_failed("update_task", exc)

    def _hook_failed(self, hook: str, exc: Exception) -> None:
        logger.warning(
            "dotflow server: could not queue the %s report (%s: %s); the workflow goes on without it",
            hook,
            type(exc).__name__,
            _redact(str(exc), self._token),
        )

    # -- queue and sender --------------------------------------------------------------

    def _enqueue(self, report: _Report) -> None:
        if os.getpid() != self._pid:
            self._reset_runtime()  # forked child: the parent's lock, queue and thread are not ours
        with self._cond:
            self._queue.append(report)
            if self._thread is None:
                self._start_sender()
            self._cond.notify()

    def _start_sender(self) -> None:
        """Start a sender for a new generation; the caller holds ``self._cond``."""
        self._generation += 1
        self._abort = threading.Event()
        thread = threading.Thread(
            target=self._run,
            args=(self._generation, self._abort),
            name=f"dotflow-server-sender-{id(self):x}",
            daemon=True,
        )
        thread.start()
        self._thread = thread
        if not self._atexit_registered:
            atexit.register(_flush_at_exit, weakref.ref(self))
            self._atexit_registered = True

    def _run(self, generation: int, abort: threading.Event) -> None:
        session: Any = None
        try:
            session = self._open_session()
            while True:
                with self._cond:
                    idle_until = time.monotonic() + _SENDER_IDLE
                    while generation == self._generation and not self._queue:
                        remaining = idle_until - time.monotonic()
                        if remaining <= 0:
                            self._thread = None  # idle: the next _enqueue starts a new sender
                            self._cond.notify_all()
                            return
                        self._cond.wait(remaining)
                    if generation != self._generation:
                        return
                    report = self._queue[0]
                outcome = self._deliver(session, report, generation, abort)
                first_rejection = False
                with self._cond:
                    if outcome is None or generation != self._generation:
                        return  # a flush gave up on the queue while this report was in flight
                    self._queue.popleft()
                    if outcome.sent:
                        self._sent += 1
                    else:
                        self._failed += 1
                        self._failed_since_flush += 1
                        if outcome.rejected is not None:
                            count = self._rejected.get(outcome.rejected, 0) + 1
                            self._rejected[outcome.rejected] = count
                            first_rejection = count == 1
                    self._cond.notify_all()
                if first_rejection:
                    logger.warning(
                        "dotflow server: %s was rejected with HTTP %d%s; report dropped (not retried); "
                        "further HTTP %d rejections are counted and summed up when the reports are flushed",
                        outcome.request,
                        outcome.rejected,
                        outcome.hint,
                        outcome.rejected,
                    )
        except Exception as exc:
            logger.error(
                "dotflow server: the report sender stopped (%s); queued reports will be counted as lost",
                type(exc).__name__,
            )
            with self._cond:
                if generation == self._generation:
                    self._thread = None
                    self._last_error = f"sender stopped: {type(exc).__name__}"
                    self._cond.notify_all()
        finally:
            if session is not None and session is not self._given_session:
                with contextlib.suppress(Exception):  # closing is best effort
                    session.close()

    def _open_session(self) -> Any:
        if self._given_session is not None:
            return self._given_session
        import requests

        return requests.Session()

    def _url(self, path: str) -> str:
        if self._prepared_base is None:
            import requests

            # Let requests normalize the root once (IDNA host, quoting); the id segments
            # appended later are already encoded and must not be normalized again.
            prepared = requests.Request("GET", self._base_url).prepare().url or self._base_url
            self._prepared_base = prepared.rstrip("/")
        return self._prepared_base + path

    def _shown_path(self, url: str, fallback: str) -> str:
        """The path of ``url``, safe to log: credentials masked and the token redacted."""
        try:
            path = urlsplit(url).path or fallback
        except ValueError:
            path = fallback
        return _redact(mask_url(path), self._token)

    def _send(self, session: Any, method: str, url: str, body: bytes | None, timeout: float) -> _Answer:
        """One HTTP call, redirects not followed; returns the status, ``Retry-After`` and ``Location``."""
        import requests

        headers = {"X-User-Token": self._token, "Content-Type": "application/json"}
        prepared = session.prepare_request(requests.Request(method, url, data=body, headers=headers))
        # requests un-escapes %2E back to "." and would let an id of ".." climb the path.
        prepared.url = url
        settings = session.merge_environment_settings(url, {}, None, None, None)
        # requests drops Authorization on a cross-host redirect but keeps X-User-Token, so
        # following one would hand the token to whatever host the Location names.
        response = session.send(prepared, timeout=timeout, allow_redirects=False, **settings)
        try:
            return _Answer(response.status_code, response.headers.get("Retry-After"), response.headers.get("Location"))
        finally:
            response.close()

    def _request_timeout(self) -> float:
        deadline = self._deadline
        if deadline is None:
            return self._timeout
        return max(0.05, min(self._timeout, deadline - time.monotonic()))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(self._backoff_max, retry_after)
        window = min(self._backoff_max, _BACKOFF_BASE * 2.0 ** min(attempt, 60))
        return self._random.uniform(0.0, window)

    def _note_error(self, generation: int, error: str) -> None:
        """Remember why the last attempt failed, for the flush warning; stale senders are ignored."""
        with self._cond:
            if generation == self._generation:
                self._last_error = error

    def _deliver(self, session: Any, report: _Report, generation: int, abort: threading.Event) -> _Outcome | None:
        """How the report ended, or None if a flush aborted it."""
        import requests

        transient = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
        url = ""
        error: str | None = None
        try:
            body = _to_json(report.body)
        except Exception as exc:
            logger.warning(
                "dotflow server: could not encode the %s report as JSON (%s); report dropped",
                report.hook,
                type(exc).__name__,
            )
            self._note_error(generation, f"could not encode a report: {type(exc).__name__}")
            return _Outcome(sent=False)
        for attempt in range(self._retries + 1):
            if abort.is_set():
                return None
            retry_after: float | None = None
            try:
                url = self._url(report.path)
                answer = self._send(session, report.method, url, body, self._request_timeout())
            except transient as exc:
                if isinstance(exc, requests.ConnectionError):
                    reason = f"server unreachable: {type(exc).__name__}"
                else:
                    reason = f"server timed out: {type(exc).__name__}"
            except Exception as exc:
                logger.warning(
                    "dotflow server: %s %s failed with %s; report dropped (not retried)",
                    report.method,
                    self._shown_path(url, report.path),
                    type(exc).__name__,
                )
                self._note_error(generation, f"request failed: {type(exc).__name__}")
                return _Outcome(sent=False)
            else:
                status = answer.status
                if status < 300:
                    if self._outage_logged:
                        self._outage_logged = False
                        logger.info("dotflow server: %s answers again", self._shown_url)
                    return _Outcome(sent=True)
                if status in (408, 429) or status >= 500:
                    reason = f"server answered HTTP {status}"
                    retry_after = _parse_retry_after(answer.retry_after)
                else:
                    if status < 400:
                        target = _redact(_redirect_host(url, answer.location), self._token)
                        hint = (
                            f", a redirect to {target} that was not followed so the token stays with "
                            "base_url's host; check server.base_url"
                        )
                    elif status in (401, 403):
                        hint = "; the token was refused, check SERVER_USER_TOKEN"
                    else:
                        hint = ""
                    self._note_error(generation, f"server rejected a report: HTTP {status}")
                    request = f"{report.method} {self._shown_path(url, report.path)}"
                    return _Outcome(sent=False, rejected=status, request=request, hint=hint)
            error = reason
            self._note_error(generation, reason)
            if attempt >= self._retries:
                break
            delay = self._backoff(attempt, retry_after)
            logger.debug("dotflow server: %s; retry %d in %.2f s", reason, attempt + 1, delay)
            if abort.wait(delay):
                return None
        log = logger.debug if self._outage_logged else logger.warning
        self._outage_logged = True
        log(
            "dotflow server: gave up on %s %s after %d attempt(s) (%s); "
            "later failures are logged at DEBUG until it answers again",
            report.method,
            self._shown_path(url, report.path),
            self._retries + 1,
            error,
        )
        return _Outcome(sent=False)

    # -- flushing and checks -----------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Deliver the queued reports, waiting at most ``timeout`` (default ``flush_timeout``) seconds.

        Safe to call from any thread and any number of times: a second call with nothing
        queued returns at once and logs nothing. When the time is up, the queue is given
        up, the sender is stopped (a pending backoff wait is cut short) and, if any report
        since the previous flush was not delivered, one WARNING line says how many were
        lost and why. A report sent after a flush starts a new sender. Never raises.
        """
        try:
            self._flush(timeout)
        except Exception as exc:  # the workflow's exit must not depend on reporting
            logger.warning("dotflow server: flush failed (%s)", type(exc).__name__)

    def _flush(self, timeout: float | None) -> None:
        wait = self._flush_timeout if timeout is None else max(0.0, float(timeout))
        if os.getpid() != self._pid:
            return  # forked child that never reported: nothing of its own to flush
        with self._cond:
            if self._thread is None and not self._queue and not self._failed_since_flush:
                return
            deadline = time.monotonic() + wait
            self._deadline = deadline
            while self._queue and self._thread is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            pending = len(self._queue)
            rejected = dict(self._rejected)
            given_up = self._failed_since_flush - sum(rejected.values())
            reason = self._last_error
            self._queue.clear()
            self._failed += pending
            self._failed_since_flush = 0
            self._rejected.clear()
            self._last_error = None
            self._outage_logged = False
            self._generation += 1  # the running sender sees this and exits
            self._abort.set()
            self._thread = None
            self._deadline = None
            self._cond.notify_all()
        total_rejected = sum(rejected.values())
        lost = pending + given_up + total_rejected
        if lost:
            parts = []
            if total_rejected:
                by_status = ", ".join(f"{status}: {count}" for status, count in sorted(rejected.items()))
                noun = "report" if total_rejected == 1 else "reports"
                parts.append(f"{total_rejected} {noun} rejected ({by_status})")
            if given_up:
                parts.append(f"{given_up} given up after errors")
            if pending:
                parts.append(f"{pending} still queued when the {wait:g} s flush timeout ran out")
            logger.warning(
                "dotflow server: %d report(s) lost: %s; last error: %s; server %s",
                lost,
                ", ".join(parts),
                reason or "none, the server was just slow",
                self._shown_url,
            )

    def ping(self) -> PingResult:
        """One synchronous ``GET {base_url}/workflows`` with the token; never raises.

        Returns ``PingResult(PingStatus.OK, "HTTP 200")`` on a 2xx answer, ``AUTH`` on 401
        or 403, ``REACHABLE`` on 404, 405 or 501 (the contract has no GET route, so the
        server answered but the token could not be checked), ``UNREACHABLE`` on a connection
        error or timeout, and ``ERROR`` otherwise. A redirect is not followed (``ERROR``).
        """
        try:
            import requests
        except ImportError:
            return PingResult(PingStatus.ERROR, "requests is not installed: pip install requests")
        session: Any = None
        try:
            session = self._open_session()
            url = self._url("/workflows")
            answer = self._send(session, "GET", url, None, self._timeout)
        except (requests.ConnectionError, requests.Timeout) as exc:
            return PingResult(PingStatus.UNREACHABLE, type(exc).__name__)
        except Exception as exc:
            return PingResult(PingStatus.ERROR, type(exc).__name__)
        finally:
            if session is not None and session is not self._given_session:
                with contextlib.suppress(Exception):  # closing is best effort
                    session.close()
        status = answer.status
        if 200 <= status < 300:
            return PingResult(PingStatus.OK, f"HTTP {status}")
        if status in (401, 403):
            return PingResult(PingStatus.AUTH, f"HTTP {status}")
        if status in _NO_GET_ROUTE:
            return PingResult(
                PingStatus.REACHABLE,
                f"HTTP {status}: the server answered; the token could not be checked with GET /workflows",
            )
        if 300 <= status < 400:
            target = _redact(_redirect_host(url, answer.location), self._token)
            return PingResult(
                PingStatus.ERROR,
                f"HTTP {status}, a redirect to {target} that was not followed "
                "(the token must not leave base_url's host)",
            )
        return PingResult(PingStatus.ERROR, f"HTTP {status}")


def _rebuild(
    base_url: str, user_token: str, timeout: float, flush_timeout: float, retries: int, backoff_max: float
) -> ServerAPI:
    return ServerAPI(
        base_url, user_token, timeout, flush_timeout=flush_timeout, retries=retries, backoff_max=backoff_max
    )
