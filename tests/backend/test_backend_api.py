"""The backend's HTTP API over real HTTP to the real process: the four version 1 calls, heartbeats
and logs, the operator's calls, token scoping, the body bound and the answers' headers."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import quote

import pytest
from backend_support import OPERATOR, BackendProcess


def _task(task_id: str, workflow_id: str, status: str, **extra: Any) -> dict[str, Any]:
    body = {"id": task_id, "task_id": task_id, "workflow_id": workflow_id, "status": status, "duration": None,
            "initial_context": None, "current_context": None, "previous_context": None, "group_name": "default",
            "retry_count": 0, "created_at": "2026-12-07T01:02:03.456000", "started_at": None,
            "finished_at": None, "errors": [], "error": None}
    body.update(extra)
    return body


def _beat(seq: int = 1, interval: float = 15, **extra: Any) -> dict[str, Any]:
    return {"seq": seq, "sent_at": "2026-12-07T01:02:03.456Z", "interval": interval, "attempt": 1,
            "run_attempt": 1, "running": [], "progress": {}, **extra}


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(part, safe="") for part in parts)


# -- version 1 ----------------------------------------------------------------------------------


def test_the_four_version_1_calls_of_a_runner_made_workflow(backend: BackendProcess) -> None:
    """POST /workflows with an id (then 409 for the same id), a task POST (409 again), PATCHes of
    the task and the workflow: all stored, with an id that needs percent-encoding kept whole."""
    wid = "runner's id/1 ?#"
    assert backend.call("POST", "/workflows", {"id": wid, "name": "made by a runner"}).status == 201
    assert backend.call("POST", "/workflows", {"id": wid}).status == 409
    tasks = _path("workflows", wid, "tasks")
    assert backend.call("POST", tasks, _task("0-ab12cd34", wid, "Not started")).status == 201
    assert backend.call("POST", tasks, _task("0-ab12cd34", wid, "Not started")).status == 409
    assert backend.call("PATCH", _path("workflows", wid), {"status": "In progress"}).status == 200
    task = _path("workflows", wid, "tasks", "0-ab12cd34")
    assert backend.call("PATCH", task, _task("0-ab12cd34", wid, "In progress")).status == 200
    error = {"attempt": 1, "exception": "ValueError", "traceback": "...", "message": "bad row"}
    failed = _task("0-ab12cd34", wid, "Failed", errors=[error], error=error, current_context={"rows": 2})
    assert backend.call("PATCH", task, failed).status == 200
    assert backend.call("PATCH", _path("workflows", wid), {"status": "Failed"}).status == 200
    stored = backend.run(wid)
    assert stored["name"] == "made by a runner" and stored["status"] == "Failed" and stored["protocol"] == 1
    (only,) = stored["tasks"]
    assert only["status"] == "Failed" and only["error"] == error and only["reason"] == "bad row"
    assert [step["status"] for step in only["history"]] == ["Not started", "In progress", "Failed"]
    whole = backend.call("GET", task)
    assert whole.status == 200 and whole.body["report"]["current_context"] == {"rows": 2}


def test_reports_of_an_unknown_workflow_under_the_operator_token_record_it(backend: BackendProcess) -> None:
    """A runner with a fixed workflow.id sends no POST /workflows: its first task POST records the run."""
    wid = "fixed-id-never-posted"
    reply = backend.call("POST", _path("workflows", wid, "tasks"), _task("0-00000000", wid, "Not started"))
    assert reply.status == 201
    assert backend.run(wid)["tasks"][0]["status"] == "Not started"


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PATCH", "/workflows/bad-status", {"status": "Crashed"}, 400),
        ("PATCH", "/workflows/bad-status", {"status": "Skipped"}, 400),
        ("POST", "/workflows/bad-status/tasks", {"status": "Not started"}, 400),
        ("PATCH", "/workflows/bad-status/tasks/0-1", ["not", "an", "object"], 400),
        ("POST", "/workflows/bad-status/heartbeat", "a string", 400),
        ("POST", "/workflows/bad-status/logs", {"records": [{"line": "no seq"}], "dropped": 0}, 400),
        ("DELETE", "/workflows/bad-status", None, 405),
        ("GET", "/elsewhere", None, 404),
        ("GET", "/workflows/a/b/c/d/e", None, 404),
    ],
    ids=["workflow Crashed", "workflow Skipped", "task without id", "task a list", "beat a string",
         "record without seq", "DELETE", "unknown route", "too deep"],
)
def test_what_the_protocol_forbids_is_refused(backend: BackendProcess, method: str, path: str, body: Any,
                                              status: int) -> None:
    """A status no runner sends, a body of the wrong shape, a method or a route that does not exist."""
    reply = backend.call(method, path, body)
    assert reply.status == status, reply
    assert reply.headers["dotflow-protocol"] == "2" and "error" in reply.body


def test_a_body_that_is_not_strict_json_is_refused(backend: BackendProcess) -> None:
    """NaN is not JSON, nor is a body that is not UTF-8."""
    assert backend.call("PATCH", "/workflows/x", raw=b'{"status": NaN}').status == 400
    assert backend.call("PATCH", "/workflows/x", raw=b'{"status": "\xff"}').status == 400


# -- version 2 ----------------------------------------------------------------------------------


def test_every_answer_says_version_2(backend: BackendProcess) -> None:
    """Dotflow-Protocol: 2 on a 201, a 401, a 404 and a 405 alike."""
    replies = [backend.call("POST", "/workflows", {"name": "x"}), backend.call("GET", "/workflows", token=None),
               backend.call("GET", "/nothing"), backend.call("PUT", "/workflows")]
    assert [reply.status for reply in replies] == [201, 401, 404, 405]
    assert all(reply.headers.get("dotflow-protocol") == "2" for reply in replies)
    assert replies[3].headers["allow"] == "GET, POST"


def test_a_heartbeat_renews_the_lease_and_stores_the_progress(backend: BackendProcess) -> None:
    """The answer echoes the interval (bounded to 1..300 s), the run turns version 2 with a lease of
    3 intervals, and the progress and running tasks are stored."""
    run = backend.new_run()
    path = _path("workflows", run["id"], "heartbeat")
    progress = {"0-ab12cd34": {"done": 3, "total": 10, "message": "rows"}}
    reply = backend.call("POST", path, _beat(interval=0.2, running=["0-ab12cd34"], progress=progress),
                         token=run["token"])
    assert reply.status == 200 and reply.body == {"interval": 1.0}
    assert backend.call("POST", path, _beat(2, interval=20), token=run["token"]).body == {"interval": 20}
    assert backend.call("POST", path, _beat(3, interval=9999), token=run["token"]).body == {"interval": 300}
    stored = backend.run(run["id"])
    assert stored["protocol"] == 2 and stored["heartbeat"]["seq"] == 3 and stored["heartbeat"]["interval"] == 300


def test_log_records_are_kept_once_each_and_read_by_task_and_seq(backend: BackendProcess) -> None:
    """A batch sent twice keeps each seq once; reads filter by task and after a seq, in seq order;
    dropped counts add up; a line over 16 KiB is cut and marked."""
    run = backend.new_run()
    path = _path("workflows", run["id"], "logs")

    def record(seq: int, task: str | None, line: str) -> dict[str, Any]:
        return {"seq": seq, "ts": "2026-12-07T01:02:03.456Z", "task": task, "stream": "stdout", "level": None,
                "line": line}

    batch = {"records": [record(2, "0-a", "two"), record(1, "0-a", "one"), record(3, "1-b", "x" * 20000)],
             "dropped": 4}
    assert backend.call("POST", path, batch, token=run["token"]).body == {"added": 3}
    assert backend.call("POST", path, batch, token=run["token"]).body == {"added": 0}
    everything = backend.call("GET", path).body
    assert [r["seq"] for r in everything["records"]] == [1, 2, 3] and everything["dropped"] == 8
    assert everything["records"][2]["truncated"] is True and len(everything["records"][2]["line"]) == 16 * 1024
    assert [r["line"] for r in backend.call("GET", path + "?task=0-a&after=1").body["records"]] == ["two"]
    assert backend.call("GET", path + "?after=x").status == 400


def test_a_cancel_rides_every_heartbeat_answer_until_the_run_ends(backend: BackendProcess) -> None:
    """The operator's cancel is in the next heartbeat's answer (and the ones after), as the protocol
    shapes it; a run that ended cannot be cancelled (409)."""
    run = backend.new_run()
    beat = _path("workflows", run["id"], "heartbeat")
    backend.call("POST", beat, _beat(), token=run["token"])
    cancel = {"reason": "requested by alice", "grace": 2, "tasks": ["1-0a1b2c3d"]}
    assert backend.call("POST", _path("workflows", run["id"], "cancel"), cancel).status == 202
    for seq in (2, 3):
        reply = backend.call("POST", beat, _beat(seq), token=run["token"])
        assert reply.body == {"interval": 15, "cancel": {"tasks": ["1-0a1b2c3d"], "reason": "requested by alice",
                                                         "grace": 2}}
    assert backend.call("PATCH", _path("workflows", run["id"]), {"status": "Cancelled"}, token=run["token"]).status \
        == 200
    assert backend.call("POST", _path("workflows", run["id"], "cancel"), {}).status == 409


def test_a_run_cancelled_before_it_began_is_cancelled_at_once(backend: BackendProcess) -> None:
    """A managed run with no report yet is Cancelled by the cancel itself; its runner, starting
    late, is answered 410 (a heartbeat's 410 stops it: the lease is lost)."""
    run = backend.new_run()
    reply = backend.call("POST", _path("workflows", run["id"], "cancel"), None)
    assert reply.status == 202 and reply.body["cancel"]["reason"] == "cancelled by the operator"
    assert backend.run(run["id"])["status"] == "Cancelled"
    assert backend.call("POST", _path("workflows", run["id"], "heartbeat"), _beat(), token=run["token"]).status == 410


@pytest.mark.parametrize("body", [{"reason": ""}, {"grace": -1}, {"grace": True}, {"tasks": "all"}, {"tasks": []},
                                  {"reason": "r" * 1001}, ["a list"]])
def test_a_cancel_out_of_bounds_is_refused(backend: BackendProcess, body: Any) -> None:
    run = backend.new_run()
    assert backend.call("POST", _path("workflows", run["id"], "cancel"), body).status == 400


def test_cancelling_an_unknown_run_is_404(backend: BackendProcess) -> None:
    assert backend.call("POST", "/workflows/no-such-run/cancel", {}).status == 404


# -- the operator's reads -------------------------------------------------------------------------


def test_runs_are_listed_newest_first_and_filtered_by_status(backend: BackendProcess) -> None:
    first, second = backend.new_run("first"), backend.new_run("second")
    backend.call("PATCH", _path("workflows", second["id"]), {"status": "In progress"}, token=second["token"])
    listed = backend.call("GET", "/workflows?limit=1000").body["workflows"]
    ids = [run["id"] for run in listed]
    assert ids.index(second["id"]) < ids.index(first["id"])
    running = backend.call("GET", "/workflows?status=In%20progress&limit=1000").body["workflows"]
    assert second["id"] in [run["id"] for run in running] and all(run["status"] == "In progress" for run in running)
    assert backend.call("GET", "/workflows?status=Bogus").status == 400
    assert backend.call("GET", "/workflows?limit=0").status == 400
    assert len(backend.call("GET", "/workflows?limit=1").body["workflows"]) == 1


# -- tokens ---------------------------------------------------------------------------------------


def test_a_run_token_reaches_its_own_run_and_nothing_else(backend: BackendProcess) -> None:
    """A run token reports on and reads its own run; it cannot read or change another run, list the
    others, create a run, or cancel one (403); no token or an unknown one is 401."""
    mine, other = backend.new_run("mine"), backend.new_run("other")
    token = mine["token"]
    assert backend.call("POST", _path("workflows", mine["id"], "tasks"), _task("0-1", mine["id"], "Not started"),
                        token=token).status == 201
    assert backend.call("POST", _path("workflows", mine["id"], "heartbeat"), _beat(), token=token).status == 200
    assert backend.call("GET", _path("workflows", mine["id"]), token=token).status == 200
    assert [run["id"] for run in backend.call("GET", "/workflows", token=token).body["workflows"]] == [mine["id"]]
    refused = [
        backend.call("GET", _path("workflows", other["id"]), token=token),
        backend.call("GET", _path("workflows", other["id"], "logs"), token=token),
        backend.call("PATCH", _path("workflows", other["id"]), {"status": "Failed"}, token=token),
        backend.call("POST", _path("workflows", other["id"], "tasks"), _task("0-1", other["id"], "Failed"),
                     token=token),
        backend.call("PATCH", _path("workflows", other["id"], "tasks", "0-1"), _task("0-1", other["id"], "Failed"),
                     token=token),
        backend.call("POST", _path("workflows", other["id"], "heartbeat"), _beat(), token=token),
        backend.call("POST", _path("workflows", other["id"], "logs"), {"records": [], "dropped": 0}, token=token),
        backend.call("POST", _path("workflows", other["id"], "cancel"), {}, token=token),
        backend.call("POST", _path("workflows", mine["id"], "cancel"), {}, token=token),
        backend.call("POST", "/workflows", {"name": "new"}, token=token),
        backend.call("POST", "/workflows", {"id": "a-new-one"}, token=token),
    ]
    assert [reply.status for reply in refused] == [403] * len(refused)
    assert backend.call("POST", "/workflows", {"id": mine["id"]}, token=token).status == 409  # its own: known
    assert backend.run(other["id"])["status"] == "Not started" and backend.run(other["id"])["tasks"] == []
    for bad in (None, "", "dfr_not-a-token", OPERATOR + "x", token[:-1], "x" * 5000):
        assert backend.call("GET", "/workflows", token=bad).status == 401


def test_the_tokens_never_appear_in_the_backends_output(backend: BackendProcess) -> None:
    """Neither the operator token nor a run token is printed or logged by the backend."""
    run = backend.new_run()
    backend.call("POST", _path("workflows", run["id"], "heartbeat"), _beat(), token=run["token"])
    backend.call("GET", "/workflows", token="dfr_wrong")
    said = backend.output() + backend.stderr()
    assert OPERATOR not in said and run["token"] not in said


# -- bounds -------------------------------------------------------------------------------------


def _chunked(backend: BackendProcess, path: str, size: int) -> int:
    """POST ``size`` bytes in chunks, with no Content-Length: the status answered."""
    conn = http.client.HTTPConnection("127.0.0.1", int(backend.url.rsplit(":", 1)[1]), timeout=30)
    try:
        def chunks():
            sent = 0
            while sent < size:
                yield b" " * 65536
                sent += 65536
        try:
            conn.request("POST", "/api/v1" + path, body=chunks(), encode_chunked=True,
                         headers={"X-User-Token": OPERATOR, "Content-Type": "application/json"})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the backend answered and stopped reading: its answer waits in the socket
        return conn.getresponse().status
    finally:
        conn.close()


def test_bodies_are_bounded(backend: BackendProcess) -> None:
    """An operator's call over 64 KiB, a runner's over 8 MiB, declared or chunked: 413."""
    assert backend.call("POST", "/workflows", {"name": "x" * 70_000}).status == 413
    wid = "bounded-run"
    backend.call("POST", "/workflows", {"id": wid})
    big = json.dumps(_task("0-1", wid, "Completed", current_context="x" * (9 * 1024 * 1024))).encode()
    assert backend.call("POST", _path("workflows", wid, "tasks"), raw=big).status == 413
    assert _chunked(backend, _path("workflows", wid, "logs"), 9 * 1024 * 1024) == 413
    fits = json.dumps(_task("0-1", wid, "Completed", current_context="x" * 4_900_000)).encode()
    assert backend.call("POST", _path("workflows", wid, "tasks"), raw=fits).status == 201


def test_a_created_run_hands_out_what_a_container_needs(backend: BackendProcess) -> None:
    """POST /workflows without an id: a new id, a run token, and the three variables, its token
    distinct from every other run's."""
    first, second = backend.new_run(), backend.new_run()
    assert set(first) == {"id", "token", "env"} and first["token"] != second["token"]
    assert first["env"]["SERVER_BASE_URL"] == backend.api and first["env"]["WORKFLOW_ID"] == first["id"]
    assert backend.run(first["id"])["managed"] is True



def test_an_error_quotes_a_sent_value_briefly(backend: BackendProcess) -> None:
    """A huge bad status is quoted in at most 100 characters."""
    reply = backend.call("PATCH", "/workflows/brief", {"status": "x" * 100_000})
    assert reply.status == 400 and len(reply.body["error"]) < 300
