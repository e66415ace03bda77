"""TaskBuilder and Task: adding steps, import strings, ids, statuses, errors and ``result()``."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import engine_support
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dotflow import Config, Context, DotFlow, Task, TaskBuilder, TypeStatus, action
from dotflow.core.types.status import TypeStatus as LegacyTypeStatus
from dotflow.errors import DotflowError, StepImportError, UsageError
from dotflow.naming import task_label

RESULT_KEYS = [
    "task_id",
    "workflow_id",
    "status",
    "duration",
    "initial_context",
    "current_context",
    "previous_context",
    "group_name",
    "retry_count",
    "created_at",
    "started_at",
    "finished_at",
    "errors",
    "id",
    "error",
]


@action
def first() -> int:
    return 1


@action
def second(previous_context: Context) -> int:
    return previous_context.storage + 1


@action(retry_delay=0)
def broken() -> None:
    raise ValueError("broken on purpose")


@action(retry=2, retry_delay=0)
def broken_twice() -> None:
    raise ValueError("broken on purpose")


def _flow(workflow_id: str = "wf-task") -> DotFlow:
    return DotFlow(config=Config(), workflow_id=workflow_id)


# --- TaskBuilder --------------------------------------------------------------------------------


def test_add_is_chainable() -> None:
    """``task.add(...)`` returns the builder, so calls chain."""
    workflow = _flow()
    returned = workflow.task.add(first).add(second)
    assert returned is workflow.task
    assert isinstance(returned, TaskBuilder)
    assert workflow.task.count() == 2


def test_add_a_list_adds_each_step_in_order() -> None:
    """A list of steps becomes one task per step, in list order, sharing callback and initial context."""

    def callback(task: Task) -> None: ...

    workflow = _flow()
    workflow.task.add([first, second, first], callback=callback, initial_context={"k": 1}, group_name="g")
    tasks = workflow.result_task()
    assert [t.step for t in tasks] == [first, second, first]
    assert all(t.callback is callback for t in tasks)
    assert all(t.initial_context.storage == {"k": 1} for t in tasks)
    assert all(t.group_name == "g" for t in tasks)


def test_count_clear_and_reverse() -> None:
    """``count()`` counts tasks, ``reverse()`` reverses their order, ``clear()`` empties the builder."""
    workflow = _flow()
    workflow.task.add(first).add(second).add(broken)
    assert workflow.task.count() == 3
    ids = [t.task_id for t in workflow.result_task()]
    workflow.task.reverse()
    assert [t.task_id for t in workflow.result_task()] == ids[::-1]
    workflow.task.clear()
    assert workflow.task.count() == 0
    assert workflow.result_task() == []


def test_builder_result_is_the_workflow_result() -> None:
    """``task.result()`` returns the workflow dict, with every task's result in order."""
    workflow = DotFlow(config=Config(), workflow_id="wf-r", name="named")
    workflow.task.add([first, second])
    workflow.start()
    data = workflow.task.result()
    assert list(data) == ["workflow_id", "workflow_name", "tasks", "id", "name"]
    assert data == workflow.result()
    assert [t["current_context"] for t in data["tasks"]] == [1, 2]
    json.dumps(data)


def test_initial_context_is_wrapped_in_a_context() -> None:
    """``initial_context=`` is stored as a Context; a Context passed in is copied, not nested."""
    workflow = _flow()
    workflow.task.add(first, initial_context={"x": 1})
    workflow.task.add(first, initial_context=Context([1, 2]))
    workflow.task.add(first)
    tasks = workflow.result_task()
    assert isinstance(tasks[0].initial_context, Context) and tasks[0].initial_context.storage == {"x": 1}
    assert tasks[1].initial_context.storage == [1, 2]
    assert tasks[2].initial_context.storage is None


