"""``@action``: options, retries, delays, timeouts, and how sync, async and class steps are called."""

from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import threading
import weakref
from typing import Any

import pytest

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.errors import DotflowError, StepTimeoutError, UsageError
from dotflow.execution.run import Run


def _flow() -> DotFlow:
    return DotFlow(config=Config(), workflow_id="actions")


def _run(*steps: Any, **start: Any) -> DotFlow:
    workflow = _flow()
    for step in steps:
        workflow.task.add(step)
    workflow.start(**start)
    return workflow


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every delay the runner waits between attempts (a wait a cancel ends), recorded instead of waited."""
    recorded: list[float] = []

    def wait(self: Run, task_id: str, seconds: float) -> bool:
        recorded.append(seconds)
        return False

    monkeypatch.setattr(Run, "wait_unless_cancelled", wait)
    return recorded


def _flaky(failures: int, **options: Any) -> tuple[Any, list[int]]:
    """A step that raises on its first ``failures`` calls and then returns the call count."""
    calls: list[int] = []

    @action(**options)
    def step() -> int:
        calls.append(len(calls) + 1)
        if len(calls) <= failures:
            raise RuntimeError(f"failure {len(calls)}")
        return len(calls)

    return step, calls


# --- decorating -------------------------------------------------------------------------------


def test_bare_action_returns_the_same_callable() -> None:
    """``@action`` bare leaves the function callable directly, returning its own value."""

    @action
    def double(x: int = 2) -> int:
        return x * 2

    assert double(5) == 10
    assert _run(double).result_storage() == [4]


def test_action_with_options_is_accepted() -> None:
    """``@action(retry=3, timeout=10, retry_delay=2, backoff=True)`` marks a runnable step."""

    @action(retry=3, timeout=10, retry_delay=2, backoff=True)
    def step() -> str:
        return "ran"

    workflow = _run(step)
    assert workflow.result_storage() == ["ran"]
    assert workflow.result_task()[0].status is TypeStatus.COMPLETED


def test_action_on_a_non_callable_raises_usage_error() -> None:
    """Decorating something that is not callable is a UsageError naming the type."""
    with pytest.raises(UsageError, match="int"):
        action(retry=2)(42)


# --- retry ------------------------------------------------------------------------------------


def test_retry_is_the_total_number_of_attempts(sleeps: list[float]) -> None:
    """``retry=3`` on a step that always fails makes exactly three attempts."""
    step, calls = _flaky(99, retry=3)
    task = _run(step).result_task()[0]
    assert calls == [1, 2, 3]
    assert task.status is TypeStatus.FAILED
    assert [error.attempt for error in task.errors] == [1, 2, 3]
    assert task.retry_count == 2


def test_retry_succeeds_on_a_later_attempt(sleeps: list[float]) -> None:
    """A step that fails twice then succeeds completes with ``retry=3`` and keeps both errors."""
    step, calls = _flaky(2, retry=3)
    task = _run(step).result_task()[0]
    assert task.status is TypeStatus.COMPLETED
    assert task.current_context.storage == 3
    assert [error.message for error in task.errors] == ["failure 1", "failure 2"]
    assert task.retry_count == 2


def test_default_is_a_single_attempt(sleeps: list[float]) -> None:
    """A bare ``@action`` step that fails is not retried."""
    step, calls = _flaky(99)
    task = _run(step).result_task()[0]
    assert calls == [1]
    assert task.status is TypeStatus.FAILED
    assert sleeps == []


@pytest.mark.parametrize("retry", [0, -1, -100])
def test_retry_under_one_counts_as_one(retry: int, sleeps: list[float]) -> None:
    """``retry`` values under 1 still make exactly one attempt."""
    step, calls = _flaky(99, retry=retry)
    assert _run(step).result_task()[0].status is TypeStatus.FAILED
    assert calls == [1]


def test_retry_delay_defaults_to_one_second(sleeps: list[float]) -> None:
    """Without ``retry_delay`` the runner waits 1 second between attempts."""
    step, _ = _flaky(99, retry=3)
    _run(step)
    assert sleeps == [1, 1]


def test_retry_delay_is_constant_without_backoff(sleeps: list[float]) -> None:
    """``retry_delay=0.5`` waits 0.5 s before every further attempt, and not after the last."""
    step, _ = _flaky(99, retry=4, retry_delay=0.5)
    _run(step)
    assert sleeps == [0.5, 0.5, 0.5]


def test_backoff_doubles_the_delay_after_each_failure(sleeps: list[float]) -> None:
    """``backoff=True`` turns a 0.5 s delay into 0.5, 1 and 2 seconds."""
    step, _ = _flaky(99, retry=4, retry_delay=0.5, backoff=True)
    _run(step)
    assert sleeps == [0.5, 1.0, 2.0]


def test_no_delay_after_a_successful_attempt(sleeps: list[float]) -> None:
    """A retried step that succeeds on attempt 2 sleeps once, between attempts 1 and 2."""
    step, _ = _flaky(1, retry=5, retry_delay=3)
    _run(step)
    assert sleeps == [3]


def test_exception_mentioning_previous_context_is_still_retried(sleeps: list[float]) -> None:
    """A user error whose message contains "previous_context" is retried like any other (upstream bug)."""
    calls: list[int] = []

    @action(retry=3, retry_delay=0)
    def step(previous_context: Context) -> None:
        calls.append(1)
        raise KeyError("previous_context has no 'rows'")

    task = _run(step).result_task()[0]
    assert len(calls) == 3
    assert task.status is TypeStatus.FAILED
    assert all("previous_context" in error.message for error in task.errors)


# --- timeout ----------------------------------------------------------------------------------


def test_timeout_fails_the_task_and_is_not_retried(caplog: pytest.LogCaptureFixture, sleeps: list[float]) -> None:
    """An attempt past ``timeout`` fails the task with StepTimeoutError, skips retries, and logs the abandon."""
    release = threading.Event()
    calls: list[int] = []

    @action(retry=3, timeout=0.2)
    def stuck() -> None:
        calls.append(1)
        release.wait(30)

    try:
        with caplog.at_level(logging.WARNING, logger="dotflow"):
            task = _run(stuck).result_task()[0]
    finally:
        release.set()
    assert task.status is TypeStatus.FAILED
    assert calls == [1]
    assert len(task.errors) == 1
    assert isinstance(task.errors[0].error, StepTimeoutError)
    assert isinstance(task.errors[0].error, DotflowError)
    assert sleeps == []
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("stuck" in message and "abandoned" in message for message in warnings), warnings


def test_a_step_within_its_timeout_completes() -> None:
    """A step that finishes before ``timeout`` returns its value normally."""

    @action(timeout=30)
    def quick(initial_context: Context) -> Any:
        return initial_context.storage * 2

    workflow = _flow()
    workflow.task.add(quick, initial_context=21)
    workflow.start()
    assert workflow.result_storage() == [42]


def test_an_exception_within_a_timeout_is_retried(sleeps: list[float]) -> None:
    """An ordinary error from a step with a timeout is retried; only the timeout itself is final."""
    step, calls = _flaky(1, retry=2, timeout=30)
    assert _run(step).result_task()[0].status is TypeStatus.COMPLETED
    assert calls == [1, 2]


def test_async_timeout_cancels_the_step() -> None:
    """An ``async def`` step past its timeout is cancelled and fails the task with StepTimeoutError."""
    cancelled = threading.Event()

    @action(timeout=0.2, retry=2)
    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = _run(slow).result_task()[0]
    assert task.status is TypeStatus.FAILED
    assert len(task.errors) == 1
    assert isinstance(task.errors[0].error, StepTimeoutError)
    assert cancelled.is_set()


def test_a_class_step_timeout_bounds_the_whole_attempt(sleeps: list[float]) -> None:
    """``@action(timeout=...)`` on a class covers its methods: a slow method fails the task with StepTimeoutError."""
    release = threading.Event()
    entered = threading.Event()

    @action(timeout=0.3, retry=2)
    class Slow:
        @action
        def quick(self) -> int:
            return 1

        @action
        def stuck(self) -> None:
            entered.set()
            release.wait(30)

    try:
        task = _run(Slow).result_task()[0]
    finally:
        release.set()
    assert entered.is_set()
    assert task.status is TypeStatus.FAILED
    assert len(task.errors) == 1
    error = task.errors[0].error
    assert isinstance(error, StepTimeoutError)
    assert "Slow" in str(error) and "0.3s" in str(error)


def test_a_method_timeout_still_applies_inside_a_class_step() -> None:
    """A method's own shorter ``timeout`` still fails it inside a class step with a longer one."""
    release = threading.Event()

    @action(timeout=30)
    class Outer:
        @action(timeout=0.2)
        def stuck(self) -> None:
            release.wait(30)

    try:
        task = _run(Outer).result_task()[0]
    finally:
        release.set()
    assert task.status is TypeStatus.FAILED
    assert isinstance(task.errors[0].error, StepTimeoutError)
    assert "stuck" in str(task.errors[0].error)


