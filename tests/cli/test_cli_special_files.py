"""A FIFO or a device where dotflow expects a regular file (the log file, a checkpoint, a
dotflow.toml), through the real console script: one line at once, never a command that waits for
ever. Every run here has a timeout that a blocking open would exceed."""

from __future__ import annotations

import os

import pytest
from terminal_support import assert_one_line_error

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")

TIMEOUT = 20  # seconds: each command answers in well under one


def test_a_fifo_as_the_log_file_stops_dotflow_start_in_one_line(run_cli, project):
    """[log] path naming a FIFO: exit 2 with one line, before any task runs."""
    os.mkfifo(project / "flow.log")
    (project / "dotflow.toml").write_text('[log]\noutput = "file"\npath = "flow.log"\n')
    result = run_cli("start", "--step", "steps.ok", timeout=TIMEOUT)
    assert_one_line_error(result, "flow.log", "it is a FIFO")
    assert "ok got" not in result.stdout


@pytest.mark.parametrize(("make", "kind"), [("fifo", "a FIFO"), ("/dev/zero", "a character device")])
def test_dotflow_logs_refuses_a_fifo_or_a_device(run_cli, project, make, kind):
    """`dotflow logs --path` naming a FIFO (which would wait for a writer) or /dev/zero (which never
    ends): exit 1, one line saying what it is."""
    path = make
    if make == "fifo":
        path = str(project / "flow.log")
        os.mkfifo(path)
    result = run_cli("logs", "--path", path, timeout=TIMEOUT)
    assert result.returncode == 1, result.stderr
    assert result.stderr.strip() == f"error: {path} is {kind}, not a log file; give the log file with --path"
    assert result.stdout == ""


def test_a_fifo_in_place_of_a_checkpoint_stops_a_resume_in_one_line(run_cli, project):
    """A FIFO where `--resume` reads the inputs fingerprint: exit 2, one line naming it."""
    folder = project / "out"
    folder.mkdir()
    os.mkfifo(folder / "nightly-inputs.json")
    result = run_cli("start", "--step", "steps.ok", "-o", "file", "-p", "out", "--workflow-id", "nightly",
                     "--resume", "-q", timeout=TIMEOUT)
    assert_one_line_error(result, "nightly-inputs.json is a FIFO, not a stored result", "remove it")


def test_a_fifo_in_place_of_a_task_checkpoint_stops_a_resume_in_one_line(run_cli, project):
    """A FIFO where a task's stored result is: the resume that finds it ends with one line, exit 2."""
    assert run_cli("start", "--step", "steps.ok", "-o", "file", "-p", "out", "--workflow-id", "nightly",
                   timeout=TIMEOUT).returncode == 0
    (stored,) = [path for path in (project / "out").glob("nightly-0-*.json")]
    stored.unlink()
    os.mkfifo(stored)
    result = run_cli("start", "--step", "steps.ok", "-o", "file", "-p", "out", "--workflow-id", "nightly",
                     "--resume", "-q", timeout=TIMEOUT)
    assert_one_line_error(result, f"{stored.name} is a FIFO, not a stored result")


@pytest.mark.parametrize("where", ["project", "user"])
def test_a_fifo_named_dotflow_toml_is_refused_not_skipped(run_cli, project, tmp_path, where):
    """A FIFO named dotflow.toml in the project or the user folder: one line naming it, exit 2
    (it was skipped without a word, so the run went on without the settings the user meant)."""
    folder = project if where == "project" else tmp_path / "xdg" / "dotflow"
    folder.mkdir(parents=True, exist_ok=True)
    os.mkfifo(folder / "dotflow.toml")
    for args in (("start", "--step", "steps.ok"), ("profile", "show")):
        result = run_cli(*args, timeout=TIMEOUT)
        assert_one_line_error(result, f"{folder / 'dotflow.toml'}: it is a FIFO, not a settings file")

