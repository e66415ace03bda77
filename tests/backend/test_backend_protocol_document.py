"""The runner's real requests to the reference backend, and the backend's answers to them, hold to
the protocol's OpenAPI document (docs/protocol/openapi.yaml): a managed run under its run token
(heartbeats, logs, a cancel in a heartbeat's answer, Cancelled statuses) and a runner-made
workflow under the operator token (POST /workflows, a failure, Skipped tasks)."""

from __future__ import annotations

import json
from pathlib import Path

from backend_support import (
    OPERATOR,
    Exchange,
    InProcessBackend,
    Recorder,
    clean_env,
    run_runner,
    runner_env,
    start_runner,
    task_statuses,
    wait_until,
    write_steps,
)
from fault_server import Recorded
from test_protocol_document import Answer, answer_problems, request_problems

TEST_CLIENT = {"X-Test-Client": "1"}  # marks the tests' own calls, which the document does not cover


def _recorded(exchange: Exchange) -> Recorded:
    try:
        body = json.loads(exchange.body) if exchange.body else None
    except ValueError:
        body = None
    return Recorded(exchange.method, exchange.raw_path, exchange.headers, body, exchange.body, 0.0,
                    exchange.status, "", None, None)


def _shape(raw_path: str) -> str:
    """The route of a path under /api/v1, its ids replaced by "*"."""
    parts = raw_path.split("?", 1)[0].split("/")[3:]
    return "/" + "/".join("*" if i in (1, 3) else part for i, part in enumerate(parts))


def test_the_runners_requests_and_the_backends_answers_match_the_document(tmp_path: Path) -> None:
    """Every request of two real dotflow start runs (six kinds of call in all) validates against the
    document, and so does every answer the backend gave them, Dotflow-Protocol: 2 on each."""
    project = write_steps(tmp_path / "project")
    recorder: list[Recorder] = []

    def wrap(app: object) -> Recorder:
        recorder.append(Recorder(app))
        return recorder[0]

    with InProcessBackend(tmp_path, wrap) as backend:
        made = backend.call("POST", "/workflows", {"name": "document"}, headers=TEST_CLIENT).body
        runner = start_runner(project, runner_env(tmp_path, made), "waiting")
        try:
            wait_until(lambda: task_statuses(backend.call("GET", f"/workflows/{made['id']}",
                                                          headers=TEST_CLIENT).body)[1:2] == ["In progress"]
                       and backend.store.run_detail(made["id"], backend.store.authorize(OPERATOR))["heartbeat"])
            backend.call("POST", f"/workflows/{made['id']}/cancel", {"reason": "document", "grace": 1},
                         headers=TEST_CLIENT)
            runner.communicate(timeout=30)
        finally:
            runner.kill()
        assert runner.returncode == 3
        env = clean_env(tmp_path, SERVER_BASE_URL=backend.api, SERVER_USER_TOKEN=OPERATOR,
                        DOTFLOW_SERVER_HEARTBEAT_INTERVAL="1")
        assert run_runner(project, env, "failing").returncode == 1
    exchanges = [e for e in recorder[0].exchanges if "x-test-client" not in e.headers]
    assert {(e.method, _shape(e.raw_path)) for e in exchanges} == {
        ("POST", "/workflows"), ("PATCH", "/workflows/*"), ("POST", "/workflows/*/tasks"),
        ("PATCH", "/workflows/*/tasks/*"), ("POST", "/workflows/*/heartbeat"), ("POST", "/workflows/*/logs"),
    }
    cancels = [e for e in exchanges if e.raw_path.endswith("heartbeat") and b"cancel" in e.answer]
    assert cancels, "no heartbeat answer carried the cancel"
    problems = []
    for exchange in exchanges:
        recorded = _recorded(exchange)
        answer = Answer(exchange.status, exchange.answer_headers, exchange.answer)
        for found in request_problems(backend.api, recorded) + answer_problems(backend.api, recorded, answer):
            problems.append((exchange.method, exchange.raw_path, found))
    assert problems == []
    assert all(e.answer_headers.get("dotflow-protocol") == "2" for e in exchanges)