def test_a_timeout_logs_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A timed-out step gives one WARNING line, the task's Failed line, which says it was abandoned."""
    release = threading.Event()

    @action(timeout=0.2)
    def hangs() -> None:
        release.wait(30)

    try:
        with caplog.at_level(logging.INFO, logger="dotflow"):
            _run(hangs)
    finally:
        release.set()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, warnings
    assert "Failed: StepTimeoutError" in warnings[0] and "abandoned" in warnings[0]


# --- context variables ----------------------------------------------------------------------------

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("REQUEST_ID", default="unset")


@action(timeout=30)
def reads_var_with_timeout() -> str:
    return REQUEST_ID.get()


@action
async def reads_var_async() -> str:
    return REQUEST_ID.get()


def test_a_step_with_a_timeout_sees_the_callers_context_vars() -> None:
    """A step run on a timeout thread sees the ContextVars set by the code that called ``start()``."""
    token = REQUEST_ID.set("req-timeout")
    try:
        workflow = _run(reads_var_with_timeout)
    finally:
        REQUEST_ID.reset(token)
    assert workflow.result_storage() == ["req-timeout"]


def test_an_async_step_inside_a_running_loop_sees_the_callers_context_vars() -> None:
    """An async step run on a helper thread (the caller's loop is busy) sees the caller's ContextVars."""

    async def main() -> DotFlow:
        REQUEST_ID.set("req-async")
        return _run(reads_var_async)

    assert asyncio.run(main()).result_storage() == ["req-async"]


