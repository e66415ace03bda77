"""The four run modes, their context flow, keep_going, and the workflow callbacks."""

from __future__ import annotations

import contextvars
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

import executor_steps
import pytest
from engine_support import RecordingServer

from dotflow import Config, Context, DotFlow, Task, TypeExecution, TypeStatus, action
from dotflow.core.types.execution import TypeExecution as LegacyTypeExecution
from dotflow.errors import UsageError
from dotflow.execution.manager import Manager

WAIT = 20  # generous upper bound for any Event or Barrier wait; a pass never waits this long
# A test that takes the ``executor`` fixture (tests/conftest.py) runs on threads, on processes
# and on a Dask cluster: the run's own threads keep statuses, retries, callbacks and storage
# whatever the executor. A test whose steps share memory with the test (a Barrier, a list) has a
# sibling on processes that passes files or results instead (see tests/test_executors.py for
# what only a process can do).


def _flow(server: RecordingServer | None = None) -> DotFlow:
    return DotFlow(config=Config(server=server), workflow_id="wf-modes")


@action
def one() -> int:
    return 1


@action
def add_one(previous_context: Context) -> int:
    return previous_context.storage + 1


@action(retry_delay=0)
def fails() -> None:
    raise RuntimeError("fails on purpose")


@action
def looks_back(previous_context: Context) -> Any:
    return previous_context.storage


def test_mode_constants() -> None:
    """TypeExecution holds the four mode strings, also at the legacy import path."""
    assert TypeExecution.SEQUENTIAL == "sequential"
    assert TypeExecution.BACKGROUND == "background"
    assert TypeExecution.PARALLEL == "parallel"
    assert TypeExecution.SEQUENTIAL_GROUP == "sequential_group"
    assert LegacyTypeExecution is TypeExecution


# --- sequential ----------------------------------------------------------------------------------


def test_sequential_chains_previous_context(executor: str) -> None:
    """Each task's result is the next task's previous_context; the first gets an empty one."""
    workflow = _flow()
    workflow.task.add([one, add_one, add_one])
    manager = workflow.start(executor=executor)
    tasks = workflow.result_task()
    assert isinstance(manager, Manager)
    assert workflow.result_storage() == [1, 2, 3]
    assert tasks[0].previous_context.storage is None
    assert tasks[1].previous_context is tasks[0].current_context
    assert tasks[2].previous_context is tasks[1].current_context


def test_sequential_is_the_default_and_runs_in_the_calling_thread() -> None:
    """``start()`` with no mode runs every step in the caller's thread before returning."""
    threads: list[int] = []

    @action
    def where() -> None:
        threads.append(threading.get_ident())

    workflow = _flow()
    workflow.task.add([where, where])
    manager = workflow.start()
    assert threads == [threading.get_ident()] * 2
    assert manager.status is TypeStatus.COMPLETED


