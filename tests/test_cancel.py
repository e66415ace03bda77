"""Every task ends terminal (Skipped after a failure), cancellation (Manager.cancel), and the run
context a step reads (dotflow.current_task())."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from engine_support import RecordingServer

import dotflow
from dotflow import Config, DotFlow, TaskCancelled, TypeStatus, action
from dotflow.errors import UsageError

WAIT = 20  # an upper bound for any wait; a pass never waits this long


def _flow(server: RecordingServer | None = None) -> DotFlow:
    return DotFlow(config=Config(server=server), workflow_id="wf-cancel")


@action
def one() -> int:
    return 1


@action(retry_delay=0)
def fails() -> None:
    raise RuntimeError("fails on purpose")


# -- Skipped ---------------------------------------------------------------------------------------


def test_the_tasks_after_a_failure_end_skipped_with_the_reason() -> None:
    """Without keep_going the tasks after a failed one never run: they end Skipped ("not run:
    <step> failed"), are reported so, and result() says it; the workflow is Failed."""
    server = RecordingServer()
    flow = _flow(server)
    flow.task.add([one, fails, one, one])
    manager = flow.start()
    statuses = [task.status for task in flow.result_task()]
    assert statuses == ["Completed", "Failed", "Skipped", "Skipped"]
    skipped = flow.result_task()[2]
    assert skipped.reason == "not run: fails failed"
    assert skipped.result()["status"] == "Skipped" and skipped.result()["reason"] == "not run: fails failed"
    assert "reason" not in flow.result_task()[0].result()  # a 1.x status keeps 1.x's keys
    assert manager.status == "Failed"
    events = server.events()
    # reported before the workflow's final status
    assert events.index(("update_task", "Skipped")) < events.index(("update_workflow", "Failed"))
    assert server.task_statuses(skipped.task_id) == ["Skipped"]


def test_a_group_that_failed_skips_only_its_own_tasks() -> None:
    """sequential_group: the failed group's later tasks are Skipped for its own failure; the other
    group runs to the end."""
    flow = _flow()
    flow.task.add(fails, group_name="a")
    flow.task.add(one, group_name="a")
    flow.task.add(one, group_name="b")
    flow.task.add(one, group_name="b")
    flow.start(mode="sequential_group")
    assert [t.status for t in flow.result_task()] == ["Failed", "Skipped", "Completed", "Completed"]
    assert flow.result_task()[1].reason == "not run: fails failed"


def test_keep_going_skips_nothing() -> None:
    flow = _flow()
    flow.task.add([fails, one])
    flow.start(keep_going=True)
    assert [t.status for t in flow.result_task()] == ["Failed", "Completed"]


def test_a_second_start_forgets_the_skip() -> None:
    """Skipped, as every outcome, is cleared by the next start()."""
    flow = _flow()
    flow.task.add([fails, one])
    flow.start()
    assert flow.result_task()[1].status == "Skipped"
    flow.task.queue[0].step = one
    flow.start()
    assert [t.status for t in flow.result_task()] == ["Completed", "Completed"]
    assert flow.result_task()[1].reason is None


# -- cancellation -------------------------------------------------------------------------------


def _blocking_flow(server: RecordingServer | None, started: threading.Event, release: threading.Event,
                   behaviour: str) -> DotFlow:
    @action
    def blocks() -> str:
        started.set()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not release.is_set():
            task = dotflow.current_task()
            assert task is not None
            if behaviour == "returns" and task.cancel_requested():
                return "stopped early"
            if behaviour == "raises" and task.cancel_requested():
                raise TaskCancelled("asked to stop")
            time.sleep(0.01)
        return "ran to the end"

    flow = _flow(server)
    flow.task.add([blocks, one, one])
    return flow


@pytest.mark.parametrize("behaviour", ["returns", "raises"])
def test_a_cooperative_step_stops_within_a_moment_of_the_cancel(behaviour: str) -> None:
    """A step that reads cancel_requested() stops at once: returning, its task Completed; raising
    TaskCancelled, Cancelled. The tasks behind it are Cancelled, the workflow Cancelled."""
    server = RecordingServer()
    started, release = threading.Event(), threading.Event()
    failures: list[Any] = []
    flow = _blocking_flow(server, started, release, behaviour)
    manager = flow.start(mode="background", on_failure=lambda tasks: failures.append(len(tasks)))
    try:
        assert started.wait(WAIT)
        asked = time.monotonic()
        manager.cancel("requested by alice", grace=WAIT)
        assert manager.wait(WAIT)
        stopped_in = time.monotonic() - asked
    finally:
        release.set()
    first, *rest = flow.result_task()
    expected = "Completed" if behaviour == "returns" else "Cancelled"
    assert first.status == expected
    assert [t.status for t in rest] == ["Cancelled", "Cancelled"]
    assert all(t.reason == "requested by alice" for t in rest)
    assert manager.status == "Cancelled" and failures == [3]
    assert stopped_in < 1.0
    assert ("update_workflow", "Cancelled") in server.events()


def test_a_stubborn_thread_step_is_left_behind_after_the_grace() -> None:
    """A step that ignores the request: after the grace its task is Cancelled and wait() returns
    without it; when it returns later, nothing changes."""
    server = RecordingServer()
    started, release = threading.Event(), threading.Event()
    flow = _blocking_flow(server, started, release, "ignores")
    manager = flow.start(mode="background")
    try:
        assert started.wait(WAIT)
        asked = time.monotonic()
        manager.cancel("stop now", grace=0.3)
        assert manager.wait(WAIT)
        took = time.monotonic() - asked
        assert 0.3 <= took < 1.5
        assert [t.status for t in flow.result_task()] == ["Cancelled"] * 3
        assert manager.status == "Cancelled"
    finally:
        release.set()
    thread = manager.thread
    assert thread is not None
    thread.join(WAIT)
    assert [t.status for t in flow.result_task()] == ["Cancelled"] * 3  # the late return changed nothing
    assert "Completed" not in server.task_statuses(flow.result_task()[0].task_id)


def test_a_cancel_ends_a_retry_wait_at_once() -> None:
    """A task waiting out a long retry delay is Cancelled as soon as the cancel comes."""
    attempts: list[int] = []

    @action(retry=5, retry_delay=60)
    def flaky() -> None:
        attempts.append(1)
        raise RuntimeError("try again")

    flow = _flow()
    flow.task.add(flaky)
    manager = flow.start(mode="background")
    deadline = time.monotonic() + WAIT
    while flow.result_task()[0].status != "Retry" and time.monotonic() < deadline:
        time.sleep(0.01)
    asked = time.monotonic()
    manager.cancel("no more tries", grace=WAIT)
    assert manager.wait(WAIT)
    assert time.monotonic() - asked < 1.0
    task = flow.result_task()[0]
    assert task.status == "Cancelled" and task.reason == "no more tries" and len(attempts) == 1


def test_cancelling_some_tasks_goes_on_as_after_their_failure() -> None:
    """A cancel of a task not yet started: it ends Cancelled at once; the run goes on as after a
    failure (without keep_going the rest is Skipped), and ends Failed."""
    started, release = threading.Event(), threading.Event()
    flow = _blocking_flow(None, started, release, "ignores")
    manager = flow.start(mode="background")
    try:
        assert started.wait(WAIT)
        second = flow.result_task()[1]
        manager.cancel("not this one", tasks=[second.task_id])
        assert second.status == "Cancelled"
        release.set()
        assert manager.wait(WAIT)
    finally:
        release.set()
    assert [t.status for t in flow.result_task()] == ["Completed", "Cancelled", "Skipped"]
    assert flow.result_task()[2].reason == "not run: one was cancelled"
    assert manager.status == "Failed"


def test_a_cancel_after_the_end_changes_nothing() -> None:
    flow = _flow()
    flow.task.add(one)
    manager = flow.start()
    manager.cancel("too late")
    assert manager.status == "Completed" and flow.result_task()[0].status == "Completed"


def test_a_parallel_run_cancels_its_waiting_tasks() -> None:
    """Parallel on one worker: the task running returns (cooperatively), the queued ones never start."""
    started, release = threading.Event(), threading.Event()
    flow = _blocking_flow(None, started, release, "returns")

    def cancel_when_started() -> None:
        assert started.wait(WAIT)
        manager = flow.manager  # start() blocks in parallel mode; its Manager exists before any step runs
        assert manager is not None
        manager.cancel("enough")

    canceller = threading.Thread(target=cancel_when_started)
    canceller.start()
    try:
        flow.start(mode="parallel", max_workers=1)
    finally:
        release.set()
        canceller.join(WAIT)
    assert [t.status for t in flow.result_task()] == ["Completed", "Cancelled", "Cancelled"]


# -- the run context ------------------------------------------------------------------------------


def test_current_task_is_none_outside_a_step() -> None:
    assert dotflow.current_task() is None


def test_current_task_tells_a_step_who_it_is() -> None:
    seen: list[Any] = []

    @action(retry=2, retry_delay=0)
    def who() -> None:
        task = dotflow.current_task()
        assert task is not None
        seen.append((task.workflow_id, task.task_id, task.step, task.attempt, task.run_attempt))
        task.progress(3, 10, "rows")
        task.metadata(rows=3, link="https://example.com/report")
        if task.attempt == 1:
            raise RuntimeError("once")

    flow = _flow()
    flow.task.add(who)
    manager = flow.start()
    task_id = flow.result_task()[0].task_id
    assert [s[3] for s in seen] == [1, 2]
    assert seen[0][:2] == ("wf-cancel", task_id) and seen[0][2].endswith("who") and seen[0][4] == 1
    assert manager.live.metadata_of(task_id) == {"rows": 3, "link": "https://example.com/report"}
    assert dotflow.current_task() is None


def test_progress_and_metadata_refuse_what_is_not_json() -> None:
    errors: list[str] = []

    @action
    def bad() -> None:
        task = dotflow.current_task()
        assert task is not None
        for call in (lambda: task.progress("three"), lambda: task.metadata(when=object())):
            try:
                call()
            except UsageError as exc:
                errors.append(str(exc))

    flow = _flow()
    flow.task.add(bad)
    flow.start()
    assert flow.result_task()[0].status == "Completed"
    assert len(errors) == 2 and "must be a number" in errors[0] and "must be JSON" in errors[1]


def test_statuses_are_terminal_and_known() -> None:
    assert TypeStatus.CANCELLED == "Cancelled" and TypeStatus.SKIPPED == "Skipped"
    assert set(TypeStatus.TERMINAL) == {"Completed", "Failed", "Cancelled", "Skipped"}
    assert TypeStatus.ALL == ("Not started", "In progress", "Completed", "Failed", "Retry")  # 1.x's tuple


@pytest.mark.parametrize("mode", ["parallel", "sequential_group"])
def test_a_stubborn_step_on_a_pool_is_left_behind(mode: str) -> None:
    """start() blocks in these modes: after the grace it returns without the stubborn step."""
    started, release = threading.Event(), threading.Event()
    flow = _blocking_flow(None, started, release, "ignores")

    def cancel_when_started() -> None:
        assert started.wait(WAIT)
        manager = flow.manager
        assert manager is not None
        manager.cancel("stop", grace=0.2)

    canceller = threading.Thread(target=cancel_when_started)
    canceller.start()
    began = time.monotonic()
    try:
        manager = flow.start(mode=mode, max_workers=1)
        took = time.monotonic() - began
    finally:
        release.set()
        canceller.join(WAIT)
    assert took < 3.0
    assert manager.status == "Cancelled"
    assert [t.status for t in flow.result_task()] == ["Cancelled"] * 3
