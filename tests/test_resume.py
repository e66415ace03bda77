"""Resume: skipping stored tasks, in one process and across two, and guarding against changed inputs."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import engine_support
import pytest

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.abc.storage import Storage
from dotflow.errors import DotflowError, InputChangedError, StorageError
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
    assert [t.status for t in first.result_task()] == ["Completed", "Failed", "Skipped"]
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


def test_resume_in_parallel_mode_on_every_executor(executor: str, tmp_path: Path) -> None:
    """Resume in parallel mode, whatever runs the steps (threads, processes, Dask): the second run
    runs only the tasks that failed in the first, and every result is there in the end."""
    import executor_steps

    traces = tmp_path / "traces"
    traces.mkdir()

    def build() -> DotFlow:
        workflow = DotFlow(config=Config(storage=StorageFile(path=str(tmp_path / "store"))), workflow_id="wf-par-x")
        for n in range(4):
            workflow.task.add(executor_steps.fails_when_told, initial_context={"n": n, "folder": str(traces)})
        return workflow

    for n in (1, 3):
        (traces / f"fail-{n}").touch()
    first = build()
    first.start(mode="parallel", resume=True, executor=executor)
    assert [t.status for t in first.result_task()] == ["Completed", "Failed", "Completed", "Failed"]
    for n in (1, 3):
        (traces / f"fail-{n}").unlink()
    ran_before = {path.name for path in traces.iterdir()}
    again = build()
    again.start(mode="parallel", resume=True, executor=executor)
    ran_now = sorted(name.split("-")[1] for name in {path.name for path in traces.iterdir()} - ran_before)
    assert ran_now == ["1", "3"]
    assert again.result_storage() == [0, 10, 20, 30]
    assert [t.resumed for t in again.result_task()] == [True, False, True, False]


def test_resume_across_two_processes(tmp_path: Path) -> None:
    """A second process with the same workflow id skips the first process's completed tasks (file storage)."""
    script = tmp_path / "pipeline.py"
    script.write_text(SCRIPT)

    run1 = json.loads(engine_support.run_python(script, str(tmp_path), "fail"))
    assert run1["status"] == ["Completed", "Failed", "Skipped"]
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


def test_changed_inputs_reuse_by_default(caplog: pytest.LogCaptureFixture) -> None:
    """With changed inputs and the default ``on_input_change="reuse"``, the checkpoints are kept, with a warning."""
    workflow = _stored_then_changed(StorageDefault())
    with caplog.at_level("WARNING", logger="dotflow"):
        workflow.start(resume=True)
    assert sum("inputs changed" in r.getMessage() for r in caplog.records) == 1
    assert RUNS == []
    assert workflow.result_storage()[0]["seed"] == "seed-1"