def test_non_callable_callback_is_rejected_at_add() -> None:
    """A task callback that is not callable raises UsageError at ``add``; a string is imported first,
    as in 1.x, and one that names nothing importable is a StepImportError."""
    workflow = _flow()
    with pytest.raises(UsageError, match="not callable"):
        workflow.task.add(first, callback=42)
    with pytest.raises(StepImportError, match="callback 'print' is not an import string"):
        workflow.task.add(first, callback="print")
    assert workflow.task.count() == 0
    workflow.task.add(first, callback="dotflow.utils.basic_functions:basic_callback")
    assert workflow.task.queue[0].callback.__name__ == "basic_callback"


def test_task_callback_is_called_with_task_keyword() -> None:
    """The task callback is called once as ``callback(task=task)`` after the task has finished."""
    seen: list[tuple[Task, str, Any]] = []

    def callback(*, task: Task) -> None:
        seen.append((task, task.status, task.current_context.storage))

    workflow = _flow()
    workflow.task.add(first, callback=callback)
    workflow.task.add(broken, callback=callback)
    workflow.start()
    tasks = workflow.result_task()
    assert seen == [(tasks[0], TypeStatus.COMPLETED, 1), (tasks[1], TypeStatus.FAILED, None)]


# --- import strings -----------------------------------------------------------------------------