def test_sequential_stops_at_the_first_failure(executor: str) -> None:
    """After a failed task, the later tasks are not run: they end Skipped (1.0.1 left them Not started)."""
    workflow = _flow()
    workflow.task.add([one, fails, add_one])
    manager = workflow.start(executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Completed", "Failed", "Skipped"]
    assert workflow.result_storage() == [1, None, None]
    assert manager.status is TypeStatus.FAILED


def test_keep_going_runs_past_a_failure(executor: str) -> None:
    """With ``keep_going=True`` the tasks after a failure still run (and see an empty Context)."""
    workflow = _flow()
    workflow.task.add([one, fails, looks_back, one])
    workflow.start(keep_going=True, executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Completed", "Failed", "Completed", "Completed"]
    assert workflow.result_storage() == [1, None, None, 1]


# --- background ----------------------------------------------------------------------------------


def test_background_returns_before_the_steps_finish() -> None:
    """``mode="background"`` returns while a step is still blocked; ``wait()`` then reports the end."""
    entered, release = threading.Event(), threading.Event()
    threads: list[int] = []

    @action
    def slow(previous_context: Context) -> int:
        threads.append(threading.get_ident())
        entered.set()
        assert release.wait(WAIT), "never released"
        return previous_context.storage + 10

    workflow = _flow()
    workflow.task.add([one, slow])
    try:
        manager = workflow.start(mode="background")
        assert entered.wait(WAIT)
        assert workflow.result_task()[1].status is TypeStatus.IN_PROGRESS
        assert manager.wait(timeout=0.05) is False
        assert manager.done is False
    finally:
        release.set()
    assert manager.wait(timeout=WAIT) is True
    assert manager.done is True
    assert manager.status is TypeStatus.COMPLETED
    assert workflow.result_storage() == [1, 11]
    assert threads != [threading.get_ident()]


def test_background_wait_without_timeout_blocks_until_done() -> None:
    """``wait()`` with no timeout returns True once every task has finished."""
    workflow = _flow()
    workflow.task.add([one, add_one])
    manager = workflow.start(mode=TypeExecution.BACKGROUND)
    assert manager.wait() is True
    assert workflow.result_storage() == [1, 2]


def test_background_assertion_is_raised_by_wait() -> None:
    """An AssertionError inside a background run is re-raised on the caller's thread by ``wait()``."""

    @action
    def checks() -> None:
        assert False, "background check"

    workflow = _flow()
    workflow.task.add(checks)
    manager = workflow.start(mode="background")
    with pytest.raises(AssertionError, match="background check"):
        manager.wait(timeout=WAIT)


def test_wait_on_a_finished_foreground_run_returns_true() -> None:
    """``Manager.wait()`` after a sequential run returns True at once."""
    workflow = _flow()
    workflow.task.add(one)
    assert workflow.start().wait(timeout=0) is True


# --- parallel ------------------------------------------------------------------------------------


def test_parallel_runs_tasks_at_the_same_time() -> None:
    """Three parallel tasks all reach a 3-party barrier, which a serial run could never pass."""
    barrier = threading.Barrier(3, timeout=WAIT)

    @action
    def meet(initial_context: Context) -> int:
        barrier.wait()
        return initial_context.storage

    workflow = _flow()
    for n in range(3):
        workflow.task.add(meet, initial_context=n)
    workflow.start(mode="parallel", max_workers=3)
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 3
    assert workflow.result_storage() == [0, 1, 2]


def test_parallel_runs_tasks_at_the_same_time_on_processes(tmp_path: Path) -> None:
    """Three parallel tasks on processes all reach a 3-party barrier (files), so they run at once."""
    workflow = _flow()
    for n in range(3):
        workflow.task.add(executor_steps.meet, initial_context=[str(tmp_path), str(n), 3])
    workflow.start(mode="parallel", max_workers=3, executor="process")
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 3
    assert len(set(workflow.result_storage())) == 3 and os.getpid() not in workflow.result_storage()


def test_parallel_passes_no_context_between_tasks() -> None:
    """In parallel mode every task gets an empty previous_context."""
    seen: list[Any] = []

    @action
    def look(previous_context: Context) -> str:
        seen.append(previous_context.storage)
        return "value"

    workflow = _flow()
    workflow.task.add([look, look, look, look])
    workflow.start(mode="parallel")
    assert seen == [None] * 4
    assert all(t.previous_context.storage is None for t in workflow.result_task())


def test_parallel_passes_no_context_between_tasks_on_processes() -> None:
    """On processes too, every parallel task gets an empty previous_context."""
    workflow = _flow()
    workflow.task.add([executor_steps.one, looks_back, looks_back, looks_back])
    workflow.start(mode="parallel", executor="process")
    assert workflow.result_storage() == [1, None, None, None]


def test_parallel_pool_is_bounded_by_max_workers() -> None:
    """With ``max_workers=2`` and eight tasks, never more than two run at once, and all complete."""
    lock = threading.Lock()
    running = [0]
    peak = [0]
    two_running = threading.Barrier(2, timeout=WAIT)

    @action
    def work(initial_context: Context) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            if initial_context.storage < 2:
                two_running.wait()  # the first two overlap, so the peak reaches exactly 2
            return initial_context.storage
        finally:
            with lock:
                running[0] -= 1

    workflow = _flow()
    for n in range(8):
        workflow.task.add(work, initial_context=n)
    workflow.start(mode="parallel", max_workers=2)
    assert workflow.result_storage() == list(range(8))
    assert peak[0] == 2


def test_parallel_on_processes_is_bounded_by_max_workers() -> None:
    """With executor="process" and max_workers=2, eight tasks all complete in at most two other processes."""
    workflow = _flow()
    workflow.task.add([executor_steps.pid] * 8)
    workflow.start(mode="parallel", max_workers=2, executor="process")
    pids = set(workflow.result_storage())
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 8
    assert 1 <= len(pids) <= 2 and os.getpid() not in pids


def test_parallel_uses_threads_of_this_process() -> None:
    """Parallel tasks run in this process, not one forked process per task."""
    pids: list[int] = []

    @action
    def pid() -> None:
        pids.append(os.getpid())

    workflow = _flow()
    workflow.task.add([pid] * 5)
    workflow.start(mode="parallel", max_workers=2)
    assert pids == [os.getpid()] * 5


def test_parallel_on_processes_uses_other_processes() -> None:
    """With executor="process" the same tasks run in worker processes, never in this one."""
    workflow = _flow()
    workflow.task.add([executor_steps.pid] * 5)
    workflow.start(mode="parallel", max_workers=2, executor="process")
    assert os.getpid() not in workflow.result_storage()


def test_parallel_large_results_come_back_intact(executor: str) -> None:
    """A 300 KB (and a 3 MB) result returns whole from parallel mode without hanging."""
    payload = {"blob": "y" * 300_000, "rows": list(range(10_000))}

    @action
    def big() -> dict[str, Any]:
        return payload

    @action
    def bigger() -> str:
        return "z" * 3_000_000

    workflow = _flow()
    workflow.task.add([big, bigger, big])
    manager = workflow.start(mode="parallel", executor=executor)
    assert manager.status is TypeStatus.COMPLETED
    assert workflow.result_storage() == [payload, "z" * 3_000_000, payload]


def test_parallel_failure_does_not_stop_the_others(executor: str) -> None:
    """One failing task in parallel mode leaves the others Completed and the workflow Failed."""
    workflow = _flow()
    workflow.task.add([one, fails, one])
    manager = workflow.start(mode="parallel", executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Completed", "Failed", "Completed"]
    assert manager.status is TypeStatus.FAILED


def test_parallel_assertion_propagates(executor: str) -> None:
    """An AssertionError in a parallel step escapes ``start()`` after the pool drains."""

    @action
    def checks() -> None:
        assert False, "parallel check"

    workflow = _flow()
    workflow.task.add([one, checks, one])
    with pytest.raises(AssertionError, match="parallel check"):
        workflow.start(mode="parallel", executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Completed", "Failed", "Completed"]


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_bad_max_workers_is_a_usage_error(bad: Any) -> None:
    """``max_workers`` must be a positive int; anything else raises UsageError before running."""
    workflow = _flow()
    workflow.task.add(one)
    with pytest.raises(UsageError, match="max_workers"):
        workflow.start(mode="parallel", max_workers=bad)
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


# --- sequential_group ----------------------------------------------------------------------------


def _grouped(barrier: threading.Barrier, order: list[tuple[str, Any]]) -> DotFlow:
    """Three groups of three chained tasks; each group's first task waits at ``barrier``."""

    @action
    def start_group(initial_context: Context) -> str:
        barrier.wait()
        order.append((initial_context.storage, 0))
        return initial_context.storage

    @action
    def chain(previous_context: Context) -> str:
        order.append((previous_context.storage[0], previous_context.storage.count("+") + 1))
        return previous_context.storage + "+"

    workflow = _flow()
    for group in ("a", "b", "c"):
        workflow.task.add(start_group, initial_context=group, group_name=group)
        workflow.task.add([chain, chain], group_name=group)
    return workflow


@pytest.mark.parametrize("mode", ["sequential_group", "sequential", "background"])
def test_groups_run_concurrently_and_in_order_inside(mode: str) -> None:
    """Groups overlap (all three reach one barrier), and each group's tasks run in order, chained."""
    barrier = threading.Barrier(3, timeout=WAIT)
    order: list[tuple[str, Any]] = []
    workflow = _grouped(barrier, order)
    workflow.start(mode=mode).wait(timeout=WAIT)
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 9
    assert workflow.result_storage() == ["a", "a+", "a++", "b", "b+", "b++", "c", "c+", "c++"]
    for group in "abc":
        assert [depth for g, depth in order if g == group] == [0, 1, 2]


@pytest.mark.parametrize("mode", ["sequential_group", "sequential", "background"])
def test_groups_run_concurrently_and_in_order_inside_on_processes(mode: str, tmp_path: Path) -> None:
    """On processes, groups overlap (all three meet at a file barrier) and each group's tasks run in order, chained.

    The pool has ``max_workers`` processes (default: the CPU count, which may be under three here).
    """
    workflow = _flow()
    for group in ("a", "b", "c"):
        workflow.task.add(executor_steps.meet, initial_context=[str(tmp_path), group, 3], group_name=group)
        workflow.task.add([executor_steps.add_one, executor_steps.add_one], group_name=group)
    workflow.start(mode=mode, executor="process", max_workers=3).wait(timeout=WAIT)
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 9
    firsts = workflow.result_storage()[::3]
    assert len(set(firsts)) == 3 and os.getpid() not in firsts  # three workers, met at once
    for n in range(3):
        assert workflow.result_storage()[3 * n + 1 : 3 * n + 3] == [firsts[n] + 1, firsts[n] + 2]


def test_a_group_does_not_see_another_groups_context() -> None:
    """The first task of each group gets an empty previous_context, not another group's result."""
    seen: dict[str, Any] = {}

    @action
    def look(initial_context: Context, previous_context: Context) -> str:
        seen[initial_context.storage] = previous_context.storage
        return initial_context.storage

    workflow = _flow()
    workflow.task.add(look, initial_context="x", group_name="x")
    workflow.task.add(look, initial_context="y", group_name="y")
    workflow.start(mode="sequential_group")
    assert seen == {"x": None, "y": None}


def test_a_group_does_not_see_another_groups_context_on_processes() -> None:
    """On processes too, the first task of each group gets an empty previous_context."""
    workflow = _flow()
    workflow.task.add([executor_steps.one, looks_back], group_name="x")
    workflow.task.add(looks_back, group_name="y")
    workflow.start(mode="sequential_group", executor="process")
    assert workflow.result_storage() == [1, 1, None]


def test_failure_in_one_group_stops_only_that_group(executor: str) -> None:
    """A failure stops the rest of its own group; the other group runs to the end."""
    workflow = _flow()
    workflow.task.add([fails, one], group_name="bad")
    workflow.task.add([one, add_one], group_name="good")
    manager = workflow.start(mode="sequential_group", executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Failed", "Skipped", "Completed", "Completed"]
    assert manager.status is TypeStatus.FAILED


def test_single_group_sequential_group_runs_like_sequential(executor: str) -> None:
    """``sequential_group`` with one group chains the contexts like sequential."""
    workflow = _flow()
    workflow.task.add([one, add_one, add_one])
    workflow.start(mode="sequential_group", executor=executor)
    assert workflow.result_storage() == [1, 2, 3]


# --- workflow callbacks and validation -----------------------------------------------------------


def test_on_success_gets_the_tasks(executor: str) -> None:
    """``on_success`` is called once as ``on_success(tasks=[...])`` with the workflow's tasks; on_failure is not."""
    calls: list[tuple[str, list[Task]]] = []
    workflow = _flow()
    workflow.task.add([one, add_one])
    workflow.start(
        on_success=lambda *, tasks: calls.append(("success", tasks)),
        on_failure=lambda *, tasks: calls.append(("failure", tasks)),
        executor=executor,
    )
    assert calls == [("success", workflow.result_task())]


def test_on_failure_gets_the_tasks_and_can_read_every_context(executor: str) -> None:
    """``on_failure(tasks=[...])`` runs on failure and can read ``current_context.storage`` of every task."""
    calls: list[tuple[str, list[Any]]] = []

    def on_failure(*, tasks: list[Task]) -> None:
        calls.append(("failure", [(t.status, t.current_context.storage) for t in tasks]))

    workflow = _flow()
    workflow.task.add([one, fails, add_one])
    workflow.start(on_success=lambda *, tasks: calls.append(("success", tasks)), on_failure=on_failure,
                   executor=executor)
    assert calls == [("failure", [("Completed", 1), ("Failed", None), ("Skipped", None)])]


@pytest.mark.parametrize("mode", ["parallel", "sequential_group", "background"])
def test_workflow_callbacks_run_in_every_mode(mode: str, executor: str) -> None:
    """on_success is called after all tasks finish, in every mode."""
    finished = threading.Event()
    statuses: list[str] = []

    def on_success(*, tasks: list[Task]) -> None:
        statuses.extend(t.status for t in tasks)
        finished.set()

    workflow = _flow()
    workflow.task.add([one, one])
    workflow.start(mode=mode, on_success=on_success, executor=executor).wait(timeout=WAIT)
    assert finished.is_set()
    assert statuses == ["Completed", "Completed"]


@pytest.mark.parametrize("name", ["on_success", "on_failure"])
def test_non_callable_workflow_callback_is_a_usage_error(name: str) -> None:
    """A non-callable on_success / on_failure raises UsageError naming it, before anything runs."""
    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(one)
    before = list(server.calls)
    with pytest.raises(UsageError, match=name):
        workflow.start(**{name: "not a function"})
    assert server.calls == before
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


def test_unknown_mode_is_rejected_before_any_report() -> None:
    """An unknown mode raises UsageError listing the modes, with no server hook called and no step run."""
    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(one)
    before = list(server.calls)
    with pytest.raises(UsageError) as info:
        workflow.start(mode="paralel")
    message = str(info.value)
    assert "'paralel'" in message
    assert all(mode in message for mode in TypeExecution.ALL)
    assert server.calls == before
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


def test_assertion_in_on_success_propagates() -> None:
    """An AssertionError raised by on_success escapes ``start()``."""

    def on_success(*, tasks: list[Task]) -> None:
        assert len(tasks) == 5, "workflow check"

    workflow = _flow()
    workflow.task.add(one)
    with pytest.raises(AssertionError, match="workflow check"):
        workflow.start(on_success=on_success)


def test_empty_workflow_completes() -> None:
    """A workflow with no tasks completes and calls on_success with an empty list."""
    calls: list[list[Task]] = []
    manager = _flow().start(on_success=lambda *, tasks: calls.append(tasks))
    assert manager.status is TypeStatus.COMPLETED
    assert calls == [[]]


# --- context variables in pooled modes ----------------------------------------------------------

TENANT: contextvars.ContextVar[str] = contextvars.ContextVar("TENANT", default="unset")


@action
def reads_tenant() -> str:
    return TENANT.get()


@pytest.mark.parametrize("mode", ["parallel", "sequential_group", "background"])
def test_pooled_steps_see_the_callers_context_vars(mode: str) -> None:
    """Steps run on pool or background threads see the ContextVars set by the caller of ``start()``."""
    workflow = _flow()
    workflow.task.add(reads_tenant, group_name="a")
    workflow.task.add(reads_tenant, group_name="b")
    token = TENANT.set("tenant-7")
    try:
        workflow.start(mode=mode).wait(timeout=WAIT)
    finally:
        TENANT.reset(token)
    assert workflow.result_storage() == ["tenant-7", "tenant-7"]


@pytest.mark.parametrize("mode", ["parallel", "sequential_group", "background"])
def test_steps_on_processes_do_not_see_the_callers_context_vars(mode: str) -> None:
    """A worker process imports the step's module afresh: it sees the ContextVar's default, not the caller's value."""
    workflow = _flow()
    workflow.task.add(reads_tenant, group_name="a")
    workflow.task.add(reads_tenant, group_name="b")
    token = TENANT.set("tenant-7")
    try:
        workflow.start(mode=mode, executor="process").wait(timeout=WAIT)
    finally:
        TENANT.reset(token)
    assert workflow.result_storage() == ["unset", "unset"]


# --- interruption -------------------------------------------------------------------------------


@pytest.fixture
def sigusr1_exits() -> Any:
    """SIGUSR1 raises SystemExit(143) in the main thread for the test's duration; yields a sender."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGUSR1, handler)
    main = threading.main_thread().ident
    assert main == threading.get_ident()
    try:
        yield lambda: signal.pthread_kill(main, signal.SIGUSR1)  # type: ignore[arg-type]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def _join_new_dotflow_threads(before: set[threading.Thread]) -> None:
    """Wait (bounded) for every worker thread dotflow started since ``before`` to end."""
    for _ in range(200):
        alive = [t for t in threading.enumerate() if t not in before and t.name.startswith("dotflow")]
        if not alive:
            return
        for thread in alive:
            if thread.ident is not None:  # started: join it; one still starting is seen next round
                thread.join(WAIT)
        time.sleep(0.01)
    raise AssertionError(f"dotflow threads still running: {alive}")


def _wait_until_main_thread_is_in(function: str) -> None:
    """Wait (bounded) until the main thread's stack holds a frame of ``Manager.<function>``."""
    main = threading.main_thread().ident
    for _ in range(2000):
        frame = sys._current_frames().get(main)  # type: ignore[arg-type]
        while frame is not None:
            code = frame.f_code
            if code.co_name == function and code.co_filename.endswith(os.path.join("execution", "manager.py")):
                return
            frame = frame.f_back
        time.sleep(0.005)
    raise AssertionError(f"the main thread never reached {function}()")


def _interruptible(send: Any, waits_in: str) -> tuple[DotFlow, RecordingServer, threading.Event, threading.Event]:
    """A workflow of two groups: one finishes; in the other a step signals the main thread (once it
    waits in ``waits_in``) and blocks until released, and a task waits behind it (Not started)."""
    release, finished = threading.Event(), threading.Event()

    @action
    def blocks() -> str:
        _wait_until_main_thread_is_in(waits_in)
        send()
        assert release.wait(WAIT), "never released"
        finished.set()
        return "late"

    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(one, group_name="quick")
    workflow.task.add(blocks, group_name="slow")
    workflow.task.add(one, group_name="slow")
    return workflow, server, release, finished


@pytest.mark.parametrize("mode", ["sequential_group", "background"])
def test_an_interrupted_run_fails_every_unfinished_task_for_good(mode: str, sigusr1_exits: Any) -> None:
    """SystemExit in the caller's thread marks unfinished tasks Failed ("interrupted") and the workflow Failed;
    a step that finishes later reports nothing more."""
    before = set(threading.enumerate())
    workflow, server, release, finished = _interruptible(sigusr1_exits, "wait" if mode == "background" else "run")
    try:
        with pytest.raises(SystemExit):
            workflow.start(mode=mode).wait(timeout=WAIT)
        quick, slow, behind = workflow.result_task()
        assert [t.status for t in (slow, behind)] == ["Failed", "Failed"]
        assert slow.errors[-1].message == "interrupted" and behind.errors[-1].message == "interrupted"
        assert ("update_workflow", "Failed") in server.events()
    finally:
        release.set()
    assert finished.wait(WAIT)
    _join_new_dotflow_threads(before)
    assert [t.status for t in (slow, behind)] == ["Failed", "Failed"]
    assert server.task_statuses(slow.task_id) == ["In progress", "Failed"]
    assert server.task_statuses(behind.task_id) == ["Failed"]
    assert [e for e in server.events() if e[0] == "update_workflow"] == [
        ("update_workflow", "In progress"),
        ("update_workflow", "Failed"),
    ]
    assert quick.status is not TypeStatus.IN_PROGRESS


def test_an_interrupted_parallel_run_does_not_wait_for_the_pool(sigusr1_exits: Any) -> None:
    """In parallel mode the interruption returns while a step still blocks, and that step's task stays Failed."""
    before = set(threading.enumerate())
    workflow, server, release, finished = _interruptible(sigusr1_exits, "run")
    try:
        with pytest.raises(SystemExit):
            workflow.start(mode="parallel", max_workers=3)
        assert not finished.is_set()  # start() did not wait for the blocked step
        slow = workflow.result_task()[1]
        assert slow.status is TypeStatus.FAILED and slow.errors[-1].message == "interrupted"
    finally:
        release.set()
    assert finished.wait(WAIT)
    _join_new_dotflow_threads(before)
    assert slow.status is TypeStatus.FAILED
    assert "Completed" not in server.task_statuses(slow.task_id)
    assert [e for e in server.events() if e[0] == "update_workflow"] == [
        ("update_workflow", "In progress"),
        ("update_workflow", "Failed"),
    ]


@pytest.mark.parametrize("mode", ["sequential_group", "background", "parallel"])
def test_a_signal_taken_by_a_step_thread_still_interrupts_at_once(mode: str, sigusr1_exits: Any) -> None:
    """A process-wide signal may land on any thread; taken by a step's thread, its handler must
    still run in the main thread while that step blocks, not when the step ends."""
    before = set(threading.enumerate())
    workflow, server, release, finished = _interruptible(
        lambda: signal.raise_signal(signal.SIGUSR1), "wait" if mode == "background" else "run"
    )
    try:
        with pytest.raises(SystemExit):
            workflow.start(mode=mode).wait(timeout=WAIT)
        assert not finished.is_set()  # the interruption did not wait for the blocked step
        slow = workflow.result_task()[1]
        assert slow.status is TypeStatus.FAILED and slow.errors[-1].message == "interrupted"
    finally:
        release.set()
    assert finished.wait(WAIT)
    _join_new_dotflow_threads(before)
    assert ("update_workflow", "Failed") in server.events()
