"""resolve(): select a profile, then merge its layers in the one fixed precedence order."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from dotflow.errors import ConfigError
from dotflow.profiles import builtin, discover, files
from dotflow.profiles.env import env_layer, unknown_variables
from dotflow.profiles.parse import Document
from dotflow.profiles.resolved import ResolvedProfile
from dotflow.profiles.schema import BY_NAME, KEYS, did_you_mean, flag_of
from dotflow.profiles.setting import Layer, Setting, merge, put


class Inputs:
    """What the layers are built from, once the profile is selected. Layers append each
    mistake they find to ``problems`` so that one error reports them all."""

    __slots__ = ("env", "name", "overrides", "problems", "project", "user")

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        user: Document | None,
        project: Document | None,
        overrides: Mapping[str, Any],
    ) -> None:
        self.name = name
        self.env = env
        self.user = user
        self.project = project
        self.overrides = overrides
        self.problems: list[str] = []


def _defaults(inputs: Inputs) -> Layer:
    layer: Layer = {}
    for key in KEYS:
        put(layer, key.dotted, Setting(key.default, "default", key.secret))
    return layer


def _builtin_profile(inputs: Inputs) -> Layer:
    return builtin.builtin_layer(inputs.name)


def _user_file(inputs: Inputs) -> Layer:
    return files.file_layer(inputs.user, inputs.name, inputs.env, inputs.problems)


def _project_file(inputs: Inputs) -> Layer:
    return files.file_layer(inputs.project, inputs.name, inputs.env, inputs.problems)


def _environment(inputs: Inputs) -> Layer:
    return env_layer(inputs.env, inputs.problems)


def _flags(inputs: Inputs) -> Layer:
    layer: Layer = {}
    for dotted, raw in inputs.overrides.items():
        key = BY_NAME.get(dotted)
        if key is None:
            inputs.problems.append(f"unknown setting {dotted!r}{did_you_mean(dotted, BY_NAME)}")
            continue
        if raw is None or (raw == "" and key.default is None):
            continue
        flag = flag_of(dotted)
        try:
            put(layer, dotted, Setting(key.convert(raw, flag), f"flag:{flag}", key.secret))
        except ConfigError as exc:
            inputs.problems.append(str(exc))
    return layer


# Lowest precedence first. This tuple is the only place the order is written.
LAYERS: tuple[tuple[str, Callable[[Inputs], Layer]], ...] = (
    ("default", _defaults),
    ("built-in profile", _builtin_profile),
    ("user file", _user_file),
    ("project file", _project_file),
    ("environment", _environment),
    ("flags", _flags),
)


def resolve(
    profile: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> ResolvedProfile:
    """Resolve a profile into settings with their sources.

    ``profile`` selects by name (as ``--profile`` does); ``env`` defaults to ``os.environ`` and
    ``cwd`` to the current directory; ``overrides`` maps dotted keys to flag or argument values
    (None values are ignored). Raises ConfigError with one line on any mistake.
    """
    env = os.environ if env is None else env
    folder = os.getcwd() if cwd is None else os.fspath(cwd)
    warnings = unknown_variables(env)
    try:
        return _resolve(profile, config_path, env, folder, overrides or {}, warnings)
    finally:
        # Logged even when resolution fails: a misspelt variable is often the cause.
        if warnings:
            import logging

            logger = logging.getLogger("dotflow")
            for warning in warnings:
                logger.warning(warning)


def _resolve(
    profile: str | None,
    config_path: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    folder: str,
    overrides: Mapping[str, Any],
    warnings: list[str],
) -> ResolvedProfile:
    user = discover.user_file(env)
    project = discover.project_file(folder, env, config_path)
    if user is not None and project is not None and user.path == project.path:
        user = None
    documents = [doc for doc in (user, project) if doc is not None]
    for doc in documents:
        files.check(doc)
    known = _known_profiles(documents)
    name, selected_by = _select(profile, env, user, project, known)

    inputs = Inputs(name, env, user, project, overrides)
    merged: Layer = {}
    for label, layer in LAYERS:
        replaced = merge(merged, layer(inputs))
        if label == "environment":
            warnings.extend(
                f"{new.source[4:]} overrides {dotted} set in {old.source[5:]} (profile {name!r})"
                for dotted, old, new in replaced
                if old.source.startswith("file:")
            )
    if inputs.problems:
        raise ConfigError("; ".join(inputs.problems))

    settings = {key.dotted: merged[key.section][key.name] for key in KEYS}
    builtin.check_required(name, selected_by, settings)
    return ResolvedProfile(name, selected_by, [doc.path for doc in documents], settings, warnings, known)


def _known_profiles(documents: list[Document]) -> dict[str, str]:
    """Every profile name with where it is defined: ``built-in`` and/or ``path:line`` entries."""
    places: dict[str, list[str]] = {name: ["built-in"] for name in builtin.VALUES}
    for doc in documents:
        for name, where in files.profiles(doc).items():
            places.setdefault(name, []).append(where)
    return {name: ", ".join(where) for name, where in places.items()}


def _select(
    profile: str | None,
    env: Mapping[str, str],
    user: Document | None,
    project: Document | None,
    known: Mapping[str, str],
) -> tuple[str, str]:
    """Pick the profile name, first match wins; return it with what selected it."""
    origin = ""
    if profile:
        name, selected_by, origin = profile, "flag", "--profile"
    elif env.get("DOTFLOW_PROFILE"):
        name, selected_by, origin = env["DOTFLOW_PROFILE"], "env:DOTFLOW_PROFILE", "DOTFLOW_PROFILE"
    elif env.get("WORKFLOW_ID"):
        name, selected_by = builtin.MANAGED, "env:WORKFLOW_ID"
    else:
        name, selected_by = builtin.DEFAULT, "default"
        for doc in (project, user):
            chosen = files.default_profile(doc)
            if doc is not None and chosen:
                name, selected_by = chosen, "file:default_profile"
                origin = f"default_profile at {doc.where(files.DEFAULT_PROFILE)}"
                break
    if name not in known:
        raise ConfigError(
            f"unknown profile {name!r} (from {origin}); known profiles: {', '.join(sorted(known))}"
            f"{did_you_mean(name, known)}"
        )
    return name, selected_by