# --- parameters ---------------------------------------------------------------------------------


def test_step_gets_only_the_parameters_it_names() -> None:
    """Steps naming none, one or both of initial_context / previous_context get exactly those."""
    seen: dict[str, Any] = {}

    @action
    def none() -> str:
        return "a"

    @action
    def only_previous(previous_context: Context) -> str:
        seen["only_previous"] = previous_context.storage
        return "b"

    @action
    def only_initial(initial_context: Context) -> str:
        seen["only_initial"] = initial_context.storage
        return "c"

    @action
    def both(previous_context: Context, initial_context: Context) -> str:
        seen["both"] = (initial_context.storage, previous_context.storage)
        return "d"

    workflow = _flow()
    workflow.task.add(none)
    workflow.task.add(only_previous, initial_context="init-b")
    workflow.task.add(only_initial, initial_context="init-c")
    workflow.task.add(both, initial_context="init-d")
    workflow.start()
    assert [t.status for t in workflow.result_task()] == [TypeStatus.COMPLETED] * 4
    assert seen == {"only_previous": "a", "only_initial": "init-c", "both": ("init-d", "c")}


def test_inputs_are_contexts() -> None:
    """initial_context and previous_context arrive as Context objects, an empty one when nothing was given."""
    seen: dict[str, Any] = {}

    @action
    def step(initial_context: Context, previous_context: Context) -> None:
        seen["initial"] = initial_context
        seen["previous"] = previous_context

    _run(step)
    assert isinstance(seen["initial"], Context) and seen["initial"].storage is None
    assert isinstance(seen["previous"], Context) and seen["previous"].storage is None


