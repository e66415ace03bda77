"""Resume: skipping stored tasks, in one process and across two, and guarding against changed inputs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import engine_support
import pytest

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.errors import DotflowError, InputChangedError
from dotflow.providers import StorageDefault, StorageFile

RUNS: list[str] = []
FAIL: set[str] = set()


@pytest.fixture(autouse=True)
def fresh_log() -> None:
    """Each test starts with an empty execution log and no forced failures."""
    RUNS.clear()
    FAIL.clear()


@action
def extract(initial_context: Context) -> dict[str, Any]:
    RUNS.append("extract")
    return {"rows": [1, 2, 3], "seed": initial_context.storage}


@action
def transform(previous_context: Context) -> list[int]:
    RUNS.append("transform")
    if "transform" in FAIL:
        raise RuntimeError("transform is down")
    return [row * 10 for row in previous_context.storage["rows"]]


@action
def load(previous_context: Context) -> int:
    RUNS.append("load")
    return sum(previous_context.storage)


def _pipeline(storage: Any, seed: Any = "seed-1", workflow_id: str = "wf-resume") -> DotFlow:
    workflow = DotFlow(config=Config(storage=storage), workflow_id=workflow_id)
    workflow.task.add(extract, initial_context=seed).add([transform, load])
    return workflow


def test_resume_skips_completed_tasks_and_feeds_their_results_on() -> None:
    """After a failure, resume skips the stored tasks, passes the stored result on, and reruns the failed one."""
    storage = StorageDefault()
    FAIL.add("transform")
    first = _pipeline(storage)
    first.start(resume=True)
    assert [t.status for t in first.result_task()] == ["Completed", "Failed", "Not started"]
    assert RUNS == ["extract", "transform"]

    RUNS.clear()
    FAIL.clear()
    second = _pipeline(storage)
    second.start(resume=True)
    assert RUNS == ["transform", "load"]
    assert [t.status for t in second.result_task()] == ["Completed"] * 3
    assert second.result_storage() == [{"rows": [1, 2, 3], "seed": "seed-1"}, [10, 20, 30], 60]
    assert second.result_task()[1].previous_context.storage == {"rows": [1, 2, 3], "seed": "seed-1"}


def test_fully_stored_workflow_runs_nothing() -> None:
    """A resumed run of a workflow whose every task is stored runs no step and completes."""
    storage = StorageDefault()
    _pipeline(storage).start(resume=True)
    RUNS.clear()
    again = _pipeline(storage)
    manager = again.start(resume=True)
    assert RUNS == []
    assert manager.status is TypeStatus.COMPLETED
    assert again.result_storage()[2] == 60


def test_without_resume_everything_runs_again() -> None:
    """With ``resume=False`` (the default) stored results are ignored and every step runs."""
    storage = StorageDefault()
    _pipeline(storage).start()
    RUNS.clear()
    _pipeline(storage).start()
    assert RUNS == ["extract", "transform", "load"]


def test_resume_is_per_workflow_id() -> None:
    """Checkpoints of one workflow id are not used by a workflow with another id."""
    storage = StorageDefault()
    _pipeline(storage, workflow_id="wf-a").start(resume=True)
    RUNS.clear()
    _pipeline(storage, workflow_id="wf-b").start(resume=True)
    assert RUNS == ["extract", "transform", "load"]


def test_resume_in_parallel_mode_skips_stored_tasks() -> None:
    """Resume works in parallel mode too: only the tasks without a stored result run."""

    @action
    def maybe_fails(initial_context: Context) -> int:
        RUNS.append(f"task-{initial_context.storage}")
        if initial_context.storage in FAIL:
            raise RuntimeError("down")
        return initial_context.storage

    def build(storage: Any) -> DotFlow:
        workflow = DotFlow(config=Config(storage=storage), workflow_id="wf-par")
        for n in range(4):
            workflow.task.add(maybe_fails, initial_context=n)
        return workflow

    storage = StorageDefault()
    FAIL.update({1, 3})
    build(storage).start(mode="parallel", resume=True)
    RUNS.clear()
    FAIL.clear()
    again = build(storage)
    again.start(mode="parallel", resume=True)
    assert sorted(RUNS) == ["task-1", "task-3"]
    assert again.result_storage() == [0, 1, 2, 3]


# --- two processes -------------------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    from dotflow import Config, DotFlow, action
    from dotflow.providers import StorageFile

    root = Path(sys.argv[1])
    fail = sys.argv[2] == "fail"
    markers = root / "markers"
    markers.mkdir(exist_ok=True)

    def mark(name):
        (markers / f"{name}-{os.getpid()}").touch()

    @action
    def first(initial_context):
        mark("first")
        return {"n": initial_context.storage, "rows": [1, 2]}

    @action
    def second(previous_context):
        mark("second")
        if fail:
            raise RuntimeError("second failed in run 1")
        return previous_context.storage["rows"] + [previous_context.storage["n"]]

    @action
    def third(previous_context):
        mark("third")
        return sum(previous_context.storage)

    workflow = DotFlow(config=Config(storage=StorageFile(root / "out")), workflow_id="two-process")
    workflow.task.add(first, initial_context=5).add([second, third])
    workflow.start(resume=True)
    print(json.dumps({
        "status": [t.status for t in workflow.result_task()],
        "storage": workflow.result_storage(),
        "ids": [t.task_id for t in workflow.result_task()],
    }))
    """
)


