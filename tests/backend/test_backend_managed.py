"""Real ``dotflow start`` processes as managed containers against the real backend process, each
with the env ``POST /api/v1/workflows`` handed out: statuses and logs stored, a failure's Skipped
tasks, a cancel end to end, a ``kill -9``ed runner declared Crashed, a version 1 runner, and a run
through a fault-injecting proxy (503s, answers lost after the backend stored the request)."""

from __future__ import annotations

import time
from pathlib import Path

from backend_support import (
    BackendProcess,
    call,
    kill_while_the_second_task_runs,
    run_runner,
    runner_env,
    start_runner,
    task_statuses,
    wait_until,
)
from fault_proxy import FaultProxy


def test_a_managed_run_is_stored_as_it_reported(backend: BackendProcess, project: Path, tmp_path: Path) -> None:
    """A passing run: the workflow Completed with its history, every task Completed, the metadata,
    the progress and the step's output kept; the token never printed by the runner."""
    run = backend.new_run("nightly")
    assert run["env"] == {"SERVER_BASE_URL": backend.api, "SERVER_USER_TOKEN": run["token"], "WORKFLOW_ID": run["id"]}
    result = run_runner(project, runner_env(tmp_path, run), "passing")
    assert result.returncode == 0, result.stderr
    assert run["token"] not in result.stdout + result.stderr
    stored = backend.run(run["id"])
    assert stored["name"] == "nightly" and stored["status"] == "Completed" and stored["protocol"] == 2
    assert [step["status"] for step in stored["history"]] == ["Not started", "In progress", "Completed"]
    assert task_statuses(stored) == ["Completed", "Completed"]
    extract = stored["tasks"][0]
    assert extract["metadata"] == {"rows": 3, "report": "https://example.com/r/1"}
    assert extract["history"][0]["status"] == "Not started" and extract["history"][-1]["status"] == "Completed"
    assert stored["started_at"] and stored["finished_at"] and stored["duration"] >= 0
    logs = backend.call("GET", f"/workflows/{run['id']}/logs").body["records"]
    assert {"task": extract["id"], "stream": "stdout", "line": "extracted 3 rows"} in [
        {key: record[key] for key in ("task", "stream", "line")} for record in logs
    ]
    assert [record["seq"] for record in logs] == sorted(record["seq"] for record in logs)


def test_a_failing_step_leaves_its_error_and_skipped_tasks(backend: BackendProcess, project: Path,
                                                           tmp_path: Path) -> None:
    """A step that raises: its task Failed with the error, the two after it Skipped with the reason,
    the workflow Failed; what the step wrote on stderr is among the logs, under its task."""
    run = backend.new_run("failing")
    result = run_runner(project, runner_env(tmp_path, run), "failing")
    assert result.returncode == 1, result.stderr
    stored = backend.run(run["id"])
    assert stored["status"] == "Failed"
    assert task_statuses(stored) == ["Completed", "Failed", "Skipped", "Skipped"]
    broken = stored["tasks"][1]
    assert broken["error"]["exception"] == "RuntimeError" and broken["error"]["message"] == "the source is down"
    assert broken["reason"] == "the source is down"
    assert all(task["reason"] == "not run: broken failed" for task in stored["tasks"][2:])
    logs = backend.call("GET", f"/workflows/{run['id']}/logs?task={broken['id']}").body["records"]
    assert {"stream": "stderr", "line": "about to fail"} in [{k: r[k] for k in ("stream", "line")} for r in logs]
    assert all(record["task"] == broken["id"] for record in logs)


def test_a_cancel_reaches_the_runner_on_its_next_heartbeat(backend: BackendProcess, project: Path,
                                                           tmp_path: Path) -> None:
    """POST .../cancel while a step runs: the next heartbeat's answer carries it, the step stops,
    every unfinished task and the workflow end Cancelled with the reason, and dotflow start exits 3."""
    run = backend.new_run("to cancel")
    runner = start_runner(project, runner_env(tmp_path, run), "waiting")
    try:
        wait_until(lambda: task_statuses(backend.run(run["id"]))[1:2] == ["In progress"])
        reply = backend.call("POST", f"/workflows/{run['id']}/cancel", {"reason": "requested by alice", "grace": 5})
        assert reply.status == 202 and reply.body["cancel"]["reason"] == "requested by alice"
        stdout, stderr = runner.communicate(timeout=30)
    finally:
        runner.kill()
    assert runner.returncode == 3, stderr
    stored = backend.run(run["id"])
    assert stored["status"] == "Cancelled"
    assert task_statuses(stored) == ["Completed", "Cancelled", "Cancelled"]
    assert stored["cancel"]["delivered_at"] is not None
    assert "requested by alice" in (stored["tasks"][2]["reason"] or "")


