"""dotflow 1.0.1's documented API, in the shapes its reference and guides give: each test states
one thing a 1.x program does that must work here as it did there."""

from __future__ import annotations

import pytest

from dotflow import action


def test_utils_is_a_package_with_1x_modules_and_every_name() -> None:
    """``dotflow.utils.basic_functions.basic_callback`` (1.x's reference) and the other 1.x modules
    import, and the package still has each name it had."""
    import dotflow.utils as utils
    from dotflow.utils.basic_functions import basic_callback, basic_function
    from dotflow.utils.error_handler import message_error, traceback_error
    from dotflow.utils.tools import hostname, read_file, write_file

    assert (utils.basic_callback, utils.basic_function) == (basic_callback, basic_function)
    assert (utils.message_error, utils.traceback_error) == (message_error, traceback_error)
    assert (utils.hostname, utils.read_file, utils.write_file) == (hostname, read_file, write_file)
    assert basic_callback(task=None) is None and basic_function() is None
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = exc
    assert message_error(error) == "boom" and traceback_error(error).endswith("ValueError: boom")


def test_utils_tools_round_trips_json(tmp_path: pytest.TempPathFactory) -> None:
    """write_file writes JSON (appending with mode="a"), read_file reads it back, or the text, or None."""
    from dotflow.utils.tools import read_file, write_file

    path = tmp_path / "out.json"  # type: ignore[operator]
    assert read_file(path) is None
    write_file(path, {"a": 1})
    assert read_file(path) == {"a": 1}
    write_file(path, "more", mode="a")
    assert read_file(path) == '{"a": 1}"more"'


def _plain() -> int:
    return 1


@action
def _step() -> int:
    return 1


def test_a_task_built_directly_checks_its_step_and_callback_as_1x_did() -> None:
    """Task(...) refuses a step without @action (MissingActionDecorator), an import string naming
    nothing (ImportModuleError) and a callback that is not callable (NotCallableObject); a string is imported."""
    from dotflow import Task
    from dotflow.core.exception import ImportModuleError, MissingActionDecorator, NotCallableObject

    with pytest.raises(MissingActionDecorator, match="not decorated with @action"):
        Task(task_id="t", step=_plain)
    with pytest.raises(ImportModuleError, match="cannot import 'no_such_module'"):
        Task(task_id="t", step="no_such_module.fn")
    with pytest.raises(NotCallableObject, match="not callable"):
        Task(task_id="t", step=_step, callback=())
    task = Task(task_id="t", step=_step,
                callback="dotflow.utils.basic_functions.basic_callback")
    assert task.callback.__name__ == "basic_callback"
    with pytest.raises(MissingActionDecorator):
        task.step = _plain


def test_task_errors_duration_and_contexts_are_assignable_as_in_1x() -> None:
    """``task.errors = exc`` appends a TaskError (a list replaces them), ``task.duration`` can be set,
    and a raw value assigned to a context becomes a Context."""
    from dotflow import Context, Task
    from dotflow.core.task import TaskError

    task = Task(task_id="t", step=_step, workflow_id="wf")
    task.errors = ValueError("first")
    task.errors = TaskError(KeyError("second"))
    assert [(e.exception, e.message) for e in task.errors] == [("ValueError", "first"), ("KeyError", "'second'")]
    task.errors = []
    assert task.errors == [] and task.result()["error"] is None
    assert task.duration is None
    task.duration = 1.5
    assert (task.duration, task.result()["duration"]) == (1.5, 1.5)
    task.current_context = {"a": 1}
    task.previous_context = [1]
    assert isinstance(task.current_context, Context) and task.current_context.storage == {"a": 1}
    assert task.current_context.task_id == "t" and task.previous_context.storage == [1]


def test_the_1x_time_decorator_sets_the_duration_of_what_it_returns() -> None:
    """``dotflow.core.decorators.time.time`` times the call and writes the seconds on the returned task."""
    from dotflow import Task
    from dotflow.core.decorators import time as time_from_package
    from dotflow.core.decorators.time import time

    made = Task(task_id="t", step=_step)

    @time
    def build() -> Task:
        return made

    assert time is time_from_package and build.__name__ == "build"
    assert build() is made and isinstance(made.duration, float) and made.duration >= 0


