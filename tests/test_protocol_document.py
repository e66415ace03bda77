"""The runner protocol's OpenAPI document (docs/protocol/openapi.yaml) is true to the runner: the
document is valid OpenAPI, every request a real run sends to a real server on 127.0.0.1 (a
generated workflow and a managed one, a retried task, a failed one, an id that needs encoding)
validates against it, headers, parameters and bodies included, and so do example version 2
requests and the fault server's version 2 answers.

To hold a run's own requests to the document, run it against a ``FaultServer`` and assert
``document_problems(server.url, server.requests()) == []``; ``request_problems`` and
``answer_problems`` check one request, or one answer a client read.
"""

from __future__ import annotations

import functools
import http.client
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import pytest
import yaml
from fault_server import FaultServer, Recorded

from dotflow import Config, DotFlow, action
from dotflow.providers import ServerAPI

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "protocol" / "openapi.yaml"
TOKEN = "tok-protocol-document-4c1d"


# -- validating recorded requests and the answers they got ---------------------------------------------


@dataclass
class _Request:
    """A recorded request in the shape openapi-core validates (its Request protocol)."""

    host_url: str
    path: str
    method: str
    content_type: str
    body: bytes | None
    parameters: Any = field(default=None)


@dataclass
class _Response:
    """An answer in the shape openapi-core validates (its Response protocol)."""

    status_code: int
    content_type: str
    headers: Any
    data: bytes | None


class Answer(NamedTuple):
    """An answer as the client read it: status, headers (any case), body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


@functools.lru_cache(maxsize=None)
def _document() -> dict[str, Any]:
    return dict(yaml.safe_load(DOCUMENT.read_text(encoding="utf-8")))


@functools.lru_cache(maxsize=16)
def protocol_spec(server_url: str) -> Any:
    """The document as an openapi-core ``OpenAPI``, its server being ``server_url`` (a base_url)."""
    from openapi_core import OpenAPI

    return OpenAPI.from_dict({**_document(), "servers": [{"url": server_url.rstrip("/")}]})


def _as_request(server_url: str, recorded: Recorded) -> _Request:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    parts = urlsplit(server_url)
    return _Request(
        host_url=f"{parts.scheme}://{parts.netloc}",
        path=recorded.path.split("?", 1)[0],
        method=recorded.method.lower(),
        content_type=recorded.headers.get("content-type", ""),
        body=recorded.raw or None,
        parameters=RequestParameters(
            query=ImmutableMultiDict(), header=Headers(recorded.headers), cookie=ImmutableMultiDict()
        ),
    )


def _describe(error: BaseException) -> str:
    """An openapi-core error, told by the JSON Schema errors under it where there are some (its own text
    names only the part, or dumps the whole value)."""
    cause: BaseException | None = error
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            where = [
                f"{'/'.join(str(part) for part in item.absolute_path) or '(value)'}: {item.message[:300]}"
                if hasattr(item, "absolute_path")
                else str(item)
                for item in schema_errors
            ]
            return f"{type(error).__name__}: {'; '.join(where)}"
        cause = cause.__cause__
    return f"{type(error).__name__}: {error}"


def request_problems(server_url: str, recorded: Recorded) -> list[str]:
    """How one request a FaultServer recorded breaks the document: path, method, security, headers,
    parameters, body. Empty when it validates. ``server_url`` is the base_url the runner was given."""
    spec = protocol_spec(server_url)
    return [_describe(error) for error in spec.iter_request_errors(_as_request(server_url, recorded))]


def answer_problems(server_url: str, recorded: Recorded, answer: Answer) -> list[str]:
    """How the answer to ``recorded`` breaks the document: a status it does not list, a header or a
    body against its schema. Empty when it validates."""
    from werkzeug.datastructures import Headers

    headers = Headers(list(answer.headers.items()))
    response = _Response(answer.status, headers.get("Content-Type", ""), headers, answer.body or None)
    spec = protocol_spec(server_url)
    return [_describe(e) for e in spec.iter_response_errors(_as_request(server_url, recorded), response)]


def document_problems(server_url: str, requests: Iterable[Recorded]) -> list[tuple[str, str, list[str]]]:
    """``(method, path, problems)`` of every request that breaks the document; [] when all validate.

    Meant for a whole run: ``document_problems(server.url, server.requests())``.
    """
    found = []
    for recorded in requests:
        problems = request_problems(server_url, recorded)
        if problems:
            found.append((recorded.method, recorded.path, problems))
    return found


def send(
    server: FaultServer,
    method: str,
    path: str,
    body: Any = None,
    *,
    token: str | None = TOKEN,
    idempotency_key: str | None = None,
) -> tuple[Recorded, Answer]:
    """Send one request to ``server`` (path relative to its base_url) and return how it was recorded
    and the answer the client read."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["X-User-Token"] = token
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    data = None if body is None else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, server.base_path + path, body=data, headers=headers)
        response = conn.getresponse()
        answer = Answer(response.status, dict(response.getheaders()), response.read())
    finally:
        conn.close()
    return server.requests()[-1], answer


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return _document()


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """openapi-spec-validator finds nothing wrong with the document."""
    from openapi_spec_validator import validate

    validate(document)