def test_a_killed_runner_is_crashed_within_three_intervals_and_a_second(backend: BackendProcess, project: Path,
                                                                        tmp_path: Path) -> None:
    """kill -9 of a runner beating every second: within 3 x 1 s + 1 s the workflow and its
    unfinished tasks are Crashed (the completed one stays Completed), and its later reports are
    answered 410."""
    run = backend.new_run("to kill")
    runner = start_runner(project, runner_env(tmp_path, run), "waiting")
    killed = kill_while_the_second_task_runs(backend, run["id"], runner)
    wait_until(lambda: backend.run(run["id"])["status"] == "Crashed", timeout=10, every=0.02)
    assert time.monotonic() - killed <= 3 * 1 + 1
    stored = backend.run(run["id"])
    assert task_statuses(stored) == ["Completed", "Crashed", "Crashed"]
    assert stored["tasks"][1]["reason"].startswith("no heartbeat since")
    token = run["token"]
    beat = {"seq": 99, "sent_at": "2026-12-07T01:02:03.456Z", "interval": 1, "attempt": 1, "run_attempt": 1,
            "running": [], "progress": {}}
    assert backend.call("POST", f"/workflows/{run['id']}/heartbeat", beat, token=token).status == 410
    late = {"id": stored["tasks"][1]["id"], "workflow_id": run["id"], "status": "Completed"}
    assert backend.call("PATCH", f"/workflows/{run['id']}/tasks/{late['id']}", late, token=token).status == 410
    assert backend.call("PATCH", f"/workflows/{run['id']}", {"status": "Completed"}, token=token).status == 410
    assert backend.run(run["id"])["status"] == "Crashed"


def test_a_version_1_runner_is_never_crashed(backend: BackendProcess, project: Path, tmp_path: Path) -> None:
    """A runner forced to protocol version 1 sends no heartbeat: it is stored as version 1 and its
    lease-less run is not declared Crashed; its skipped tasks come as Failed with the reason."""
    run = backend.new_run("version 1")
    result = run_runner(project, runner_env(tmp_path, run, DOTFLOW_SERVER_PROTOCOL="1"), "failing")
    assert result.returncode == 1, result.stderr
    stored = backend.run(run["id"])
    assert stored["protocol"] == 1 and stored["heartbeat"] is None  # no lease, so never Crashed
    assert task_statuses(stored) == ["Completed", "Failed", "Failed", "Failed"]
    assert backend.call("GET", f"/workflows/{run['id']}/logs").body["records"] == []
    crashed = call(backend.url, "GET", "/api/v1/workflows?status=Crashed&limit=1000").body["workflows"]
    assert run["id"] not in [workflow["id"] for workflow in crashed]


def test_a_run_through_a_flaky_network_is_stored_once(backend: BackendProcess, project: Path,
                                                      tmp_path: Path) -> None:
    """The runner's retries meet the backend's idempotency: behind a proxy that answers the first
    requests 503 and resets the connection after forwarding the first request of each path and
    method (stored, but the runner never hears so), the failing run ends with each task's statuses
    stored once, in order, and each log record once."""
    run = backend.new_run("flaky network")
    with FaultProxy(backend.url, unavailable=3, lose_first=True) as proxy:
        env = runner_env(tmp_path, run, SERVER_BASE_URL=proxy.url + "/api/v1")
        result = run_runner(project, env, "failing")
    assert result.returncode == 1, result.stderr
    lost = {(method, path.rsplit("/", 1)[-1]) for method, path in proxy.lost}
    assert proxy.refused == 3 and {("POST", "tasks"), ("POST", "logs"), ("PATCH", run["id"])} <= lost, lost
    stored = backend.run(run["id"])
    assert stored["status"] == "Failed"
    assert task_statuses(stored) == ["Completed", "Failed", "Skipped", "Skipped"]
    for task in stored["tasks"]:
        steps = [step["status"] for step in task["history"]]
        assert len(steps) == len(set(steps)) and steps[0] == "Not started", steps
    seqs = [record["seq"] for record in backend.call("GET", f"/workflows/{run['id']}/logs").body["records"]]
    assert seqs and len(seqs) == len(set(seqs))


def test_a_crashed_run_relaunched_resumes_under_its_id(backend: BackendProcess, project: Path, tmp_path: Path) -> None:
    """kill -9, Crashed; POST .../relaunch hands out attempt 2's env (a new token, RUN_ATTEMPT=2);
    the container started with it resumes from its file storage and the run ends Completed at
    attempt 2, while the killed attempt's token is answered 409 on a heartbeat (its lease went to
    the new attempt). Only the operator relaunches."""
    run = backend.new_run("relaunched")
    storage = ("--storage", "file", "--path", str(tmp_path / "results"))
    runner = start_runner(project, runner_env(tmp_path, run), "waiting", *storage)
    kill_while_the_second_task_runs(backend, run["id"], runner)
    wait_until(lambda: backend.run(run["id"])["status"] == "Crashed", timeout=10)
    assert backend.call("POST", f"/workflows/{run['id']}/relaunch", token=run["token"]).status == 403
    relaunched = backend.call("POST", f"/workflows/{run['id']}/relaunch").body
    assert relaunched["run_attempt"] == 2 and relaunched["env"]["RUN_ATTEMPT"] == "2"
    assert relaunched["env"]["WORKFLOW_ID"] == run["id"] and relaunched["token"] != run["token"]
    again = run_runner(project, runner_env(tmp_path, relaunched, SLOW_SECONDS="0.2"), "waiting", *storage)
    assert again.returncode == 0, again.stderr
    assert "resumed from the checkpoint" in again.stderr
    stored = backend.run(run["id"])
    assert stored["status"] == "Completed" and stored["run_attempt"] == 2
    assert task_statuses(stored) == ["Completed", "Completed", "Completed"]
    beat = {"seq": 9, "sent_at": "2026-12-07T01:02:03.456Z", "interval": 1, "attempt": 1, "run_attempt": 1,
            "running": [], "progress": {}}
    assert backend.call("POST", f"/workflows/{run['id']}/heartbeat", beat, token=run["token"]).status == 409
    assert backend.call("POST", f"/workflows/{run['id']}/relaunch").status == 409  # Completed: nothing to relaunch