def test_a_reuse_keeps_the_inputs_the_checkpoints_were_made_from(caplog: pytest.LogCaptureFixture) -> None:
    """After a resume reused checkpoints made from other inputs, the next resume with the new
    inputs still sees the change: it warns again under 'reuse', stops under 'raise' and reruns
    everything under 'reset' (the reuse did not record the new inputs as the checkpoints' own)."""
    storage = StorageDefault()
    _stored_then_changed(storage).start(resume=True)
    caplog.clear()
    with caplog.at_level("WARNING", logger="dotflow"):
        _pipeline(storage, seed="seed-2").start(resume=True)
    assert sum("inputs changed" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(InputChangedError):
        _pipeline(storage, seed="seed-2").start(resume=True, on_input_change="raise")
    RUNS.clear()
    reset = _pipeline(storage, seed="seed-2")
    reset.start(resume=True, on_input_change="reset")
    assert RUNS == ["extract", "transform", "load"]
    assert reset.result_storage()[0]["seed"] == "seed-2"


def test_checkpoints_made_from_two_sets_of_inputs_match_neither(caplog: pytest.LogCaptureFixture) -> None:
    """A reuse whose run reran a task with the new inputs leaves checkpoints from both sets: a
    later resume with either set is told (and 'raise' stops), instead of quietly mixing them."""
    storage = StorageDefault()
    FAIL.add("transform")
    _pipeline(storage, seed="seed-1").start(resume=True)  # extract stored from seed-1, transform failed
    FAIL.clear()
    _pipeline(storage, seed="seed-2").start(resume=True)  # reuse: extract's seed-1 result, the rest reran
    caplog.clear()
    with caplog.at_level("WARNING", logger="dotflow"):
        _pipeline(storage, seed="seed-1").start(resume=True)
    assert sum("inputs changed" in r.getMessage() for r in caplog.records) == 1
    with pytest.raises(InputChangedError):
        _pipeline(storage, seed="seed-1").start(resume=True, on_input_change="raise")
    RUNS.clear()
    _pipeline(storage, seed="seed-1").start()  # a run without resume rebuilds the set whole
    RUNS.clear()
    again = _pipeline(storage, seed="seed-1")
    again.start(resume=True, on_input_change="raise")
    assert RUNS == [] and again.result_storage()[0]["seed"] == "seed-1"


def test_a_run_that_cannot_start_keeps_the_earlier_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run without resume whose executor cannot be had (Dask's package missing) fails before
    it drops anything: the earlier run's checkpoints are still there for a resume."""
    storage = StorageFile(path=str(tmp_path))
    _pipeline(storage).start()
    monkeypatch.setitem(sys.modules, "distributed", None)  # what `import distributed` does when it is absent
    with pytest.raises(DotflowError, match="distributed"):
        _pipeline(storage).start(mode="parallel", executor="dask")
    monkeypatch.undo()
    RUNS.clear()
    again = _pipeline(storage)
    again.start(resume=True)
    assert RUNS == []
    assert again.result_storage()[2] == 60


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
    assert [t.status for t in changed.result_task()] == ["Completed", "Failed", "Skipped"]
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


# --- steps that return None, custom storages ---------------------------------------------------------


@action
def side_effect_only() -> None:
    RUNS.append("side_effect_only")


def _none_pipeline(storage: Any) -> DotFlow:
    workflow = DotFlow(config=Config(storage=storage), workflow_id="wf-none")
    workflow.task.add([side_effect_only, transform_none_input])
    return workflow


@action
def transform_none_input(previous_context: Context) -> str:
    RUNS.append("after")
    if "after" in FAIL:
        raise RuntimeError("after is down")
    return f"got {previous_context.storage!r}"


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_resume_skips_a_completed_step_that_returned_none(kind: str, tmp_path: Path) -> None:
    """A step that completed with None is stored and skipped on resume, not run again."""
    def storage() -> Any:
        return StorageDefault() if kind == "memory" else StorageFile(tmp_path / "out")

    shared = storage()
    FAIL.add("after")
    _none_pipeline(shared).start(resume=True)
    assert RUNS == ["side_effect_only", "after"]
    RUNS.clear()
    FAIL.clear()
    again = _none_pipeline(shared if kind == "memory" else storage())
    again.start(resume=True)
    assert RUNS == ["after"]
    assert again.result_storage() == [None, "got None"]


class DictStorage(Storage):
    """A custom storage written against the old contract: only ``post`` and ``get``."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}

    def post(self, key: str, context: Context) -> None:
        self.data[key] = context.storage

    def get(self, key: str) -> Context:
        return Context(self.data.get(key))


def test_a_custom_storage_gets_exists_and_delete_for_free() -> None:
    """A post/get-only Storage gets ``exists`` (a non-None value is stored) and ``delete`` (posts an empty Context)."""
    storage = DictStorage()
    assert storage.exists("k") is False
    storage.post("k", Context([1]))
    assert storage.exists("k") is True
    storage.delete("k")
    assert storage.exists("k") is False and storage.get("k").storage is None


def test_a_custom_storage_still_resumes_and_resets() -> None:
    """Resume and ``on_input_change="reset"`` work with a custom post/get-only storage."""
    storage = DictStorage()
    _pipeline(storage, seed="seed-1").start(resume=True)
    RUNS.clear()
    _pipeline(storage, seed="seed-1").start(resume=True)
    assert RUNS == []
    _pipeline(storage, seed="seed-2").start(resume=True, on_input_change="reset")
    assert RUNS == ["extract", "transform", "load"]


class UnreachableStorage(DictStorage):
    """A custom storage whose disk or network is gone: every ``get`` and ``post`` raises OSError."""

    def get(self, key: str) -> Context:
        raise OSError(5, "Input/output error")

    def post(self, key: str, context: Context) -> None:
        raise ConnectionRefusedError(111, "Connection refused")


def test_a_custom_storage_failing_before_the_run_is_one_storage_error() -> None:
    """A plugin Storage raising OSError while the run prepares its checkpoints: start() raises one
    StorageError naming the storage and the error, and no task runs."""
    flow = _pipeline(UnreachableStorage())
    with pytest.raises(StorageError) as info:
        flow.start(resume=True)
    message = str(info.value)
    assert message.startswith("UnreachableStorage failed while the run read and wrote its checkpoints")
    assert "OSError: [Errno 5] Input/output error" in message and "\n" not in message
    assert RUNS == []
    assert {task.status for task in flow.result_task()} == {TypeStatus.NOT_STARTED}


def test_reset_deletes_the_old_checkpoints(tmp_path: Path) -> None:
    """``on_input_change="reset"`` removes the workflow's checkpoint files before running again."""
    root = tmp_path / "out"
    _pipeline(StorageFile(root), seed="seed-1").start(resume=True)
    deleted: list[str] = []

    class Spy(StorageFile):
        def delete(self, key: str) -> None:
            deleted.append(key)
            super().delete(key)

    FAIL.add("transform")
    workflow = _pipeline(Spy(root), seed="seed-2")
    workflow.start(resume=True, on_input_change="reset")
    keys = [f"wf-resume-{t.task_id}" for t in workflow.result_task()]
    assert deleted[: len(keys)] == keys  # all dropped before running (the failing step drops its own again)
    assert not (root / f"{keys[2]}.json").exists()


# --- fingerprints across processes -------------------------------------------------------------------


class Plain:
    """An object whose str and repr hold its memory address."""


class Point:
    """An object with a stable, address-free repr."""

    def __init__(self, x: int) -> None:
        self.x = x

    def __repr__(self) -> str:
        return f"Point({self.x})"


def _fingerprint(seed: Any) -> str:
    workflow = DotFlow(config=Config(), workflow_id="fp")
    workflow.task.add(extract, initial_context=seed)
    return workflow.fingerprint()


def test_fingerprint_ignores_memory_addresses() -> None:
    """Two equal-looking objects at different addresses give the same fingerprint."""
    assert _fingerprint({"obj": Plain()}) == _fingerprint({"obj": Plain()})
    assert _fingerprint([Plain(), Plain()]) != _fingerprint([Plain()])


def test_fingerprint_uses_a_stable_repr_and_the_type() -> None:
    """Objects with an address-free repr are told apart by it, and by their type from a plain string."""
    assert _fingerprint(Point(1)) == _fingerprint(Point(1))
    assert _fingerprint(Point(1)) != _fingerprint(Point(2))
    assert _fingerprint(Point(1)) != _fingerprint("Point(1)")


def test_fingerprint_of_sets_ignores_their_order() -> None:
    """Sets and frozensets with the same items fingerprint the same, whatever their insertion order."""
    items = [f"tag-{n}" for n in range(50)]
    assert _fingerprint({"tags": set(items)}) == _fingerprint({"tags": set(reversed(items))})
    assert _fingerprint(frozenset(items)) == _fingerprint(frozenset(reversed(items)))
    assert _fingerprint({1, "1"}) == _fingerprint({"1", 1})


def test_fingerprint_of_plain_json_inputs_is_unchanged() -> None:
    """For JSON values the fingerprint is still the sha256 of the sorted JSON, so stored fingerprints stay valid."""
    from hashlib import sha256

    workflow = DotFlow(config=Config(), workflow_id="fp")
    workflow.task.add(extract, initial_context={"b": [1, 2.5, None], "a": "x"})
    expected = json.dumps([[workflow.result_task()[0].task_id, {"b": [1, 2.5, None], "a": "x"}]], sort_keys=True)
    assert workflow.fingerprint() == sha256(expected.encode()).hexdigest()


FINGERPRINT_SCRIPT = textwrap.dedent(
    """
    from dotflow import Config, DotFlow, action

    class Plain:
        pass

    @action
    def step(initial_context):
        return None

    workflow = DotFlow(config=Config(), workflow_id="fp-process")
    seed = {"tags": {f"tag-{n}" for n in range(40)}, "frozen": frozenset({"x", "y", "z"}), "obj": Plain(),
            "nested": [{"inner": {"a", "b", "c"}}]}
    workflow.task.add(step, initial_context=seed)
    print(workflow.fingerprint())
    """
)


def test_fingerprint_is_the_same_in_another_process() -> None:
    """Sets and address-bearing objects fingerprint the same in processes with different hash seeds."""
    prints = {
        engine_support.run_python(FINGERPRINT_SCRIPT, extra_env={"PYTHONHASHSEED": seed}).strip()
        for seed in ("1", "2", "3")
    }
    assert len(prints) == 1, prints


# --- class steps on resume ---------------------------------------------------------------------------


@action
class Stages:
    @action
    def first(self) -> int:
        RUNS.append("Stages.first")
        return 1

    @action
    def second(self, previous_context: Context) -> int:
        return previous_context.storage + 1


@action
def after_stages(previous_context: Context) -> int:
    RUNS.append("after_stages")
    if "after_stages" in FAIL:
        raise RuntimeError("after_stages is down")
    return previous_context.storage[-1].storage * 100


class Returned:
    @action
    def only(self) -> str:
        return "from instance"


@action
def returns_instance() -> Returned:
    RUNS.append("returns_instance")
    return Returned()


def _class_pipeline(storage: Any) -> DotFlow:
    workflow = DotFlow(config=Config(storage=storage), workflow_id="wf-class")
    workflow.task.add([Stages, after_stages, returns_instance])
    return workflow


@pytest.mark.parametrize("kind", ["memory", "file"])
def test_class_step_result_keeps_its_shape_on_resume(kind: str, tmp_path: Path) -> None:
    """A resumed class step (and a step returning an instance) gives a list of Contexts, as on the first run."""
    def storage() -> Any:
        return StorageDefault() if kind == "memory" else StorageFile(tmp_path / "out")

    shared = storage()
    FAIL.add("after_stages")
    first = _class_pipeline(shared)
    first.start(resume=True, keep_going=True)
    assert first.result_storage()[0] == [Context(1), Context(2)]
    RUNS.clear()
    FAIL.clear()
    again = _class_pipeline(shared if kind == "memory" else storage())
    again.start(resume=True)
    assert RUNS == ["after_stages"]
    assert again.result_storage() == [[Context(1), Context(2)], 200, [Context("from instance")]]


def test_class_step_checkpoint_from_an_older_file_is_rewrapped(tmp_path: Path) -> None:
    """A class step's checkpoint stored as a plain list (``{"storage": [1, 2]}``) resumes as a list of Contexts."""
    root = tmp_path / "out"
    root.mkdir()
    workflow = _class_pipeline(StorageFile(root))
    task_id = workflow.result_task()[0].task_id
    (root / f"wf-class-{task_id}.json").write_text(json.dumps({"storage": [1, 2]}))
    workflow.start(resume=True)
    assert workflow.result_storage()[:2] == [[Context(1), Context(2)], 200]
    assert "Stages.first" not in RUNS


def test_a_failed_rerun_leaves_no_stale_checkpoints(tmp_path: Path) -> None:
    """Changed inputs without resume drop the old checkpoints, and a failed task drops its own:
    a later resume runs the failed task and the ones after it with the new inputs."""
    root = tmp_path / "out"
    _pipeline(StorageFile(root), seed="seed-1").start()
    FAIL.add("transform")
    _pipeline(StorageFile(root), seed="seed-2").start()
    FAIL.clear()
    RUNS.clear()
    again = _pipeline(StorageFile(root), seed="seed-2")
    again.start(resume=True, on_input_change="raise")
    assert RUNS == ["transform", "load"]
    assert again.result_storage()[0]["seed"] == "seed-2"


def test_a_rerun_without_resume_leaves_no_older_checkpoints(tmp_path: Path) -> None:
    """A rerun without resume replaces the earlier run's checkpoints, even with unchanged inputs:
    after it fails, resume runs the failed task and the ones after it, never mixing two runs."""
    root = tmp_path / "out"
    _pipeline(StorageFile(root)).start()
    FAIL.add("transform")
    _pipeline(StorageFile(root)).start()
    FAIL.clear()
    RUNS.clear()
    _pipeline(StorageFile(root)).start(resume=True)
    assert RUNS == ["transform", "load"]


def test_a_resumed_task_says_so_and_when_its_checkpoint_was_written(tmp_path: Path, caplog: Any) -> None:
    """A task restored from a file checkpoint is ``resumed``, its result's time is when the checkpoint
    was written (it survives the process), and the log says resumed with that time; one that ran is not."""
    import logging
    import time

    first = DotFlow(config=Config(storage=StorageFile(tmp_path)), workflow_id="wf-seen")
    first.task.add(extract, initial_context={"n": 1})
    first.start(resume=True)
    written = first.result_task()[0].current_context.time
    assert not first.result_task()[0].resumed
    time.sleep(0.05)
    second = DotFlow(config=Config(storage=StorageFile(tmp_path)), workflow_id="wf-seen")
    second.task.add(extract, initial_context={"n": 1})
    with caplog.at_level(logging.INFO, logger="dotflow"):
        second.start(resume=True)
    task = second.result_task()[0]
    assert task.resumed and task.status is TypeStatus.COMPLETED
    assert abs((task.current_context.time - written).total_seconds()) < 0.01
    assert any("resumed from the checkpoint written" in r.getMessage() for r in caplog.records)


def test_a_result_json_cannot_hold_is_stored_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkpointed result holding a date, a set or a tuple comes back changed on resume: the
    storage says so once, naming the types and the key, instead of a later step failing then;
    a plain JSON result gets no warning."""
    import datetime

    from dotflow.providers import _codec

    monkeypatch.setattr(_codec, "_WARNED", set())  # once per process: this test must see its own

    @action
    def odd() -> dict[str, Any]:
        return {"when": datetime.date(2024, 1, 2), "ids": {1, 2}, "pair": (1, 2)}

    @action
    def plain() -> dict[str, Any]:
        return {"rows": [1, 2]}

    flow = DotFlow(config=Config(storage=StorageFile(path=str(tmp_path))), workflow_id="wf-odd")
    flow.task.add(odd).add(plain)
    with caplog.at_level("WARNING", logger="dotflow"):
        flow.start()
    warned = [r.getMessage() for r in caplog.records if "kept as JSON" in r.getMessage()]
    assert len(warned) == 1
    assert "holds date, set, tuple" in warned[0] and "wf-odd-0-" in warned[0]
    again = DotFlow(config=Config(storage=StorageFile(path=str(tmp_path))), workflow_id="wf-odd")
    again.task.add(odd).add(plain)
    again.start(resume=True)
    assert again.result_storage()[0] == {"when": "2024-01-02", "ids": [1, 2], "pair": [1, 2]}
