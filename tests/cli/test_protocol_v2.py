"""The runner protocol version 2 end to end, against the fault server speaking version 1 or 2: a
plain ``python pipeline.py`` configured by the managed-runner variables, and ``dotflow start``.

Discovery (a version 1 backend sees only the four calls), heartbeats (before the first step, at the
interval the backend sets, none after the final status, off after 404, never in a step's way),
cancellation from a heartbeat's answer (cooperative and stubborn steps, on threads and processes,
the exit code), the lease lost, every task terminal, run_attempt and metadata, the token refresh, a
``kill -9``, and the runner's real requests held to the OpenAPI document.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_support import clean_env, dotflow_exe
from fault_server import FaultServer
from test_protocol_document import document_problems

TOKEN = "tok-Pr0tocol2-5e1f0a"
NEW_TOKEN = "tok-Refreshed-93b7c2"
WAIT = 30.0  # an upper bound on any run here; a pass takes a few seconds

PIPELINE = '''
import json, os, sys, time
import dotflow
from dotflow import DotFlow, TaskCancelled, action

KIND = os.environ.get("STEP_KIND", "quick")

@action
def first():
    task = dotflow.current_task()
    task.metadata(rows=3, report="https://example.com/r/1")
    deadline = time.monotonic() + float(os.environ.get("STEP_SECONDS", "0.2"))
    step = 0
    while time.monotonic() < deadline:
        step += 1
        task.progress(step, None, "working")
        if KIND == "cooperative" and task.cancel_requested():
            raise TaskCancelled("asked to stop")
        time.sleep(0.02)
    if KIND == "fails":
        raise RuntimeError("first failed on purpose")
    return step

@action
def second():
    return 2

def build():
    flow = DotFlow()
    flow.task.add([first, second, second])
    return flow

if __name__ == "__main__":
    flow = build()
    manager = flow.start(executor=os.environ.get("EXECUTOR", "thread"))
    print(json.dumps({"status": manager.status, "tasks": [t.status for t in flow.result_task()]}), flush=True)
'''


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "pipeline.py").write_text(PIPELINE)
    return folder


def _env(tmp_path: Path, server: FaultServer, **extra: str) -> dict[str, str]:
    values = {"SERVER_BASE_URL": server.url, "SERVER_USER_TOKEN": TOKEN, "WORKFLOW_ID": "wf-v2",
              "DOTFLOW_SERVER_HEARTBEAT_INTERVAL": "1", "DOTFLOW_SERVER_FLUSH_TIMEOUT": "5"}
    values.update(extra)
    return clean_env(tmp_path, **values)


def _run(how: str, project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    if how == "start":
        command = [dotflow_exe(), "start", "--workflow", "pipeline:build"]
        if env.get("EXECUTOR"):
            command += ["--executor", env["EXECUTOR"]]
    else:
        command = [sys.executable, "pipeline.py"]
    return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=WAIT * 2)


def _no_secret(result: subprocess.CompletedProcess[str]) -> None:
    for secret in (TOKEN, NEW_TOKEN):
        assert secret not in result.stdout and secret not in result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def _routes(server: FaultServer) -> list[str]:
    return [record.route for record in server.requests()]


# -- discovery --------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["start", "python"])
def test_a_version_1_backend_sees_only_the_four_calls(how: str, project: Path, tmp_path: Path) -> None:
    """auto against a backend that never says version 2: no heartbeat, no new status, no new field; the
    tasks a failure kept from running are reported Failed with the reason (version 1 has no Skipped)."""
    with FaultServer("healthy") as server:
        result = _run(how, project, _env(tmp_path, server, STEP_KIND="fails"))
        assert result.returncode == (1 if how == "start" else 0), result.stderr
        _no_secret(result)
        assert set(_routes(server)) <= {"tasks", "task", "workflow"}
        assert "heartbeat" not in _routes(server)
        finals = server.final_statuses("wf-v2")
        assert sorted(finals.values()) == ["Failed", "Failed", "Failed"]
        skipped = [r for r in server.requests() if r.route == "task" and r.body["status"] == "Failed"
                   and r.body["error"]["exception"] == "Skipped"]
        assert len(skipped) == 2 and skipped[0].body["error"]["message"] == "not run: first failed"
        assert all("run_attempt" not in (r.body or {}) and "metadata" not in (r.body or {})
                   for r in server.requests())
        assert server.workflow_statuses("wf-v2") == ["In progress", "Failed"]
        assert document_problems(server.url, server.requests()) == []


def test_version_1_forced_ignores_a_version_2_backend(project: Path, tmp_path: Path) -> None:
    with FaultServer("healthy", protocol=2) as server:
        result = _run("python", project, _env(tmp_path, server, STEP_KIND="fails", DOTFLOW_SERVER_PROTOCOL="1"))
        assert result.returncode == 0, result.stderr
        assert "heartbeat" not in _routes(server)
        assert "Skipped" not in server.final_statuses("wf-v2").values()


@pytest.mark.parametrize("how", ["start", "python"])
def test_a_version_2_backend_gets_heartbeats_skipped_and_the_run_context(how: str, project: Path,
                                                                         tmp_path: Path) -> None:
    """Version 2 from the backend's first answer: beats from before the first step ends, every second
    as configured, with the running task and its progress, none after the final status; Skipped as
    such; run_attempt and the step's metadata in the task reports; every request fits the document."""
    with FaultServer("healthy", protocol=2) as server:
        result = _run(how, project, _env(tmp_path, server, STEP_KIND="fails", STEP_SECONDS="2.2",
                                         RUN_ATTEMPT="1"))
        assert result.returncode == (1 if how == "start" else 0), result.stderr
        _no_secret(result)
        beats = server.heartbeats("wf-v2")
        assert 2 <= len(beats) <= 5, [b.body for b in beats]
        assert [b.body["seq"] for b in beats] == list(range(1, len(beats) + 1))
        first_task = next(r.task_id for r in server.requests() if r.route == "tasks" and r.task_id.startswith("0-"))
        # the first beat leaves as the run starts (before or just after the first step began)
        assert beats[0].body["running"] in ([], [first_task]) and beats[0].body["run_attempt"] == 1
        assert any(beat.body["running"] == [first_task] for beat in beats)
        assert any(b.body["progress"].get(first_task, {}).get("message") == "working" for b in beats)
        final = next(r for r in server.requests() if r.route == "workflow" and r.body["status"] == "Failed")
        assert all(b.at <= final.at + 0.05 for b in beats)  # none after the final status (one may cross it)
        finals = server.final_statuses("wf-v2")
        assert sorted(finals.values()) == ["Failed", "Skipped", "Skipped"]
        patches = [r.body for r in server.requests() if r.route == "task"]
        assert all(body["run_attempt"] == 1 for body in patches)
        assert any(body.get("metadata") == {"rows": 3, "report": "https://example.com/r/1"} for body in patches)
        assert document_problems(server.url, server.requests()) == []


