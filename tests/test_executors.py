"""Executors: ``start(executor=...)`` and ``workflow.executor``, the process pool, Executor instances.

Whatever the executor, the run's own threads keep statuses, retries, timeouts, callbacks,
storage and reports: these tests run the same workflows on threads and on processes and
check that the outcome and the server's view are the same, and that what only a process can
do (a timed-out step really stopped, a dead worker noticed) happens.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import engine_support
import executor_steps as steps
import pytest
from engine_support import RecordingServer

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.errors import (
    ConfigError,
    RemoteStepError,
    StepExitError,
    StepPickleError,
    StepTimeoutError,
    UsageError,
    WorkerDiedError,
)
from dotflow.execution.executors import FORMS, executor_problem
from dotflow.profiles import resolve
from dotflow.providers import StorageFile

EXECUTORS = ["thread", "process"]
WAIT = steps.WAIT


def _flow(server: RecordingServer | None = None, workflow_id: str = "wf-executors", **config: Any) -> DotFlow:
    return DotFlow(config=Config(server=server, **config), workflow_id=workflow_id)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too: it only waits to be reaped
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _gone(pid: int) -> bool:
    """Whether process ``pid`` has ended, waiting (bounded) for it to."""
    deadline = time.monotonic() + WAIT
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- choosing an executor ------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["proces", "Thread", "http://h:8786", "tcp://h", "tcp://h:0", "tcp://h:8786/x", ""])
def test_an_unknown_executor_is_refused_before_any_report(bad: str) -> None:
    """``start(executor=<bad string>)`` raises a one-line UsageError naming the allowed forms; nothing runs."""
    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(steps.one)
    before = list(server.calls)
    with pytest.raises(UsageError) as info:
        workflow.start(mode="parallel", executor=bad)
    message = str(info.value)
    assert message.startswith(f"executor={bad!r} ") and "\n" not in message
    assert "tcp://" in message
    assert server.calls == before
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


def test_a_non_executor_object_is_refused() -> None:
    """An object that is neither a known string nor a concurrent.futures.Executor is a UsageError."""
    workflow = _flow()
    workflow.task.add(steps.one)
    with pytest.raises(UsageError, match="concurrent.futures.Executor"):
        workflow.start(executor=object())


@pytest.mark.parametrize("bad", ["proces", "tcp://h", "http://h:1", "dask://h:1"])
def test_start_and_the_profile_share_one_validator(bad: str) -> None:
    """``start()`` and ``workflow.executor`` reject the same values with the same reason."""
    problem = executor_problem(bad)
    assert problem
    with pytest.raises(ConfigError) as info:
        resolve(env={"DOTFLOW_WORKFLOW_EXECUTOR": bad, "XDG_CONFIG_HOME": "/nonexistent"}, cwd="/")
    assert str(info.value).endswith(problem)
    workflow = _flow()
    with pytest.raises(UsageError) as usage:
        workflow.start(executor=bad)
    assert str(usage.value) == f"executor={bad!r} {problem}"


@pytest.mark.parametrize("good", ["thread", "process", "dask", "tcp://127.0.0.1:8786", "tls://scheduler.internal:8786"])
def test_the_allowed_forms_pass_the_validator(good: str) -> None:
    """The documented forms are valid settings, and the message of a bad one names them."""
    assert executor_problem(good) is None
    assert "thread" in FORMS and "process" in FORMS and "dask" in FORMS


def test_profile_executor_and_max_workers_reach_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``[workflow] executor`` and ``max_workers`` in dotflow.toml (or their variables) are start()'s defaults."""
    (tmp_path / "dotflow.toml").write_text('[workflow]\nmode = "parallel"\nexecutor = "process"\nmax_workers = 2\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in [n for n in os.environ if n.startswith("DOTFLOW_") or n in ("WORKFLOW_ID", "SERVER_BASE_URL")]:
        monkeypatch.delenv(name)
    workflow = DotFlow()
    workflow.task.add([steps.pid] * 4)
    workflow.start()
    pids = set(workflow.result_storage())
    assert os.getpid() not in pids and 1 <= len(pids) <= 2
    monkeypatch.setenv("DOTFLOW_WORKFLOW_EXECUTOR", "thread")
    workflow = DotFlow()
    workflow.task.add([steps.pid] * 2)
    workflow.start()
    assert workflow.result_storage() == [os.getpid()] * 2


def test_import_and_a_thread_run_load_no_pickling_or_dask() -> None:
    """A parallel run on threads imports neither cloudpickle nor distributed nor dask."""
    code = (
        "import sys, json\n"
        "from dotflow import Config, DotFlow, action\n"
        "@action\n"
        "def step(): return 1\n"
        "w = DotFlow(config=Config()); w.task.add([step, step]); w.start(mode='parallel')\n"
        "assert w.result_storage() == [1, 1]\n"
        "heavy = ('cloudpickle', 'distributed', 'dask')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    assert json.loads(engine_support.run_python(code)) == []


# --- the process pool ----------------------------------------------------------------------------


def test_process_steps_run_in_other_processes_bounded_by_max_workers() -> None:
    """With executor="process" and max_workers=2, six steps run in at most two processes, none of them this one."""
    workflow = _flow()
    workflow.task.add([steps.pid] * 6)
    manager = workflow.start(mode="parallel", executor="process", max_workers=2)
    pids = set(workflow.result_storage())
    assert manager.status is TypeStatus.COMPLETED
    assert os.getpid() not in pids and 1 <= len(pids) <= 2


def test_process_steps_run_at_the_same_time(tmp_path: Path) -> None:
    """Three parallel steps in three worker processes all reach a cross-process barrier."""
    workflow = _flow()
    for name in "abc":
        workflow.task.add(steps.meet, initial_context=[str(tmp_path), name, 3])
    workflow.start(mode="parallel", executor="process", max_workers=3)
    assert [t.status for t in workflow.result_task()] == ["Completed"] * 3
    assert len(set(workflow.result_storage())) == 3


def test_cpu_bound_steps_hold_no_shared_lock() -> None:
    """Two CPU-bound steps on processes run in two processes at once: each spins while the other does.

    (On threads they would take turns on the GIL; how much faster that makes a run is the
    benchmark's business, bench_executors.py, not a timed test's on a shared machine.)
    """

    @action
    def spin() -> list[float]:
        begin = time.time()
        steps.burn(0.3)
        return [begin, time.time(), os.getpid()]

    workflow = _flow()
    workflow.task.add([spin, spin])
    workflow.start(mode="parallel", executor="process", max_workers=2)
    (begin_a, end_a, pid_a), (begin_b, end_b, pid_b) = workflow.result_storage()
    assert pid_a != pid_b and os.getpid() not in (pid_a, pid_b)
    assert begin_a < end_b and begin_b < end_a  # the two spins overlapped in time


@pytest.mark.parametrize("mode", ["sequential", "background"])
def test_the_executor_runs_the_steps_of_sequential_runs_too(mode: str) -> None:
    """executor="process" also applies to sequential and background runs: one worker, contexts chained."""
    workflow = _flow()
    workflow.task.add([steps.one, steps.add_one, steps.add_one, steps.pid])
    workflow.start(mode=mode, executor="process").wait(timeout=WAIT)
    assert workflow.result_storage()[:3] == [1, 2, 3]
    assert workflow.result_storage()[3] != os.getpid()


def test_a_timed_out_step_is_stopped_and_the_run_goes_on(tmp_path: Path) -> None:
    """Under process a step past its timeout fails with StepTimeoutError, is not retried, and its process is killed."""
    workflow = _flow()
    workflow.task.add(steps.spins, initial_context=str(tmp_path))
    workflow.task.add(steps.pid)
    begin = time.perf_counter()
    manager = workflow.start(mode="sequential", executor="process", keep_going=True)
    elapsed = time.perf_counter() - begin
    spun, after = workflow.result_task()
    assert (spun.status, after.status, manager.status) == ("Failed", "Completed", "Failed")
    error = spun.errors[-1]
    assert isinstance(error.error, StepTimeoutError) and len(spun.errors) == 1
    pid = int((tmp_path / "spinner").read_text())
    assert error.message == (
        f"step executor_steps.spins timed out after 0.5s; its worker process (pid {pid}) was killed, "
        "so the step stopped (a new worker takes its place)"
    )
    assert _gone(pid)
    assert after.current_context.storage not in (pid, os.getpid())  # a new worker ran the next step
    assert elapsed < 5


def test_a_worker_that_dies_mid_step_fails_the_task_and_keep_going_runs_on() -> None:
    """A worker killed mid-step fails its task with one line naming the step and the exit code; the run goes on."""
    workflow = _flow()
    workflow.task.add([steps.dies, steps.one])
    manager = workflow.start(executor="process", keep_going=True)
    died, later = workflow.result_task()
    assert (died.status, later.status, manager.status) == ("Failed", "Completed", "Failed")
    error = died.errors[-1]
    assert isinstance(error.error, WorkerDiedError)
    assert error.message.startswith("the worker process (pid ") and error.message.endswith(
        "running step executor_steps.dies died (exit code 7)"
    )


def test_a_worker_death_is_retried_on_a_new_worker(tmp_path: Path) -> None:
    """A step whose worker dies (SIGKILL) is retried like any failure, in a fresh worker process."""
    workflow = _flow()
    workflow.task.add(steps.dies_once, initial_context=str(tmp_path))
    workflow.start(mode="parallel", executor="process")
    task = workflow.result_task()[0]
    assert task.status is TypeStatus.COMPLETED and task.retry_count == 1
    assert "SIGKILL" in task.errors[0].message
    assert task.current_context.storage != int((tmp_path / "died").read_text())


def test_an_unpicklable_step_fails_its_task_with_one_line_naming_it() -> None:
    """A step closing over a lock fails (not retried) with StepPickleError naming it; the other steps run."""
    lock = threading.Lock()

    @action(retry=3, retry_delay=0)
    def locked() -> int:
        with lock:
            return 1

    workflow = _flow()
    workflow.task.add([locked, steps.one])
    workflow.start(mode="parallel", executor="process")
    bad, good = workflow.result_task()
    assert (bad.status, good.status) == ("Failed", "Completed")
    assert len(bad.errors) == 1 and isinstance(bad.errors[0].error, StepPickleError)
    message = bad.errors[0].message
    assert "\n" not in message
    assert message.startswith(
        "step test_executors.test_an_unpicklable_step_fails_its_task_with_one_line_naming_it.<locals>.locked "
        "cannot be sent to a worker process: TypeError: cannot pickle '_thread.lock' object; define it at module level"
    )


def test_an_unpicklable_input_is_named() -> None:
    """An initial context that cannot be pickled fails the task with a message naming initial_context."""
    workflow = _flow()
    workflow.task.add(steps.echo, initial_context=threading.Lock())
    workflow.start(executor="process")
    message = workflow.result_task()[0].errors[-1].message
    assert message.startswith("the initial_context of step executor_steps.echo cannot be sent to a worker process:")


def test_an_unpicklable_result_fails_its_task_with_one_line_naming_it() -> None:
    """A result that cannot be pickled back fails the task (not retried) with StepPickleError naming the step."""
    workflow = _flow()
    workflow.task.add(steps.returns_a_generator)
    workflow.start(executor="process")
    task = workflow.result_task()[0]
    assert task.status is TypeStatus.FAILED and isinstance(task.errors[-1].error, StepPickleError)
    assert task.errors[-1].message.startswith(
        "the result of step executor_steps.returns_a_generator cannot be sent back from a worker process: "
        "TypeError: cannot pickle 'generator' object"
    )


def test_a_step_error_keeps_its_type_message_and_the_workers_traceback(executor: str) -> None:
    """A step's exception arrives as itself (retried as usual); under process the traceback shows the worker's."""
    workflow = _flow()
    workflow.task.add(steps.fails_three_times)
    workflow.start(executor=executor)
    task = workflow.result_task()[0]
    assert task.retry_count == 2 and len(task.errors) == 3
    assert all(isinstance(e.error, ValueError) and e.message == "fails on purpose" for e in task.errors)
    assert 'raise ValueError("fails on purpose")' in task.errors[-1].traceback


def test_an_exception_that_cannot_be_recreated_becomes_a_remote_step_error() -> None:
    """An exception whose class cannot be rebuilt from its args fails the task as RemoteStepError naming its type."""
    workflow = _flow()
    workflow.task.add(steps.raises_custom)
    workflow.start(executor="process")
    error = workflow.result_task()[0].errors[-1]
    assert isinstance(error.error, (RemoteStepError, steps.NeedsTwoArguments))
    assert "a+b" in error.message


def test_an_assertion_in_a_step_propagates_out_of_start(executor: str) -> None:
    """An AssertionError raised by a step (in a worker too) fails its task and escapes start()."""
    workflow = _flow()
    workflow.task.add([steps.one, steps.asserts])
    with pytest.raises(AssertionError, match="checked in a worker"):
        workflow.start(mode="parallel", executor=executor)
    assert [t.status for t in workflow.result_task()] == ["Completed", "Failed"]


def test_sys_exit_in_a_step_fails_that_step_only(executor: str) -> None:
    """A step's sys.exit() fails it with StepExitError, on any executor, and the run goes on."""
    workflow = _flow()
    workflow.task.add([steps.exits, steps.one])
    workflow.start(executor=executor, keep_going=True)
    exited, later = workflow.result_task()
    assert isinstance(exited.errors[-1].error, StepExitError) and later.status is TypeStatus.COMPLETED


def test_class_async_and_returned_instance_steps_keep_their_result_shape(executor: str) -> None:
    """A class step's result is its methods' Contexts, an async step's its value, on threads and processes."""
    workflow = _flow()
    workflow.task.add(steps.Chain)
    workflow.task.add(steps.coroutine_step, initial_context="in")
    workflow.start(mode="parallel", executor=executor)
    chain, coroutine = workflow.result_storage()
    assert [type(c) for c in chain] == [Context, Context] and [c.storage for c in chain] == [10, 11]
    assert coroutine[:2] == ["async", "in"]
    assert (coroutine[2] == os.getpid()) is (executor == "thread")


def test_a_methods_own_timeout_fails_the_task_and_the_worker_is_replaced() -> None:
    """A class step method's own timeout abandons it in the worker; the task fails, the next one gets a fresh worker."""
    workflow = _flow()
    workflow.task.add([steps.SlowMethod, steps.pid])
    begin = time.perf_counter()
    workflow.start(executor="process", keep_going=True)
    slow, after = workflow.result_task()
    assert isinstance(slow.errors[-1].error, StepTimeoutError)
    assert after.status is TypeStatus.COMPLETED
    assert time.perf_counter() - begin < 4  # the abandoned 5 s sleep was not waited for


def test_steps_defined_in_main_and_closures_run_in_a_script_without_a_main_guard(tmp_path: Path) -> None:
    """A script with __main__ steps, a closure and a class step, and no ``if __name__`` guard, runs on processes."""
    script = tmp_path / "pipeline.py"
    script.write_text(
        "import os\n"
        "from dotflow import Config, DotFlow, action\n"
        "\n"
        "@action\n"
        "def square(initial_context):\n"
        "    return [initial_context.storage ** 2, os.getpid()]\n"
        "\n"
        "def make(offset):\n"
        "    @action\n"
        "    def shifted(initial_context):\n"
        "        return [initial_context.storage + offset, os.getpid()]\n"
        "    return shifted\n"
        "\n"
        "@action\n"
        "class Pair:\n"
        "    @action\n"
        "    def left(self):\n"
        "        return 'L'\n"
        "    @action\n"
        "    def right(self, previous_context):\n"
        "        return previous_context.storage + 'R'\n"
        "\n"
        "flow = DotFlow(config=Config())\n"
        "flow.task.add(square, initial_context=3)\n"
        "flow.task.add(make(100), initial_context=1)\n"
        "flow.task.add(Pair)\n"
        "flow.start(mode='parallel', executor='process')\n"
        "square_, shifted_, pair = flow.result_storage()\n"
        "print(square_[0], shifted_[0], [c.storage for c in pair], square_[1] != os.getpid())\n"
    )
    assert engine_support.run_python(script, cwd=tmp_path).split() == ["9", "101", "['L',", "'LR']", "True"]


def test_context_vars_do_not_cross_to_a_process() -> None:
    """Unlike threads, a worker process does not see the ContextVars the caller set (they are not copied)."""
    import test_modes

    workflow = _flow()
    workflow.task.add(test_modes.reads_tenant)
    token = test_modes.TENANT.set("tenant-7")
    try:
        workflow.start(mode="parallel", executor="process")
    finally:
        test_modes.TENANT.reset(token)
    assert workflow.result_storage() == ["unset"]


def test_no_worker_outlives_the_run(tmp_path: Path) -> None:
    """When start() returns, the run's worker processes have ended."""
    workflow = _flow()
    for n in range(4):
        workflow.task.add(steps.writes_pid, initial_context=str(tmp_path / f"pid{n}"))
    workflow.start(mode="parallel", executor="process", max_workers=2)
    pids = set(workflow.result_storage())
    assert len(pids) <= 2 and all(_gone(pid) for pid in pids)


# --- the same run, the same view: thread against process -----------------------------------------


def _mixed(server: RecordingServer, storage: Any = None, workflow_id: str = "wf-view") -> DotFlow:
    config: dict[str, Any] = {} if storage is None else {"storage": storage}
    workflow = _flow(server, workflow_id=workflow_id, **config)
    workflow.task.add(steps.one, group_name="a")
    workflow.task.add(steps.add_one, group_name="a")
    workflow.task.add(steps.fails_three_times, group_name="b")
    workflow.task.add(steps.exits, group_name="b")
    workflow.task.add(steps.echo, initial_context={"k": [1, 2]}, group_name="c")
    return workflow


@pytest.mark.parametrize("mode", ["parallel", "sequential_group"])
def test_the_server_sees_the_same_run_on_threads_and_processes(mode: str) -> None:
    """Each task's reported status sequence, retry count, errors, results and the workflow's reports match."""
    seen = {}
    for executor in EXECUTORS:
        server = RecordingServer()
        workflow = _mixed(server)
        calls: list[str] = []
        manager = workflow.start(
            mode=mode, executor=executor, keep_going=True, on_failure=lambda tasks: calls.append(len(tasks))
        )
        seen[executor] = (
            manager.status,
            calls,
            [(t.task_id, server.task_statuses(t.task_id)) for t in workflow.result_task()],
            [(t.status, t.retry_count, [e.message for e in t.errors]) for t in workflow.result_task()],
            workflow.result_storage(),
            [e for e in server.events() if e[0] == "update_workflow"],
        )
    assert seen["process"] == seen["thread"]
    assert seen["thread"][0] == "Failed" and seen["thread"][1] == [5]


def test_resume_and_fingerprints_work_the_same_on_processes(tmp_path: Path) -> None:
    """A resumed run on processes skips the stored tasks (thread checkpoints included) and checks the inputs."""
    storage = StorageFile(path=str(tmp_path))
    first = _mixed(RecordingServer(), storage=storage, workflow_id="wf-resume")
    first.start(mode="sequential_group", executor="thread", keep_going=True)
    again_server = RecordingServer()
    again = _mixed(again_server, storage=StorageFile(path=str(tmp_path)), workflow_id="wf-resume")
    assert again.fingerprint() == first.fingerprint()
    again.start(mode="sequential_group", executor="process", keep_going=True, resume=True)
    assert again.result_storage() == first.result_storage()
    ran = [t.task_id for t in again.result_task() if "In progress" in again_server.task_statuses(t.task_id)]
    failed = [t.task_id for t in first.result_task() if t.status is TypeStatus.FAILED]
    assert ran == failed


# --- Executor instances --------------------------------------------------------------------------


def test_a_process_pool_executor_instance_runs_the_steps_and_stays_open() -> None:
    """A ProcessPoolExecutor passed in runs the steps in its processes; the run does not shut it down."""
    with ProcessPoolExecutor(max_workers=2) as pool:
        workflow = _flow()
        workflow.task.add([steps.pid, steps.pid, steps.Chain])
        workflow.start(mode="parallel", executor=pool)
        first, second, chain = workflow.result_storage()
        assert os.getpid() not in (first, second)
        assert [c.storage for c in chain] == [10, 11]
        assert pool.submit(os.getpid).result(WAIT) != os.getpid()  # still open


def test_a_broken_process_pool_fails_the_task_with_a_clear_error() -> None:
    """A worker of a user's ProcessPoolExecutor that dies mid-step fails the task with WorkerDiedError naming it."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        workflow = _flow()
        workflow.task.add(steps.dies)
        workflow.start(executor=pool)
    error = workflow.result_task()[0].errors[-1]
    assert isinstance(error.error, WorkerDiedError)
    assert error.message.startswith("the ProcessPoolExecutor worker running step executor_steps.dies was lost (")


def test_an_executor_instance_abandons_a_timed_out_step() -> None:
    """An Executor cannot stop a running call: the timed-out task fails with StepTimeoutError saying so."""
    release = threading.Event()

    @action(timeout=0.2)
    def waits() -> None:
        release.wait(WAIT)

    with ThreadPoolExecutor(max_workers=1) as pool:
        workflow = _flow()
        workflow.task.add(waits)
        try:
            workflow.start(executor=pool)
        finally:
            release.set()
    error = workflow.result_task()[0].errors[-1]
    assert isinstance(error.error, StepTimeoutError)
    assert error.message.endswith(
        "timed out after 0.2s; ThreadPoolExecutor cannot stop a running call, so it was abandoned and runs on "
        "in its worker until it returns"
    )


# --- interruption --------------------------------------------------------------------------------


@pytest.fixture
def sigusr1_exits() -> Any:
    """SIGUSR1 raises SystemExit(143) in the main thread for the test's duration."""

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(143)

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


@pytest.mark.parametrize("mode", ["sequential_group", "background"])
def test_an_interrupted_process_run_kills_its_workers(mode: str, tmp_path: Path, sigusr1_exits: Any) -> None:
    """SystemExit in the caller's thread (in start(), or in wait() for a background run) ends a process run at
    once: the unfinished tasks are Failed "interrupted" and the busy worker is killed."""
    main = threading.main_thread().ident
    assert main is not None

    def interrupt_when_blocked() -> None:
        deadline = time.monotonic() + WAIT
        while not (tmp_path / "blocked").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        signal.pthread_kill(main, signal.SIGUSR1)

    server = RecordingServer()
    workflow = _flow(server)
    workflow.task.add(steps.one, group_name="quick")
    workflow.task.add(steps.blocks, initial_context=str(tmp_path), group_name="slow")
    workflow.task.add(steps.one, group_name="slow")
    sender = threading.Thread(target=interrupt_when_blocked, daemon=True)
    sender.start()
    begin = time.perf_counter()
    with pytest.raises(SystemExit):
        workflow.start(mode=mode, executor="process").wait(timeout=WAIT)
    sender.join(WAIT)
    assert time.perf_counter() - begin < WAIT
    _, blocked, behind = workflow.result_task()
    assert [t.status for t in (blocked, behind)] == ["Failed", "Failed"]
    assert blocked.errors[-1].message == "interrupted" and behind.errors[-1].message == "interrupted"
    assert _gone(int((tmp_path / "blocked").read_text()))
    assert not (tmp_path / "woke").exists()
    assert server.task_statuses(blocked.task_id) == ["In progress", "Failed"]


if sys.platform == "win32":  # pragma: no cover - the process pool needs fork and SCM_RIGHTS
    pytestmark = pytest.mark.skip("POSIX only")