def test_return_value_becomes_current_context_storage() -> None:
    """A step's return value is its task's ``current_context.storage``, with the ids filled in."""

    @action
    def step() -> dict[str, int]:
        return {"rows": 3}

    task = _run(step).result_task()[0]
    assert isinstance(task.current_context, Context)
    assert task.current_context.storage == {"rows": 3}
    assert task.current_context.task_id == task.task_id
    assert task.current_context.workflow_id == "actions"


def test_callable_instance_step_gets_the_parameters_it_names() -> None:
    """An instance with a decorated ``__call__`` is a step whose parameters are read from ``__call__``."""

    class Adder:
        def __call__(self, initial_context: Context) -> int:
            return initial_context.storage + 1

    adder = action(Adder())
    workflow = _flow()
    workflow.task.add(adder, initial_context=1)
    workflow.start()
    assert workflow.result_storage() == [2]


# --- async -------------------------------------------------------------------------------------


@action
async def async_double(previous_context: Context) -> int:
    await asyncio.sleep(0)
    return previous_context.storage * 2


@action
def one() -> int:
    return 1


def test_async_step_runs_and_returns_its_value() -> None:
    """An ``async def`` step is awaited and its value flows on like a sync step's."""
    workflow = _run(one, async_double, async_double)
    assert workflow.result_storage() == [1, 2, 4]


def test_async_step_runs_when_start_is_called_inside_an_event_loop() -> None:
    """``start()`` called from a coroutine under ``asyncio.run`` still runs async steps to completion."""

    async def main() -> DotFlow:
        return _run(one, async_double)

    workflow = asyncio.run(main())
    assert workflow.result_storage() == [1, 2]
    assert [t.status for t in workflow.result_task()] == [TypeStatus.COMPLETED] * 2


def test_async_step_error_is_retried(sleeps: list[float]) -> None:
    """An exception raised by an ``async def`` step is recorded and retried."""
    calls: list[int] = []

    @action(retry=2)
    async def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first")
        return "second"

    task = _run(flaky).result_task()[0]
    assert task.status is TypeStatus.COMPLETED
    assert task.current_context.storage == "second"
    assert [e.message for e in task.errors] == ["first"]


def test_sync_step_returning_a_coroutine_is_awaited() -> None:
    """A plain function that returns a coroutine has that coroutine run, and its value kept."""

    async def later() -> str:
        return "awaited"

    @action
    def step() -> Any:
        return later()

    assert _run(step).result_storage() == ["awaited"]


# --- class steps -------------------------------------------------------------------------------


@action
class Pipeline:
    """Methods are defined out of alphabetical order, to prove source order is kept."""

    def __init__(self, initial_context: Context) -> None:
        self.base = initial_context.storage

    @action
    def zeta(self, previous_context: Context) -> dict[str, Any]:
        return {"step": "zeta", "got": previous_context.storage, "base": self.base}

    def helper(self) -> str:  # not an action: never run by the engine
        raise AssertionError("undecorated method ran")

    @action
    def alpha(self, previous_context: Context) -> dict[str, Any]:
        return {"step": "alpha", "got": previous_context.storage["step"]}

    @action
    def mid(self, previous_context: Context) -> str:
        return f"mid after {previous_context.storage['step']}"


def test_class_step_runs_action_methods_in_source_order() -> None:
    """A decorated class runs its ``@action`` methods in source order; each gets the previous one's context."""
    workflow = _flow()
    workflow.task.add(one)
    workflow.task.add(Pipeline, initial_context="base")
    workflow.start()
    task = workflow.result_task()[1]
    assert task.status is TypeStatus.COMPLETED
    result = task.current_context.storage
    assert isinstance(result, list) and all(isinstance(c, Context) for c in result)
    assert [c.storage for c in result] == [
        {"step": "zeta", "got": 1, "base": "base"},
        {"step": "alpha", "got": "zeta"},
        "mid after alpha",
    ]


def test_class_step_result_is_json_safe() -> None:
    """A class step's list of contexts serializes as the list of their values in ``result()``."""
    workflow = _flow()
    workflow.task.add(Pipeline, initial_context="b")
    workflow.start()
    current = workflow.result_task()[0].result()["current_context"]
    assert [item if isinstance(item, str) else item["step"] for item in current] == ["zeta", "alpha", "mid after alpha"]