def test_the_backend_sets_the_interval(project: Path, tmp_path: Path) -> None:
    """A 15 s interval configured, the backend answers 1: the next beats come every second."""
    with FaultServer("healthy", protocol=2, heartbeat_interval=1) as server:
        result = _run("python", project, _env(tmp_path, server, STEP_SECONDS="2.5",
                                              DOTFLOW_SERVER_HEARTBEAT_INTERVAL="15"))
        assert result.returncode == 0, result.stderr
        beats = server.heartbeats("wf-v2")
        assert len(beats) >= 3
        gaps = [b.at - a.at for a, b in zip(beats, beats[1:])]
        assert all(0.7 < gap < 1.6 for gap in gaps), gaps


def test_a_heartbeat_route_answered_404_is_switched_off(project: Path, tmp_path: Path) -> None:
    with FaultServer("healthy", protocol=2, heartbeat_status=404) as server:
        result = _run("python", project, _env(tmp_path, server, STEP_SECONDS="2.5"))
        assert result.returncode == 0, result.stderr
        assert len(server.heartbeats("wf-v2")) == 1
        assert sorted(server.final_statuses("wf-v2").values()) == ["Completed"] * 3


@pytest.mark.parametrize("option", [{"heartbeat_blackhole": True}, {"heartbeat_delay": 5.0}])
def test_a_heartbeat_that_never_comes_back_never_holds_a_step(option: dict[str, Any], project: Path,
                                                              tmp_path: Path) -> None:
    """A black-holed or 5 s heartbeat endpoint: the steps take their own time, every status arrives."""
    with FaultServer("healthy", protocol=2, **option) as server:
        began = time.monotonic()
        result = _run("python", project, _env(tmp_path, server, STEP_SECONDS="0.3"))
        took = time.monotonic() - began
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.splitlines()[-1])["tasks"] == ["Completed"] * 3
        assert sorted(server.final_statuses("wf-v2").values()) == ["Completed"] * 3
        assert took < 8.0


