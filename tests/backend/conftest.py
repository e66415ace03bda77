"""The backend's fixtures: one real ``dotflow backend start`` process (a SQLite file in a temporary
folder) shared by a test module, a folder of steps for real ``dotflow start`` runs, a real
PostgreSQL cluster and a headless Chromium for the session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from backend_support import BackendProcess, write_steps
from browser_support import find_browser, open_browser
from postgres_support import Postgres, find_binaries


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendProcess]:
    """A backend process for the module, with the operator token ``backend_support.OPERATOR``."""
    with BackendProcess(tmp_path_factory.mktemp("backend")) as process:
        yield process


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A folder holding steps.py, where ``dotflow start --workflow steps:...`` runs."""
    return write_steps(tmp_path / "project")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster for the session (Debian's postgresql; .ci/run installs it). Missing, the
    tests that need it fail under CI and are skipped, saying why, elsewhere."""
    binaries = find_binaries()
    if binaries is None:
        message = "PostgreSQL is not installed: apt-get install postgresql (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    cluster = Postgres(binaries).start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Chromium driven by Selenium for the session (Debian's chromium and chromium-driver;
    .ci/run installs them). Missing, the tests that need it fail under CI and are skipped, saying
    why, elsewhere."""
    found = find_browser()
    if found is None:
        message = "Chromium is not installed: apt-get install chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    driver, profile = open_browser(*found)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
