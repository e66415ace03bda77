"""The HTTP API under ``/api/v1``: the runner protocol (versions 1 and 2, docs/protocol/openapi.yaml)
and the operator's calls, behind the ``X-User-Token`` header.

Routes are matched on the raw path, each segment percent-decoded after the split: the runner
encodes an id as one segment, so an id holding ``/`` (``%2F``) stays one id instead of becoming
two segments, as it would in the decoded path a framework routes on. Every answer carries
``Dotflow-Protocol: 2``, which switches a runner's version 2 features on.

=========================================  ====================================  ==================
call                                       what                                  who
=========================================  ====================================  ==================
``POST /workflows`` ``{"name"}``           a managed run: id, run token, env     operator
``POST /workflows`` ``{"id", "name"}``     a run the runner made (409 if known)  operator
``GET /workflows?status=&limit=``          runs, newest first                    operator (a run token: its own)
``GET /workflows/{id}``                    a run, its tasks and their history    operator, its run token
``PATCH /workflows/{id}``                  the run's status                      runner
``POST /workflows/{id}/tasks``             a task (409 if known)                 runner
``PATCH /workflows/{id}/tasks/{task}``     a task's new state                    runner
``GET /workflows/{id}/tasks/{task}``       a task and its last report            operator, its run token
``POST /workflows/{id}/heartbeat``         renew the lease; interval, cancel     runner
``POST /workflows/{id}/logs``              a batch of log records                runner
``GET /workflows/{id}/logs?task=&after=``  log records in seq order              operator, its run token
``POST /workflows/{id}/cancel``            ask the run to stop                   operator
``POST /workflows/{id}/relaunch``          a new attempt: token, env             operator
=========================================  ====================================  ==================

"runner" is the operator token or the run's own token. Answers: 401 without a known token, 403
for a run token outside its run, 404 for an unknown run, 410 for a report of a run whose lease
is gone (Crashed; a heartbeat under a token a relaunch retired is 409), 413 past the body bound,
400 for a body the call cannot take.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dotflow.backend import statuses
from dotflow.backend.store import (
    LIST_LIMIT,
    LOGS_LIMIT,
    BadReport,
    LeaseTaken,
    Principal,
    RunEnded,
    RunGone,
    Store,
    UnknownRun,
)

if TYPE_CHECKING:
    from starlette.types import Receive, Scope, Send

logger = logging.getLogger("dotflow.backend")

PREFIX: Final = ("api", "v1")
PROTOCOL_HEADERS: Final = {"Dotflow-Protocol": "2", "Cache-Control": "no-store"}
# A task's report is at most 5,000,000 bytes (task.result(max=5_000_000)), plus its metadata
# (16 KiB) and run_attempt; a log batch at most 1 MiB. An operator's call is a few hundred bytes.
RUNNER_BODY_LIMIT: Final = 8 * 1024 * 1024
OPERATOR_BODY_LIMIT: Final = 64 * 1024
_NESTING_LIMIT: Final = 64  # levels of JSON nesting an operator's body may hold


class _Answer(Exception):
    """Ends a call with this status and error message (raised anywhere below the dispatcher)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers={**PROTOCOL_HEADERS, **(headers or {})})


