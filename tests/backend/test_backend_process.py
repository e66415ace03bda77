"""The ``dotflow backend`` commands as processes: the banner, the generated operator token, a clean
stop on SIGTERM, a restart that loses nothing, ``dotflow backend check``, the missing extra, and
``dotflow start`` never importing the backend's libraries."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from backend_support import (
    OPERATOR,
    BackendProcess,
    call,
    clean_env,
    dotflow_exe,
    run_runner,
    runner_env,
    wait_until,
    write_steps,
)

from dotflow.backend.check import check
from dotflow.backend.database import open_engine, parse_url
from dotflow.backend.migrations import LATEST, migrate

BACKEND_LIBRARIES = ("starlette", "uvicorn", "sqlalchemy", "jinja2", "psycopg", "anyio", "h11", "dotflow.backend")


def test_the_banner_says_where_it_listens_where_the_data_is_and_how_to_log_in(backend: BackendProcess) -> None:
    """With DOTFLOW_BACKEND_TOKEN the banner names the variable, never the token; the SQLite file is
    created and reported."""
    banner = backend.output()
    assert re.search(r"listening on http://127\.0\.0\.1:\d+", banner)
    assert f"runner API:  {backend.api}" in banner
    assert f"data:        {backend.tmp_path / 'backend.db'}" in banner and f"schema version {LATEST}, created" in banner
    assert "DOTFLOW_BACKEND_TOKEN" in banner and OPERATOR not in banner
    assert (backend.tmp_path / "backend.db").is_file()


def test_a_generated_operator_token_is_told_once_and_kept_for_its_owner(tmp_path: Path) -> None:
    """Without DOTFLOW_BACKEND_TOKEN the first start makes a token, prints it once and keeps it in a
    0600 file in the data directory; SIGTERM stops it cleanly; the next start takes the same token
    and only names the file."""
    folder = tmp_path / "xdg-data" / "dotflow" / "backend"
    with BackendProcess(tmp_path, db="", token=None) as first:
        found = re.search(r"operator token \(made now, shown this once\): (dfo_\S+)", first.output())
        assert found, first.output()
        token = found.group(1)
        kept = folder / "operator-token"
        assert kept.read_text().strip() == token
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert (folder / "backend.sqlite3").is_file()  # the embedded default database
        assert call(first.url, "GET", "/api/v1/workflows", token=token).status == 200
        # SIGTERM: a clean stop, which says so and leaves the SQLite file closed (no write-ahead log)
        assert first.stop(signal.SIGTERM, timeout=15) in (0, -signal.SIGTERM)
        assert "dotflow backend stopped" in first.output() and "Traceback" not in first.stderr()
        assert not (folder / "backend.sqlite3-wal").exists()
    with BackendProcess(tmp_path, db="", token=None) as second:
        assert token not in second.output() and str(kept) in second.output()
        assert call(second.url, "GET", "/api/v1/workflows", token=token).status == 200
        made = subprocess.run([dotflow_exe(), "backend", "new-run", "--json", "--url", second.url], env=second.env,
                              capture_output=True, text=True, timeout=60)  # the token read from its file
        assert made.returncode == 0 and json.loads(made.stdout)["env"]["SERVER_BASE_URL"] == second.api
        assert call(second.url, "GET", "/api/v1/workflows", token=OPERATOR).status == 401


def test_a_restart_loses_nothing(tmp_path: Path) -> None:
    """A run stored, the backend stopped and started again on the same file: the run, its tasks,
    their history and logs read the same, and the run's token still works."""
    project = write_steps(tmp_path / "project")
    with BackendProcess(tmp_path) as backend:
        run = backend.new_run("kept")
        result = run_runner(project, runner_env(tmp_path, run), "failing")
        assert result.returncode == 1, result.stderr
        before = backend.run(run["id"])
        logs = backend.call("GET", f"/workflows/{run['id']}/logs").body
        listed = backend.call("GET", "/workflows").body
        backend.stop()
    with BackendProcess(tmp_path) as again:
        assert "up to date" in again.output()
        assert again.run(run["id"]) == before
        assert again.call("GET", f"/workflows/{run['id']}/logs").body == logs
        assert again.call("GET", "/workflows").body == listed
        assert again.run(run["id"], token=run["token"])["status"] == "Failed"
        assert logs["records"] and before["tasks"]


