"""Helpers for running the real ``dotflow`` console script in a subprocess with a clean environment."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

_MANAGED_NAMES = ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID")

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
'''


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The current environment without any dotflow or managed-runner variable, with a
    private user config folder, plus ``extra``."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DOTFLOW_") and k not in _MANAGED_NAMES
    }
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


def dotflow_exe() -> str:
    found = shutil.which("dotflow", path=str(Path(sys.executable).parent)) or shutil.which("dotflow")
    assert found, "the dotflow console script is not installed"
    return found


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
