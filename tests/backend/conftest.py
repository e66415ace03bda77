"""The backend's fixtures: one real ``dotflow backend start`` process (a SQLite file in a temporary
folder) shared by a test module, and a folder of steps for real ``dotflow start`` runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from backend_support import BackendProcess, write_steps


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendProcess]:
    """A backend process for the module, with the operator token ``backend_support.OPERATOR``."""
    with BackendProcess(tmp_path_factory.mktemp("backend")) as process:
        yield process


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding steps.py, where ``dotflow start --workflow steps:...`` runs."""
    return write_steps(tmp_path / "project")
