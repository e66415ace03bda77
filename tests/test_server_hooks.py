"""The Server hooks: which ones the engine calls, when, and with which status."""

from __future__ import annotations

from typing import Any

import pytest
from engine_support import RecordingServer

import dotflow.execution.runner as runner
from dotflow import Config, Context, DotFlow, action
from dotflow.abc.server import Server
from dotflow.errors import InputChangedError, UsageError


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retry delays are skipped: these tests count hook calls, not seconds."""
    monkeypatch.setattr(runner.time, "sleep", lambda seconds: None)


@action
def one() -> int:
    return 1


@action
def fails() -> None:
    raise RuntimeError("no")


@action(retry=2)
def fails_twice() -> None:
    raise RuntimeError("no, twice")


def _flaky_once() -> Any:
    calls: list[int] = []

    @action(retry=3)
    def flaky(previous_context: Context) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")
        return previous_context.storage + 1

    return flaky


def test_generated_id_calls_create_workflow_once() -> None:
    """``DotFlow()`` without workflow_id generates a uuid4 and calls create_workflow exactly once, with it."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server))
    assert server.calls == [("create_workflow", workflow.workflow_id, "")]
    assert len(workflow.workflow_id) == 36 and workflow.workflow_id.count("-") == 4


@pytest.mark.parametrize("workflow_id", ["given-id", "0", 1234])
def test_given_id_never_calls_create_workflow(workflow_id: Any) -> None:
    """A workflow_id passed in (any type) is used as a string, and create_workflow is never called."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server), workflow_id=workflow_id)
    workflow.task.add(one)
    workflow.start()
    assert workflow.workflow_id == str(workflow_id)
    assert "create_workflow" not in server.hooks()


@pytest.mark.parametrize("workflow_id", ["", "   "])
def test_empty_workflow_id_is_a_usage_error(workflow_id: str) -> None:
    """An empty or blank workflow_id raises UsageError instead of running under no id."""
    with pytest.raises(UsageError, match="workflow_id"):
        DotFlow(config=Config(), workflow_id=workflow_id)


def test_create_task_is_called_at_add_with_not_started() -> None:
    """Each ``task.add`` calls create_task once, with the task in status "Not started"."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server), workflow_id="wf")
    workflow.task.add(one)
    assert server.events() == [("create_task", "Not started")]
    workflow.task.add([one, one])
    ids = [t.task_id for t in workflow.result_task()]
    assert server.calls == [("create_task", task_id, "Not started") for task_id in ids]


def test_exact_hook_sequence_of_a_successful_run() -> None:
    """A run with a retried task reports exactly: workflow In progress, each task's every status, workflow Completed."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server))
    workflow.task.add(one).add(_flaky_once())
    workflow.start()
    first, second = (t.task_id for t in workflow.result_task())
    wid = workflow.workflow_id
    assert server.calls == [
        ("create_workflow", wid, ""),
        ("create_task", first, "Not started"),
        ("create_task", second, "Not started"),
        ("update_workflow", wid, "In progress"),
        ("update_task", first, "In progress"),
        ("update_task", first, "Completed"),
        ("update_task", second, "In progress"),
        ("update_task", second, "Retry"),
        ("update_task", second, "In progress"),
        ("update_task", second, "Completed"),
        ("update_workflow", wid, "Completed"),
    ]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_exact_hook_sequence_of_a_failed_run(executor: str) -> None:
    """A task failing all its attempts reports In progress/Retry per attempt, then Failed; the task it kept from
    running is Skipped; then the workflow Failed."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server), workflow_id="wf-f")
    workflow.task.add(fails_twice).add(one)
    workflow.start(executor=executor)
    failing, skipped = (t.task_id for t in workflow.result_task())
    assert server.events()[2:] == [
        ("update_workflow", "In progress"),
        ("update_task", "In progress"),
        ("update_task", "Retry"),
        ("update_task", "In progress"),
        ("update_task", "Failed"),
        ("update_task", "Skipped"),
        ("update_workflow", "Failed"),
    ]
    assert server.task_statuses(skipped) == ["Skipped"]
    assert server.task_statuses(failing) == ["In progress", "Retry", "In progress", "Failed"]


@pytest.mark.parametrize("executor", ["thread", "process"])
def test_update_task_reports_every_status_in_parallel_mode(executor: str) -> None:
    """In parallel mode each task still reports In progress then its terminal status, in that order."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server), workflow_id="wf-p")
    workflow.task.add([one, fails, one, one])
    workflow.start(mode="parallel", executor=executor)
    statuses = {t.task_id: server.task_statuses(t.task_id) for t in workflow.result_task()}
    assert [statuses[t.task_id] for t in workflow.result_task()] == [
        ["In progress", "Completed"],
        ["In progress", "Failed"],
        ["In progress", "Completed"],
        ["In progress", "Completed"],
    ]
    assert server.events()[4] == ("update_workflow", "In progress")
    assert server.events()[-1] == ("update_workflow", "Failed")


def test_update_workflow_in_progress_comes_after_validation() -> None:
    """Bad start() arguments raise before update_workflow; the next valid start() reports In progress first."""
    server = RecordingServer()
    workflow = DotFlow(config=Config(server=server), workflow_id="wf-v")
    workflow.task.add(one)
    for bad in ({"mode": "nope"}, {"on_success": 1}, {"on_input_change": "ignore"}, {"max_workers": 0}):
        with pytest.raises(UsageError):
            workflow.start(**bad)
    assert server.hooks() == ["create_task"]
    workflow.start()
    assert server.events()[1] == ("update_workflow", "In progress")


def test_input_change_error_is_raised_before_any_report() -> None:
    """``on_input_change="raise"`` stops the run before update_workflow is called."""
    storage_config = Config()
    first = DotFlow(config=storage_config, workflow_id="wf-i")
    first.task.add(one, initial_context=1)
    first.start(resume=True)
    server = RecordingServer()
    second = DotFlow(config=Config(storage=storage_config.storage, server=server), workflow_id="wf-i")
    second.task.add(one, initial_context=2)
    with pytest.raises(InputChangedError):
        second.start(resume=True, on_input_change="raise")
    assert server.hooks() == ["create_task"]


def test_resumed_task_reports_completed() -> None:
    """A task skipped by resume still reports its status change to Completed."""
    config = Config()
    first = DotFlow(config=config, workflow_id="wf-res")
    first.task.add(one)
    first.start(resume=True)
    server = RecordingServer()
    second = DotFlow(config=Config(storage=config.storage, server=server), workflow_id="wf-res")
    second.task.add(one)
    second.start(resume=True)
    assert server.events() == [
        ("create_task", "Not started"),
        ("update_workflow", "In progress"),
        ("update_task", "Completed"),
        ("update_workflow", "Completed"),
    ]


def test_server_base_class_is_abstract() -> None:
    """A Server subclass missing a hook cannot be instantiated; Config refuses a non-Server."""

    class Partial(Server):
        def create_workflow(self, workflow: Any) -> None: ...

    with pytest.raises(TypeError):
        Partial()  # type: ignore[abstract]
    with pytest.raises(UsageError, match="dotflow.abc.server.Server"):
        Config(server=object())  # type: ignore[arg-type]
