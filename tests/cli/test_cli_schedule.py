"""``dotflow schedule`` through the real console script: runs at each tick of a seconds cron, one line
per run, exit codes, usage errors, the profile, and SIGTERM/SIGINT during and between runs."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe

EVERY_SECOND = "* * * * * *"  # croniter's 6th field counts seconds
NEVER_SOON = "0 0 1 1 *"  # once a year: the schedule only sleeps
RUN_LINE = re.compile(r"^run (\d+): workflow (\S+) (Completed|Failed) in \d+\.\d{3}s(?:: (.*))?$")


def run_lines(stdout: str) -> list[tuple[str, str, str, str]]:
    """``(number, workflow id, outcome, note)`` of each per-run line."""
    return [m.groups(default="") for line in stdout.splitlines() if (m := RUN_LINE.match(line))]  # type: ignore[misc]


def test_a_step_runs_at_each_tick_then_exits_0(run_cli) -> None:
    """--max-runs 2 with a seconds cron: two runs of the same workflow, one line each, a summary, exit 0."""
    began = time.monotonic()
    result = run_cli("schedule", "--step", "steps.ok", "--cron", EVERY_SECOND, "--max-runs", "2", "-i", '"x"')
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - began < 20
    lines = run_lines(result.stdout)
    assert [(n, outcome) for n, _, outcome, _ in lines] == [("1", "Completed"), ("2", "Completed")]
    assert lines[0][1] == lines[1][1]  # every tick runs the same workflow again
    assert result.stdout.count("ok got 'x'") == 2
    assert result.stdout.rstrip().endswith("schedule ended after 2 runs: 2 completed, 0 failed")
    assert "scheduled with cron '* * * * * *' (overlap skip, 2 runs)" in result.stderr


def test_a_failed_run_is_one_line_with_its_reason_and_exit_1(run_cli) -> None:
    """A run whose step fails prints Failed with the task, step and error; the schedule exits 1."""
    result = run_cli("schedule", "-s", "steps.boom", "--cron", EVERY_SECOND, "--max-runs", "1", "--quiet")
    assert result.returncode == 1, result.stderr
    ((number, _, outcome, note),) = run_lines(result.stdout)
    assert (number, outcome) == ("1", "Failed")
    assert note.endswith("steps.boom: RuntimeError: boom")
    assert "1 run: 0 completed, 1 failed" in result.stdout


def test_a_workflow_factory_with_short_flags(run_cli) -> None:
    """-w pkg.mod:factory -m parallel runs every step of the factory's workflow at each tick."""
    result = run_cli("schedule", "-w", "steps:build", "-m", "parallel", "--cron", EVERY_SECOND, "--max-runs", "1")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("ok got") == 2 and run_lines(result.stdout)[0][2] == "Completed"


def test_the_profile_is_resolved_as_for_start(run_cli, project: Path) -> None:
    """--profile selects a dotflow.toml profile as dotflow start does: its fixed workflow id names every run."""
    (project / "dotflow.toml").write_text('[profiles.nightly.workflow]\nid = "nightly-etl"\n')
    result = run_cli("schedule", "-s", "steps.ok", "--cron", EVERY_SECOND, "--max-runs", "1", "--profile", "nightly")
    assert result.returncode == 0, result.stderr
    assert run_lines(result.stdout)[0][1] == "nightly-etl"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cron", "61 * * * *"], "error: invalid cron expression '61 * * * *': "),
        (["--cron", "every day"], "error: invalid cron expression 'every day': "),
        (["--cron", EVERY_SECOND, "--overlap", "later"],
         "error: --overlap 'later' is not supported; use one of: skip, queue, parallel"),
        (["--cron", EVERY_SECOND, "--max-runs", "0"], "error: --max-runs 0 must be 1 or more"),
        ([], "error: Missing option '--cron'"),
    ],
)
def test_bad_options_exit_2_with_one_line(run_cli, args: list[str], message: str) -> None:
    """A bad --cron, --overlap or --max-runs, or none --cron, is one error line and exit 2, before any run."""
    result = run_cli("schedule", "--step", "steps.ok", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message) and len(result.stderr.strip().splitlines()) == 1
    assert "ok got" not in result.stdout


def test_step_and_workflow_together_is_a_usage_error(run_cli) -> None:
    """--step and --workflow are exclusive, as for start."""
    result = run_cli("schedule", "-s", "steps.ok", "-w", "steps:build", "--cron", EVERY_SECOND)
    assert result.returncode == 2 and "give exactly one of --step" in result.stderr


def test_parallel_with_a_fixed_workflow_id_is_refused(run_cli) -> None:
    """--overlap parallel makes overlapping runs new workflows, so a fixed id is refused with one line."""
    result = run_cli("schedule", "-s", "steps.ok", "--cron", EVERY_SECOND, "--overlap", "parallel",
                     "--workflow-id", "fixed-1")
    assert result.returncode == 2 and "the workflow id is fixed to 'fixed-1'" in result.stderr


