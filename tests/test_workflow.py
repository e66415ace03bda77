"""DotFlow: ids, results in task order, schedule(), and the no-config path through profiles."""

from __future__ import annotations

import json
import textwrap
import uuid
from pathlib import Path

import engine_support
import pytest
from engine_support import RecordingScheduler, RecordingServer

from dotflow import Config, Context, DotFlow, TaskBuilder, TypeStatus, action
from dotflow.errors import DotflowError, UsageError
from dotflow.execution.manager import Manager
from dotflow.providers import SchedulerDefault


@action
def one() -> int:
    return 1


@action
def two(previous_context: Context) -> int:
    return previous_context.storage + 1


@action
def fails() -> None:
    raise RuntimeError("nope")


def test_generated_workflow_id_is_a_uuid4() -> None:
    """Without workflow_id each DotFlow gets a fresh uuid4 string."""
    a, b = DotFlow(config=Config()), DotFlow(config=Config())
    assert uuid.UUID(a.workflow_id).version == 4
    assert a.workflow_id != b.workflow_id


def test_task_is_a_builder_bound_to_the_workflow() -> None:
    """``.task`` is a TaskBuilder whose tasks carry the workflow's id."""
    workflow = DotFlow(config=Config(), workflow_id="bound")
    assert isinstance(workflow.task, TaskBuilder)
    workflow.task.add(one)
    assert workflow.result_task()[0].workflow_id == "bound"


def test_start_returns_the_manager() -> None:
    """``start()`` returns a Manager for this workflow, with the final status."""
    workflow = DotFlow(config=Config(), workflow_id="m")
    workflow.task.add(one)
    manager = workflow.start()
    assert isinstance(manager, Manager)
    assert manager.workflow_id == "m"
    assert manager.status is TypeStatus.COMPLETED


def test_result_lists_are_in_task_order() -> None:
    """result_task, result_context and result_storage list the tasks in the order they were added."""
    workflow = DotFlow(config=Config(), workflow_id="order")
    workflow.task.add([one, two, two])
    workflow.start()
    tasks = workflow.result_task()
    assert tasks == workflow.task.queue and tasks is not workflow.task.queue
    assert [c.storage for c in workflow.result_context()] == [1, 2, 3]
    assert all(isinstance(c, Context) for c in workflow.result_context())
    assert [c.task_id for c in workflow.result_context()] == [t.task_id for t in tasks]
    assert workflow.result_storage() == [1, 2, 3]


def test_results_of_a_partly_run_workflow() -> None:
    """Tasks that failed or never ran give an empty Context and None in the result lists."""
    workflow = DotFlow(config=Config(), workflow_id="partial")
    workflow.task.add([one, fails, two])
    workflow.start()
    assert workflow.result_storage() == [1, None, None]
    assert [type(c) for c in workflow.result_context()] == [Context] * 3


def test_result_dict_keys_and_json() -> None:
    """``result()`` has keys workflow_id, workflow_name, tasks, id, name, and serializes to JSON."""
    workflow = DotFlow(config=Config(), workflow_id="res", name="nightly")
    workflow.task.add([one, fails])
    workflow.start()
    data = workflow.result()
    assert list(data) == ["workflow_id", "workflow_name", "tasks", "id", "name"]
    assert data["workflow_id"] == data["id"] == "res"
    assert data["workflow_name"] == data["name"] == "nightly"
    assert [t["status"] for t in data["tasks"]] == ["Completed", "Failed"]
    assert json.loads(json.dumps(data)) == data


def test_result_without_a_name() -> None:
    """Without ``name``, the workflow is named after the machine, as in 1.x."""
    import socket

    data = DotFlow(config=Config(), workflow_id="x").result()
    assert (data["workflow_name"], data["name"], data["tasks"]) == (socket.gethostname(), socket.gethostname(), [])