# -- cancellation ------------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["start", "python"])
@pytest.mark.parametrize("executor", ["thread", "process"])
def test_a_cooperative_step_stops_on_the_backends_cancel(how: str, executor: str, project: Path,
                                                        tmp_path: Path) -> None:
    """The second beat's answer cancels the run: the step sees the flag and raises TaskCancelled; every
    task and the workflow end Cancelled with the backend's reason; dotflow start exits 3."""
    with FaultServer("healthy", protocol=2, cancel_after=2, cancel_reason="requested by alice",
                     cancel_grace=20) as server:
        began = time.monotonic()
        result = _run(how, project, _env(tmp_path, server, STEP_KIND="cooperative", STEP_SECONDS="20",
                                         EXECUTOR=executor))
        took = time.monotonic() - began
        _no_secret(result)
        assert result.returncode == (3 if how == "start" else 0), result.stderr
        assert took < 8.0  # the second beat at about 1 s, the stop within a moment, not the 20 s step
        finals = server.final_statuses("wf-v2")
        assert sorted(finals.values()) == ["Cancelled"] * 3
        assert server.workflow_statuses("wf-v2")[-1] == "Cancelled"
        cancelled = [r.body for r in server.requests() if r.route == "task" and r.body["status"] == "Cancelled"]
        assert {body["reason"] for body in cancelled} == {"requested by alice"}
        assert document_problems(server.url, server.requests()) == []


@pytest.mark.parametrize("executor", ["thread", "process", "dask"])
def test_a_stubborn_step_is_stopped_after_the_grace(executor: str, project: Path, tmp_path: Path) -> None:
    """A step that never looks at the flag: grace 1 s after the cancel, the run is stopped (a process
    worker killed), reported Cancelled, and dotflow start exits 3 within grace + 1 s of the answer."""
    with FaultServer("healthy", protocol=2, cancel_after=1, cancel_grace=1) as server:
        result = _run("start", project, _env(tmp_path, server, STEP_SECONDS="30", EXECUTOR=executor))
        ended = time.monotonic()
        _no_secret(result)
        assert result.returncode == 3, result.stderr
        # its last words reach stderr, also from under the capture's pipes (read on threads: the
        # steps run one at a time), which the immediate exit gives back first
        cancel_answered = server.heartbeats("wf-v2")[0].at
        workflow_final = next(r for r in server.requests() if r.route == "workflow" and r.body["status"] == "Cancelled")
        assert workflow_final.at - cancel_answered < 1.0 + 1.0
        assert sorted(server.final_statuses("wf-v2").values()) == ["Cancelled"] * 3
        assert ended - cancel_answered < 1.0 + 1.0 + 1.5  # the exit, a margin for the report's flush
    if executor == "process":
        leftovers = subprocess.run(["pgrep", "-f", "zygote"], capture_output=True, text=True).stdout.split()
        assert str(os.getpid()) not in leftovers


def test_a_cancel_in_an_answer_slower_than_the_interval_still_arrives(project: Path, tmp_path: Path) -> None:
    """Beats every second, each answered 1.5 s late, the second carrying a cancel: the answer is
    awaited (up to twice the interval), so the cancel reaches the run, which ends Cancelled."""
    with FaultServer("healthy", protocol=2, heartbeat_delay=1.5, cancel_after=2, cancel_grace=20) as server:
        result = _run("start", project, _env(tmp_path, server, STEP_KIND="cooperative", STEP_SECONDS="20"))
        _no_secret(result)
        assert result.returncode == 3, result.stderr
        assert sorted(server.final_statuses("wf-v2").values()) == ["Cancelled"] * 3


def test_a_lost_lease_cancels_the_run(project: Path, tmp_path: Path) -> None:
    with FaultServer("healthy", protocol=2, lease_lost_after=2) as server:
        result = _run("start", project, _env(tmp_path, server, STEP_KIND="cooperative", STEP_SECONDS="20"))
        assert result.returncode == 3, result.stderr
        assert "lease" in result.stderr
        assert sorted(server.final_statuses("wf-v2").values()) == ["Cancelled"] * 3
        reasons = {r.body.get("reason") for r in server.requests() if r.route == "task"
                   and r.body["status"] == "Cancelled"}
        assert reasons == {"lease lost"}
        assert len(server.heartbeats("wf-v2")) == 2  # none after the 409