RESUMABLE = '''
from pathlib import Path
from dotflow import DotFlow, action

def _count(name):
    path = Path(name)
    path.write_text(path.read_text() + "x" if path.exists() else "x")
    return len(path.read_text())

@action
def first():
    return _count("first.runs")

@action
def second():
    if _count("second.runs") == 1:
        raise RuntimeError("not yet")
    return "done"

def build():
    flow = DotFlow()
    flow.task.add(first).add(second)
    return flow
'''


def test_resume_picks_up_a_failed_run_and_starts_afresh_after_a_completed_one(run_cli, project: Path) -> None:
    """--resume: the run after a failed one skips the tasks that completed; the run after a
    completed one runs every task again."""
    (project / "resumable.py").write_text(RESUMABLE)
    result = run_cli("schedule", "-w", "resumable:build", "--cron", EVERY_SECOND, "--max-runs", "3", "--resume")
    assert [outcome for _, _, outcome, _ in run_lines(result.stdout)] == ["Failed", "Completed", "Completed"]
    assert (project / "first.runs").read_text() == "xx"  # runs 1 and 3; run 2 resumed it
    assert (project / "second.runs").read_text() == "xxx"


def _spawn(project: Path, tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], Path]:
    """Start ``dotflow ARGS`` with stderr going to a file the test can poll."""
    err = tmp_path / "stderr.txt"
    proc = subprocess.Popen([dotflow_exe(), *args], cwd=project, env=clean_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=err.open("w"), text=True)
    return proc, err


def _wait_for(err: Path, text: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in err.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared on stderr:\n{err.read_text()}")


@pytest.mark.parametrize(("sig", "code", "reason"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGINT, 130, "SIGINT")])
def test_a_signal_during_a_run_fails_it_and_exits_with_the_signal_code(
    project: Path, tmp_path: Path, sig: signal.Signals, code: int, reason: str
) -> None:
    """SIGTERM or Ctrl-C while a step runs: the run is interrupted and reported Failed (the task's
    error says which signal), its line is printed, reports are flushed, and the exit is 143 or 130."""
    (project / "slow.py").write_text("import time\nfrom dotflow import action\n\n@action\ndef wait():\n"
                                     "    time.sleep(30)\n")
    proc, err = _spawn(project, tmp_path, "schedule", "-s", "slow.wait", "--cron", EVERY_SECOND)
    try:
        _wait_for(err, " - In progress")
        began = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == code
    assert time.monotonic() - began < 10
    ((number, _, outcome, note),) = run_lines(out)
    assert (number, outcome, note) == ("1", "Failed", "interrupted by a signal")
    stderr = err.read_text()
    assert f"Failed: interrupted by {reason}" in stderr
    assert "error: interrupted by a signal\n" in stderr  # no server: no reports to speak of
    assert "Traceback" not in stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_between_runs_exits_0_at_once(project: Path, tmp_path: Path, sig: signal.Signals) -> None:
    """SIGTERM or Ctrl-C while the schedule sleeps ends it promptly with exit 0 and no run."""
    proc, err = _spawn(project, tmp_path, "schedule", "-s", "steps.ok", "--cron", NEVER_SOON)
    try:
        _wait_for(err, "scheduled with cron")
        began = time.monotonic()
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 0, err.read_text()
    assert time.monotonic() - began < 5
    assert out.strip() == f"schedule stopped by {signal.Signals(sig).name} after 0 runs"
    assert "Traceback" not in err.read_text()


def test_a_signal_cuts_off_overlapping_runs_after_the_grace_and_reports_them_failed(
    project: Path, tmp_path: Path
) -> None:
    """--overlap parallel: runs still going PARALLEL_GRACE seconds after SIGTERM are cut off, as a
    signal ends the run in the main thread: each of their tasks still running is Failed
    ("interrupted by SIGTERM", logged and reported), then the exit is 143."""
    (project / "slow.py").write_text("import time\nfrom dotflow import action\n\n@action\ndef wait():\n"
                                     "    time.sleep(30)\n")
    proc, err = _spawn(project, tmp_path, "schedule", "-s", "slow.wait", "--cron", EVERY_SECOND, "--overlap",
                       "parallel", "--max-runs", "2")
    try:
        deadline = time.monotonic() + 20
        while err.read_text().count(" - In progress") < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert err.read_text().count(" - In progress") >= 2, err.read_text()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=25)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    assert proc.returncode == 143
    stderr = err.read_text()
    assert stderr.count("Failed: interrupted by SIGTERM") >= 2, stderr
    assert "still going after 5s were cut off and reported Failed" in stderr
    assert "Traceback" not in stderr