def test_the_host_name_is_never_sent_to_a_server() -> None:
    """The default name (the host name) stays local: create_workflow's body has only the id; a given name goes."""
    from fault_server import FaultServer

    from dotflow.providers import ServerAPI

    with FaultServer("nodelay") as backend:
        for name in (None, "nightly"):
            server = ServerAPI(backend.url, "tok-12345678")
            DotFlow(config=Config(server=server), name=name)
            server.flush()
        assert [r.body.get("name") for r in backend.requests()] == [None, "nightly"]


def test_schedule_hands_start_to_the_scheduler() -> None:
    """``schedule(**options)`` passes the workflow's start and the options to the scheduler, without running."""
    scheduler = RecordingScheduler()
    workflow = DotFlow(config=Config(scheduler=scheduler), workflow_id="sched")
    workflow.task.add(one)
    workflow.schedule(mode="parallel", keep_going=True)
    assert len(scheduler.received) == 1
    start, options = scheduler.received[0]
    assert start == workflow.start
    assert options == {"mode": "parallel", "keep_going": True}
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED
    start(**options)
    assert workflow.result_storage() == [1]


def test_copy_has_the_same_tasks_name_and_providers_under_a_new_id() -> None:
    """``copy()`` keeps the providers, the name and each task's step, callback, initial context and
    group, under a new generated id; running the copy leaves the original's tasks untouched."""
    config = Config()

    def note(task: object) -> None: ...

    workflow = DotFlow(config=config, workflow_id="original", name="nightly")
    workflow.task.add(one, callback=note, initial_context={"n": 1}, group_name="first")
    workflow.task.add(two, group_name="first")
    twin = workflow.copy()
    assert twin.config is config and twin.name == "nightly"
    assert twin.workflow_id != "original" and uuid.UUID(twin.workflow_id).version == 4
    assert [(t.step, t.callback, t.group_name) for t in twin.task.queue] == [
        (t.step, t.callback, t.group_name) for t in workflow.task.queue]
    assert [None if t.given_context is None else t.given_context.storage for t in twin.task.queue] == [
        {"n": 1}, None]
    twin.start()
    assert twin.result_storage() == [1, 2]
    assert [t.status for t in workflow.result_task()] == [TypeStatus.NOT_STARTED] * 2


def test_copy_keeps_the_run_defaults(clean_env: Path) -> None:
    """A copy runs with the original's run defaults (here its profile's keep_going)."""
    from dotflow.profiles import resolve

    twin = DotFlow(profile=resolve(overrides={"workflow.keep_going": True})).copy()
    twin.task.add([fails, one])
    twin.start()
    assert [t.status for t in twin.result_task()] == ["Failed", "Completed"]


def test_a_copy_of_a_workflow_named_after_the_machine_sends_no_name() -> None:
    """The copy of a workflow named after the machine is named after it too, and that name stays local;
    a given name goes to the server for the copy as for the original."""
    import socket

    from fault_server import FaultServer

    from dotflow.providers import ServerAPI

    with FaultServer("nodelay") as backend:
        for name in (None, "nightly"):
            server = ServerAPI(backend.url, "tok-12345678")
            twin = DotFlow(config=Config(server=server), name=name).copy()
            assert twin.name == (name or socket.gethostname())
            server.flush()
        assert [r.body.get("name") for r in backend.requests()] == [None, None, "nightly", "nightly"]


def test_own_config_says_whether_a_config_was_given(clean_env: Path) -> None:
    """``own_config`` is True for ``DotFlow(config=...)`` and False when the profile built the Config."""
    assert DotFlow(config=Config()).own_config is True
    assert DotFlow().own_config is False


def test_default_scheduler_runs_nothing() -> None:
    """With the default scheduler, ``schedule()`` does not run the workflow."""
    workflow = DotFlow(config=Config(), workflow_id="idle")
    workflow.task.add(one)
    assert isinstance(workflow.config.scheduler, SchedulerDefault)
    workflow.schedule()
    assert workflow.result_task()[0].status is TypeStatus.NOT_STARTED