# -- version 1: the runner's real requests -----------------------------------------------------------


@action(retry=2)
def flaky(initial_context):
    if initial_context.storage == "fail":
        raise ValueError("failed on purpose")
    return {"rows": [1, 2.5, "three", None], "nested": {"ok": True}}


@pytest.mark.parametrize("managed", [False, True], ids=["generated id", "managed id"])
def test_every_request_a_run_sends_validates_against_the_document(managed: bool) -> None:
    """A run with a completed, a retried-then-failed and a grouped task, under a generated workflow
    id (POST /workflows sent) or a backend's own id holding characters to encode: each request's
    path, method, headers and JSON body match an operation of the document."""
    with FaultServer("nodelay") as server:
        server_url = server.url
        config = Config(server=ServerAPI(server_url, TOKEN))
        flow = DotFlow(config=config, workflow_id="backend's id/1 ?#" if managed else None, name="protocol")
        flow.task.add(flaky, initial_context="ok").add(flaky, initial_context="fail")
        flow.task.add(flaky, initial_context="ok", group_name="other")
        flow.start(keep_going=True)
        flow.flush(10)
        recorded = server.requests()
    assert recorded and all(r.status in (200, 201) for r in recorded)
    assert ("POST", "workflows") in {(r.method, r.route) for r in recorded} or managed
    assert document_problems(server_url, recorded) == []


# -- version 2: example requests, and the fault server's answers ----------------------------------------

TASK_0 = "0-ab12cd34"
TASK_1 = "1-0a1b2c3d"


def _task(tid: str, status: str, /, **extra: Any) -> dict[str, Any]:
    """A task body as task.result() shapes it (its POST form: no ``task_id``, which ``extra`` may add)."""
    return {
        "id": tid,
        "workflow_id": "wf-2",
        "status": status,
        "duration": None,
        "initial_context": None,
        "current_context": None,
        "previous_context": None,
        "group_name": "default",
        "retry_count": 0,
        "created_at": "2026-12-07T01:02:03.456000",
        "started_at": None,
        "finished_at": None,
        "errors": [],
        "error": None,
        **extra,
    }


def _heartbeat(seq: int = 7) -> dict[str, Any]:
    return {
        "seq": seq,
        "sent_at": "2026-12-07T01:02:03.456Z",
        "interval": 15,
        "attempt": 1,
        "run_attempt": 2,
        "running": [TASK_0],
        "progress": {TASK_0: {"done": 3, "total": 10, "message": "rows"}, TASK_1: {"done": 0.5}},
    }


