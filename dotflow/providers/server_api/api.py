"""ServerAPI: the Server hooks as HTTP reports to a remote API, delivered in the background, and ``ping()``."""

from __future__ import annotations

import ipaddress
import json
import logging
import math
import random
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, NamedTuple
from urllib.parse import urlsplit

from dotflow.abc.server import Server
from dotflow.delivery import retry
from dotflow.delivery.http import (
    CONNECT_TIMEOUT,
    Answer,
    Connection,
    HTTPChannel,
    PingResult,
    PingStatus,
    Transport,
    probe,
    redirect_host,
    segment,
)
from dotflow.delivery.queue import SENT, DeliveryQueue, Kind, Outcome, crowded, drop, transient
from dotflow.providers.server_api.options import (
    BACKOFF_MAX,
    CREATE_WORKFLOW,
    FLUSH_TIMEOUT,
    HEARTBEAT_INTERVAL,
    LOG_BUFFER,
    MAX_CONNECTIONS,
    PROTOCOL,
    QUEUE_SIZE,
    RETRIES,
    SIGNAL_FLUSH_TIMEOUT,
    TIMEOUT,
    USER_TOKEN,
    ServerOptions,
    credentials_of,
    token_problem,
)
from dotflow.redact import mask_url, remember_secrets
from dotflow.results import CONTEXT_KEYS
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    import requests

    from dotflow.live import LiveRun
    from dotflow.providers.server_api.heartbeat import Heartbeats
    from dotflow.providers.server_api.logs import LogShipper

__all__ = ["PingResult", "PingStatus", "ServerAPI", "TASK_RESULT_MAX"]

logger = logging.getLogger("dotflow.server")

#: Largest task report (in bytes of JSON) sent, as the contract fixes it.
TASK_RESULT_MAX = 5_000_000

# The contract has only POST and PATCH routes, so a sound backend may answer ping()'s GET with these.
_NO_GET_ROUTE = (404, 405, 501)
_ROUTES = {
    "create_workflow": "POST /workflows",
    "update_workflow": "PATCH /workflows/{id}",
    "create_task": "POST /workflows/{id}/tasks",
    "update_task": "PATCH /workflows/{id}/tasks/{id}",
}
# The header a version 2 backend sets on its answers, and the one that hands the runner a new token.
PROTOCOL_HEADER = "Dotflow-Protocol"
TOKEN_HEADER = "Dotflow-Token"
# What version 1, which has no word for Cancelled and Skipped, is told instead.
_V1_STATUS = {TypeStatus.CANCELLED: TypeStatus.FAILED, TypeStatus.SKIPPED: TypeStatus.FAILED}
_warned_plain_http: set[str] = set()


class _Call(NamedTuple):
    """One queued HTTP call: the body is encoded when the hook runs, so the report is a snapshot.
    Which protocol version it goes out in is known only when it is sent: ``v1`` is the body for
    version 1 when it differs (a status version 1 has no word for), ``extra`` the members only
    version 2 adds (``"run_attempt":2,"metadata":{...}``)."""

    method: str
    path: str  # percent-encoded, relative to base_url
    body: bytes
    key: str | None  # Idempotency-Key of a POST, the same for every attempt
    hook: str
    v1: bytes | None = None
    extra: bytes | None = None