def _markers(root: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in (root / "markers").iterdir():
        name = path.name.rsplit("-", 1)[0]
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_resume_across_two_processes(tmp_path: Path) -> None:
    """A second process with the same workflow id skips the first process's completed tasks (file storage)."""
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)

    run1 = json.loads(engine_support.run_python(script, str(tmp_path), "fail"))
    assert run1["status"] == ["Completed", "Failed", "Not started"]
    assert _markers(tmp_path) == {"first": 1, "second": 1}

    run2 = json.loads(engine_support.run_python(script, str(tmp_path), "ok"))
    assert run2["ids"] == run1["ids"]
    assert run2["status"] == ["Completed"] * 3
    assert run2["storage"] == [{"n": 5, "rows": [1, 2]}, [1, 2, 5], 8]
    assert _markers(tmp_path) == {"first": 1, "second": 2, "third": 1}

    run3 = json.loads(engine_support.run_python(script, str(tmp_path), "fail"))
    assert run3["status"] == ["Completed"] * 3
    assert run3["storage"] == run2["storage"]
    assert _markers(tmp_path) == {"first": 1, "second": 2, "third": 1}


# --- changed inputs ------------------------------------------------------------------------------


def _stored_then_changed(storage: Any) -> DotFlow:
    """Run the pipeline with seed-1 to completion, then build it again with seed-2."""
    _pipeline(storage, seed="seed-1").start(resume=True)
    RUNS.clear()
    return _pipeline(storage, seed="seed-2")


def test_changed_inputs_reuse_by_default() -> None:
    """With changed inputs and the default ``on_input_change="reuse"``, the checkpoints are kept."""
    workflow = _stored_then_changed(StorageDefault())
    workflow.start(resume=True)
    assert RUNS == []
    assert workflow.result_storage()[0]["seed"] == "seed-1"


def test_changed_inputs_reset_runs_everything() -> None:
    """``on_input_change="reset"`` drops the checkpoints and runs every step with the new inputs."""
    workflow = _stored_then_changed(StorageDefault())
    workflow.start(resume=True, on_input_change="reset")
    assert RUNS == ["extract", "transform", "load"]
    assert workflow.result_storage()[0]["seed"] == "seed-2"


def test_reset_drops_checkpoints_a_failed_rerun_did_not_replace() -> None:
    """After a reset run fails midway, the next resume does not reuse the old inputs' later checkpoints."""
    storage = StorageDefault()
    changed = _stored_then_changed(storage)
    FAIL.add("transform")
    changed.start(resume=True, on_input_change="reset")
    assert [t.status for t in changed.result_task()] == ["Completed", "Failed", "Not started"]
    FAIL.clear()
    RUNS.clear()
    again = _pipeline(storage, seed="seed-2")
    again.start(resume=True)
    assert RUNS == ["transform", "load"]
    assert again.result_storage() == [{"rows": [1, 2, 3], "seed": "seed-2"}, [10, 20, 30], 60]