def test_a_run_measures_a_duration_assigned_before_it() -> None:
    """An assigned duration lasts until the task runs: the run's own duration replaces it."""
    from dotflow import Config, DotFlow

    flow = DotFlow(config=Config())
    flow.task.add(_step)
    flow.task.queue[0].duration = 99.0
    flow.start()
    assert flow.task.queue[0].duration < 99.0


def test_schema_reads_the_result_by_attribute() -> None:
    """``TaskBuilder.schema()`` and ``Task.schema()`` give the result read by attribute, with 1.x's
    model_dump and model_dump_json."""
    import json

    from dotflow import Config, DotFlow

    flow = DotFlow(config=Config(), workflow_id="wf-schema", name="etl")
    flow.task.add(_step, initial_context={"n": 2})
    flow.start()
    schema = flow.task.schema()
    assert (schema.workflow_id, schema.id) == ("wf-schema", "wf-schema")
    assert (schema.workflow_name, schema.name) == ("etl", "etl")
    task = schema.tasks[0]
    assert (task.status, task.initial_context, task.current_context, task.errors) == ("Completed", {"n": 2}, 1, [])
    assert schema.model_dump() == flow.result() and json.loads(schema.model_dump_json()) == flow.result()
    assert flow.task.queue[0].schema().model_dump() == flow.task.queue[0].result()
    with pytest.raises(AttributeError, match="'colour'; a result schema has task_id"):
        _ = task.colour


@action
def _fails() -> None:
    raise ValueError("no")


def test_a_1x_shaped_manager_builds_and_runs_the_workflow() -> None:
    """``Manager(tasks=[...], on_success=..., mode=...)`` (1.x's reference) runs the tasks in its
    constructor and calls the callback with ``tasks=``; the Tasks are the ones given, updated in place."""
    from dotflow import Task
    from dotflow.core.workflow import Manager
    from dotflow.types import TypeStatus
    from dotflow.utils.basic_functions import basic_callback

    seen: list[list[Task]] = []
    task = Task(task_id="t-1", step=_step)
    manager = Manager(tasks=[task], on_success=lambda tasks: seen.append(tasks), mode="sequential")
    assert manager.tasks == [task] and task.status is TypeStatus.COMPLETED and seen == [[task]]
    assert task.current_context.storage == 1 and task.workflow_id == manager.workflow_id
    assert manager.on_failure is basic_callback and manager.config is not None
    failed = Task(task_id="t-2", step=_fails)
    calls: list[str] = []
    Manager([failed], None, lambda tasks: calls.append(tasks[0].status), keep_going=True)
    assert failed.status is TypeStatus.FAILED and calls == ["Failed"]


def test_a_1x_shaped_manager_runs_in_the_background_and_checks_its_mode() -> None:
    """Background mode returns at once with ``manager.thread``; an unknown mode is ExecutionModeNotExist."""
    from dotflow import Task
    from dotflow.core.exception import ExecutionModeNotExist
    from dotflow.core.workflow import Manager

    done: list[bool] = []
    manager = Manager(tasks=[Task(task_id="t", step=_step)], mode="background", on_success=lambda tasks: done.append(1))
    assert manager.thread is not None
    manager.thread.join(5)
    assert manager.wait(5) and done == [1]
    with pytest.raises(ExecutionModeNotExist, match="sideways"):
        Manager(tasks=[Task(task_id="t", step=_step)], mode="sideways")
    with pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Manager(tasks=[], colour="red")


def test_start_still_builds_this_versions_manager_which_is_a_1x_manager() -> None:
    """DotFlow.start's Manager is an instance of the 1.x path's Manager (and of dotflow's)."""
    from dotflow import Config, DotFlow
    from dotflow.core.workflow import Manager as Manager1x
    from dotflow.execution.manager import Manager

    flow = DotFlow(config=Config())
    flow.task.add(_step)
    manager = flow.start()
    assert isinstance(manager, Manager1x) and isinstance(manager, Manager) and issubclass(Manager, Manager1x)
    assert manager.thread is None


