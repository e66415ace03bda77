"""The store's rules against a real SQLite file and a real PostgreSQL database, on a clock the tests
move: the Crashed rule (which runs have a lease, how long it lasts), pruning with --keep-days,
migrations and the schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect

from dotflow.backend import schema
from dotflow.backend.database import open_engine, parse_url
from dotflow.backend.migrations import LATEST, migrate, state
from dotflow.backend.store import OPERATOR, LeaseTaken, Principal, RunEnded, RunGone, Store


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres").new_database())


@pytest.fixture
def store(database_url: str, clock: Clock) -> Iterator[Store]:
    """A migrated store on ``database_url``."""
    engine = open_engine(parse_url(database_url))
    migrate(engine)
    yield Store(engine, clock=clock)
    engine.dispose()


def _task(task_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {"id": task_id, "workflow_id": "w", "status": status, **extra}


def _report(store: Store, workflow_id: str, task_id: str, status: str, **extra: Any) -> None:
    import json

    body = _task(task_id, status, **extra)
    store.update_task(workflow_id, task_id, body, json.dumps(body), OPERATOR)


def _status(store: Store, workflow_id: str) -> str:
    return str(store.run_detail(workflow_id, OPERATOR)["status"])


def test_a_run_whose_beats_stop_is_crashed_after_three_intervals(store: Store, clock: Clock) -> None:
    """Beats every 2 s: not Crashed at 3 x 2 s after the last beat, Crashed just after; its unfinished
    tasks Crashed too, its finished one kept; its reports refused from then on."""
    store.record_workflow("w", None)
    _report(store, "w", "0-a", "Completed")
    _report(store, "w", "1-b", "In progress")
    _report(store, "w", "2-c", "Not started")
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    for _ in range(3):
        store.heartbeat("w", {"interval": 2}, OPERATOR)
        clock.now += 2
    clock.now += 3.9  # 5.9 s after the last beat
    assert store.sweep() == [] and _status(store, "w") == "In progress"
    clock.now += 0.2
    assert store.sweep() == ["w"]
    detail = store.run_detail("w", OPERATOR)
    assert detail["status"] == "Crashed"
    assert [task["status"] for task in detail["tasks"]] == ["Completed", "Crashed", "Crashed"]
    assert detail["history"][-1]["status"] == "Crashed"
    with pytest.raises(RunGone):
        store.heartbeat("w", {"interval": 2}, OPERATOR)
    with pytest.raises(RunGone):
        _report(store, "w", "1-b", "Completed")
    assert store.sweep() == []  # once


def test_a_version_1_run_never_crashes(store: Store, clock: Clock) -> None:
    """No heartbeat, no run_attempt: no lease, whatever the time."""
    store.record_workflow("w", None)
    _report(store, "w", "0-a", "In progress")
    clock.now += 10 * 86400
    assert store.sweep() == []


def test_a_version_2_run_that_never_beats_crashes_after_three_default_intervals(store: Store, clock: Clock) -> None:
    """A run_attempt shows version 2: with no heartbeat, 3 x 15 s after its first report it is Crashed."""
    store.record_workflow("w", None)
    clock.now += 10
    _report(store, "w", "0-a", "In progress", run_attempt=1)
    clock.now += 44.9 - 10
    assert store.sweep() == []
    clock.now += 0.2
    assert store.sweep() == ["w"]


def test_a_finished_run_never_crashes(store: Store, clock: Clock) -> None:
    store.record_workflow("w", None)
    store.heartbeat("w", {"interval": 1}, OPERATOR)
    store.set_workflow_status("w", {"status": "Completed"}, OPERATOR)
    clock.now += 3600
    assert store.sweep() == []


def test_pruning_deletes_finished_runs_past_the_days_kept(store: Store, clock: Clock) -> None:
    """--keep-days: runs that ended before the bound go with their tasks, history and logs; the
    recent one and the unfinished old one stay."""
    for workflow_id in ("old", "recent", "running"):
        store.record_workflow(workflow_id, None)
        _report(store, workflow_id, "0-a", "Completed")
        store.add_logs(workflow_id, {"records": [{"seq": 1, "line": "x"}], "dropped": 0}, OPERATOR)
    store.set_workflow_status("old", {"status": "Completed"}, OPERATOR)
    clock.now += 3 * 86400
    store.set_workflow_status("recent", {"status": "Failed"}, OPERATOR)
    clock.now += 86400
    assert store.prune(2) == 1
    remaining = [run["id"] for run in store.list_runs(OPERATOR)]
    assert sorted(remaining) == ["recent", "running"]
    with store.engine.connect() as connection:
        for table in (schema.tasks, schema.transitions, schema.logs):
            ids = {row.workflow_id for row in connection.execute(table.select())}
            assert "old" not in ids and "recent" in ids


def test_a_run_token_is_its_runs_alone(store: Store) -> None:
    workflow_id, token = store.create_run("mine")
    store.use_operator_token("an-operator-token-1234")
    assert store.authorize(token) == Principal(False, workflow_id)
    assert store.authorize("an-operator-token-1234") == OPERATOR
    assert store.authorize(token + "x") is None and store.authorize("") is None


def test_migrations_build_the_tables_the_queries_use(database_url: str) -> None:
    """The latest migration's tables have exactly the columns of dotflow.backend.schema; migrating
    again changes nothing."""
    engine = open_engine(parse_url(database_url))
    assert state(engine).version == 0
    assert migrate(engine) == (0, LATEST)
    assert migrate(engine) == (LATEST, LATEST) and state(engine).current
    inspector = inspect(engine)
    for table in schema.metadata.sorted_tables:
        assert [c["name"] for c in inspector.get_columns(table.name)] == [c.name for c in table.columns], table.name
    engine.dispose()


def test_what_is_posted_twice_is_created_once(store: Store) -> None:
    """A run, a task and log records sent again are known (False, 0 new), not stored twice: the
    count comes from what the database inserted, on both databases."""
    import json

    assert store.record_workflow("w", "first") is True
    assert store.record_workflow("w", "again") is False
    body = _task("0-a", "Not started")
    assert store.create_task("w", body, json.dumps(body), OPERATOR) is True
    assert store.create_task("w", body, json.dumps(body), OPERATOR) is False
    batch = {"records": [{"seq": 1, "line": "a"}, {"seq": 2, "line": "b"}], "dropped": 0}
    assert store.add_logs("w", batch, OPERATOR) == 2
    assert store.add_logs("w", batch, OPERATOR) == 0
    detail = store.run_detail("w", OPERATOR)
    assert detail["name"] == "first" and [step["status"] for step in detail["tasks"][0]["history"]] == ["Not started"]


def test_a_relaunch_gives_the_run_to_a_new_attempt(store: Store, clock: Clock) -> None:
    """A Crashed run relaunched: Not started again under its id at attempt 2, with a new token; the
    old token's reports are refused (LeaseTaken); a Completed run is not relaunched; pruning takes
    the retired token along."""
    workflow_id, first = store.create_run("relaunched")
    old = store.authorize(first)
    assert old is not None
    store.heartbeat(workflow_id, {"interval": 1, "run_attempt": 1}, old)
    clock.now += 5
    assert store.sweep() == [workflow_id]
    second, attempt = store.relaunch(workflow_id)
    assert attempt == 2 and second != first
    detail = store.run_detail(workflow_id, OPERATOR)
    assert detail["status"] == "Not started" and detail["run_attempt"] == 2 and detail["heartbeat"] is None
    assert detail["history"][-1]["detail"] == "relaunched: run attempt 2"
    retired = store.authorize(first)
    assert retired == Principal(False, workflow_id, retired=True)
    with pytest.raises(LeaseTaken):
        store.heartbeat(workflow_id, {"interval": 1}, retired)
    new = store.authorize(second)
    assert new == Principal(False, workflow_id)
    store.heartbeat(workflow_id, {"interval": 1, "run_attempt": 2}, new)
    store.set_workflow_status(workflow_id, {"status": "Completed"}, new)
    with pytest.raises(RunEnded):
        store.relaunch(workflow_id)
    clock.now += 10 * 86400
    assert store.prune(1) == 1 and store.authorize(first) is None


def test_a_version_1_database_is_migrated_to_the_latest_keeping_its_runs(database_url: str) -> None:
    """A database left at schema version 1 (runs in it) is migrated by the next start: the version 2
    table appears, and the runs are still there."""
    from sqlalchemy import insert as sql_insert
    from sqlalchemy import inspect as sql_inspect

    from dotflow.backend import migrations
    from dotflow.backend.database import writing

    engine = open_engine(parse_url(database_url))
    table = migrations.version_table()
    with writing(engine) as connection:
        table.create(connection)
        migrations.MIGRATIONS[0](connection)
        connection.execute(sql_insert(table).values(version=1))
    Store(engine).record_workflow("kept", "from version 1")
    assert state(engine).version == 1 and not sql_inspect(engine).has_table("retired_tokens")
    assert migrate(engine) == (1, LATEST)
    assert sql_inspect(engine).has_table("retired_tokens")
    assert Store(engine).run_detail("kept", OPERATOR)["name"] == "from version 1"
    engine.dispose()


def test_a_late_copy_of_a_report_never_undoes_a_terminal_status(store: Store) -> None:
    """A report that reaches the backend after the newer ones of its run (the runner gave up on it
    and sent its retry): a task's In progress from the same start (same created_at, no later
    started_at) after its Completed, and the workflow's In progress after its Failed, change
    nothing; the history shows each status once."""
    times = {"created_at": "2026-12-07T01:00:00.000001", "started_at": "2026-12-07T01:00:01.000001"}
    store.record_workflow("w", None)
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    _report(store, "w", "0-a", "In progress", **times)
    _report(store, "w", "0-a", "Completed", **times)
    _report(store, "w", "1-b", "Skipped", created_at=times["created_at"], started_at=None)
    store.set_workflow_status("w", {"status": "Failed"}, OPERATOR)
    _report(store, "w", "0-a", "In progress", **times)  # the late copies
    _report(store, "w", "1-b", "Not started", created_at=times["created_at"], started_at=None)
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    detail = store.run_detail("w", OPERATOR)
    assert detail["status"] == "Failed"
    assert [step["status"] for step in detail["history"]] == ["Not started", "In progress", "Failed"]
    assert [task["status"] for task in detail["tasks"]] == ["Completed", "Skipped"]
    assert [step["status"] for step in detail["tasks"][0]["history"]] == ["In progress", "Completed"]


@pytest.mark.parametrize("again", [
    {"created_at": "2026-12-08T01:00:00.000001", "started_at": "2026-12-08T01:00:01.000001"},  # a new process
    {"created_at": "2026-12-07T01:00:00.000001", "started_at": "2026-12-07T02:00:00.000001"},  # a second start()
])
def test_a_new_start_of_a_finished_run_runs_its_tasks_again(again: dict[str, str], store: Store) -> None:
    """A task of a finished run reported running by a new start of it (a container restarted with
    the same env, a second start() of the same workflow) runs again; the run keeps its terminal
    status until the new start's own (its In progress cannot be told from a late copy, and a task
    report may overtake the run's terminal one on another connection)."""
    first = {"created_at": "2026-12-07T01:00:00.000001", "started_at": "2026-12-07T01:00:01.000001"}
    store.record_workflow("w", None)
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    _report(store, "w", "0-a", "Failed", **first)
    store.set_workflow_status("w", {"status": "Failed"}, OPERATOR)
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    _report(store, "w", "0-a", "In progress", **again)
    detail = store.run_detail("w", OPERATOR)
    assert detail["status"] == "Failed" and detail["tasks"][0]["status"] == "In progress"
    _report(store, "w", "0-a", "Completed", **again)
    store.set_workflow_status("w", {"status": "Completed"}, OPERATOR)
    detail = store.run_detail("w", OPERATOR)
    assert detail["status"] == "Completed" and detail["tasks"][0]["status"] == "Completed"
    assert [step["status"] for step in detail["tasks"][0]["history"]] == ["Failed", "In progress", "Completed"]


def test_the_time_no_backend_swept_is_not_held_against_a_lease(store: Store, clock: Clock) -> None:
    """The backend away for 60 s (down, paused, its database unreachable) while a run beat every
    second: its first sweep back lengthens the lease by the gap instead of declaring the run
    Crashed; without beats it is Crashed 3 x 1 s later, as always."""
    store.record_workflow("w", None)
    store.set_workflow_status("w", {"status": "In progress"}, OPERATOR)
    store.heartbeat("w", {"interval": 1}, OPERATOR)
    assert store.sweep() == []
    clock.now += 1
    assert store.sweep() == []
    clock.now += 60
    assert store.sweep() == [] and _status(store, "w") == "In progress"
    clock.now += 1.5
    assert store.sweep() == []
    clock.now += 1.6  # 3.1 s after the backend came back
    assert store.sweep() == ["w"]