def test_cancelling_one_task_goes_on_as_after_its_failure(project: Path, tmp_path: Path) -> None:
    """A cancel naming the last task only: it ends Cancelled, the others run, the workflow is Failed."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, STEP_SECONDS="2.5")
        process = subprocess.Popen([sys.executable, "pipeline.py"], cwd=project, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        assert server.wait_for(lambda s: len([r for r in s.requests() if r.route == "tasks"]) == 3, WAIT)
        last = next(r.task_id for r in server.requests() if r.route == "tasks" and r.task_id.startswith("2-"))
        server.cancel(tasks=[last], reason="not that one", grace=5)
        out, err = process.communicate(timeout=WAIT)
        assert process.returncode == 0, err
        assert json.loads(out.splitlines()[-1]) == {"status": "Failed",
                                                   "tasks": ["Completed", "Completed", "Cancelled"]}
        assert server.final_statuses("wf-v2")[last] == "Cancelled"


# -- token refresh, kill -9 --------------------------------------------------------------------------


def test_a_refreshed_token_is_used_from_the_next_request_and_never_shown(project: Path, tmp_path: Path) -> None:
    with FaultServer("healthy", protocol=2, refresh_token=NEW_TOKEN, refresh_after=2) as server:
        result = _run("start", project, _env(tmp_path, server, STEP_SECONDS="1.5", DOTFLOW_LOG_LEVEL="DEBUG"))
        assert result.returncode == 0, result.stderr
        _no_secret(result)
        tokens = server.user_tokens("wf-v2")
        assert tokens[0] == TOKEN and tokens[-1] == NEW_TOKEN
        assert sorted(server.final_statuses("wf-v2").values()) == ["Completed"] * 3


def test_kill_9_leaves_the_backend_with_the_last_beat(project: Path, tmp_path: Path) -> None:
    """kill -9 mid-step: nothing more is sent; the backend last heard In progress and a recent beat,
    which is what its Crashed rule (3 x interval without a beat) reads."""
    with FaultServer("healthy", protocol=2) as server:
        env = _env(tmp_path, server, STEP_SECONDS="30")
        process = subprocess.Popen([dotflow_exe(), "start", "--workflow", "pipeline:build"], cwd=project, env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            assert server.wait_for(lambda s: len(s.heartbeats("wf-v2")) >= 2, WAIT)
            process.send_signal(signal.SIGKILL)
            process.wait(WAIT)
            killed = time.monotonic()
            count = len(server.requests())
            time.sleep(2.5)
            assert len(server.requests()) == count  # silence: the process is gone
            assert server.workflow_statuses("wf-v2") == ["In progress"]
            last_beat = server.heartbeats("wf-v2")[-1]
            assert killed - last_beat.at < 1.5 and last_beat.body["interval"] == 1
        finally:
            if process.poll() is None:
                process.kill()


RELAUNCH = '''
import os
from pathlib import Path
from dotflow import DotFlow, action

@action
def extract():
    with open("extract-runs.txt", "a") as out:
        out.write("ran\\n")
    return 41

@action
def load(previous_context):
    if os.environ.get("LOAD_FAILS") == "1":
        raise RuntimeError("the node went away")
    return previous_context.storage + 1

def build():
    flow = DotFlow()
    flow.task.add([extract, load])
    return flow
'''


def test_a_relaunched_managed_run_resumes_by_itself(tmp_path: Path) -> None:
    """RUN_ATTEMPT=2 with a file storage: the completed task is restored, not run again, and the
    relaunch count travels in heartbeats and task reports."""
    project = tmp_path / "relaunch"
    project.mkdir()
    (project / "relaunch.py").write_text(RELAUNCH)
    with FaultServer("healthy", protocol=2) as server:
        common = {"DOTFLOW_STORAGE_PROVIDER": "file", "DOTFLOW_STORAGE_PATH": str(tmp_path / "results")}
        first = _run_workflow(project, _env(tmp_path, server, LOAD_FAILS="1", RUN_ATTEMPT="1", **common))
        assert first.returncode == 1, first.stderr
        server.clear()
        second = _run_workflow(project, _env(tmp_path, server, RUN_ATTEMPT="2", **common))
        assert second.returncode == 0, second.stderr
        assert (project / "extract-runs.txt").read_text().count("ran") == 1
        assert sorted(server.final_statuses("wf-v2").values()) == ["Completed", "Completed"]
        patches = [r.body for r in server.requests() if r.route == "task"]
        assert patches and all(body["run_attempt"] == 2 for body in patches)
        assert all(beat.body["run_attempt"] == 2 for beat in server.heartbeats("wf-v2"))


def test_a_bad_run_attempt_is_a_configuration_error(tmp_path: Path) -> None:
    project = tmp_path / "relaunch"
    project.mkdir()
    (project / "relaunch.py").write_text(RELAUNCH)
    with FaultServer("healthy", protocol=2) as server:
        result = _run_workflow(project, _env(tmp_path, server, RUN_ATTEMPT="two",
                                             DOTFLOW_STORAGE_PROVIDER="file"))
        assert result.returncode == 2
        assert "RUN_ATTEMPT='two' is invalid" in result.stderr and "Traceback" not in result.stderr


def _run_workflow(project: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dotflow_exe(), "start", "--workflow", "relaunch:build"], cwd=project, env=env,
                          capture_output=True, text=True, timeout=WAIT * 2)
