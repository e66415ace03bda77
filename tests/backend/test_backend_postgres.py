"""The backend on a real PostgreSQL database: two backend processes started together on one
database (the migrations run once), a run made on one and reported to the other by a real
``dotflow start``, a cancel asked of one and delivered by the other, and ``check --db``."""

from __future__ import annotations

import contextlib
import subprocess
import threading
from pathlib import Path

from backend_support import (
    BackendProcess,
    clean_env,
    dotflow_exe,
    run_runner,
    runner_env,
    start_runner,
    task_statuses,
    wait_until,
    write_steps,
)
from postgres_support import Postgres


def test_two_backends_share_one_postgresql_database(postgres: Postgres, tmp_path: Path) -> None:
    """Backends A and B on one database: A's run, reported to B, reads Completed on A; a cancel
    asked of A reaches a runner beating to B (exit 3); check --db says the database is migrated."""
    db = postgres.new_database()
    first, second = BackendProcess(tmp_path / "a", db=db), BackendProcess(tmp_path / "b", db=db)
    for process in (first, second):
        process.tmp_path.mkdir()
    starters = [threading.Thread(target=process.start) for process in (first, second)]
    with contextlib.ExitStack() as stack:
        for process in (first, second):
            stack.callback(process.__exit__, None, None, None)  # killed at the end, whatever happened
        for starter in starters:
            starter.start()
        for starter in starters:
            starter.join(60)
        assert first.url and second.url, first.stderr() + second.stderr()
        assert "postgresql://postgres@127.0.0.1" in first.output()
        project = write_steps(tmp_path / "project")
        run = first.new_run("across backends")
        env = runner_env(tmp_path, run, SERVER_BASE_URL=second.api)
        assert run_runner(project, env, "passing").returncode == 0
        assert first.run(run["id"])["status"] == "Completed"
        assert task_statuses(first.run(run["id"])) == ["Completed", "Completed"]
        other = first.new_run("cancelled across backends")
        runner = start_runner(project, runner_env(tmp_path, other, SERVER_BASE_URL=second.api), "waiting")
        try:
            wait_until(lambda: task_statuses(second.run(other["id"]))[1:2] == ["In progress"])
            assert first.call("POST", f"/workflows/{other['id']}/cancel", {"reason": "from A", "grace": 2}).status \
                == 202
            runner.communicate(timeout=30)
        finally:
            runner.kill()
        assert runner.returncode == 3
        assert second.run(other["id"])["status"] == "Cancelled"
    check = subprocess.run([dotflow_exe(), "backend", "check", "--db", db], env=clean_env(tmp_path),
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and "reachable and migrated" in check.stdout, check.stderr


def test_check_says_when_postgresql_is_unreachable(tmp_path: Path) -> None:
    """A port where no server listens: exit 1 naming the database, its password masked."""
    url = f"postgresql://postgres:s3cret-pw@127.0.0.1:1/{'nothing'}"
    check = subprocess.run([dotflow_exe(), "backend", "check", "--db", url], env=clean_env(tmp_path),
                           capture_output=True, text=True, timeout=60)
    assert check.returncode == 1 and "cannot reach the database" in check.stderr
    assert "s3cret-pw" not in check.stderr + check.stdout