def answer(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=dict(PROTOCOL_HEADERS))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_body(request: Request, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes (413 past it, whatever Content-Length said)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise _Answer(413, f"the body is {int(declared)} bytes; this call takes at most {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _Answer(413, f"the body is over {limit} bytes, the most this call takes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(raw: bytes) -> tuple[Any, str]:
    """A strict JSON body in UTF-8 (no NaN or Infinity) and its text; None for an empty one; 400
    for anything else."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Answer(400, "the body is not UTF-8") from None
    if not text.strip():
        return None, text
    try:
        return json.loads(text, parse_constant=_reject_constant), text
    except (ValueError, RecursionError) as exc:
        raise _Answer(400, f"the body is not JSON: {str(exc)[:200]}") from None


def route_segments(scope: Scope) -> list[str] | None:
    """The path's segments after ``/api/v1``, each percent-decoded; None when it is not under it."""
    raw = scope.get("raw_path") or scope["path"].encode("utf-8")
    path = raw.split(b"?", 1)[0].decode("latin-1")
    segments = [unquote(part, errors="replace") for part in path.split("/")]
    if segments[: len(PREFIX) + 1] != ["", *PREFIX]:
        return None
    rest = segments[len(PREFIX) + 1:]
    if rest and rest[-1] == "":
        rest.pop()  # a trailing slash names the same route
    return rest


Handler = Callable[[Request, Principal, list[str]], Awaitable[Response]]


class Api:
    """The ASGI application of ``/api/v1`` over a :class:`Store`.

    ``base_url(request)`` is the URL runners are told to report to (``SERVER_BASE_URL``)."""

    def __init__(self, store: Store, *, base_url: Callable[[Request], str]) -> None:
        self.store = store
        self.base_url = base_url
        # (shape, method) -> handler; a shape is the route with every id replaced by "*"
        self._routes: dict[tuple[tuple[str, ...], str], Handler] = {
            (("workflows",), "POST"): self._create,
            (("workflows",), "GET"): self._list,
            (("workflows", "*"), "GET"): self._detail,
            (("workflows", "*"), "PATCH"): self._workflow_status,
            (("workflows", "*", "tasks"), "POST"): self._create_task,
            (("workflows", "*", "tasks", "*"), "PATCH"): self._update_task,
            (("workflows", "*", "tasks", "*"), "GET"): self._task,
            (("workflows", "*", "heartbeat"), "POST"): self._heartbeat,
            (("workflows", "*", "logs"), "POST"): self._add_logs,
            (("workflows", "*", "logs"), "GET"): self._logs,
            (("workflows", "*", "cancel"), "POST"): self._cancel,
            (("workflows", "*", "relaunch"), "POST"): self._relaunch,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            response = await self._dispatch(request)
        except _Answer as exc:
            response = error(exc.status, str(exc), exc.headers)
        except (UnknownRun, RunGone, RunEnded, BadReport) as exc:
            response = store_error(exc)
        except Exception:
            logger.exception("dotflow backend: %s %s failed", request.method, scope.get("path", "?")[:200])
            response = error(500, "the backend failed on this request; its log says why")
        await response(scope, receive, send)

    async def _dispatch(self, request: Request) -> Response:
        segments = route_segments(request.scope)
        if segments is None:
            raise _Answer(404, "no such route")
        shape = _shape(segments)
        handler = self._routes.get((shape, request.method))
        if handler is None:
            allowed = sorted(method for (known, method) in self._routes if known == shape)
            if not allowed:
                raise _Answer(404, "no such route: see the API in the backend's docs")
            raise _Answer(405, f"{request.method} is not allowed here", {"Allow": ", ".join(allowed)})
        who = await run_in_threadpool(self.store.authorize, request.headers.get("x-user-token"))
        if who is None:
            raise _Answer(401, "a valid X-User-Token header is needed: the operator token or a run's token")
        if len(segments) > 1 and not who.may_see(segments[1]):
            raise _Answer(403, "this run token belongs to another run")
        return await handler(request, who, segments)

    # -- the operator's calls ---------------------------------------------------------------------

    async def _create(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, _ = parse_json(await read_body(request, OPERATOR_BODY_LIMIT))
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise _Answer(400, 'the body must be a JSON object: {"name": "..."} (or {"id": ...} from a runner)')
        if body.get("id") is None:
            if not who.operator:
                raise _Answer(403, "a run token cannot create runs: use the operator token")
            workflow_id, token = await run_in_threadpool(self.store.create_run, body.get("name"))
            base = self.base_url(request)
            return answer({"id": workflow_id, "token": token,
                           "env": {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": token, "WORKFLOW_ID": workflow_id}},
                          201)
        if not who.operator:
            if str(body["id"]) == who.workflow_id:
                return answer({"id": who.workflow_id, "created": False}, 409)  # its own run: known already
            raise _Answer(403, "a run token reports on its own run only")
        created = await run_in_threadpool(self.store.record_workflow, body["id"], body.get("name"))
        return answer({"id": str(body["id"]), "created": created}, 201 if created else 409)

    async def _list(self, request: Request, who: Principal, segments: list[str]) -> Response:
        status = request.query_params.get("status")
        if status is not None and status not in statuses.SHOWN:
            raise _Answer(400, f"status must be one of {sorted(statuses.SHOWN)}")
        limit = _query_int(request, "limit", LIST_LIMIT, 1, 1000)
        runs = await run_in_threadpool(self.store.list_runs, who, status, limit)
        return answer({"workflows": runs})

    async def _detail(self, request: Request, who: Principal, segments: list[str]) -> Response:
        return answer(await run_in_threadpool(self.store.run_detail, segments[1], who))

    async def _task(self, request: Request, who: Principal, segments: list[str]) -> Response:
        return answer(await run_in_threadpool(self.store.task_detail, segments[1], segments[3], who))

    async def _logs(self, request: Request, who: Principal, segments: list[str]) -> Response:
        task = request.query_params.get("task")
        after = _query_int(request, "after", None, -1, 2**62)
        limit = _query_int(request, "limit", LOGS_LIMIT, 1, 10_000)
        return answer(await run_in_threadpool(self.store.log_records, segments[1], who, task, after, limit))

    async def _cancel(self, request: Request, who: Principal, segments: list[str]) -> Response:
        if not who.operator:
            raise _Answer(403, "only the operator token cancels a run")
        body, _ = parse_json(await read_body(request, OPERATOR_BODY_LIMIT))
        cancel = await run_in_threadpool(self.store.cancel, segments[1], body)
        return answer({"cancel": cancel}, 202)

    async def _relaunch(self, request: Request, who: Principal, segments: list[str]) -> Response:
        if not who.operator:
            raise _Answer(403, "only the operator token relaunches a run")
        token, attempt = await run_in_threadpool(self.store.relaunch, segments[1])
        env = {"SERVER_BASE_URL": self.base_url(request), "SERVER_USER_TOKEN": token, "WORKFLOW_ID": segments[1],
               "RUN_ATTEMPT": str(attempt)}
        return answer({"id": segments[1], "token": token, "run_attempt": attempt, "env": env})

    # -- the runner protocol ----------------------------------------------------------------------

    async def _runner_body(self, request: Request) -> tuple[Any, str]:
        return parse_json(await read_body(request, RUNNER_BODY_LIMIT))

    async def _workflow_status(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, _ = await self._runner_body(request)
        await run_in_threadpool(self.store.set_workflow_status, segments[1], body, who)
        return answer({})

    async def _create_task(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, raw = await self._runner_body(request)
        created = await run_in_threadpool(self.store.create_task, segments[1], body, raw, who)
        return answer({}, 201 if created else 409)

    async def _update_task(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, raw = await self._runner_body(request)
        await run_in_threadpool(self.store.update_task, segments[1], segments[3], body, raw, who)
        return answer({})

    async def _heartbeat(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, _ = await self._runner_body(request)
        try:
            return answer(await run_in_threadpool(self.store.heartbeat, segments[1], body, who))
        except LeaseTaken:  # the protocol's answer when the work went to another runner
            return error(409, "the run was relaunched: this attempt's lease went to a newer one")

    async def _add_logs(self, request: Request, who: Principal, segments: list[str]) -> Response:
        body, _ = await self._runner_body(request)
        added = await run_in_threadpool(self.store.add_logs, segments[1], body, who)
        return answer({"added": added})


def _shape(segments: list[str]) -> tuple[str, ...]:
    """The route's shape: ids (the 2nd and 4th segments) replaced by "*"."""
    return tuple("*" if i in (1, 3) else part for i, part in enumerate(segments))


def _query_int(request: Request, name: str, default: int | None, low: int, high: int) -> Any:
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise _Answer(400, f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise _Answer(400, f"{name} must be from {low} to {high}")
    return value


def store_error(exc: UnknownRun | RunGone | RunEnded | BadReport) -> Response:
    """The answer for an error of the store."""
    if isinstance(exc, UnknownRun):
        return error(404, "no such run (or task)")
    if isinstance(exc, RunGone):
        return error(410, "the run's lease is gone (it was declared Crashed, or cancelled before it began): "
                          "this report comes too late")
    if isinstance(exc, RunEnded):
        return error(409, str(exc))
    return error(400, str(exc))