def _logs() -> dict[str, Any]:
    return {
        "records": [
            {
                "seq": 41,
                "ts": "2026-12-07T01:02:03.456Z",
                "task": TASK_0,
                "stream": "stdout",
                "level": None,
                "line": "read 500 rows",
            },
            {
                "seq": 42,
                "ts": "2026-12-07T01:02:03.5Z",
                "task": TASK_0,
                "stream": "logging",
                "level": "WARNING",
                "line": "x" * 8192,
                "truncated": True,
            },
            {
                "seq": 43,
                "ts": "2026-12-07T01:02:04Z",
                "task": TASK_0,
                "stream": "dotflow",
                "level": "INFO",
                "line": "Completed",
            },
        ],
        "dropped": 2,
    }


# (method, path under the base_url, body, Idempotency-Key)
V2_EXAMPLES: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("POST", "/workflows", {"id": "wf-2", "name": "nightly"}, "0" * 32),
    ("POST", "/workflows/wf-2/tasks", _task(TASK_0, "Not started", run_attempt=2), "a" * 32),
    ("POST", "/workflows/wf-2/heartbeat", _heartbeat(), None),
    ("POST", "/workflows/wf-2/logs", _logs(), None),
    ("PATCH", f"/workflows/wf-2/tasks/{TASK_0}", _task(TASK_0, "Cancelled", task_id=TASK_0, run_attempt=2), None),
    (
        "PATCH",
        f"/workflows/wf-2/tasks/{TASK_1}",
        _task(
            TASK_1,
            "Skipped",
            task_id=TASK_1,
            run_attempt=2,
            metadata={"report": "https://example.com/r/1", "rows": 500, "summary": "**ok**", "nested": {"a": [1]}},
        ),
        None,
    ),
    ("PATCH", "/workflows/wf-2", {"status": "Cancelled"}, None),
]


def test_version_2_examples_and_their_answers_validate() -> None:
    """Example version 2 requests (a task POST and PATCHes with run_attempt, metadata and the statuses
    Cancelled and Skipped, a heartbeat, a logs batch, a workflow Cancelled) match the document, and so
    does what a version 2 fault server answered them: Dotflow-Protocol and Dotflow-Token on every
    answer, a heartbeat answer with an interval and a cancel."""
    options: dict[str, Any] = {
        "protocol": 2,
        "heartbeat_interval": 5,
        "cancel_after": 1,
        "cancel_tasks": [TASK_1],
        "cancel_reason": "requested by alice",
        "refresh_token": "tok-refreshed",
    }
    problems = []
    with FaultServer("nodelay", **options) as server:
        for method, path, body, key in V2_EXAMPLES:
            recorded, answer = send(server, method, path, body, idempotency_key=key)
            assert answer.status in (200, 201) and answer.headers["Dotflow-Protocol"] == "2"
            if recorded.route == "heartbeat":
                assert json.loads(answer.body)["cancel"]["tasks"] == [TASK_1]  # the answer checked has a cancel
            for found in request_problems(server.url, recorded) + answer_problems(server.url, recorded, answer):
                problems.append((method, path, found))
        assert [r.route for r in server.requests()] == [
            "workflows",
            "tasks",
            "heartbeat",
            "logs",
            "task",
            "task",
            "workflow",
        ]
    assert problems == []


@pytest.mark.parametrize(
    "options",
    [
        {"lease_lost_after": 1},
        {"lease_lost_after": 1, "lease_status": 410},
        {"heartbeat_status": 404},
        {"heartbeat_status": 405},
        {"heartbeat_status": 503},
        {"cancel_after": 1, "cancel_grace": 0, "heartbeat_interval": 300},
        {},
    ],
    ids=["lease lost 409", "lease lost 410", "switched off 404", "switched off 405", "5xx", "cancel", "plain"],
)
def test_the_fault_servers_heartbeat_answers_are_in_the_document(options: dict[str, Any]) -> None:
    """Every heartbeat answer the fault server gives (lease lost, switched off, a 5xx, a cancel, a plain
    200) is one the document lists, with a valid body and headers."""
    with FaultServer("nodelay", protocol=2, **options) as server:
        recorded, answer = send(server, "POST", "/workflows/wf-2/heartbeat", _heartbeat())
        assert answer_problems(server.url, recorded, answer) == []
        assert request_problems(server.url, recorded) == []