def test_a_class_steps_action_method_without_self_runs_as_in_1x() -> None:
    """An ``@action`` method written without ``self`` is called as a plain function, as 1.x called it."""
    from dotflow import Config, DotFlow

    @action
    class Step:
        @action
        def run() -> dict[str, str]:  # type: ignore[misc]
            return {"foo": "bar"}

        @action
        def then(self, previous_context: object) -> str:
            return "with self"

        @action
        def last(previous_context: object) -> str:  # type: ignore[misc]
            return "without self, given the context"

    flow = DotFlow(config=Config())
    flow.task.add(Step)
    flow.start()
    assert [c.storage for c in flow.result_storage()[0]] == [{"foo": "bar"}, "with self",
                                                                  "without self, given the context"]


def test_decorated_steps_carry_their_options_as_attributes() -> None:
    """``@action(retry=3, ...)`` steps have 1.x's ``retry``, ``timeout``, ``retry_delay`` and ``backoff``
    attributes; a class's own attribute of that name is left alone."""

    @action(retry=3, timeout=5, retry_delay=2, backoff=True)
    def fetch() -> int:
        return 1

    @action
    class Step:
        timeout = "the class's own"

    assert (fetch.retry, fetch.timeout, fetch.retry_delay, fetch.backoff) == (3, 5, 2, True)
    assert (_step.retry, _step.timeout, _step.retry_delay, _step.backoff) == (1, 0, 1, False)
    assert (Step.retry, Step.timeout) == (1, "the class's own")
    assert fetch() == 1


def test_the_1x_action_class_wraps_a_step_and_returns_a_context_given_a_task() -> None:
    """``Action(fn, task=...)`` has 1.x's attributes; calling it with ``task=`` passes the contexts the
    function names and returns a Context of the task; without ``task=`` the result itself."""
    from dotflow import Context, Task
    from dotflow.core.action import Action

    def step(previous_context: Context) -> object:
        return previous_context.storage

    task = Task(task_id="t-1", step=_step, workflow_id="wf")
    inside = Action(step, task=task, retry=0, retry_delay=2)
    assert (inside.func, inside.task, inside.retry, inside.retry_delay, inside.backoff) == (step, task, 0, 2, False)
    result = inside(task=task, previous_context="before", initial_context="ignored", other=1)
    assert isinstance(result, Context)
    assert (result.storage, result.task_id, result.workflow_id) == ("before", "t-1", "wf")
    assert inside.params == ["previous_context"] and inside(previous_context=3) == 3
    assert isinstance(inside, Action) and isinstance(_step, Action) and not isinstance(step, Action)

    async def later() -> int:
        return 7

    assert Action(later)(task=task).storage == 7
    retried = Action(retry=4)(step)
    assert isinstance(retried, Action) and (retried.func, retried.retry) == (step, 4)


def test_a_1x_action_class_step_runs_in_a_workflow_with_its_options() -> None:
    """A step made by ``Action`` runs in a workflow with its retry, and an ``@Action`` class's methods run
    bound (with ``self``) or, written without it, as plain functions."""
    from dotflow import Config, DotFlow
    from dotflow.core.action import Action

    calls: list[int] = []

    def flaky() -> int:
        calls.append(1)
        if len(calls) < 2:
            raise RuntimeError("once")
        return len(calls)

    @Action
    class Step:
        def __init__(self, initial_context: Context) -> None:
            self.start = initial_context.storage

        @Action
        def first(self) -> int:
            return self.start

        @Action
        def second(previous_context: Context) -> int:  # type: ignore[misc]
            return previous_context.storage + 1

    from dotflow import Context

    flow = DotFlow(config=Config())
    flow.task.add(Action(flaky, retry=2, retry_delay=0))
    flow.task.add(Step, initial_context=10)
    flow.start()
    assert flow.result_storage()[0] == 2
    assert [c.storage for c in flow.result_storage()[1]] == [10, 11]