def test_each_start_runs_the_tasks_again() -> None:
    """Calling ``start()`` twice without resume runs every step twice."""
    calls: list[int] = []

    @action
    def count() -> int:
        calls.append(1)
        return len(calls)

    workflow = DotFlow(config=Config(), workflow_id="twice")
    workflow.task.add(count)
    workflow.start()
    workflow.start()
    assert calls == [1, 1]
    assert workflow.result_storage() == [2]


def test_a_second_start_forgets_the_first_runs_outcome() -> None:
    """A second ``start()`` begins from a clean slate: no old errors, retry count, result or error."""
    attempts: list[int] = []

    @action(retry=2, retry_delay=0)
    def fails_first_run() -> int:
        attempts.append(1)
        if len(attempts) <= 2:
            raise RuntimeError("first run fails")
        return 5

    workflow = DotFlow(config=Config(), workflow_id="twice-reset")
    workflow.task.add(fails_first_run)
    workflow.start()
    task = workflow.result_task()[0]
    assert (task.status, len(task.errors), task.retry_count) == ("Failed", 2, 1)
    workflow.start()
    assert task.status is TypeStatus.COMPLETED
    assert (task.errors, task.retry_count, task.current_context.storage) == ([], 0, 5)
    assert task.result()["error"] is None


def test_a_second_start_resets_tasks_it_does_not_reach() -> None:
    """A task the second run never reaches is cleared (no times, errors or result, no report of Not started),
    then ends Skipped."""
    server = RecordingServer()
    calls: list[int] = []

    @action(retry_delay=0)
    def fails_second_time() -> int:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("second run fails")
        return 1

    workflow = DotFlow(config=Config(server=server), workflow_id="twice-unreached")
    workflow.task.add([fails_second_time, fails])
    workflow.start(keep_going=True)
    unreached = workflow.result_task()[1]
    assert unreached.status is TypeStatus.FAILED and unreached.errors
    server.calls.clear()
    workflow.start()
    assert workflow.result_task()[0].status is TypeStatus.FAILED
    assert unreached.status is TypeStatus.SKIPPED and unreached.reason == "not run: fails_second_time failed"
    assert (unreached.errors, unreached.retry_count, unreached.started_at, unreached.finished_at) == ([], 0, None, None)
    assert unreached.current_context.storage is None and unreached.duration is None
    assert ("update_task", "Not started") not in server.events()
    assert server.task_statuses(unreached.task_id) == ["Skipped"]


# --- workflow ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad", ["wf\nforged - line", "wf\rx", "tab\there", "nul\x00", "del\x7f", "c1\x85", "sep\u2028x", "lone\udc80"]
)
def test_workflow_id_with_control_or_unencodable_characters_is_rejected(bad: str) -> None:
    """An id with a control character, a line separator or a lone surrogate raises a one-line UsageError naming it."""
    with pytest.raises(UsageError) as info:
        DotFlow(config=Config(), workflow_id=bad)
    message = str(info.value)
    assert repr(bad) in message
    assert "\n" not in message and "\r" not in message


@pytest.mark.parametrize("good", ["a/b", "../up", "q?x#y", "with spaces", "ünïcødé-工作流", "%2F", "a:b@c"])
def test_workflow_id_with_path_and_url_syntax_is_accepted(good: str) -> None:
    """Ids with '/', '..', '?', '#', spaces or non-ASCII letters are accepted and run."""
    workflow = DotFlow(config=Config(), workflow_id=good)
    workflow.task.add(one)
    assert workflow.start().status is TypeStatus.COMPLETED
    assert workflow.workflow_id == good