def test_a_version_1_backends_404_to_a_heartbeat_is_in_the_document() -> None:
    """A version 1 backend's 404 to a heartbeat (the runner forced to version 2) is the documented 'switched off'."""
    with FaultServer("nodelay") as server:
        recorded, answer = send(server, "POST", "/workflows/wf-2/heartbeat", _heartbeat())
        assert answer.status == 404 and "Dotflow-Protocol" not in answer.headers
        assert answer_problems(server.url, recorded, answer) == []


def _without(body: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != key}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", f"/workflows/wf-2/tasks/{TASK_0}", _task(TASK_0, "Crashed")),
        ("PATCH", "/workflows/wf-2", {"status": "Skipped"}),
        ("PATCH", "/workflows/wf-2", {"status": "Crashed"}),
        ("PATCH", f"/workflows/wf-2/tasks/{TASK_0}", _task(TASK_0, "Completed", run_attempt=0)),
        ("PATCH", f"/workflows/wf-2/tasks/{TASK_0}", _task(TASK_0, "Completed", metadata=["not", "an", "object"])),
        ("POST", "/workflows/wf-2/heartbeat", _without(_heartbeat(), "seq")),
        ("POST", "/workflows/wf-2/heartbeat", {**_heartbeat(), "running": TASK_0}),
        ("POST", "/workflows/wf-2/heartbeat", {**_heartbeat(), "progress": {TASK_0: {"total": 3}}}),
        ("POST", "/workflows/wf-2/heartbeat", {**_heartbeat(), "sent_at": "yesterday"}),
        ("POST", "/workflows/wf-2/logs", {**_logs(), "records": [{**_logs()["records"][0], "stream": "stdin"}]}),
        ("POST", "/workflows/wf-2/logs", {**_logs(), "records": [_logs()["records"][0]] * 1001}),
        ("POST", "/workflows/wf-2/logs", _without(_logs(), "dropped")),
    ],
    ids=[
        "task Crashed",
        "workflow Skipped",
        "workflow Crashed",
        "run_attempt 0",
        "metadata a list",
        "heartbeat without seq",
        "running not a list",
        "progress without done",
        "sent_at not a time",
        "stream stdin",
        "1001 records",
        "logs without dropped",
    ],
)
def test_the_document_rejects_what_version_2_forbids(method: str, path: str, body: dict[str, Any]) -> None:
    """The document is not a blank cheque: statuses the runner never sends, a heartbeat or a log batch
    missing a field or holding a wrong value, each has a problem."""
    with FaultServer("nodelay", protocol=2) as server:
        recorded, _ = send(server, method, path, body)
        assert request_problems(server.url, recorded) != []


@pytest.mark.parametrize(
    ("status", "headers", "body"),
    [
        (200, {"Dotflow-Protocol": "2"}, {"interval": 0}),
        (200, {"Dotflow-Protocol": "2"}, {"interval": 301}),
        (200, {"Dotflow-Protocol": "2"}, {"cancel": {"tasks": None, "grace": 10}}),
        (200, {"Dotflow-Protocol": "2"}, {"cancel": {"tasks": "all", "reason": "r", "grace": 10}}),
        (200, {"Dotflow-Protocol": "2"}, {"cancel": {"tasks": None, "reason": "r", "grace": -1}}),
        (200, {"Dotflow-Protocol": "two"}, {}),
        (200, {"Dotflow-Token": ""}, {}),
    ],
    ids=[
        "interval 0",
        "interval 301",
        "cancel without reason",
        "tasks a string",
        "negative grace",
        "protocol not a number",
        "empty token",
    ],
)
def test_the_document_rejects_bad_heartbeat_answers(status: int, headers: dict[str, str], body: Any) -> None:
    """A heartbeat answer out of the protocol's bounds (as a broken backend might send) has a problem."""
    with FaultServer("nodelay", protocol=2) as server:
        recorded, _ = send(server, "POST", "/workflows/wf-2/heartbeat", _heartbeat())
        answer = Answer(status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode())
        assert answer_problems(server.url, recorded, answer) != []
