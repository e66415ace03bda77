"""``dotflow start --executor`` and ``--max-workers``: the flags, their errors, and the profile key behind them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PID_STEPS = '''
import os
from dotflow import action

@action
def where(initial_context):
    with open(initial_context.storage, "w") as out:
        out.write(str(os.getpid()))

def build():
    from dotflow import DotFlow
    flow = DotFlow()
    for n in range(3):
        flow.task.add(step=where, initial_context=f"pid{n}")
    return flow
'''


@pytest.fixture
def pid_project(project: Path) -> Path:
    (project / "pidsteps.py").write_text(PID_STEPS)
    return project


def _pids(project: Path) -> set[int]:
    return {int((project / f"pid{n}").read_text()) for n in range(3)}


def test_executor_flag_runs_the_steps_in_worker_processes(run_cli, pid_project: Path) -> None:
    """`--executor process --max-workers 2` runs every step outside the CLI's process, in at most two workers."""
    done = run_cli("start", "--workflow", "pidsteps:build", "--mode", "parallel", "--executor", "process",
                   "--max-workers", "2", "--quiet")
    assert done.returncode == 0, done.stderr
    assert ": Completed in " in done.stdout
    pids = _pids(pid_project)
    assert 1 <= len(pids) <= 2


def test_executor_from_the_environment_and_the_worker_prints_reach_stdout(run_cli, project: Path) -> None:
    """DOTFLOW_WORKFLOW_EXECUTOR=process is the default of the run; what a step prints in a worker shows."""
    done = run_cli("start", "--workflow", "steps:build", "--quiet", env={"DOTFLOW_WORKFLOW_EXECUTOR": "process"})
    assert done.returncode == 0, done.stderr
    assert "ok got 'first'" in done.stdout and "ok got 'second'" in done.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--executor", "proces"],
         "error: --executor: 'proces' is not one of thread, process, dask, or a Dask scheduler address like "
         "'tcp://host:8786'; did you mean 'process'?"),
        (["--max-workers", "0"],
         "error: --max-workers: 0 is not a positive integer; give one, or leave it unset for the CPU count"),
        (["--max-workers", "two"], "error: --max-workers: 'two' is not an integer"),
    ],
)
def test_a_bad_executor_or_max_workers_flag_is_one_line_and_exit_2(run_cli, args: list[str], expected: str) -> None:
    """A bad --executor or --max-workers exits 2 with one line naming the flag, before anything runs."""
    done = run_cli("start", "--step", "steps.ok", *args)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1] == expected
    assert "ok got" not in done.stdout


def test_the_flag_in_process(pid_project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same flag through the CLI's entry point in this process: the steps run in other processes."""
    from dotflow.cli.app import run

    monkeypatch.chdir(pid_project)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    for name in [n for n in os.environ if n.startswith("DOTFLOW_") or n in ("WORKFLOW_ID", "SERVER_BASE_URL")]:
        monkeypatch.delenv(name)
    with pytest.raises(SystemExit) as exited:
        run(["start", "--workflow", "pidsteps:build", "--mode", "sequential_group", "--executor", "process", "-q"])
    assert exited.value.code == 0
    assert os.getpid() not in _pids(pid_project)
    from dotflow import interrupts

    # the command is over: a library run cancelled later in this process must not end it (exit 3)
    assert not interrupts.cancel_exits()
