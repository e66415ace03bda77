"""The file layers: check a Document against the keys table, list its profiles, and read the
tables in use (base tables, then the selected profile's) with interpolation and conversion."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dotflow.errors import ConfigError
from dotflow.profiles.interpolate import interpolate
from dotflow.profiles.parse import Document, dotted
from dotflow.profiles.schema import BY_NAME, BY_SECTION, SECTIONS
from dotflow.profiles.setting import Layer, Problems, Setting
from dotflow.text import did_you_mean

DEFAULT_PROFILE = "default_profile"
PROFILES = "profiles"
_TOP = (*SECTIONS, PROFILES, DEFAULT_PROFILE)
# paths a file's author wrote about the file, not about wherever dotflow runs
FILE_RELATIVE = ("storage.path", "log.path")


def _ignored(key: str) -> bool:
    # x_ keys are the user's own annotations.
    return key.startswith("x_")


def check(doc: Document) -> None:
    """Raise ConfigError at the first unknown table or key, or misplaced value, in ``doc``."""
    for key, value in doc.data.items():
        if _ignored(key):
            continue
        if key in SECTIONS:
            _check_section(doc, (key,), value)
        elif key == PROFILES:
            _check_profiles(doc, value)
        elif key == DEFAULT_PROFILE:
            if not isinstance(value, str):
                raise ConfigError(
                    f"{doc.where(key)}: default_profile must be a string (a profile name), got {type(value).__name__}"
                )
        else:
            _unknown(doc, (key,), value, [*_TOP, *BY_NAME])


def _check_profiles(doc: Document, profiles: Any) -> None:
    if not isinstance(profiles, dict):
        raise ConfigError(f"{doc.where(PROFILES)}: 'profiles' must be a table of [profiles.<name>] tables")
    for name, tables in profiles.items():
        if _ignored(name):
            continue
        if not isinstance(tables, dict):
            raise ConfigError(
                f"{doc.where(PROFILES, name)}: {dotted((PROFILES, name))!r} must be a table "
                f"holding {', '.join(SECTIONS)} tables"
            )
        for section, table in tables.items():
            if _ignored(section):
                continue
            path = (PROFILES, name, section)
            if section in SECTIONS:
                _check_section(doc, path, table)
            else:
                _unknown(doc, path, table, [*SECTIONS, *BY_NAME], prefix=(PROFILES, name))


def _check_section(doc: Document, path: tuple[str, ...], table: Any) -> None:
    if not isinstance(table, dict):
        raise ConfigError(f"{doc.where(*path)}: {dotted(path)!r} must be a table, got {type(table).__name__}")
    known = BY_SECTION[path[-1]]
    for key, value in table.items():
        if not _ignored(key) and key not in known:
            _unknown(doc, (*path, key), value, BY_NAME, prefix=path[:-1])


def _unknown(doc: Document, path: tuple[str, ...], value: Any, candidates: Any, prefix: tuple[str, ...] = ()) -> None:
    """Raise ``file:line: unknown key 'server.base_ulr'; did you mean 'server.base_url'?``."""
    kind = "table" if isinstance(value, dict) else "key"
    rest = dotted(path[len(prefix) :])
    hint = did_you_mean(rest, candidates, prefix=dotted(prefix) + "." if prefix else "")
    raise ConfigError(f"{doc.where(*path)}: unknown {kind} {dotted(path)!r}{hint}")


def profiles(doc: Document) -> dict[str, str]:
    """The profiles ``doc`` defines, each with ``path:line`` of its first table."""
    tables = doc.data.get(PROFILES)
    if not isinstance(tables, dict):
        return {}
    return {name: doc.where(PROFILES, name) for name in tables if not _ignored(name)}


def default_profile(doc: Document | None) -> str | None:
    value = doc.data.get(DEFAULT_PROFILE) if doc is not None else None
    return value if isinstance(value, str) and value else None


def file_layer(
    doc: Document | None, name: str, env: Mapping[str, str], problems: Problems, used: set[str] | None = None
) -> Layer:
    """The base tables of ``doc``, then profile ``name``'s tables, interpolated and converted.

    Only these tables are read, so a broken value in another profile does no harm, and neither
    does a broken base value that the profile's table replaces. Each failure is appended to
    ``problems`` so that one error can report them all; ``used`` collects the variables the
    tables refer to. A relative ``storage.path`` is made absolute against the file's folder.
    """
    layer: Layer = {}
    if doc is None:
        return layer
    pending: dict[str, list[str]] = {}  # dotted key -> its mistakes, until a later table sets it
    profile = doc.data.get(PROFILES, {}).get(name, {})
    for path, table in [((s,), doc.data.get(s)) for s in SECTIONS] + [
        ((PROFILES, name, s), profile.get(s)) for s in SECTIONS
    ]:
        if not table:
            continue
        section = path[-1]
        known = BY_SECTION[section]
        for key, raw in table.items():
            if _ignored(key):
                continue
            spec = known[key]
            line = doc.line(*path, key)
            where = f"{doc.path}:{line} {doc.table(*path)} {key}"
            mistakes: list[str] = []
            if isinstance(raw, str):
                raw = interpolate(raw, env, mistakes, where, used)
                if mistakes:
                    pending[spec.dotted] = mistakes
                    continue
                if raw == "" and spec.default is None:
                    # "" leaves an optional key unset, so `token = "${TOKEN:-}"` works
                    continue
            try:
                value = spec.convert(raw, where)
            except ConfigError as exc:
                pending[spec.dotted] = [str(exc)]
                continue
            if spec.dotted in FILE_RELATIVE:
                value = os.path.expanduser(value)
                if not os.path.isabs(value):
                    # the file's author wrote the path about the file, not about wherever dotflow runs
                    value = os.path.normpath(os.path.join(os.path.dirname(doc.path), value))
            pending.pop(spec.dotted, None)
            layer.setdefault(section, {})[key] = Setting(value, f"file:{doc.path}:{line}", spec.secret)
    problems.extend((dotted_key, message) for dotted_key, messages in pending.items() for message in messages)
    return layer
