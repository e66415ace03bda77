"""Helpers for the profile tests: write a project file and a user file under tmp_path, then resolve
with an explicit env and cwd (never the real environment)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dotflow.profiles import ResolvedProfile, resolve

MANAGED_ENV = {
    "SERVER_BASE_URL": "https://example.com/api/v1",
    "SERVER_USER_TOKEN": "tok-managed",
    "WORKFLOW_ID": "wf-123",
}


class Setup:
    """A project folder and an XDG config folder inside tmp_path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.project = root / "project"
        self.xdg = root / "xdg"
        self.project.mkdir()
        self.xdg.mkdir()

    def write_project(self, text: str, name: str = "dotflow.toml") -> Path:
        path = self.project / name
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def write_user(self, text: str) -> Path:
        folder = self.xdg / "dotflow"
        folder.mkdir(exist_ok=True)
        path = folder / "dotflow.toml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def env(self, **values: str) -> dict[str, str]:
        return {"XDG_CONFIG_HOME": str(self.xdg), **values}

    def resolve(
        self, profile: str | None = None, *, env: dict[str, str] | None = None, **options: Any
    ) -> ResolvedProfile:
        options.setdefault("cwd", self.project)
        return resolve(profile, env=self.env(**(env or {})), **options)


@pytest.fixture
def managed_env() -> dict[str, str]:
    """The three variables a managed runner injects."""
    return dict(MANAGED_ENV)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


@pytest.fixture
def make(setup: Setup) -> Callable[..., ResolvedProfile]:
    """make(project=..., user=..., env=..., profile=..., overrides=...) -> ResolvedProfile."""

    def make(
        project: str | None = None,
        user: str | None = None,
        *,
        env: dict[str, str] | None = None,
        profile: str | None = None,
        **options: Any,
    ) -> ResolvedProfile:
        if project is not None:
            setup.write_project(project)
        if user is not None:
            setup.write_user(user)
        return setup.resolve(profile, env=env, **options)

    return make


@pytest.fixture(autouse=True)
def _fresh_warning_log():
    """Each test hears every warning: the once-per-process memory of logged warnings starts empty."""
    from dotflow.profiles import precedence

    precedence._LOGGED.clear()
    yield
    precedence._LOGGED.clear()
