"""resolve() and list_profiles(): the profile resolver as the engine, the CLI and users call it.

The resolving itself (the layers and their one fixed precedence order) is in ``precedence``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from dotflow.errors import ConfigError
from dotflow.profiles import precedence
from dotflow.profiles.resolved import ResolvedProfile


def resolve(
    profile: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    sections: Iterable[str] | None = None,
) -> ResolvedProfile:
    """Resolve a profile into settings with their sources.

    ``profile`` selects by name (as ``--profile`` does); ``env`` defaults to ``os.environ`` and
    ``cwd`` to the current directory; ``overrides`` maps dotted keys to flag or argument values
    (None values are ignored, an empty string is an error). Raises ConfigError with one line on
    any mistake. Warnings are kept on ``.warnings`` and logged, each distinct one once per
    process: a program that builds many ``DotFlow()`` hears about a misspelt variable once.

    ``sections`` (``("storage", "workflow")``) names the tables the caller reads: a value that
    cannot be read elsewhere (an unset variable, a bad value) is then no error, and keeps the
    value of the layer below (``dotflow checkpoints`` reads the storage, so an unset server token
    does not stop it). Such a profile builds no ``config()``. By default every table is checked.
    """
    return ResolvedProfile(
        *precedence.resolve(
            profile, config_path=config_path, env=env, cwd=cwd, overrides=overrides, sections=sections
        )
    )


class ProfileListing(NamedTuple):
    """What ``dotflow profile list`` shows: every profile with where it is defined, and the one
    that would be selected (``selected`` is None, and ``error`` says why, when none can be)."""

    profiles: dict[str, str]
    selected: str | None
    selected_by: str | None
    error: str | None


def list_profiles(
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ProfileListing:
    """Every known profile, and the one ``resolve()`` would select, without resolving it.

    It needs only the files to be found and parsed (else ConfigError): an unknown selected name
    is reported in ``error``, and mistakes inside tables are left to ``resolve()``.
    """
    env = os.environ if env is None else env
    folder = os.getcwd() if cwd is None else os.fspath(cwd)
    user, project = precedence.find_documents(config_path, env, folder)
    known = precedence.known_profiles([doc for doc in (user, project) if doc is not None])
    try:
        name, selected_by = precedence.select(None, env, user, project, known)
    except ConfigError as exc:
        return ProfileListing(known, None, None, str(exc))
    return ProfileListing(known, name, selected_by, None)
