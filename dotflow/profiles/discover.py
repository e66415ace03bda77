"""Find the files a profile is read from: the user file and the project file."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from dotflow.errors import ConfigError
from dotflow.profiles.parse import Document, read

FILE_NAME = "dotflow.toml"
PYPROJECT = "pyproject.toml"


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
    return read(path) if os.path.isfile(path) else None


def project_file(cwd: str, env: Mapping[str, str], config_path: str | os.PathLike[str] | None) -> Document | None:
    """The project file: ``config_path``, else ``DOTFLOW_CONFIG``, else the first ``dotflow.toml``
    (or ``pyproject.toml`` holding ``[tool.dotflow]``) found walking up from ``cwd``."""
    explicit, named_by = (config_path, "--config") if config_path else (env.get("DOTFLOW_CONFIG"), "DOTFLOW_CONFIG")
    if explicit:
        return _explicit(os.path.abspath(os.path.join(cwd, os.fspath(explicit))), named_by)
    folder = os.path.abspath(cwd)
    while True:
        candidate = os.path.join(folder, FILE_NAME)
        if os.path.isfile(candidate):
            return read(candidate)
        candidate = os.path.join(folder, PYPROJECT)
        if os.path.isfile(candidate):
            document = read(candidate, pyproject=True)
            if document is not None:
                return document
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _explicit(path: str, named_by: str) -> Document:
    if not os.path.isfile(path):
        raise ConfigError(f"{named_by} names {path}, which is not a file")
    pyproject = os.path.basename(path) == PYPROJECT
    document = read(path, pyproject=pyproject)
    if document is None:
        raise ConfigError(f"{named_by} names {path}, which has no [tool.dotflow] table")
    return document