@action
class NoInit:
    @action
    def first(self) -> int:
        return 10

    @action
    def second(self, previous_context: Context) -> int:
        return previous_context.storage + 1


def test_class_step_without_init_runs() -> None:
    """A decorated class with no ``__init__`` is instantiated without arguments and its methods run."""
    task = _run(NoInit).result_task()[0]
    assert task.status is TypeStatus.COMPLETED, task.errors
    assert [c.storage for c in task.current_context.storage] == [10, 11]


class Returned:
    def __init__(self, value: int) -> None:
        self.value = value

    @action
    def b_first(self) -> int:
        return self.value

    @action
    def a_second(self, previous_context: Context) -> int:
        return previous_context.storage * 10


def test_step_returning_an_instance_runs_its_action_methods() -> None:
    """A step that returns an instance with ``@action`` methods has them run; the result is their contexts."""

    @action
    def build(initial_context: Context) -> Returned:
        return Returned(initial_context.storage)

    workflow = _flow()
    workflow.task.add(build, initial_context=7)
    workflow.start()
    assert [c.storage for c in workflow.result_storage()[0]] == [7, 70]


def test_failing_class_method_fails_the_task(sleeps: list[float]) -> None:
    """An exception in one of a class step's methods fails the task, and the whole class is retried."""
    runs: list[str] = []

    @action(retry=2)
    class Breaks:
        @action
        def ok(self) -> str:
            runs.append("ok")
            return "ok"

        @action
        def boom(self) -> None:
            runs.append("boom")
            raise RuntimeError("method failed")

    task = _run(Breaks).result_task()[0]
    assert task.status is TypeStatus.FAILED
    assert runs == ["ok", "boom", "ok", "boom"]
    assert task.errors[-1].message == "method failed"


def test_instances_returned_by_steps_are_not_kept_alive() -> None:
    """Once the workflow is gone, the instance a step returned can be garbage-collected."""
    refs: list[weakref.ref[Returned]] = []

    @action
    def build() -> Returned:
        instance = Returned(1)
        refs.append(weakref.ref(instance))
        return instance

    workflow = _run(build)
    assert workflow.result_task()[0].status is TypeStatus.COMPLETED
    del workflow
    gc.collect()
    assert refs[0]() is None


def test_classes_made_at_run_time_are_not_kept_alive() -> None:
    """A class built inside a factory and used as a step can be garbage-collected once unused."""

    def factory() -> type:
        @action
        class Made:
            @action
            def run(self) -> str:
                return "made"

        return Made

    made = factory()
    workflow = _run(made)
    assert [c.storage for c in workflow.result_storage()[0]] == ["made"]
    ref = weakref.ref(made)
    del made, workflow
    gc.collect()
    assert ref() is None


# --- rejection ---------------------------------------------------------------------------------


def test_undecorated_step_is_rejected_at_add() -> None:
    """Adding a function without ``@action`` raises UsageError naming it and the fix, before any run."""

    def plain_function() -> None:
        raise AssertionError("must not run")

    workflow = _flow()
    with pytest.raises(UsageError) as info:
        workflow.task.add(plain_function)
    assert "plain_function" in str(info.value)
    assert "@action" in str(info.value)
    assert workflow.task.count() == 0


def test_non_callable_step_is_rejected_at_add() -> None:
    """Adding a value that is not callable raises UsageError naming the value."""
    workflow = _flow()
    with pytest.raises(UsageError, match="42"):
        workflow.task.add(42)
    assert workflow.task.count() == 0


def test_undecorated_step_in_a_list_is_rejected() -> None:
    """A list holding one undecorated function is rejected with a UsageError naming it."""

    def forgot() -> None: ...

    with pytest.raises(UsageError, match="forgot"):
        _flow().task.add([one, forgot])


# --- assertions --------------------------------------------------------------------------------


