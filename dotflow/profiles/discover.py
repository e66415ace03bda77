"""Find what a profile is read from: the user file, the project file and the variables."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from dotflow.errors import ConfigError

if TYPE_CHECKING:
    from dotflow.profiles.parse import Document

FILE_NAME = "dotflow.toml"
PYPROJECT = "pyproject.toml"
ENV_PREFIX = "DOTFLOW_"
# The managed runner's spellings; the DOTFLOW_ spelling wins when both are set.
ALIASES: dict[str, str] = {
    "server.base_url": "SERVER_BASE_URL",
    "server.user_token": "SERVER_USER_TOKEN",
    "workflow.id": "WORKFLOW_ID",
}
_ALIAS_NAMES = frozenset(ALIASES.values())


def nothing_to_read(env: Mapping[str, str], cwd: str) -> bool:
    """True when no variable and no file could set a value, so that resolving would give every
    key its default and select the ``default`` profile: the first ``DotFlow()`` of a program
    without a ``dotflow.toml`` then skips resolution (and importing the key table) entirely.
    A variable counts even when empty, since resolving would warn about it."""
    if any(name.startswith(ENV_PREFIX) or name in _ALIAS_NAMES for name in env):
        return False
    return user_file(env) is None and project_file(cwd, env, None) is None


def user_dir(env: Mapping[str, str]) -> str:
    """The user's dotflow config folder: ``$XDG_CONFIG_HOME/dotflow`` when ``env`` sets it,
    else ``platformdirs.user_config_dir("dotflow")``."""
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        return os.path.join(xdg, "dotflow")
    if sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")) and "ANDROID_DATA" not in os.environ:
        # what platformdirs answers on these systems, without importing it: ~10 ms, the first
        # DotFlow()'s biggest cost, spent to learn that the folder is ~/.config/dotflow
        return os.path.join(os.path.expanduser("~/.config"), "dotflow")
    import platformdirs

    return platformdirs.user_config_dir("dotflow")


def user_file(env: Mapping[str, str]) -> Document | None:
    """The user file, ``dotflow.toml`` in ``user_dir(env)``, if it exists."""
    path = os.path.abspath(os.path.join(user_dir(env), FILE_NAME))
    return _read(path) if _present(path) else None


def project_file(cwd: str, env: Mapping[str, str], config_path: str | os.PathLike[str] | None) -> Document | None:
    """The project file: ``config_path``, else ``DOTFLOW_CONFIG``, else the first ``dotflow.toml``
    (or ``pyproject.toml`` holding ``[tool.dotflow]``) found walking up from ``cwd``."""
    explicit, named_by = (config_path, "--config") if config_path else (env.get("DOTFLOW_CONFIG"), "DOTFLOW_CONFIG")
    if explicit:
        return _explicit(os.path.abspath(os.path.join(cwd, os.fspath(explicit))), named_by)
    folder = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(folder, FILE_NAME)
        if _present(candidate):
            return _read(candidate)
        candidate = os.path.join(folder, PYPROJECT)
        if _present(candidate):
            document = _read(candidate, pyproject=True)
            if document is not None:
                return document
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _present(path: str) -> bool:
    """Whether ``path`` is there to be read as a settings file: anything but a folder. A FIFO or a
    device named dotflow.toml is then refused by the reader in one line, rather than skipped."""
    return os.path.exists(path) and not os.path.isdir(path)


def _explicit(path: str, named_by: str) -> Document:
    if not os.path.isfile(path):
        raise ConfigError(f"{named_by} names {path}, which is not a file")
    pyproject = os.path.basename(path) == PYPROJECT
    document = _read(path, pyproject=pyproject)
    if document is None:
        raise ConfigError(f"{named_by} names {path}, which has no [tool.dotflow] table")
    return document


def _read(path: str, pyproject: bool = False) -> Document | None:
    from dotflow.profiles.parse import read  # only once a file is found: most runs have none

    return read(path, pyproject=pyproject)
