"""Runner profiles: resolve ``dotflow.toml`` files, the environment and flags into settings.

Nothing is read at import time; ``resolve()`` does the work when it is called. The names below
are imported on first use, so that ``dotflow.profiles.discover`` alone stays cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.profiles.resolution import ProfileListing, list_profiles, resolve
    from dotflow.profiles.resolved import ResolvedProfile
    from dotflow.profiles.schema import KEYS, Key
    from dotflow.profiles.setting import Setting

_HOMES = {
    "KEYS": "schema",
    "Key": "schema",
    "ProfileListing": "resolution",
    "ResolvedProfile": "resolved",
    "Setting": "setting",
    "list_profiles": "resolution",
    "resolve": "resolution",
}

__all__ = [
    "KEYS",
    "Key",
    "ProfileListing",
    "ResolvedProfile",
    "Setting",
    "list_profiles",
    "resolve",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dotflow.profiles' has no attribute {name!r}")
    value = getattr(import_module(f"dotflow.profiles.{home}"), name)
    globals()[name] = value
    return value