def test_assertion_error_in_a_step_propagates_out_of_start(sleeps: list[float]) -> None:
    """An AssertionError raised by a step escapes ``start()``, is not retried, and the task is Failed."""
    calls: list[int] = []

    @action(retry=3)
    def checks() -> None:
        calls.append(1)
        assert 1 == 2, "check in a step"

    workflow = _flow()
    workflow.task.add(checks)
    with pytest.raises(AssertionError, match="check in a step"):
        workflow.start()
    assert calls == [1]
    assert workflow.result_task()[0].status is TypeStatus.FAILED


def test_assertion_error_in_a_task_callback_propagates() -> None:
    """An AssertionError raised in a task callback escapes ``start()``."""

    def callback(task: Any) -> None:
        assert task.current_context.storage == 2, "callback check"

    workflow = _flow()
    workflow.task.add(one, callback=callback)
    with pytest.raises(AssertionError, match="callback check"):
        workflow.start()


def test_other_callback_errors_are_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A task callback raising a non-assert error is one WARNING line with the error, its traceback a
    DEBUG record of dotflow.traceback (what -v shows), and the run still completes."""

    def callback(task: Any) -> None:
        raise RuntimeError("callback broke")

    workflow = _flow()
    workflow.task.add(one, callback=callback)
    caplog.set_level(logging.WARNING, logger="dotflow")
    caplog.set_level(logging.DEBUG, logger="dotflow.traceback")
    workflow.start()
    assert workflow.result_task()[0].status is TypeStatus.COMPLETED
    (line,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert "the task callback raised RuntimeError: callback broke" in line.getMessage() and not line.exc_info
    assert any(r.name == "dotflow.traceback" and r.exc_info and "callback broke" in str(r.exc_info[1])
               for r in caplog.records)


def test_sys_exit_in_a_step_fails_that_step_only() -> None:
    """A step calling sys.exit() fails with StepExitError at once (a deliberate exit is not retried)."""
    import sys as _sys

    from dotflow.errors import StepExitError

    calls: list[int] = []

    @action(retry=2, retry_delay=0)
    def quits() -> None:
        calls.append(1)
        _sys.exit(3)

    workflow = DotFlow(config=Config())
    workflow.task.add(quits)
    workflow.start()
    task = workflow.result_task()[0]
    assert task.status is TypeStatus.FAILED and len(calls) == 1
    assert isinstance(task.errors[-1].error, StepExitError)
    assert "sys.exit(3)" in task.errors[-1].message


def test_sys_exit_in_a_task_callback_is_logged_not_fatal() -> None:
    """A task callback calling sys.exit() is logged like any callback error; the run goes on."""
    import sys as _sys

    ran: list[str] = []

    @action
    def after() -> None:
        ran.append("after")

    workflow = DotFlow(config=Config())
    workflow.task.add(step=_ok_step, callback=lambda task: _sys.exit(7))
    workflow.task.add(step=after)
    workflow.start()
    assert ran == ["after"]
    assert [t.status for t in workflow.result_task()] == ["Completed", "Completed"]


class _OddSignal(BaseException):
    """Neither an Exception nor an exit: what a library's own control-flow exception can be."""


def _raise(exc: BaseException) -> None:
    raise exc


@pytest.mark.parametrize("exc", [_OddSignal("odd"), GeneratorExit()], ids=["BaseException", "GeneratorExit"])
def test_a_base_exception_in_a_task_callback_is_logged_not_fatal(
    exc: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    """Only Ctrl-C and an AssertionError leave a callback; anything else it raises is one WARNING."""
    workflow = DotFlow(config=Config())
    workflow.task.add(step=_ok_step, callback=lambda task: _raise(exc))
    workflow.task.add(step=_ok_step)
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        workflow.start()
    assert [t.status for t in workflow.result_task()] == ["Completed", "Completed"]
    assert [r.getMessage() for r in caplog.records if "callback raised" in r.getMessage()] != []


def test_ctrl_c_in_a_task_callback_ends_the_run() -> None:
    workflow = DotFlow(config=Config())
    workflow.task.add(step=_ok_step, callback=lambda task: _raise(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        workflow.start()


@action
def _ok_step() -> int:
    return 1
