"""Running the real ``dotflow`` console script with a clean environment, for the CLI tests."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

_MANAGED_NAMES = ("SERVER_BASE_URL", "SERVER_USER_TOKEN", "WORKFLOW_ID")


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