@pytest.fixture
def steps_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A throwaway package ``pkg_<hex>`` on sys.path, whose ``mod`` holds steps; removed afterwards."""
    name = f"pkg_{uuid.uuid4().hex[:10]}"
    package = tmp_path / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "mod.py").write_text(
        textwrap.dedent(
            """
            from dotflow import action

            @action
            def fn(previous_context):
                return "fn ran"

            def plain():
                return "not a step"

            @action
            class Steps:
                @action
                def go(self):
                    return "class ran"
            """
        )
    )
    (package / "explodes.py").write_text("raise RuntimeError('import-time failure')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[module]


def test_import_string_with_dots(steps_package: str) -> None:
    """``"pkg.mod.fn"`` adds the decorated function ``fn`` from ``pkg.mod``."""
    workflow = _flow()
    workflow.task.add(f"{steps_package}.mod.fn")
    workflow.start()
    assert workflow.result_task()[0].step is sys.modules[f"{steps_package}.mod"].fn
    assert workflow.result_storage() == ["fn ran"]


def test_import_string_with_colon(steps_package: str) -> None:
    """``"pkg.mod:fn"`` and ``"pkg.mod:Class"`` resolve like the dotted form."""
    workflow = _flow()
    workflow.task.add(f"{steps_package}.mod:fn").add(f"{steps_package}.mod:Steps")
    workflow.start()
    assert workflow.result_storage()[0] == "fn ran"
    assert [c.storage for c in workflow.result_storage()[1]] == ["class ran"]


def test_import_strings_in_a_list(steps_package: str) -> None:
    """A list may mix import strings and callables."""
    workflow = _flow()
    workflow.task.add([f"{steps_package}.mod.fn", first])
    assert workflow.task.count() == 2


@pytest.mark.parametrize(
    "spec",
    [
        "", "   ", "nodots", "pkg.", ".fn", "pkg.mod:", ":fn", "pkg..mod.fn", "1pkg.fn", "pkg.mod:fn:x", "pkg-x.fn",
        "a b.c",
    ],
)
def test_malformed_import_string_is_rejected(spec: str) -> None:
    """A string that is not ``pkg.mod.fn`` or ``pkg.mod:fn`` raises StepImportError naming it and both forms."""
    with pytest.raises(StepImportError) as info:
        _flow().task.add(spec)
    message = str(info.value)
    assert repr(spec) in message
    assert "package.module.function" in message and "package.module:function" in message


def test_missing_module_is_a_step_import_error() -> None:
    """An import string naming no module raises StepImportError naming the module and sys.path."""
    with pytest.raises(StepImportError) as info:
        _flow().task.add("no_such_module_for_dotflow_tests.fn")
    assert "'no_such_module_for_dotflow_tests'" in str(info.value)
    assert "sys.path" in str(info.value)
    assert info.value.__cause__ is None


def test_missing_attribute_is_a_step_import_error(steps_package: str) -> None:
    """An import string naming a missing function raises StepImportError naming module and attribute."""
    with pytest.raises(StepImportError) as info:
        _flow().task.add(f"{steps_package}.mod:nothere")
    assert f"'{steps_package}.mod'" in str(info.value)
    assert "'nothere'" in str(info.value)


def test_module_failing_at_import_is_a_step_import_error(steps_package: str) -> None:
    """A module that raises while importing gives StepImportError carrying the original error."""
    with pytest.raises(StepImportError, match="RuntimeError: import-time failure"):
        _flow().task.add(f"{steps_package}.explodes.fn")


def test_import_string_to_undecorated_function_is_rejected(steps_package: str) -> None:
    """An import string resolving to a function without ``@action`` is rejected like the function itself."""
    with pytest.raises(UsageError, match="@action"):
        _flow().task.add(f"{steps_package}.mod.plain")


def test_step_import_error_is_a_usage_error() -> None:
    """StepImportError is a UsageError and so a DotflowError."""
    assert issubclass(StepImportError, UsageError)
    assert issubclass(StepImportError, DotflowError)


# --- Task fields --------------------------------------------------------------------------------


def test_task_fields_after_a_run() -> None:
    """A finished task carries its ids, group, timestamps, duration and the three contexts."""
    workflow = _flow()
    workflow.task.add(first).add(second, initial_context="init", group_name="default")
    workflow.start()
    task = workflow.result_task()[1]
    assert isinstance(task.task_id, str) and task.task_id
    assert task.workflow_id == "wf-task"
    assert task.group_name == "default"
    assert task.retry_count == 0
    assert task.errors == []
    assert task.created_at <= task.started_at <= task.finished_at
    assert task.duration is not None and task.duration >= 0
    assert task.initial_context.storage == "init"
    assert task.previous_context.storage == 1
    assert task.current_context.storage == 2


def test_task_before_a_run() -> None:
    """A task that never ran is Not started, with no start, finish or duration, and empty Contexts (as in 1.x)."""
    workflow = _flow()
    workflow.task.add(first)
    task = workflow.result_task()[0]
    assert task.status is TypeStatus.NOT_STARTED
    assert task.started_at is None and task.finished_at is None and task.duration is None
    for context in (task.initial_context, task.previous_context, task.current_context):
        assert isinstance(context, Context) and context.storage is None
    data = task.result()
    assert (data["initial_context"], data["previous_context"], data["current_context"]) == (None, None, None)


def test_task_ids_are_unique_strings_within_a_workflow() -> None:
    """Each task of a workflow gets its own string id, even when the same step is added twice."""
    workflow = _flow()
    workflow.task.add([first, first, second]).add(first, group_name="other")
    ids = [t.task_id for t in workflow.result_task()]
    assert all(isinstance(i, str) for i in ids)
    assert len(set(ids)) == 4


def test_task_ids_repeat_for_the_same_definition() -> None:
    """Two workflows built from the same steps in the same order get the same task ids."""
    a, b = _flow("one"), _flow("two")
    for workflow in (a, b):
        workflow.task.add([first, second]).add(broken, group_name="g")
    assert [t.task_id for t in a.result_task()] == [t.task_id for t in b.result_task()]


def test_task_ids_depend_on_the_definition() -> None:
    """Swapping two steps changes the ids, so a checkpoint never feeds the wrong step."""
    a, b = _flow(), _flow()
    a.task.add([first, second])
    b.task.add([second, first])
    assert {t.task_id for t in a.result_task()}.isdisjoint(t.task_id for t in b.result_task())


def test_task_ids_are_the_same_in_another_process(tmp_path: Path) -> None:
    """A pipeline defined in a script gets identical task ids in two separate interpreter runs."""
    script = tmp_path / "ids.py"
    script.write_text(
        textwrap.dedent(
            """
            import json
            from dotflow import Config, DotFlow, action

            @action
            def extract(): return 1

            @action
            def load(previous_context): return previous_context.storage

            workflow = DotFlow(config=Config())
            workflow.task.add([extract, load]).add(extract, group_name="side")
            print(json.dumps([t.task_id for t in workflow.result_task()]))
            """
        )
    )
    runs = [json.loads(engine_support.run_python(script)) for _ in range(2)]
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == 3


def test_errors_hold_one_task_error_per_failed_attempt() -> None:
    """Each failed attempt adds a TaskError with attempt number, exception, traceback and message."""
    workflow = _flow()
    workflow.task.add(broken_twice)
    workflow.start()
    task = workflow.result_task()[0]
    assert task.status is TypeStatus.FAILED
    assert [e.attempt for e in task.errors] == [1, 2]
    error = task.errors[0]
    assert isinstance(error.error, ValueError) and error.exception == "ValueError"
    assert error.message == "broken on purpose"
    assert "Traceback" in error.traceback and "broken on purpose" in error.traceback
    assert 'raise ValueError("broken on purpose")' in error.traceback


def test_exception_without_message_uses_its_type_name() -> None:
    """A bare exception (empty str) gets its class name as message."""

    @action
    def silent() -> None:
        raise LookupError

    workflow = _flow()
    workflow.task.add(silent)
    workflow.start()
    assert workflow.result_task()[0].errors[0].message == "LookupError"


# --- status -------------------------------------------------------------------------------------


def test_status_strings_are_exact() -> None:
    """The five status constants are exactly the 1.x strings."""
    assert TypeStatus.NOT_STARTED == "Not started"
    assert TypeStatus.IN_PROGRESS == "In progress"
    assert TypeStatus.RETRY == "Retry"
    assert TypeStatus.COMPLETED == "Completed"
    assert TypeStatus.FAILED == "Failed"


def test_status_is_the_constant_itself() -> None:
    """After a run, ``task.status is TypeStatus.COMPLETED`` / ``FAILED`` / ``SKIPPED`` hold by identity."""
    workflow = _flow()
    workflow.task.add([first, broken, second])
    workflow.start()
    done, failed, skipped = workflow.result_task()
    assert done.status is TypeStatus.COMPLETED
    assert failed.status is TypeStatus.FAILED
    assert skipped.status is TypeStatus.SKIPPED
    assert failed.status is LegacyTypeStatus.FAILED


# --- the failure log line -----------------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "dotflow" and r.levelno >= logging.WARNING]


def test_a_failed_task_logs_one_error_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    """A task ending Failed logs exactly one ERROR ``ID <wf> - <task> - Failed: <Type>: <message>``; each
    retry before it one WARNING with the error that caused it."""

    @action(retry=2, retry_delay=0)
    def multi_line() -> None:
        raise ValueError("first line\n  second   line")

    workflow = _flow("wf-log")
    workflow.task.add(multi_line)
    with caplog.at_level(logging.INFO, logger="dotflow"):
        workflow.start()
    task = workflow.result_task()[0]
    assert _warnings(caplog) == [
        f"ID wf-log - {task_label(task)} - Retry: ValueError: first line second line",
        f"ID wf-log - {task_label(task)} - Failed: ValueError: first line second line",
    ]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [f"ID wf-log - {task_label(task)} - Failed: ValueError: first line second line"]


def test_the_failure_line_is_short_and_on_one_line(caplog: pytest.LogCaptureFixture) -> None:
    """A huge multi-line exception message is collapsed to one line of a few hundred characters."""

    @action(retry_delay=0)
    def noisy() -> None:
        raise RuntimeError("line\n" * 5000)

    workflow = _flow()
    workflow.task.add(noisy)
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        workflow.start()
    (line,) = _warnings(caplog)
    assert "\n" not in line and "Failed: RuntimeError: line line" in line
    assert len(line) < 400 + len(task_label(workflow.result_task()[0]))


def test_transitions_stay_at_info(caplog: pytest.LogCaptureFixture) -> None:
    """Other transitions are INFO lines ``ID <wf> - <step> [<task id>] - <status>``; success warns nothing."""
    workflow = _flow("wf-info")
    workflow.task.add(first)
    with caplog.at_level(logging.INFO, logger="dotflow"):
        workflow.start()
    label = task_label(workflow.result_task()[0])
    assert label.endswith(f" [{workflow.result_task()[0].task_id}]") and label.startswith("first ")
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert f"ID wf-info - {label} - In progress" in infos
    assert f"ID wf-info - {label} - Completed" in infos
    assert _warnings(caplog) == []


# --- result() -----------------------------------------------------------------------------------


def test_result_keys_are_exactly_the_1x_keys() -> None:
    """``task.result()`` has exactly the documented keys, in order, with id mirroring task_id."""
    workflow = _flow()
    workflow.task.add([first, broken])
    workflow.start()
    ok, failed = (t.result() for t in workflow.result_task())
    assert list(ok) == RESULT_KEYS
    assert ok["id"] == ok["task_id"] == workflow.result_task()[0].task_id
    assert ok["status"] == "Completed" and ok["current_context"] == 1 and ok["error"] is None
    assert failed["status"] == "Failed"
    assert failed["errors"][0]["exception"] == "ValueError"
    assert failed["errors"][0]["message"] == "broken on purpose"
    assert failed["error"] == failed["errors"][-1]
    assert set(failed["errors"][0]) == {"attempt", "exception", "traceback", "message"}


class Opaque:
    """Not JSON-serializable."""

    def __str__(self) -> str:
        return "<opaque>"


def test_result_is_json_safe_with_non_json_values() -> None:
    """Contexts holding datetimes, sets, bytes, Decimals, tuples, int keys and objects still serialize."""
    value = {
        "when": datetime(2024, 1, 2, 3, 4, 5),
        "day": date(2024, 1, 2),
        "tags": {"a"},
        "raw": b"bytes",
        "money": Decimal("1.10"),
        "pair": (1, 2),
        7: "int key",
        "obj": Opaque(),
        "nested": [Context("inner"), {"deep": Opaque()}],
    }

    @action
    def produce() -> Any:
        return value

    @action
    def consume(previous_context: Context) -> Opaque:
        return Opaque()

    workflow = _flow()
    workflow.task.add(produce, initial_context=Opaque()).add(consume)
    workflow.start()
    produced, consumed = (t.result() for t in workflow.result_task())
    text = json.dumps(workflow.result())
    assert json.loads(text)["tasks"][0]["current_context"]["obj"] == "<opaque>"
    assert produced["initial_context"] == "<opaque>"
    assert produced["current_context"]["tags"] == ["a"]
    assert produced["current_context"]["raw"] == "bytes"
    assert produced["current_context"]["7"] == "int key"
    assert produced["current_context"]["nested"][0] == "inner"
    assert consumed["previous_context"]["pair"] == [1, 2]
    assert consumed["current_context"] == "<opaque>"


def test_result_timestamps_are_iso_strings() -> None:
    """created_at, started_at and finished_at serialize as ISO-8601 strings; duration as a number."""
    workflow = _flow()
    workflow.task.add(first)
    workflow.start()
    data = workflow.result_task()[0].result()
    for key in ("created_at", "started_at", "finished_at"):
        assert isinstance(datetime.fromisoformat(data[key]), datetime)
    assert isinstance(data["duration"], float)


BIG = "x" * 300_000


def _heavy_tasks() -> list[Task]:
    """Tasks whose result() is large: 300 KB contexts, and failures with long messages and tracebacks."""

    @action
    def big() -> dict[str, Any]:
        return {"blob": BIG, "list": list(range(2000))}

    @action
    def relay(previous_context: Context) -> str:
        return previous_context.storage["blob"]

    def deep(n: int) -> None:
        if n == 0:
            raise RuntimeError("é" * 5000 + " deep failure")
        deep(n - 1)

    @action(retry=3, retry_delay=0)
    def fails(previous_context: Context) -> None:
        deep(150)

    workflow = DotFlow(config=Config(), workflow_id="wf-" + "w" * 300)
    workflow.task.add(big, initial_context={"seed": BIG})
    workflow.task.add(relay)
    workflow.task.add(fails, initial_context=BIG)
    workflow.task.add(first)
    workflow.start(keep_going=True)
    tasks = workflow.result_task()
    assert [t.status for t in tasks] == ["Completed", "Completed", "Failed", "Completed"]
    return tasks


@pytest.fixture(scope="module")
def heavy_tasks() -> list[Task]:
    return _heavy_tasks()


def test_result_max_is_a_hard_cap(heavy_tasks: list[Task]) -> None:
    """For every N >= 2, ``json.dumps(task.result(max=N))`` is at most N bytes, for small and huge tasks."""
    limits = [*range(2, 80), 100, 150, 256, 300, 400, 512, 700, 1000, 2000, 4096, 10_000, 65_536, 299_999, 300_500,
              600_000, 1_000_000, 5_000_000]
    for task in heavy_tasks:
        full = len(json.dumps(task.result()))
        for limit in limits:
            data = task.result(max=limit)
            size = len(json.dumps(data))
            assert size <= limit, (task.task_id, limit, size)
            assert len(json.dumps(data).encode()) <= limit
            if limit >= full:
                assert data == task.result()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.integers(min_value=2, max_value=2_000_000), index=st.integers(min_value=0, max_value=3))
def test_result_max_holds_for_any_limit(heavy_tasks: list[Task], limit: int, index: int) -> None:
    """Property: any cap N >= 2 is respected by any task's ``result(max=N)``."""
    assert len(json.dumps(heavy_tasks[index].result(max=limit))) <= limit