# --- no config: the resolved profile ---------------------------------------------------------------


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No dotflow variables, no user or project dotflow.toml: a bare directory as cwd."""
    import os

    for name in list(os.environ):
        if name.startswith("DOTFLOW_") or name in ("WORKFLOW_ID", "SERVER_BASE_URL", "SERVER_USER_TOKEN"):
            monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


def test_no_config_uses_plain_defaults(clean_env: Path) -> None:
    """``DotFlow()`` with no file and no variables runs with a generated id and in-memory storage."""
    from dotflow.providers import StorageDefault

    workflow = DotFlow()
    assert uuid.UUID(workflow.workflow_id).version == 4
    assert isinstance(workflow.config.storage, StorageDefault)
    workflow.task.add([one, two])
    workflow.start()
    assert workflow.result_storage() == [1, 2]


def test_nothing_to_resolve_runs_with_what_resolving_would_give(clean_env: Path) -> None:
    """With no variable and no file, ``DotFlow()`` skips resolution; its providers and run options
    are the ones resolving would have built."""
    import os

    from dotflow.profiles import resolve
    from dotflow.profiles.discover import nothing_to_read
    from dotflow.settings import RUN_DEFAULTS

    assert nothing_to_read(os.environ, str(clean_env))
    resolved = resolve()
    assert (resolved.name, resolved["workflow.id"], resolved["workflow.name"], resolved.warnings) == (
        "default", None, None, [])
    assert resolved.workflow_options() == dict(RUN_DEFAULTS)
    built, workflow = resolved.config(), DotFlow()
    assert workflow._defaults == resolved.workflow_options()
    for role in ("storage", "notify", "log", "server", "scheduler", "tracer", "metrics"):
        assert type(getattr(workflow.config, role)) is type(getattr(built, role)), role
    assert workflow.config.log.output == built.log.output == "logger"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize(
    "source",
    ["DOTFLOW_WORKFLOW_MODE", "DOTFLOW_NOT_A_SETTING", "WORKFLOW_ID", "SERVER_BASE_URL", "empty WORKFLOW_ID",
     "dotflow.toml above", "pyproject.toml with [tool.dotflow]", "user file"],
)
def test_anything_to_read_means_resolving(clean_env: Path, monkeypatch: pytest.MonkeyPatch, source: str) -> None:
    """A variable (even an empty or unknown one: resolving warns about those), a project file
    in a parent folder or a user file each make ``DotFlow()`` resolve."""
    import os

    from dotflow.profiles.discover import nothing_to_read

    if source.startswith(("DOTFLOW_", "WORKFLOW", "SERVER")):
        monkeypatch.setenv(source, "parallel")
    elif source == "empty WORKFLOW_ID":
        monkeypatch.setenv("WORKFLOW_ID", "")
    elif source == "dotflow.toml above":
        _write(clean_env.parent / "dotflow.toml", "[workflow]\nmode = 'parallel'\n")
    elif source.startswith("pyproject"):
        _write(clean_env.parent / "pyproject.toml", "[tool.dotflow.workflow]\nmode = 'parallel'\n")
    else:
        _write(Path(os.environ["XDG_CONFIG_HOME"]) / "dotflow" / "dotflow.toml", "[workflow]\nmode = 'parallel'\n")
    assert not nothing_to_read(os.environ, str(clean_env))


def test_a_pyproject_without_dotflow_settings_is_nothing_to_read(clean_env: Path) -> None:
    import os

    from dotflow.profiles.discover import nothing_to_read

    _write(clean_env / "pyproject.toml", "[project]\nname = 'etl'\n[tool.ruff]\nline-length = 100\n")
    assert nothing_to_read(os.environ, str(clean_env))


def test_a_run_with_nothing_configured_loads_only_what_it_uses(tmp_path: Path) -> None:
    """The first ``DotFlow()`` and its run, with no dotflow.toml and no variables, import neither the
    profile machinery nor the built-in no-op providers (the run never calls them)."""
    code = (
        "import sys, json\n"
        "from dotflow import DotFlow, action\n"
        "@action\n"
        "def step(): return 1\n"
        "w = DotFlow(); w.task.add(step); w.start()\n"
        "assert w.result_storage() == [1]\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('dotflow.', 'tomllib')))))\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    loaded = set(json.loads(engine_support.run_python(
        code, cwd=home, extra_env={"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")})))
    unwanted = {"dotflow.profiles.resolution", "dotflow.profiles.schema", "dotflow.profiles.parse", "tomllib",
                "dotflow.providers.server_default", "dotflow.providers.notify_default",
                "dotflow.providers.tracer_default", "dotflow.providers.metrics_default",
                "dotflow.providers.scheduler_default"}
    assert loaded & unwanted == set()
    assert {"dotflow.profiles.discover", "dotflow.providers.storage_default"} <= loaded


def test_no_config_takes_the_id_from_the_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``DOTFLOW_WORKFLOW_ID`` set, ``DotFlow()`` uses it and never calls create_workflow."""
    module = clean_env / "recording_server_for_profiles.py"
    module.write_text(
        textwrap.dedent(
            """
            from dotflow.abc.server import Server

            CALLS = []

            class Recorder(Server):
                def create_workflow(self, workflow): CALLS.append(("create_workflow", workflow.workflow_id))
                def update_workflow(self, workflow, status=""): CALLS.append(("update_workflow", status))
                def create_task(self, task): CALLS.append(("create_task", task.status))
                def update_task(self, task): CALLS.append(("update_task", task.status))
            """
        )
    )
    monkeypatch.syspath_prepend(str(clean_env))
    monkeypatch.setenv("DOTFLOW_SERVER_PROVIDER", "recording_server_for_profiles:Recorder")
    import recording_server_for_profiles as recorder

    generated = DotFlow()
    assert recorder.CALLS == [("create_workflow", generated.workflow_id)]
    recorder.CALLS.clear()

    monkeypatch.setenv("DOTFLOW_WORKFLOW_ID", "from-env")
    workflow = DotFlow()
    assert workflow.workflow_id == "from-env"
    workflow.task.add(one)
    workflow.start()
    assert ("create_workflow", "from-env") not in recorder.CALLS
    assert [c[0] for c in recorder.CALLS].count("create_workflow") == 0
    assert DotFlow(workflow_id="explicit").workflow_id == "explicit"


