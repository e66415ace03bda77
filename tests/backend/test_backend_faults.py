"""The runner's fault-injection scenarios against the reference backend: real ``dotflow start``
processes, as managed containers with the env the backend handed out, report through a
fault-injecting proxy (fault_proxy.py) to a real ``dotflow backend start`` process on a SQLite
file; each scenario then reads what the backend stored. Whatever the network did, the observer
knows the truth: every task's terminal status, the workflow's, transitions in order with none
after a terminal one, every log record once with contiguous ``seq``, a cancel delivered by a
heartbeat, and a killed runner Crashed within ``3 x interval + 1 s``.

The fault server's own tests (tests/cli/test_reliability.py and its neighbours) hold the runner's
requests to what it must send; these hold the pair runner + backend to what an operator sees."""

from __future__ import annotations

import signal
import time
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from backend_support import (
    BackendProcess,
    kill_while_the_second_task_runs,
    run_runner,
    runner_env,
    start_runner,
    task_statuses,
    wait_until,
)
from fault_proxy import Fault, FaultProxy

TERMINAL = {"Completed", "Failed", "Cancelled", "Skipped", "Crashed"}
# steps:noisy is extract, chatter, chatter, broken, load; each chatter prints CHATTER lines
NOISY = ["Completed", "Completed", "Completed", "Failed", "Skipped"]
CHATTER = 20


class Scenario(NamedTuple):
    """A fault in front of the backend, and what must hold of the run through it."""

    faults: tuple[Fault, ...]
    fired: tuple[str, ...]  # the fates the proxy must have dealt at least once (the fault did happen)
    env: dict[str, str] = {}
    single: bool = False
    logs: str = "whole"  # what must hold of the log records stored: see assert_truth
    seconds: float = 15.0  # the runner ends within this


ALL_REPORTS = ("workflow", "tasks", "task", "logs")
SCENARIOS: dict[str, Scenario] = {
    "no fault, answers in two writes with Nagle on": Scenario((), ("forward",)),
    "every answer 0.3 s late": Scenario((Fault("slow", seconds=0.3),), ("slow",)),
    "a burst of 503s and 500s": Scenario(
        (Fault("answer", skip=2, times=8, status=503), Fault("answer", ("logs", "task"), skip=2, times=3, status=500)),
        ("answer",), logs="accounted"),  # a log batch is given up after 3 tries: counted in dropped
    "connections cut halfway through a request": Scenario(
        (Fault("cut", ("task", "logs", "heartbeat", "workflow"), skip=1, times=6),), ("cut",)),
    "answers lost after the backend stored the request": Scenario(
        (Fault("lose", ALL_REPORTS, skip=1, times=8),), ("lose",)),
    "late copies reach the backend after the retries and newer reports": Scenario(
        (Fault("late", ("task",), ("PATCH",), times=2, seconds=2.5),
         Fault("late", ("workflow",), ("PATCH",), times=1, seconds=3.5)),
        ("late",), env={"DOTFLOW_SERVER_TIMEOUT": "1"}),
    "one connection at a time": Scenario((), ("forward",), single=True),
    "a stuck logs endpoint": Scenario(
        (Fault("stuck", ("logs",)),), ("stuck",), env={"DOTFLOW_SERVER_FLUSH_TIMEOUT": "2"}, logs="once",
        seconds=12.0),
}