def _check(tmp_path: Path, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([dotflow_exe(), "backend", "check", "--db", db], env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=60)


def test_check_tells_a_migrated_database_from_others(tmp_path: Path) -> None:
    """check --db: exit 0 for a migrated database; 1 naming the problem for a missing file, a file
    without the schema, or one newer than this dotflow; 2 for a URL it cannot use."""
    path = tmp_path / "backend.db"
    url = f"sqlite:///{path}"
    assert check(url) == (False, f"no database at {path} ('dotflow backend start' creates it)") and not path.exists()
    sqlite3.connect(path).close()
    assert "holds no backend schema" in check(url).line
    engine = open_engine(parse_url(url))
    migrate(engine)
    engine.dispose()
    ready = _check(tmp_path, url)
    assert ready.returncode == 0 and f"reachable and migrated (schema version {LATEST})" in ready.stdout, ready.stderr
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    newer = _check(tmp_path, url)
    assert newer.returncode == 1 and "newer than this dotflow" in newer.stderr
    bad = _check(tmp_path, "mysql://user@host/db")
    assert bad.returncode == 2 and "sqlite or postgresql" in bad.stderr


def test_a_newer_database_stops_the_start(tmp_path: Path) -> None:
    """A database migrated by a later dotflow is not touched: start exits 2 saying so."""
    engine = open_engine(parse_url(f"sqlite:///{tmp_path / 'backend.db'}"))
    migrate(engine)
    engine.dispose()
    with sqlite3.connect(tmp_path / "backend.db") as connection:
        connection.execute("UPDATE schema_version SET version = 99")
    result = subprocess.run([dotflow_exe(), "backend", "start", "--port", "0", "--db",
                             f"sqlite:///{tmp_path / 'backend.db'}"],
                            env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN=OPERATOR), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and f"schema version 99, newer than this dotflow's ({LATEST})" in result.stderr


@pytest.mark.parametrize(("token", "message"), [("short", "at least 16"), ("with a space 1234567", "spaces")])
def test_a_weak_chosen_token_is_refused(tmp_path: Path, token: str, message: str) -> None:
    """DOTFLOW_BACKEND_TOKEN shorter than 16 characters, or holding a space: exit 2, the token unsaid."""
    result = subprocess.run([dotflow_exe(), "backend", "start", "--port", "0", "--db",
                             f"sqlite:///{tmp_path / 'b.db'}"],
                            env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN=token), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2 and message in result.stderr and token not in result.stderr


def test_a_port_in_use_is_one_line(backend: BackendProcess, tmp_path: Path) -> None:
    port = backend.url.rsplit(":", 1)[1]
    result = subprocess.run([dotflow_exe(), "backend", "start", "--port", port, "--db",
                             f"sqlite:///{tmp_path / 'other.db'}"],
                            env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN=OPERATOR), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_binding_beyond_loopback_warns(tmp_path: Path) -> None:
    """--host 0.0.0.0 (plain HTTP to the network): the banner warns that tokens cross it in clear."""
    with BackendProcess(tmp_path, args=("--host", "0.0.0.0")) as backend:
        assert "warning: listening on 0.0.0.0" in backend.output()


def test_without_the_extra_the_command_gives_the_pip_line(tmp_path: Path) -> None:
    """With the backend's libraries missing, start and check exit 2 with the install line."""
    code = ("import sys\n"
            "sys.modules['starlette'] = None\n"
            "sys.argv = ['dotflow', 'backend', sys.argv[1]]\n"
            "from dotflow.cli import main\n"
            "main()\n")
    for command in ("start", "check"):
        result = subprocess.run([sys.executable, "-c", code, command], env=clean_env(tmp_path), capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "pip install 'dotflow[backend]'" in result.stderr and "starlette" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["start", "--step", "steps.load"]], ids=["help", "start"])
