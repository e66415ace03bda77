"""``dotflow.current_task()`` in a step that runs in another process: the process pool's workers,
a real Dask scheduler and worker (``tests/dask_support.py``), and a user's ``concurrent.futures``
executor. The worker's context has the driver's ids; its progress and metadata reach the driver's
LiveRun while the step runs (coalesced); the driver's cancel reaches the step within a moment.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import context_steps as steps
import pytest

from dotflow import Config, DotFlow, TypeStatus
from dotflow.execution.executors import remote
from dotflow.live import LiveRun

WAIT = 30.0  # an upper bound for any wait; a pass never waits this long


@pytest.fixture(params=["process", "dask"])
def executor(request: pytest.FixtureRequest) -> str:
    """The process pool, or the session's Dask cluster (its ``tcp://`` address, its worker connected)."""
    if request.param == "process":
        return "process"
    cluster = request.getfixturevalue("dask_cluster")
    cluster.worker_pid()
    return str(cluster.address)


def _flow(workflow_id: str = "wf-context") -> DotFlow:
    return DotFlow(config=Config(), workflow_id=workflow_id)


def _until(check: Any, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"not true after {timeout:g} s: {check}")


def test_a_step_in_a_worker_reads_the_drivers_ids(executor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's context has the driver's workflow and task ids, the step's name, the attempt
    (2 after a retry) and the driver's run_attempt; the metadata of both attempts (one failed)
    reaches the driver's LiveRun."""
    monkeypatch.setenv("RUN_ATTEMPT", "2")  # read by the driver: a Dask worker's own environment has none
    flow = _flow()
    flow.task.add(steps.who_am_i)
    manager = flow.start(executor=executor)
    task = flow.result_task()[0]
    assert task.status == TypeStatus.COMPLETED, task.errors
    workflow_id, task_id, step, attempt, run_attempt, pid = task.current_context.storage
    assert (workflow_id, task_id, step, attempt, run_attempt) == ("wf-context", task.task_id, "context_steps.who_am_i",
                                                                  2, 2)
    assert pid != os.getpid()
    assert manager.live is not None
    assert manager.live.metadata_of(task.task_id) == {"first": "attempt one", "rows": 3,
                                                      "link": "https://example.com/report"}


def test_progress_and_metadata_arrive_while_the_step_runs_and_a_cancel_stops_it(
    executor: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step reporting its progress every few ms: the driver's LiveRun shows it, and its metadata,
    while the task is In progress, a few times a second at most; manager.cancel() from this thread
    stops it (it raises TaskCancelled) within a second; the task ends Cancelled with the reason."""
    received: list[float] = []
    set_progress = LiveRun.set_progress

    def counted(self: LiveRun, task_id: str, done: float, total: float | None, message: str | None) -> None:
        received.append(done)
        set_progress(self, task_id, done, total, message)

    monkeypatch.setattr(LiveRun, "set_progress", counted)
    flow = _flow()
    flow.task.add(steps.reports_until_cancelled)
    began = time.monotonic()
    manager = flow.start(mode="background", executor=executor)
    task = flow.result_task()[0]
    live = manager.live
    assert live is not None
    try:
        first = _until(lambda: live.progress().get(task.task_id))
        assert task.status == TypeStatus.IN_PROGRESS
        assert first["total"] is None and first["message"] == f"row {first['done']}"
        later = _until(lambda: (live.progress().get(task.task_id) or {}).get("done", 0) > first["done"])
        assert later and task.status == TypeStatus.IN_PROGRESS  # it moves while the step runs
        assert live.metadata_of(task.task_id) == {"phase": "started"}
        time.sleep(0.6)
        asked = time.monotonic()
        manager.cancel("requested by the test")
        assert manager.wait(WAIT)
        stopped_in = time.monotonic() - asked
    finally:
        manager.cancel("the test ended")
        manager.wait(WAIT)
    ran = time.monotonic() - began
    assert stopped_in < 1.0
    assert (task.status, task.reason, manager.status) == ("Cancelled", "requested by the test", "Cancelled")
    # the step said it hundreds of times; the driver heard at most one message a SEND_INTERVAL
    assert 2 <= len(received) <= ran / remote.SEND_INTERVAL + 2
    assert received == sorted(received)


def test_a_cancel_the_step_never_read_does_not_reach_the_next_call() -> None:
    """A task cancelled while its step runs without looking: the step completes; the next step on
    the same worker is not cancelled (the stale cancel is dropped)."""
    flow = _flow()
    flow.task.add([steps.sleeps_a_moment, steps.is_it_cancelled])
    manager = flow.start(mode="background", executor="process", max_workers=1)
    first = flow.result_task()[0]
    try:
        _until(lambda: first.status == TypeStatus.IN_PROGRESS)
        time.sleep(0.15)  # a CANCEL_POLL after the cancel, the driver has told the worker
        manager.cancel("not this one", tasks=[first.task_id])
        assert manager.wait(WAIT)
    finally:
        manager.cancel("the test ended")
        manager.wait(WAIT)
    assert [t.status for t in flow.result_task()] == ["Completed", "Completed"]
    assert flow.result_storage() == ["slept", False]


def test_a_users_executor_gives_the_ids_and_the_metadata_at_the_end() -> None:
    """A ProcessPoolExecutor has no channel back while the step runs: the context has the driver's
    ids, its metadata comes back with the reply; a ThreadPoolExecutor's step sees the driver's own context."""
    for pool in (ProcessPoolExecutor(max_workers=1), ThreadPoolExecutor(max_workers=1)):
        with pool:
            flow = _flow()
            flow.task.add(steps.who_am_i)
            manager = flow.start(executor=pool)
        task = flow.result_task()[0]
        assert task.status == TypeStatus.COMPLETED, task.errors
        assert task.current_context.storage[:5] == ["wf-context", task.task_id, "context_steps.who_am_i", 2, 1]
        assert manager.live is not None
        assert manager.live.metadata_of(task.task_id) == {"first": "attempt one", "rows": 3,
                                                          "link": "https://example.com/report"}


def test_a_worker_coalesces_what_a_step_says_and_sends_the_latest_in_time() -> None:
    """The worker's side alone: a burst of progress is one message now and one when the interval
    is up (the latest value, with the metadata merged), although the step says nothing more."""
    sent: list[dict[str, Any]] = []
    arrived = threading.Event()

    class Recording(remote.Link):
        def send(self, update: dict[str, Any]) -> None:
            sent.append(update)
            if len(sent) == 2:
                arrived.set()

    sink = remote._Sink(("wf", "0-1", 1, 1, False), Recording())
    context = sink.context("pkg.step")
    began = time.monotonic()
    for n in range(1, 1001):
        context.progress(n, 1000)
        if n in (10, 20):
            context.metadata(**{f"at{n}": n})
    assert arrived.wait(WAIT)
    assert time.monotonic() - began >= remote.SEND_INTERVAL * 0.9
    assert sent == [{"p": [1, 1000, None]}, {"p": [1000, 1000, None], "m": {"at10": 10, "at20": 20}}]
    assert sink.finish() == {"m": {"at10": 10, "at20": 20}}  # what rides the reply
    context.progress(5)  # after the call: dropped
    time.sleep(remote.SEND_INTERVAL * 1.5)
    assert len(sent) == 2


def test_a_worker_sends_a_calls_lines_a_thousand_at_a_time_and_the_rest_with_its_reply() -> None:
    """Lines a step writes on a Dask worker: none kept past 1,000 waiting (a burst goes at once, in
    messages of 1,000, in order), and what waits when the call ends rides its reply."""
    sent: list[dict[str, Any]] = []

    class Recording(remote.Link):
        def send(self, update: dict[str, Any]) -> None:
            sent.append(update)

    sink = remote._Sink(("wf", "0-1", 1, 1, True), Recording())
    burst = [(float(n), "0-1", "stdout", None, f"line {n}") for n in range(2500)]
    sink.take_lines(burst)
    assert [len(message["l"]) for message in sent] == [1000, 1000, 500]
    assert [line[3] for message in sent for line in message["l"]] == [f"line {n}" for n in range(2500)]
    sink.take_lines([(1.0, "0-1", "stderr", None, "last")])
    assert sink.finish() == {"l": [(1.0, "stderr", None, "last")]}
    assert len(sent) == 3


def test_a_hard_stop_cancels_the_dask_futures_of_a_users_client(dask_cluster: Any, tmp_path: Path) -> None:
    """A step that ignores the cancel, on the user's own client: when the grace runs out, the run's
    future is cancelled on the cluster (the scheduler forgets it while the step still runs), and the
    client stays open."""
    cluster = dask_cluster
    cluster.worker_pid()
    marker = tmp_path / "release"
    flow = _flow()
    flow.task.add(steps.ignores_the_cancel, initial_context=str(marker))
    manager = flow.start(mode="background", executor=cluster.client.get_executor())

    def ours() -> list[str]:
        keys = cluster.client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
        return [k for k in keys if k.startswith("dotflow-context_steps.ignores_the_cancel-")]

    try:
        _until(lambda: flow.result_task()[0].status == TypeStatus.IN_PROGRESS and ours())
        manager.cancel("stop now", grace=0.3)
        assert manager.wait(WAIT)
        assert (flow.result_task()[0].status, manager.status) == ("Cancelled", "Cancelled")
        _until(lambda: not ours(), 5.0)
        assert not marker.exists()  # the step is still running in the worker
    finally:
        marker.write_text("")
    assert cluster.client.submit(sum, [1, 2]).result(WAIT) == 3
    _until(lambda: not any(cluster.client.processing().values()))  # the worker's thread is free again
