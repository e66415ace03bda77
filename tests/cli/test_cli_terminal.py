"""``dotflow start`` on a terminal (a pseudo-terminal) and in a pipe: the live view, when it steps
aside, and what the CLI imports at start-up; shell completion."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe
from terminal_support import run_in_pty, terminal_env

STEPS = '''
import time

from dotflow import DotFlow, action


@action
def slow_a():
    time.sleep(0.3)


@action
def slow_b():
    time.sleep(0.3)


@action(retry=2, retry_delay=0)
def flaky():
    raise KeyError("missing_key")


@action
def noop():
    return None


def build():
    flow = DotFlow()
    flow.task.add(slow_a).add(slow_b)
    return flow
'''

CURSOR_UP = "\x1b[1A"
SUMMARY = re.compile(r"workflow \S+: Completed in \S+s\r?\n  0-\S+  live\.slow_a  Completed  1 attempt  ")
RICH_IMPORT = re.compile(r"\|\s+rich(\.\w+)*\s*$", re.M)  # a `python -X importtime` line of a rich module


@pytest.fixture
def live(project: Path) -> Path:
    """The project folder, holding live.py too."""
    (project / "live.py").write_text(STEPS)
    return project


@pytest.fixture
def pty_run(live: Path, tmp_path: Path):
    """Run ``dotflow ARGS`` in the project folder on a pseudo-terminal; returns (exit code, output)."""

    def run(*args: str, term: str = "xterm-256color") -> tuple[int, str]:
        return run_in_pty([dotflow_exe(), *args], live, terminal_env(clean_env(tmp_path), term))

    return run


def test_live_view_on_a_terminal_then_the_plain_summary(pty_run):
    """On a terminal the run shows a redrawn table of the steps (running, then done), which gives way
    to the plain summary."""
    code, out = pty_run("start", "-w", "live:build")
    assert code == 0, out
    assert CURSOR_UP in out and "\x1b[" in out
    for word in ("running", "done", "live.slow_a", "live.slow_b"):
        assert word in out, word
    assert re.search(r"live\.slow_a\s+\S+\s+(\x1b\[\d+m)?running", out), out  # a row while the step runs
    summary = SUMMARY.search(out)
    assert summary, out
    assert "\x1b" not in out[summary.start():]
    assert " - In progress" not in out  # the table shows the statuses in place of the log lines


def test_no_progress_on_a_terminal_gives_plain_lines(pty_run):
    """--no-progress on a terminal: no table and no escape codes, the log lines and the summary."""
    code, out = pty_run("start", "-w", "live:build", "--no-progress")
    assert code == 0, out
    assert "\x1b" not in out
    assert re.search(r"ID \S+ - slow_b \[\S+\] - In progress", out)
    assert SUMMARY.search(out), out


def test_quiet_on_a_terminal_has_no_live_view(pty_run):
    """-q on a terminal: the summary alone, with no table and no escape codes."""
    code, out = pty_run("start", "-w", "live:build", "-q")
    assert code == 0, out
    assert "\x1b" not in out and "running" not in out
    assert SUMMARY.search(out), out


def test_a_dumb_terminal_gets_the_log_lines_instead_of_a_live_view(pty_run):
    """TERM=dumb, where nothing can be redrawn, gets the plain log lines rather than nothing."""
    code, out = pty_run("start", "-w", "live:build", term="dumb")
    assert code == 0, out
    assert CURSOR_UP not in out
    assert re.search(r"ID \S+ - slow_b \[\S+\] - In progress", out)


def test_vv_keeps_its_debug_lines_under_the_live_view(pty_run):
    """-vv on a terminal still logs its DEBUG lines while the live view shows the table."""
    code, out = pty_run("start", "-vv", "-s", "live.flaky")
    assert code == 1, out
    assert "attempt 1 failed" in out and "DEBUG" in out


def test_a_pipe_gets_no_escape_codes(run_cli, live):
    """With stdout a pipe there is no live view and not one escape code, on stdout or stderr."""
    result = run_cli("start", "-w", "live:build")
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert SUMMARY.search(result.stdout)


def _imports(args: list[str], cwd: Path, tmp_path: Path) -> str:
    """The ``-X importtime`` report of the real console script run with ``args``."""
    result = subprocess.run([sys.executable, "-X", "importtime", dotflow_exe(), *args], cwd=cwd,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stderr


@pytest.mark.parametrize("args", [["--help"], ["start", "--help"], ["start", "--step", "live.noop"]],
                         ids=["help", "start-help", "start-noop"])
def test_start_up_never_imports_rich(live, tmp_path, args):
    """`dotflow --help`, `start --help` and a no-op `start --step` off a terminal never import rich."""
    report = _imports(args, live, tmp_path)
    assert "dotflow.cli" in report  # the report is the CLI's
    assert not RICH_IMPORT.search(report), RICH_IMPORT.search(report)


def test_the_rich_import_check_sees_rich(tmp_path):
    """The importtime check above does find rich when something imports it (it can fail)."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import rich.console"],
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert RICH_IMPORT.search(result.stderr)


def test_help_lists_the_completion_options(run_cli):
    """`dotflow --help` lists --install-completion and --show-completion."""
    result = run_cli("--help")
    assert result.returncode == 0
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_show_completion_prints_a_bash_script_that_completes(run_cli):
    """`dotflow --show-completion bash` prints the bash script (exit 0), and its hook completes commands."""
    result = run_cli("--show-completion", "bash", env={"SHELL": "/bin/bash"})
    assert result.returncode == 0, result.stderr
    assert "complete -o default -F _dotflow_completion dotflow" in result.stdout
    assert "_DOTFLOW_COMPLETE=complete_bash" in result.stdout
    hook = run_cli(env={"_DOTFLOW_COMPLETE": "complete_bash", "COMP_WORDS": "dotflow sta", "COMP_CWORD": "1"})
    assert hook.returncode == 0 and hook.stdout.split() == ["start"]
    options = run_cli(env={"_DOTFLOW_COMPLETE": "complete_bash", "COMP_WORDS": "dotflow start --ou",
                           "COMP_CWORD": "2"})
    assert options.stdout.split() == ["--output"]