def assert_truth(backend: BackendProcess, run_id: str, status: str, tasks: list[str], *,
                 logs: str = "whole", chatter: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    """What the backend stored of the run is what happened: the workflow's status and its
    transitions, each task's terminal status reached in order (nothing after it, no status twice),
    and the log records once each: with ``logs`` "whole" all of them (``seq`` 1 to n, each chatter
    task's lines in order), "accounted" each one missing counted in ``dropped`` (a batch the runner
    gave up on), "once" nothing more (an endpoint that never answers gets no count through)."""
    stored = backend.run(run_id)
    assert stored["status"] == status, stored["history"]
    assert [step["status"] for step in stored["history"]] == ["Not started", "In progress", status]
    assert task_statuses(stored) == tasks, [task["history"] for task in stored["tasks"]]
    for task in stored["tasks"]:
        steps = [step["status"] for step in task["history"]]
        assert steps[0] == "Not started" and steps[-1] == task["status"], steps
        assert len(steps) == len(set(steps)) and not TERMINAL & set(steps[:-1]), steps
        if task["status"] in ("Completed", "Failed"):
            assert "In progress" in steps, steps  # a task that ran was seen running
    kept = backend.call("GET", f"/workflows/{run_id}/logs?limit=10000").body
    seqs = [record["seq"] for record in kept["records"]]
    assert len(seqs) == len(set(seqs))
    if logs == "accounted":
        missing = set(range(1, max(seqs, default=0) + 1)) - set(seqs)
        assert seqs == sorted(seqs) and len(missing) <= kept["dropped"], (seqs, kept["dropped"])
    if logs == "whole":
        assert seqs == list(range(1, len(seqs) + 1)) and kept["dropped"] == 0, seqs
        for position in chatter:
            task = stored["tasks"][position]["id"]
            lines = [record["line"] for record in kept["records"] if record["task"] == task
                     and record["stream"] == "stdout"]
            assert lines == [f"line {line} of {CHATTER}" for line in range(CHATTER)], lines
    return stored


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_backend_stores_the_truth_through_a_fault(name: str, backend: BackendProcess, project: Path,
                                                      tmp_path: Path) -> None:
    """A failing run with output (Completed, Completed, Completed, Failed, Skipped) through the
    fault: the runner exits 1 in time, the fault did happen, and the backend stored the truth."""
    scenario = SCENARIOS[name]
    run = backend.new_run(name)
    with FaultProxy(backend.url, *scenario.faults, single=scenario.single) as proxy:
        env = runner_env(tmp_path, run, SERVER_BASE_URL=proxy.url + "/api/v1", **scenario.env)
        began = time.monotonic()
        result = run_runner(project, env, "noisy")
        seconds = time.monotonic() - began
        wait_until(proxy.settled, timeout=10)  # the late copies have reached the backend
    assert result.returncode == 1, result.stderr
    assert run["token"] not in result.stdout + result.stderr and "Traceback" not in result.stderr, result.stderr
    assert seconds < scenario.seconds, (seconds, result.stderr)
    for fate in scenario.fired:
        assert proxy.fired(fate), (fate, proxy.seen)
    assert_truth(backend, run["id"], "Failed", NOISY, logs=scenario.logs)


def test_a_cancel_rides_a_slow_heartbeat_answer(backend: BackendProcess, project: Path, tmp_path: Path) -> None:
    """Heartbeats answered 1.5 s late with a 1 s interval: the run is never Crashed meanwhile (each
    beat reaches the backend within its lease), and the cancel still arrives in an answer the
    runner waits for: the step stops, the unfinished tasks and the workflow end Cancelled with the
    reason, and dotflow start exits 3."""
    run = backend.new_run("slow heartbeats")
    with FaultProxy(backend.url, Fault("slow", ("heartbeat",), seconds=1.5)) as proxy:
        env = runner_env(tmp_path, run, SERVER_BASE_URL=proxy.url + "/api/v1", SLOW_SECONDS="30")
        runner = start_runner(project, env, "waiting")
        try:
            wait_until(lambda: task_statuses(backend.run(run["id"]))[1:2] == ["In progress"], timeout=15)
            time.sleep(4)  # more than the lease of 3 x 1 s
            assert backend.run(run["id"])["status"] == "In progress"
            reply = backend.call("POST", f"/workflows/{run['id']}/cancel", {"reason": "stop it, slowly", "grace": 2})
            assert reply.status == 202
            stdout, stderr = runner.communicate(timeout=15)
        finally:
            runner.kill()
        assert proxy.fired("slow") >= 2
    assert runner.returncode == 3, stderr
    stored = assert_truth(backend, run["id"], "Cancelled", ["Completed", "Cancelled", "Cancelled"], chatter=())
    assert stored["cancel"]["delivered_at"] is not None
    assert all("stop it, slowly" in (task["reason"] or "") for task in stored["tasks"][1:])


def test_a_runner_killed_behind_a_slow_network_is_crashed_in_time(backend: BackendProcess, project: Path,
                                                                   tmp_path: Path) -> None:
    """kill -9 of a runner whose reports all go through a slow, lossy proxy: within 3 x 1 s + 1 s
    the backend declares the workflow and its unfinished tasks Crashed, the completed one stays."""
    run = backend.new_run("killed behind a proxy")
    faults = (Fault("lose", ("task",), skip=1, times=1), Fault("slow", seconds=0.2))
    with FaultProxy(backend.url, *faults) as proxy:
        env = runner_env(tmp_path, run, SERVER_BASE_URL=proxy.url + "/api/v1", SLOW_SECONDS="30")
        killed = kill_while_the_second_task_runs(backend, run["id"], start_runner(project, env, "waiting"), 15)
        wait_until(lambda: backend.run(run["id"])["status"] == "Crashed", timeout=10, every=0.02)
        assert time.monotonic() - killed <= 3 * 1 + 1
        assert proxy.fired("lose") and proxy.fired("slow")
    stored = backend.run(run["id"])
    assert task_statuses(stored) == ["Completed", "Crashed", "Crashed"]
    assert [step["status"] for step in stored["history"]] == ["Not started", "In progress", "Crashed"]


def test_a_backend_dead_for_a_while_then_back_loses_nothing(project: Path, tmp_path: Path) -> None:
    """The backend process killed mid-run (the proxy answers 502, as any would) and started again
    on the same SQLite file after longer than the run's lease (3 x 1 s): the runner goes on, its
    reports wait in its queue, the run is not declared Crashed for the time the backend was away,
    and it ends Completed with every status and every log record stored once."""
    db = f"sqlite:///{tmp_path / 'dead-then-back.db'}"
    first = BackendProcess(tmp_path, db=db).start()
    try:
        run = first.new_run("dead for a while")
        with FaultProxy(first.url) as proxy:
            env = runner_env(tmp_path, run, SERVER_BASE_URL=proxy.url + "/api/v1", SLOW_SECONDS="6",
                             DOTFLOW_SERVER_RETRIES="40", DOTFLOW_SERVER_BACKOFF_MAX="0.5")
            runner = start_runner(project, env, "waiting")
            try:
                wait_until(lambda: task_statuses(first.run(run["id"]))[1:2] == ["In progress"], timeout=15)
                first.stop(signal.SIGKILL)
                time.sleep(4)  # longer than the lease
                with BackendProcess(tmp_path, db=db) as second:
                    proxy.retarget(second.url)
                    stdout, stderr = runner.communicate(timeout=30)
                    assert runner.returncode == 0, stderr
                    assert proxy.fired("down"), proxy.seen
                    assert_truth(second, run["id"], "Completed", ["Completed"] * 3, logs="accounted", chatter=())
            finally:
                runner.kill()
    finally:
        first.__exit__(None, None, None)
