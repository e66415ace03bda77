"""Helpers for running the real ``dotflow`` console script in a subprocess with a clean environment."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from cli_support import clean_env, dotflow_exe

STEPS = '''
from dotflow import action

@action
def ok(initial_context):
    print(f"ok got {initial_context.storage!r}")
    return {"seen": initial_context.storage}

@action
def boom():
    raise RuntimeError("boom")

@action
def check(initial_context):
    assert initial_context.storage == "expected", "unexpected input"

def on_task(task):
    print(f"callback saw {task.status}")

def build():
    from dotflow import DotFlow
    flow = DotFlow(name="two-steps")
    flow.task.add(step=ok, initial_context="first").add(step=ok, initial_context="second")
    return flow

def not_a_flow():
    return 42

@action
def exits():
    import sys
    sys.exit(0)

def hardcoded_id():
    from dotflow import DotFlow
    flow = DotFlow(workflow_id="hardcoded")
    flow.task.add(step=ok)
    return flow

def factory_exits():
    import sys
    sys.exit(3)

def on_failure_exits():
    import sys
    from dotflow import DotFlow
    flow = DotFlow()
    flow.task.add(step=boom)
    original = flow.start
    flow.start = lambda **kw: original(on_failure=lambda tasks: sys.exit(9), **kw)
    return flow

def raises():
    raise RuntimeError("db down")

def empty():
    from dotflow import DotFlow
    return DotFlow()

def build_own_config():
    from dotflow import Config, DotFlow
    flow = DotFlow(config=Config())
    flow.task.add(step=ok)
    return flow
'''


@pytest.fixture(autouse=True)
def restore_dotflow_logger():
    """In-process CLI runs attach a handler to the ``dotflow`` logger; undo it after each test."""
    logger = logging.getLogger("dotflow")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved[0], saved[1], saved[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder holding ``steps.py``, used as the cwd of ``dotflow start``."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "steps.py").write_text(STEPS)
    return folder


@pytest.fixture
def run_cli(project: Path, tmp_path: Path):
    """Run ``dotflow ARGS`` in the project folder; returns the CompletedProcess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [dotflow_exe(), *args],
            cwd=project,
            env=clean_env(tmp_path, **(env or {})),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run
