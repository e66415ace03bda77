"""The runner protocol's OpenAPI document (docs/protocol/openapi.yaml) is true to the runner: the
document is valid OpenAPI, and every request a real run sends to a real server on 127.0.0.1 (a
generated workflow and a managed one, a retried task, a failed one, an id that needs encoding)
validates against it, headers, parameters and bodies included."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from fault_server import FaultServer, Recorded

from dotflow import Config, DotFlow, action
from dotflow.providers import ServerAPI

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "protocol" / "openapi.yaml"
TOKEN = "tok-protocol-document-4c1d"


@dataclass
class _Request:
    """A recorded request in the shape openapi-core validates (its Request protocol)."""

    host_url: str
    path: str
    method: str
    content_type: str
    body: bytes | None
    parameters: Any = field(default=None)


def _as_request(base: str, recorded: Recorded) -> _Request:
    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    path = recorded.path.split("?", 1)[0]
    return _Request(
        host_url=base.split("/api/", 1)[0],
        path=path,
        method=recorded.method.lower(),
        content_type=recorded.headers.get("content-type", ""),
        body=recorded.raw or None,
        parameters=RequestParameters(query=ImmutableMultiDict(), header=Headers(recorded.headers),
                                     cookie=ImmutableMultiDict()),
    )


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    """openapi-spec-validator finds nothing wrong with the document."""
    from openapi_spec_validator import validate

    validate(document)


@action(retry=2)
def flaky(initial_context):
    if initial_context.storage == "fail":
        raise ValueError("failed on purpose")
    return {"rows": [1, 2.5, "three", None], "nested": {"ok": True}}


@pytest.mark.parametrize("managed", [False, True], ids=["generated id", "managed id"])
def test_every_request_a_run_sends_validates_against_the_document(document: dict[str, Any], managed: bool) -> None:
    """A run with a completed, a retried-then-failed and a grouped task, under a generated workflow
    id (POST /workflows sent) or a backend's own id holding characters to encode: each request's
    path, method, headers and JSON body match an operation of the document."""
    from openapi_core import OpenAPI

    with FaultServer("nodelay") as server:
        server_url = server.url
        config = Config(server=ServerAPI(server_url, TOKEN))
        flow = DotFlow(config=config, workflow_id="backend's id/1 ?#" if managed else None, name="protocol")
        flow.task.add(flaky, initial_context="ok").add(flaky, initial_context="fail")
        flow.task.add(flaky, initial_context="ok", group_name="other")
        flow.start(keep_going=True)
        flow.flush(10)
        recorded = [r for r in server.requests() if r.route != "other"]
    assert recorded and all(r.status in (200, 201) for r in recorded)
    assert ("POST", "workflows") in {(r.method, r.route) for r in recorded} or managed
    spec = OpenAPI.from_dict({**document, "servers": [{"url": server_url}]})
    problems = []
    for request in recorded:
        errors = [str(e) for e in spec.iter_request_errors(_as_request(server_url, request))]
        if errors:
            problems.append((request.method, request.path, errors))
    assert problems == [], problems