def test_changed_inputs_raise_stops_with_a_clear_error() -> None:
    """``on_input_change="raise"`` raises InputChangedError naming the workflow and the options, and runs nothing."""
    workflow = _stored_then_changed(StorageDefault())
    with pytest.raises(InputChangedError) as info:
        workflow.start(resume=True, on_input_change="raise")
    message = str(info.value)
    assert "wf-resume" in message and "'reset'" in message and "'reuse'" in message
    assert isinstance(info.value, DotflowError)
    assert RUNS == []
    assert all(t.status is TypeStatus.NOT_STARTED for t in workflow.result_task())


def test_a_run_without_resume_records_its_inputs_too() -> None:
    """Checkpoints written by a run without ``resume`` still carry its inputs: a later
    ``resume=True, on_input_change="raise"`` with other inputs refuses them."""
    storage = StorageDefault()
    _pipeline(storage, seed="seed-1").start()
    RUNS.clear()
    with pytest.raises(InputChangedError):
        _pipeline(storage, seed="seed-2").start(resume=True, on_input_change="raise")
    assert RUNS == []


def test_unchanged_inputs_do_not_raise() -> None:
    """The same inputs on a second run resume normally even with ``on_input_change="raise"``."""
    storage = StorageDefault()
    _pipeline(storage).start(resume=True)
    RUNS.clear()
    _pipeline(storage).start(resume=True, on_input_change="raise")
    assert RUNS == []


def test_fingerprint_override_decides_what_changed() -> None:
    """``fingerprint=`` replaces the computed value: equal overrides hide changed inputs, different ones flag them."""
    storage = StorageDefault()
    _pipeline(storage, seed="seed-1").start(resume=True, fingerprint="v1")
    RUNS.clear()
    _pipeline(storage, seed="seed-2").start(resume=True, fingerprint="v1", on_input_change="raise")
    assert RUNS == []
    with pytest.raises(InputChangedError):
        _pipeline(storage, seed="seed-1").start(resume=True, fingerprint="v2", on_input_change="raise")


def test_fingerprint_reflects_the_initial_contexts() -> None:
    """``DotFlow.fingerprint()`` is stable for equal inputs and changes when an initial context changes."""
    a = _pipeline(StorageDefault(), seed={"x": 1, "y": 2})
    b = _pipeline(StorageDefault(), seed={"y": 2, "x": 1})
    c = _pipeline(StorageDefault(), seed={"x": 1, "y": 3})
    assert a.fingerprint() == b.fingerprint()
    assert a.fingerprint() != c.fingerprint()


def test_changed_inputs_are_detected_across_processes(tmp_path: Path) -> None:
    """With file storage, a second process with a different initial context raises under "raise"."""
    script = tmp_path / "inputs.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys
            from dotflow import Config, DotFlow, action
            from dotflow.errors import InputChangedError
            from dotflow.providers import StorageFile

            @action
            def step(initial_context):
                return initial_context.storage

            workflow = DotFlow(config=Config(storage=StorageFile(sys.argv[1])), workflow_id="inputs")
            workflow.task.add(step, initial_context=sys.argv[2])
            try:
                workflow.start(resume=True, on_input_change="raise")
            except InputChangedError:
                print("changed")
            else:
                print(workflow.result_storage()[0])
            """
        )
    )
    out = str(tmp_path / "out")
    assert engine_support.run_python(script, out, "alpha").strip() == "alpha"
    assert engine_support.run_python(script, out, "alpha").strip() == "alpha"
    assert engine_support.run_python(script, out, "beta").strip() == "changed"


def test_resume_with_file_storage_in_process(tmp_path: Path) -> None:
    """StorageFile checkpoints (a dict and a list result) feed a resumed run in the same process."""
    storage = StorageFile(tmp_path / "out")
    FAIL.add("transform")
    _pipeline(storage).start(resume=True)
    FAIL.clear()
    _pipeline(StorageFile(tmp_path / "out")).start(resume=True)
    RUNS.clear()
    again = _pipeline(StorageFile(tmp_path / "out"))
    again.start(resume=True)
    assert RUNS == []
    assert again.result_storage() == [{"rows": [1, 2, 3], "seed": "seed-1"}, [10, 20, 30], 60]
