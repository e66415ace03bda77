"""The resolver's work: select a profile, then merge its layers in the one fixed precedence order.

It gives the settings with their sources; ``dotflow.profiles.resolve`` wraps them in a
ResolvedProfile, and ``Config.from_profile`` builds providers from them. Nothing here imports
``dotflow.config``, so Config can use it while ResolvedProfile (which makes Configs) sits above.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from dotflow.errors import ConfigError, UsageError
from dotflow.profiles import builtin, discover, files
from dotflow.profiles.env import env_layer, unknown_variables
from dotflow.profiles.parse import Document
from dotflow.profiles.schema import BY_NAME, KEYS, ONLY_FOR, SECTIONS, flag_of
from dotflow.profiles.setting import Layer, Problems, Setting, merge, put
from dotflow.text import did_you_mean


class Inputs:
    """What the layers are built from, once the profile is selected. A layer appends each
    mistake it finds to ``problems`` (see ``Problems``) so that one error reports them all,
    and each variable a file refers to to ``used``."""

    __slots__ = ("env", "name", "overrides", "problems", "project", "used", "user")

    def __init__(
        self,
        name: str,
        env: Mapping[str, str],
        user: Document | None,
        project: Document | None,
        overrides: Mapping[str, Any],
        used: set[str],
    ) -> None:
        self.name = name
        self.env = env
        self.user = user
        self.project = project
        self.overrides = overrides
        self.used = used
        self.problems: Problems = []


def _defaults(inputs: Inputs) -> Layer:
    layer: Layer = {}
    for key in KEYS:
        put(layer, key.dotted, Setting(key.default, "default", key.secret))
    return layer


def _builtin_profile(inputs: Inputs) -> Layer:
    return builtin.builtin_layer(inputs.name)


def _user_file(inputs: Inputs) -> Layer:
    return files.file_layer(inputs.user, inputs.name, inputs.env, inputs.problems, inputs.used)


def _project_file(inputs: Inputs) -> Layer:
    return files.file_layer(inputs.project, inputs.name, inputs.env, inputs.problems, inputs.used)


def _environment(inputs: Inputs) -> Layer:
    return env_layer(inputs.env, inputs.problems)


def _flags(inputs: Inputs) -> Layer:
    layer: Layer = {}
    for dotted, raw in inputs.overrides.items():
        key = BY_NAME.get(dotted)
        if key is None:
            inputs.problems.append(("", f"unknown setting {dotted!r}{did_you_mean(dotted, BY_NAME)}"))
            continue
        if raw is None:
            continue
        flag = flag_of(dotted)
        if isinstance(raw, str) and not raw.strip():
            # an explicitly empty value is a mistake (an unset shell variable, say), never "use the default"
            inputs.problems.append((dotted, f"{flag}: the value is empty; give a value, or leave {flag} out"))
            continue
        try:
            put(layer, dotted, Setting(key.convert(raw, flag), f"flag:{flag}", key.secret))
        except ConfigError as exc:
            inputs.problems.append((dotted, str(exc)))
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


class Resolution(NamedTuple):
    """A resolved profile's facts, in ResolvedProfile's argument order (see there)."""

    name: str
    selected_by: str
    files: list[str]
    settings: dict[str, Setting]
    warnings: list[str]
    profiles: dict[str, str]
    project_file: str | None
    sections: tuple[str, ...] | None = None


def resolve(
    profile: str | None = None,
    *,
    config_path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    sections: Iterable[str] | None = None,
) -> Resolution:
    """``dotflow.profiles.resolve`` without the ResolvedProfile around it: the same arguments, the
    same ConfigError, the same warnings logged (each distinct one once per process)."""
    env = os.environ if env is None else env
    folder = os.getcwd() if cwd is None else os.fspath(cwd)
    asked = _sections(sections)
    warnings: list[str] = []
    used: set[str] = set()
    try:
        return _resolve(profile, config_path, env, folder, overrides or {}, warnings, used, asked)
    finally:
        # Logged even when resolution fails: a misspelt variable is often the cause.
        warnings[:0] = unknown_variables(env, used)
        if warnings:
            import logging

            logger = logging.getLogger("dotflow")
            for warning in warnings:
                if warning not in _LOGGED:
                    _LOGGED.add(warning)
                    logger.warning(warning)


_LOGGED: set[str] = set()


def _sections(sections: Iterable[str] | None) -> tuple[str, ...] | None:
    if sections is None:
        return None
    asked = tuple(sections) if not isinstance(sections, str) else (sections,)
    for section in asked:
        if section not in SECTIONS:
            raise UsageError(
                f"resolve(sections=...): no section is named {section!r}; use some of: {', '.join(SECTIONS)}"
            )
    return asked


def find_documents(
    config_path: str | os.PathLike[str] | None, env: Mapping[str, str], folder: str
) -> tuple[Document | None, Document | None]:
    """The user file and the project file (the user file is dropped when both are the same file)."""
    user = discover.user_file(env)
    project = discover.project_file(folder, env, config_path)
    if user is not None and project is not None and user.path == project.path:
        user = None
    return user, project


def _resolve(
    profile: str | None,
    config_path: str | os.PathLike[str] | None,
    env: Mapping[str, str],
    folder: str,
    overrides: Mapping[str, Any],
    warnings: list[str],
    used: set[str],
    sections: tuple[str, ...] | None = None,
) -> Resolution:
    user, project = find_documents(config_path, env, folder)
    documents = [doc for doc in (user, project) if doc is not None]
    for doc in documents:
        files.check(doc)
    known = known_profiles(documents)
    name, selected_by = select(profile, env, user, project, known)

    inputs = Inputs(name, env, user, project, overrides, used)
    merged: Layer = {}
    problems: Problems = []
    for label, build_layer in LAYERS:
        inputs.problems = []
        layer = build_layer(inputs)
        if problems and layer:
            # a mistake in a value that this layer replaces does no harm: that value is not used
            problems = [(dotted, message) for dotted, message in problems if not _sets(layer, dotted)]
        problems.extend(inputs.problems)
        replaced = merge(merged, layer)
        if label == "environment":
            warnings.extend(
                f"{new.source[4:]} overrides {dotted} set in {old.source[5:]} (profile {name!r})"
                for dotted, old, new in replaced
                if old.source.startswith("file:")
            )
    # a mistake in a key the chosen provider does not read does no harm either: a shared [notify]
    # table may hold a Telegram token from a variable that a profile using Discord leaves unset
    problems = [(dotted, message) for dotted, message in problems if _read(merged, dotted)]
    # and neither does one in a section the caller does not read: `dotflow checkpoints` reads the
    # storage, never the server, so an unset ${DEV_TOKEN} there must not stop it
    problems = [(dotted, message) for dotted, message in problems if _asked(dotted, sections)]
    if problems:
        raise ConfigError("; ".join(message for _, message in problems))

    settings = {key.dotted: merged[key.section][key.name] for key in KEYS}
    builtin.check_required(name, selected_by, settings, lambda dotted: _asked(dotted, sections))
    _resume_relaunch(name, env, settings)
    for about, warn in _WARNINGS:
        warning = warn(settings) if all(_asked(f"{section}.", sections) for section in about) else None
        if warning:
            warnings.append(warning)
    if env.get("WORKFLOW_ID") == "" and name != builtin.MANAGED:
        # empty counts as unset, but a runner that meant to pass an id would lose its reports
        warnings.append("WORKFLOW_ID is set but empty, so it counts as unset and managed mode is off")
    return Resolution(
        name, selected_by, [doc.path for doc in documents], settings, warnings, known,
        project.path if project is not None else None, sections,
    )


def _resume_relaunch(name: str, env: Mapping[str, str], settings: dict[str, Setting]) -> None:
    """A managed run relaunched by its orchestrator (``RUN_ATTEMPT`` above 1) whose storage keeps
    results resumes by itself, unless ``workflow.resume`` was set: completed work is not redone."""
    if name != builtin.MANAGED or settings["workflow.resume"].source != "default":
        return
    if settings["storage.provider"].value in ("memory", "default"):
        return
    from dotflow.live import RUN_ATTEMPT_ENV, run_attempt

    if run_attempt(env) > 1:
        settings["workflow.resume"] = Setting(True, f"env:{RUN_ATTEMPT_ENV}", False)


def _asked(dotted: str, sections: tuple[str, ...] | None) -> bool:
    """Whether key ``dotted`` (a problem's, "" when it names no key) is in the sections asked for."""
    return sections is None or not dotted or dotted.partition(".")[0] in sections


def _read(merged: Layer, dotted: str) -> bool:
    """Whether the providers chosen in ``merged`` read ``dotted`` (every key but ``ONLY_FOR``'s)."""
    readers = ONLY_FOR.get(dotted)
    if readers is None:
        return True
    chosen = merged.get(dotted.partition(".")[0], {}).get("provider")
    return chosen is None or chosen.value in readers


def _sets(layer: Layer, dotted: str) -> bool:
    section, _, key = dotted.partition(".")
    return key in layer.get(section, ())


def _half_server_warning(settings: Mapping[str, Setting]) -> str | None:
    """A warning when ``auto`` finds only one of base_url and user_token: the run would report
    nowhere, and without a word that would look like a working setup."""
    if settings["server.provider"].value != "auto":
        return None
    url, token = settings["server.base_url"], settings["server.user_token"]
    if (url.value is None) == (token.value is None):
        return None
    have, lacking, variable = (
        (url, "server.user_token", "SERVER_USER_TOKEN") if token.value is None
        else (token, "server.base_url", "SERVER_BASE_URL")
    )
    what = "server.base_url" if have is url else "server.user_token"
    return (
        f"{what} is set (from {have.source}) but {lacking} is not, so no status will be reported; "
        f"set {variable} (or DOTFLOW_{lacking.replace('.', '_').upper()}), or unset {what}"
    )


def _unused_storage_warning(settings: Mapping[str, Setting]) -> str | None:
    """A warning when a folder or bucket is given but the storage is memory: the results would
    not go where the user said, and nothing else would tell them."""
    provider = settings["storage.provider"]
    if provider.value not in ("memory", "default"):
        return None
    given = [key for key in ("storage.path", "storage.bucket") if settings[key].source != "default"]
    if not given:
        return None
    key = given[0]
    wanted = "file" if key == "storage.path" else "s3' or 'gcs"
    return (
        f"{key} is set (from {settings[key].source}) but storage.provider is {provider.value!r} "
        f"(from {provider.source}), which keeps results in memory only; set storage.provider to '{wanted}' "
        f"(--storage, DOTFLOW_STORAGE_PROVIDER) to use it"
    )


def _resume_warning(settings: Mapping[str, Setting]) -> str | None:
    """A warning when resume is on but cannot find anything: the results are kept in memory
    that ends with the process. (A workflow id generated for the run is the other way to find
    nothing; DotFlow.start warns of it, since a --workflow factory may give its own id.)"""
    resume = settings["workflow.resume"]
    provider = settings["storage.provider"]
    if not resume.value or provider.value not in ("memory", "default"):
        return None
    return (
        f"workflow.resume is on (from {resume.source}) but storage.provider is {provider.value!r} "
        f"(from {provider.source}); resume needs a persistent storage (file, s3, gcs) to find earlier results"
    )


# The warnings about the resolved settings, each with the sections it reads (given only when
# every one of them was asked for).
_WARNINGS: tuple[tuple[tuple[str, ...], Callable[[Mapping[str, Setting]], str | None]], ...] = (
    (("workflow", "storage"), _resume_warning),
    (("server",), _half_server_warning),
    (("storage",), _unused_storage_warning),
)


def known_profiles(documents: list[Document]) -> dict[str, str]:
    """Every profile name with where it is defined: ``built-in`` and/or ``path:line`` entries."""
    places: dict[str, list[str]] = {name: ["built-in"] for name in builtin.VALUES}
    for doc in documents:
        for name, where in files.profiles(doc).items():
            places.setdefault(name, []).append(where)
    return {name: ", ".join(where) for name, where in places.items()}


def select(
    profile: str | None,
    env: Mapping[str, str],
    user: Document | None,
    project: Document | None,
    known: Mapping[str, str],
) -> tuple[str, str]:
    """Pick the profile name, first match wins; return it with what selected it."""
    origin = ""
    if profile:
        # --profile NAME, the NAME argument of `dotflow profile show|check`, or profile= in Python
        name, selected_by, origin = profile, "flag", "the command line or profile="
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