class ServerAPI(Server):
    """Reports to a remote API without ever making the workflow wait on the network.

    Each hook encodes its report (a snapshot of the task, on the caller's thread) and hands it to
    a ``DeliveryQueue``, then returns. Up to ``max_connections`` sender threads deliver the reports
    over keep-alive connections: concurrently across tasks, in order within a task, a task's POST
    always before its PATCHes. A queued non-terminal report that a newer one of the same task
    supersedes is dropped, except the task's first In progress (a task that ran is reported In
    progress before its terminal status); terminal task statuses and workflow statuses never are.

    Connection errors, timeouts, 408, 429 and 5xx are retried up to ``retries`` times with
    full-jitter backoff capped at ``backoff_max`` seconds, honouring ``Retry-After``. Other 4xx
    answers, and any 3xx, are not retried: redirects are never followed, because requests would
    forward ``X-User-Token`` to whatever host they name. A POST answered 409 counts as delivered
    (the subject exists already). The first rejection of each status and route is logged; the
    rest are counted in the warning of the next flush. POSTs carry an ``Idempotency-Key``.

    ``flush(timeout)`` waits for delivery (``flush_timeout`` by default; an ``atexit`` hook calls
    it too); after a signal the engine flushes with ``signal_flush_timeout``. Nothing is ever
    raised into the workflow, and the token and any ``user:pass@`` of ``base_url`` never appear
    in a log, an error or a ``repr()``.

    ``session`` injects a ready ``requests.Session``: it is used as is, by every sender, and
    never closed. ``create_workflow`` says when ``POST /workflows`` is sent: ``"auto"`` only for a
    workflow whose id was generated here (1.x's rule: an explicit id, a managed runner's above all,
    names a row the backend made already), ``"always"`` for every workflow, ``"never"``.
    ``token_source`` says where the token came from (a profile passes its setting's
    source, ``file:dotflow.toml:7`` or ``env:NAME``), so that a refused token's warning sends the
    reader to that place rather than to ``SERVER_USER_TOKEN``. Each setting's default and check is
    defined once, in ``options``.
    """

    def __init__(
        self,
        base_url: str,
        user_token: str,
        timeout: float = TIMEOUT.default,
        *,
        flush_timeout: float = FLUSH_TIMEOUT.default,
        signal_flush_timeout: float = SIGNAL_FLUSH_TIMEOUT.default,
        retries: int = RETRIES.default,
        backoff_max: float = BACKOFF_MAX.default,
        max_connections: int = MAX_CONNECTIONS.default,
        queue_size: int = QUEUE_SIZE.default,
        create_workflow: str = CREATE_WORKFLOW.default,
        protocol: str | int = PROTOCOL.default,
        heartbeat_interval: float = HEARTBEAT_INTERVAL.default,
        log_buffer: int = LOG_BUFFER.default,
        session: requests.Session | None = None,
        token_source: str | None = None,
    ) -> None:
        self.options = ServerOptions.of(
            base_url=base_url,
            user_token=user_token,
            timeout=timeout,
            flush_timeout=flush_timeout,
            signal_flush_timeout=signal_flush_timeout,
            retries=retries,
            backoff_max=backoff_max,
            max_connections=max_connections,
            queue_size=queue_size,
            create_workflow=create_workflow,
            protocol=protocol,
            heartbeat_interval=heartbeat_interval,
            log_buffer=log_buffer,
        )
        options = self.options
        self._hide: Callable[[str], str] = credentials_of(options)
        self._shown_url = mask_url(options.base_url, options.user_token)
        self._session = session
        # the token goes with each request rather than with the connection: a version 2 backend may
        # hand out a new one (Dotflow-Token), which the next request carries
        self._auth = {"X-User-Token": options.user_token}
        self._transport = Transport(
            options.base_url, None, session, connect_timeout=min(options.timeout, CONNECT_TIMEOUT)
        )
        # the protocol version in use: forced by the setting, else None until an answer says 2
        self._version: int | None = None if options.protocol == "auto" else int(options.protocol)
        self._heartbeats: Heartbeats | None = None
        self._logs: LogShipper | None = None
        self._runs: dict[str, LiveRun] = {}
        self._queue = DeliveryQueue(
            self._open_channel,
            label="dotflow server",
            target=self._shown_url,
            workers=options.max_connections,
            queue_size=options.queue_size,
            retries=options.retries,
            backoff_max=options.backoff_max,
            flush_timeout=options.flush_timeout,
            signal_flush_timeout=options.signal_flush_timeout,
            logger=logger,
        )
        self._rejections: set[tuple[int, str]] = set()  # (status, route) already logged
        self._token_source = token_source
        self._token_place = _token_place(token_source)
        _warn_if_plain_http(options.base_url, self._shown_url)

    def __repr__(self) -> str:
        return f"ServerAPI(base_url={self._shown_url!r}, user_token='***', timeout={self.options.timeout!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # A copy sent to another process gets its own queue and senders; an injected session stays here.
        return (_rebuild, (self.options, self._token_source))

    # -- read-only state ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """The API root, with any ``user:pass@`` (and the token, if it sits in the URL) masked."""
        return self._shown_url

    @property
    def flush_timeout(self) -> float:
        return self.options.flush_timeout

    @property
    def signal_flush_timeout(self) -> float:
        return self.options.signal_flush_timeout

    @property
    def protocol(self) -> int:
        """The runner protocol version in use now: 2 once forced or once the backend said so
        (``Dotflow-Protocol: 2`` on an answer), else 1."""
        return 2 if self._version == 2 else 1

    @property
    def sent(self) -> int:
        """Reports the server accepted."""
        return self._queue.sent

    @property
    def failed(self) -> int:
        """Reports given up: rejected, out of retries, dropped, or still queued when a flush ran out of time."""
        return self._queue.lost

    @property
    def pending(self) -> int:
        """Reports queued or in flight."""
        return self._queue.pending

    # -- the Server hooks --------------------------------------------------------------------

    def should_create_workflow(self, id_generated: bool) -> bool:
        """Whether the engine calls ``create_workflow`` for a new workflow: the ``create_workflow``
        setting decides (``auto``: when its id was generated here)."""
        policy = self.options.create_workflow
        return policy == "always" or (policy == "auto" and id_generated)

    def create_workflow(self, workflow: Any) -> None:
        if self.options.create_workflow == "never":
            return  # the backend makes its workflows itself
        try:
            wid = _workflow_id(workflow)
            body: dict[str, Any] = {"id": wid}
            name = getattr(workflow, "name", None)
            # the machine's name (the default of a DotFlow without one) stays here
            if name and getattr(workflow, "name_given", True):
                body["name"] = str(name)
            segment(wid, "workflow id")
            body_bytes = _dumps(body)
            self._put(("workflow", wid), Kind.CREATE, "POST", "/workflows", body_bytes, "create_workflow", urgent=True)
        except Exception as exc:
            self._hook_failed("create_workflow", exc)

    def update_workflow(self, workflow: Any, status: str = "") -> None:
        try:
            wid = _workflow_id(workflow)
            text = str(getattr(status, "value", status))  # a str enum sends its text
            body = _dumps({"status": text})
            v1 = _dumps({"status": _V1_STATUS[text]}) if text in _V1_STATUS else None
            path = f"/workflows/{segment(wid, 'workflow id')}"
            if text != TypeStatus.IN_PROGRESS:
                self._unwatch(wid)  # no heartbeat after the final status
            # urgent: the workflow's status is what an observer reads first, and must not wait
            # behind thousands of task reports when a flush runs out of time
            self._put(("workflow", wid), Kind.FINAL, "PATCH", path, body, "update_workflow", urgent=True, v1=v1)
        except Exception as exc:
            self._hook_failed("update_workflow", exc)

    def create_task(self, task: Any) -> None:
        try:
            wid = str(task.workflow_id)
            path = f"/workflows/{segment(wid, 'workflow id')}/tasks"
            self._put(
                ("task", wid, str(task.task_id)),
                Kind.CREATE,
                "POST",
                path,
                _task_body(task, self._result_of(task, "create_task"), rename=True),
                "create_task",
                after=("workflow", wid),  # a workflow announced here is POSTed before its tasks
            )
        except Exception as exc:
            self._hook_failed("create_task", exc)

    def update_task(self, task: Any) -> None:
        try:
            wid, tid = str(task.workflow_id), str(task.task_id)
            path = f"/workflows/{segment(wid, 'workflow id')}/tasks/{segment(tid, 'task id')}"
            status = task.status
            kind = Kind.FINAL if status in TypeStatus.TERMINAL else Kind.UPDATE
            data = self._result_of(task, "update_task")
            body = _task_body(task, data, rename=False)
            v1 = None
            if status in _V1_STATUS:  # version 1: Failed, with the reason as the error
                v1 = _task_body(task, _as_v1(data, task), rename=False)
            self._put(("task", wid, tid), kind, "PATCH", path, body, "update_task", v1=v1,
                      extra=self._extra(wid, tid))
        except Exception as exc:
            self._hook_failed("update_task", exc)

    def flush(self, timeout: float | None = None) -> None:
        """Deliver what is queued, waiting at most ``timeout`` seconds (default ``flush_timeout``).

        Safe from any thread, any number of times. When the time is up the rest is given up and,
        if anything since the previous flush was not delivered, one WARNING line says how many
        reports were lost (how many terminal) and why. Never raises.
        """
        began = monotonic()
        self._queue.flush(timeout)
        logs = self._logs
        if logs is not None:  # what the steps wrote gets the time the statuses left
            bound = self.options.flush_timeout if timeout is None else timeout
            left = logs.flush(max(0.0, bound - (monotonic() - began)))
            if left:
                logger.warning("dotflow server: %d log record(s) were not delivered within the flush's bound", left)

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: deliver until ``deadline`` (``time.monotonic()``) at the
        latest, terminal statuses first, then give up the rest (see ``DeliveryQueue.hasten``)."""
        self._queue.hasten(deadline)
        if self._logs is not None:
            self._logs.hasten(deadline)

    def _put(
        self, lane: Any, kind: Kind, method: str, path: str, body: bytes, hook: str, after: Any = None,
        urgent: bool = False, v1: bytes | None = None, extra: bytes | None = None,
    ) -> None:
        # the module's generator is reseeded in a forked child, and costs no system call
        key = f"{random.getrandbits(128):032x}" if method == "POST" else None
        self._queue.put(lane, kind, _Call(method, path, body, key, hook, v1, extra), after=after, urgent=urgent)

    # -- the runner protocol version 2 ---------------------------------------------------------

    def watch_run(self, live: LiveRun) -> None:
        """A run starts (the engine calls it before the workflow's In progress): with version 2,
        heartbeats tell the backend it is alive and bring back its cancel requests, until its final
        status is queued; its tasks' reports carry ``run_attempt`` and their metadata."""
        self._runs[live.workflow_id] = live
        try:
            self._transport.warm()  # before the first step: a step that computes would delay the first report
        except Exception:  # a URL that cannot be set up is the senders' to report, as before
            pass
        if self._version == 1:
            return
        if self._heartbeats is None:
            from dotflow.providers.server_api.heartbeat import Heartbeats

            self._heartbeats = Heartbeats(
                connect=self._transport.connect,
                headers=lambda: dict(self._auth),
                version=lambda: self._version,
                observe=self._observe,
                path_of=lambda wid: f"/workflows/{segment(wid, 'workflow id')}/heartbeat",
                interval=self.options.heartbeat_interval,
                timeout=self.options.timeout,
                hide=lambda text: self._hide(text),  # a refreshed token is hidden too
            )
        self._heartbeats.watch(live)
        if self._logs is None:
            from dotflow.providers.server_api.logs import LogShipper
            from dotflow.redact import mask_secrets

            self._logs = LogShipper(
                connect=self._transport.connect,
                headers=lambda: dict(self._auth),
                version=lambda: self._version,
                observe=self._observe,
                path_of=lambda wid: f"/workflows/{segment(wid, 'workflow id')}/logs",
                # the token and URL credentials, then every secret the process knows (a profile's)
                hide=lambda text: mask_secrets(self._hide(text)),
                capacity=self.options.log_buffer,
                timeout=self.options.timeout,
            )
            # at interpreter exit this flushes too, so that the log lane is flushed, after the statuses
            from dotflow import interrupts

            interrupts.flush_at_exit(self)
        live.log_sink = self._logs.sink(live.workflow_id)
        if self._version == 1:  # the first answer came meanwhile, and found no sink to take away
            live.stop_logs()

    def _unwatch(self, workflow_id: str) -> None:
        self._runs.pop(workflow_id, None)
        if self._heartbeats is not None:
            self._heartbeats.stop(workflow_id)

    def _extra(self, workflow_id: str, task_id: str) -> bytes | None:
        """What version 2 adds to a task's report: the run attempt, and the metadata its step attached."""
        live = self._runs.get(workflow_id)
        if live is None:
            return None
        members: dict[str, Any] = {"run_attempt": live.run_attempt}
        metadata = live.metadata_of(task_id)
        if metadata:
            members["metadata"] = metadata
        from dotflow.redact import mask_secrets

        return mask_secrets(self._hide(_dumps(members).decode("utf-8")))[1:-1].encode("utf-8")

    def _observe(self, answer: Answer) -> None:
        """Every answer, from a sender or the heartbeat. Under ``auto`` the backend's first 2xx
        answer decides the version: ``Dotflow-Protocol: 2`` on it (or on an earlier error answer)
        switches version 2 on, its absence means version 1 for good. ``Dotflow-Token`` (version 2)
        replaces the token from the next request."""
        if self._version is None:
            if answer.protocol is not None and answer.protocol.strip() == "2":
                self._version = 2
                logger.debug("dotflow server: the backend speaks the runner protocol version 2")
            elif 200 <= answer.status < 300:
                # the backend's first answer did not say 2: version 1 from now on, so nothing of
                # version 2 is kept waiting (no capture, no heartbeat thread)
                self._version = 1
                for live in list(self._runs.values()):
                    live.stop_logs()
            if self._heartbeats is not None:
                self._heartbeats.wake()
            if self._logs is not None:
                self._logs.wake()
        token = answer.token
        if token is not None and self._version == 2:
            token = token.strip()
            if token_problem(token) is None and token != self._auth["X-User-Token"]:
                remember_secrets(token)  # masked like the first everywhere, from now on
                self._hide = _also_hiding(self._hide, token)
                self._auth = {"X-User-Token": token}

    def _result_of(self, task: Any, hook: str) -> dict[str, Any]:
        """``task.result()``, or when it cannot be made the task's status alone (and one warning):
        the status is what must reach the backend."""
        try:
            return dict(task.result())
        except Exception as exc:
            logger.warning(
                "dotflow server: could not queue the %s report's result (%s: %s); its status goes without it",
                hook,
                type(exc).__name__,
                self._hide(str(exc))[:200],
            )
            return {"task_id": task.task_id, "workflow_id": task.workflow_id, "status": task.status,
                    "current_context": f"<not encoded: {type(exc).__name__}>", "errors": [], "error": None}

    def _hook_failed(self, hook: str, exc: Exception) -> None:
        logger.warning(
            "dotflow server: could not queue the %s report (%s: %s); the workflow goes on without it",
            hook,
            type(exc).__name__,
            self._hide(str(exc))[:200],
        )

    # -- delivery ----------------------------------------------------------------------------

    def _open_channel(self) -> HTTPChannel:
        return HTTPChannel(self._transport.connect(), self._send)

    def _send(self, connection: Connection, call: _Call, deadline: float | None) -> Outcome:
        """One report over a sender's ``connection``, turned into a delivery ``Outcome``."""
        from urllib3 import exceptions as errors  # loaded by the connection already: a lookup

        from dotflow.delivery._direct import Crowded

        timeout = self.options.timeout
        if deadline is not None:  # a flush is waiting: no request may outlive it
            timeout = max(0.05, min(timeout, deadline - monotonic()))
        headers = {**self._auth, "Idempotency-Key": call.key} if call.key else self._auth
        url = self._transport.url(call.path)
        body = call.body
        if self._version == 2:
            if call.extra:
                body = body[:-1] + b"," + call.extra + b"}"
        elif call.v1 is not None:
            body = call.v1
        try:
            answer = connection.request(call.method, call.path, body, timeout, headers)
        except Crowded:
            return crowded("left a new connection unanswered while it answered the others (it serves fewer at once)")
        except errors.SSLError as exc:  # a certificate problem does not go away by retrying
            return drop(f"failed with TLS error {type(exc).__name__}")
        except (errors.HTTPError, OSError) as exc:  # refused, reset, timed out, or a body that broke off
            # urllib3's NewConnectionError (refused, no route) subclasses its timeout error
            timed_out = isinstance(exc, (errors.TimeoutError, TimeoutError)) and not isinstance(
                exc, errors.NewConnectionError
            )
            what = "timed out" if timed_out else "unreachable"
            return transient(f"server {what}: {type(exc).__name__}")
        except Exception as exc:
            logger.warning(
                "dotflow server: %s %s failed with %s; report dropped (not retried)",
                call.method,
                self._shown_path(url),
                type(exc).__name__,
            )
            return drop(f"failed with {type(exc).__name__}")
        return self._outcome(call, url, answer)

    def _outcome(self, call: _Call, url: str, answer: Answer) -> Outcome:
        if self._version is None or answer.protocol is not None or answer.token is not None:
            self._observe(answer)
        status = answer.status
        if 200 <= status < 300 or (status == 409 and call.method == "POST"):
            return SENT
        if retry.is_transient(status):
            return transient(f"server answered HTTP {status}", retry.parse_retry_after(answer.retry_after))
        route = _ROUTES.get(call.hook, call.hook)
        if (status, route) not in self._rejections:
            self._rejections.add((status, route))  # a set add is atomic: at worst two senders log it once each
            if status < 400:
                target = self._hide(redirect_host(url, answer.location))
                hint = (
                    f"; a redirect to {target}, not followed so the token stays with base_url's host: "
                    "check server.base_url"
                )
            elif status in (401, 403):
                hint = f"; the token was refused: check {self._token_place}"
            else:
                hint = ""
            said = " ".join(answer.text.split())
            logger.warning(
                "dotflow server: %s %s was rejected with HTTP %d%s%s; not retried, and further HTTP %d answers "
                "to %s are counted in the warning of the next flush",
                call.method,
                self._shown_path(url),
                status,
                f" ({self._hide(said)[:200]})" if said else "",
                hint,
                status,
                route,
            )
        return drop(f"rejected with HTTP {status}")

    def _shown_path(self, url: str) -> str:
        """The path of ``url``, safe to log: credentials masked and the token redacted."""
        try:
            path = urlsplit(url).path or url
        except ValueError:
            path = "(unparsable URL)"
        return self._hide(mask_url(path))

    # -- checks ------------------------------------------------------------------------------

    def ping(self) -> PingResult:
        """One synchronous ``GET {base_url}/workflows`` with the token; never raises.

        ``OK`` on a 2xx answer, ``AUTH`` on 401 or 403, ``REACHABLE`` on 404, 405 or 501 (the
        contract has no GET route, so the server answered but the token could not be checked),
        ``UNREACHABLE`` on a connection error or timeout, ``ERROR`` otherwise. A redirect is not
        followed (``ERROR``).
        """
        return probe(
            self._transport,
            "/workflows",
            self.options.timeout,
            self._hide,
            unchecked=_NO_GET_ROUTE,
            unchecked_note="the server answered; the token could not be checked with GET /workflows",
            headers=dict(self._auth),
        )


def _workflow_id(workflow: Any) -> str:
    # update_workflow gets the id itself (as 1.0.1 passes it); create_workflow gets the DotFlow
    return str(getattr(workflow, "workflow_id", workflow))


# Levels of nesting a report keeps; deeper values are replaced by a marker.
_DEPTH = 100
_TOO_DEEP = f"<not encoded: nested deeper than {_DEPTH} levels>"


def _dumps(body: Any) -> bytes:
    """``body`` as strict JSON, always: NaN and Infinity, which Python writes but JSON does not have
    (a strict server answers 400 and the report is lost), become the strings "NaN", "Infinity" and
    "-Infinity"; a value nested too deep to encode becomes a marker. The rest is kept as it is."""
    try:
        return json.dumps(body, separators=(",", ":"), default=str, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError):
        return json.dumps(_encodable(body, 0), separators=(",", ":"), default=str, allow_nan=False).encode("utf-8")


def _encodable(value: Any, depth: int) -> Any:
    """``value`` with non-finite floats spelled out and anything past ``_DEPTH`` levels a marker."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (math.inf, -math.inf):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if isinstance(value, (dict, list, tuple)):
        if depth >= _DEPTH:
            return _TOO_DEEP
        if isinstance(value, dict):
            return {str(k): _encodable(v, depth + 1) for k, v in value.items()}
        return [_encodable(v, depth + 1) for v in value]
    return value


def _task_body(task: Any, data: dict[str, Any], rename: bool) -> bytes:
    """The task's JSON report from its ``data`` (``task.result()``), at most ``TASK_RESULT_MAX`` bytes;
    ``rename`` sends ``task_id`` as ``id`` (the POST's body). Encoded once in the common case; capped
    (see ``Task.result``) only when too big."""
    if rename:
        data.pop("task_id", None)
        data["id"] = task.task_id
    body = _dumps(data)
    if len(body) > TASK_RESULT_MAX:
        try:
            data = task.result(max=TASK_RESULT_MAX)
        except Exception:  # the cap measures each value with json.dumps; the note says what was left out
            data = {**data, **{key: "<not encoded: too big>" for key in CONTEXT_KEYS}, "errors": [], "error": None}
        if rename and "task_id" in data:
            data.pop("task_id")
            data["id"] = task.task_id
        body = _dumps(data)
    return body


def _as_v1(data: dict[str, Any], task: Any) -> dict[str, Any]:
    """A Cancelled or Skipped task's report as version 1 reads it: Failed, the reason its error."""
    reason = str(getattr(task, "reason", None) or data.get("status"))
    error = {"attempt": getattr(task, "retry_count", 0) + 1, "exception": str(data.get("status")),
             "traceback": "", "message": reason}
    return {**data, "status": TypeStatus.FAILED, "errors": [*(data.get("errors") or []), error], "error": error}


def _also_hiding(hide: Callable[[str], str], token: str) -> Callable[[str], str]:
    """``hide`` that masks ``token`` too (a refreshed token, which the options do not hold)."""
    from dotflow.redact import Redactor

    extra = Redactor(token)
    return lambda text: extra(hide(text))


def _warn_if_plain_http(base_url: str, shown: str) -> None:
    """One warning per URL and process when the token would cross a network in clear text."""
    try:
        parts = urlsplit(base_url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return
    if parts.scheme.lower() != "http" or shown in _warned_plain_http:
        return
    if host == "localhost" or host.endswith(".localhost"):
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass
    _warned_plain_http.add(shown)
    logger.warning(
        "dotflow server: base_url %s is plain http:// to a host that is not this machine, so the token "
        "travels unencrypted; use https://",
        shown,
    )


def _token_place(source: str | None) -> str:
    """Where to look for a refused token: the variable or the file line it came from."""
    if not source:
        return str(USER_TOKEN.env)
    kind, _, where = source.partition(":")
    if kind == "env" and where:
        return where
    return f"server.user_token (from {source})"


def _rebuild(options: ServerOptions, token_source: str | None = None) -> ServerAPI:
    return ServerAPI(**options._asdict(), token_source=token_source)