def test_the_cli_and_dotflow_start_import_no_backend_library(tmp_path: Path, args: list[str]) -> None:
    """`dotflow --help` (which registers the backend group) and a `dotflow start` run import none of
    starlette, uvicorn, SQLAlchemy, Jinja2, psycopg, nor dotflow.backend."""
    project = write_steps(tmp_path / "project")
    result = subprocess.run([sys.executable, "-X", "importtime", dotflow_exe(), *args], cwd=project,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
                if line.startswith("import time:")}
    assert "dotflow.cli" in imported
    assert [m for m in imported for lib in BACKEND_LIBRARIES if m == lib or m.startswith(lib + ".")] == []


def test_the_import_check_sees_a_backend_import(tmp_path: Path) -> None:
    """The check above can fail: importing the backend's server does load those libraries."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import dotflow.backend.server"],
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert "sqlalchemy" in result.stderr and "starlette" in result.stderr


def test_keep_days_prunes_old_finished_runs_at_start(tmp_path: Path) -> None:
    """--keep-days 1: a run that ended three days ago is deleted by the running backend; one that
    ended now and one still going stay."""
    import time

    from dotflow.backend.store import OPERATOR as EVERYONE
    from dotflow.backend.store import Store

    engine = open_engine(parse_url(f"sqlite:///{tmp_path / 'backend.db'}"))
    migrate(engine)
    three_days_ago = Store(engine, clock=lambda: time.time() - 3 * 86400)
    three_days_ago.record_workflow("old", None)
    three_days_ago.set_workflow_status("old", {"status": "Completed"}, EVERYONE)
    three_days_ago.record_workflow("still going", None)
    now = Store(engine)
    now.record_workflow("recent", None)
    now.set_workflow_status("recent", {"status": "Failed"}, EVERYONE)
    engine.dispose()
    with BackendProcess(tmp_path, args=("--keep-days", "1")) as backend:
        wait_until(lambda: backend.call("GET", "/workflows/old").status == 404, timeout=10)
        assert {run["id"] for run in backend.call("GET", "/workflows").body["workflows"]} == {"recent", "still going"}


def test_new_run_prints_a_containers_env_that_a_shell_can_eval(backend: BackendProcess, tmp_path: Path) -> None:
    """The newcomer's path: eval "$(dotflow backend new-run --name demo)", then dotflow start runs
    as that managed run, which the backend shows Completed."""
    project = write_steps(tmp_path / "project")
    script = (f'eval "$({dotflow_exe()} backend new-run --name demo --url {backend.url})" && '
              f'echo "run $WORKFLOW_ID" && {dotflow_exe()} start --step steps.load')
    result = subprocess.run(["bash", "-c", script], cwd=project, capture_output=True, text=True, timeout=60,
                            env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN=OPERATOR))
    assert result.returncode == 0, result.stderr
    workflow_id = re.search(r"^run (\S+)$", result.stdout, re.M).group(1)  # type: ignore[union-attr]
    stored = backend.run(workflow_id)
    assert stored["name"] == "demo" and stored["status"] == "Completed" and stored["tasks"][0]["status"] == "Completed"


def test_new_run_says_what_is_missing(backend: BackendProcess, tmp_path: Path) -> None:
    """No token anywhere, a token the backend refuses, no backend at the URL: exit 1, one line each."""
    command = [dotflow_exe(), "backend", "new-run", "--url", backend.url]
    missing = subprocess.run(command, capture_output=True, text=True, timeout=60, env=clean_env(tmp_path))
    assert missing.returncode == 1 and "no operator token" in missing.stderr
    wrong = subprocess.run(command, capture_output=True, text=True, timeout=60,
                           env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN="a-wrong-token-0123456789"))
    assert wrong.returncode == 1 and "refused the operator token" in wrong.stderr
    assert "a-wrong-token-0123456789" not in wrong.stderr
    away = subprocess.run([dotflow_exe(), "backend", "new-run", "--url", "http://127.0.0.1:9"], capture_output=True,
                          text=True, timeout=60, env=clean_env(tmp_path, DOTFLOW_BACKEND_TOKEN=OPERATOR))
    assert away.returncode == 1 and "no backend answered at http://127.0.0.1:9" in away.stderr
