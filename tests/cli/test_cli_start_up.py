"""What the console script loads for ``dotflow start``, and what it does with the garbage collector."""

from __future__ import annotations

import gc
import json
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe

# A step module that reports, when the process ends, every module loaded and what the step saw of
# the garbage collector: the real console script is run, with nothing added to its start-up.
PROBE = '''
import atexit, gc, json, sys
from dotflow import action

seen = {}

@action
def noop():
    seen["gc_enabled"] = gc.isenabled()
    seen["frozen"] = gc.get_freeze_count()

def _report():
    with open("probe.json", "w") as f:  # the cwd: the project folder
        json.dump({"modules": sorted(sys.modules), **seen}, f)

atexit.register(_report)
'''

# Modules a no-op `dotflow start --step` has no use for: the other commands, the HTTP stack and
# the remote providers (no server is configured), the live view's rich (stdout is a pipe), a TOML
# parser (there is no dotflow.toml), the executors other than the default thread's, and 1.x's paths.
NOT_NEEDED = (
    "dotflow.cli.schedule", "dotflow.cli.profile", "dotflow.cli.checkpoints", "dotflow.cli.backend",
    "dotflow.cli.logs", "dotflow.backend", "dotflow.core",
    "requests", "urllib3", "http.client", "socket", "ssl", "dotflow.delivery",
    "dotflow.providers.server_api.api", "rich", "tomllib", "tomli",
    "asyncio", "concurrent.futures", "cloudpickle", "multiprocessing", "distributed", "dask",
    "dotflow.execution.executors.process", "dotflow.execution.executors.futures",
    "dotflow.execution.executors.remote", "dotflow.execution.executors.dask",
    "dataclasses", "email", "http.cookiejar", "platformdirs",
)


@pytest.fixture
def probe(project: Path, tmp_path: Path) -> dict:
    """Run ``dotflow start --step probe.noop`` in the project folder; what the probe reported."""
    (project / "probe.py").write_text(PROBE)
    result = subprocess.run([dotflow_exe(), "start", "--step", "probe.noop"], cwd=project,
                            env=clean_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads((project / "probe.json").read_text())


def test_start_loads_nothing_a_no_op_run_does_not_use(probe):
    """A no-op ``dotflow start --step`` (no profile file, no server, stdout a pipe) imports neither the
    other commands, nor HTTP, rich, a TOML parser, asyncio, the other executors nor 1.x's package."""
    loaded = probe["modules"]
    assert "dotflow.cli.start" in loaded and "probe" in loaded  # the report is this command's
    offenders = [m for m in loaded for name in NOT_NEEDED if m == name or m.startswith(name + ".")]
    assert offenders == []


def test_the_command_runs_with_the_collector_on_and_start_up_frozen(probe):
    """The console script freezes what start-up made, and the step runs with garbage collection on."""
    assert probe["gc_enabled"] is True
    assert probe["frozen"] > 1000  # typer, click and dotflow's modules: thousands of objects


def test_an_in_process_run_leaves_the_collector_as_it_was():
    """``run()`` called in-process (not the console script) neither freezes objects nor turns collection off."""
    from dotflow.cli.app import run

    frozen, enabled = gc.get_freeze_count(), gc.isenabled()
    with pytest.raises(SystemExit) as exit_info:
        run(["--version"])
    assert exit_info.value.code == 0
    assert (gc.get_freeze_count(), gc.isenabled()) == (frozen, enabled)