def test_explicit_config_ignores_the_profile(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``config=`` given, profile variables such as ``DOTFLOW_WORKFLOW_ID`` are not read."""
    monkeypatch.setenv("DOTFLOW_WORKFLOW_ID", "from-env")
    workflow = DotFlow(config=Config())
    assert workflow.workflow_id != "from-env"


def test_no_config_run_options_come_from_the_profile(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``dotflow.toml`` with file storage and keep_going is used by ``DotFlow()``; explicit start() args win."""
    (clean_env / "dotflow.toml").write_text(
        textwrap.dedent(
            """
            [storage]
            provider = "file"
            path = "results"

            [workflow]
            keep_going = true
            """
        )
    )
    workflow = DotFlow(workflow_id="from-file")
    workflow.task.add([fails, one])
    workflow.start()
    assert [t.status for t in workflow.result_task()] == ["Failed", "Completed"]
    assert any((clean_env / "results").iterdir())
    again = DotFlow(workflow_id="from-file-2")
    again.task.add([fails, one])
    again.start(keep_going=False)
    assert [t.status for t in again.result_task()] == ["Failed", "Skipped"]


def test_repr_names_id_and_task_count() -> None:
    """``repr(DotFlow)`` shows the workflow id, name and number of tasks."""
    workflow = DotFlow(config=Config(), workflow_id="r", name="n")
    workflow.task.add([one, two])
    assert repr(workflow) == "DotFlow(workflow_id='r', name='n', tasks=2)"


def test_workflow_id_from_the_environment_is_validated(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An id with a newline from ``DOTFLOW_WORKFLOW_ID`` is rejected, naming the id, instead of splitting log lines."""
    monkeypatch.setenv("DOTFLOW_WORKFLOW_ID", "env\nforged")
    with pytest.raises(DotflowError) as info:
        DotFlow()
    assert repr("env\nforged") in str(info.value)