def test_result_max_replaces_contexts_before_errors(heavy_tasks: list[Task]) -> None:
    """With room for the errors but not the contexts, the contexts are replaced and the errors kept whole."""
    failed = heavy_tasks[2]
    full = failed.result()
    errors_size = len(json.dumps(full["errors"])) + len(json.dumps(full["error"]))
    data = failed.result(max=errors_size + 5_000)
    assert data["errors"] == full["errors"]
    assert data["initial_context"] != BIG
    assert list(data) == RESULT_KEYS


def test_result_max_keeps_every_key_when_it_can(heavy_tasks: list[Task]) -> None:
    """A 5 KB cap on a task with 300 KB contexts keeps all keys and the status, dropping only bulk."""
    for task in heavy_tasks:
        data = task.result(max=5_000)
        assert list(data) == RESULT_KEYS
        assert data["status"] == task.status
        assert data["task_id"] == task.task_id


def test_result_max_keeps_a_small_result_unchanged() -> None:
    """A result already under the cap is returned whole."""
    workflow = _flow()
    workflow.task.add(first)
    workflow.start()
    task = workflow.result_task()[0]
    assert task.result(max=100_000) == task.result()


def test_timestamps_are_datetimes_as_in_1x() -> None:
    """created_at, started_at and finished_at are datetimes (None before they happen), in order."""
    workflow = DotFlow(config=Config())
    workflow.task.add(step=_timestamped)
    task = workflow.result_task()[0]
    assert isinstance(task.created_at, datetime) and task.started_at is None and task.finished_at is None
    workflow.start()
    assert task.created_at <= task.started_at <= task.finished_at
    assert task.duration is not None and task.duration >= 0


@action
def _timestamped() -> int:
    return 1


def test_result_max_serializes_each_piece_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """``result(max=N)`` on an over-cap task serializes its big context about once, not once per trimming step."""
    import dotflow.results as task_module

    workflow = _flow()
    workflow.task.add(first, initial_context={"blob": "x" * 200_000})
    workflow.start()
    task = workflow.result_task()[0]
    serialized: list[int] = []
    real_dumps = json.dumps

    def counting_dumps(value: Any, *args: Any, **kwargs: Any) -> str:
        text = real_dumps(value, *args, **kwargs)
        serialized.append(len(text))
        return text

    monkeypatch.setattr(task_module.json, "dumps", counting_dumps)
    data = task.result(max=5_000)
    monkeypatch.undo()
    assert len(json.dumps(data)) <= 5_000
    assert sum(serialized) < 1.2 * 200_000, serialized
