"""Runner profiles: resolve ``dotflow.toml`` files, the environment and flags into settings.

Nothing is read at import time; ``resolve()`` does the work when it is called. The names below
are imported on first use, so that ``dotflow.profiles.discover`` alone stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dotflow.lazy import LazyExports as _LazyExports

if TYPE_CHECKING:
    from dotflow.profiles.resolution import ProfileListing, list_profiles, resolve
    from dotflow.profiles.resolved import ResolvedProfile
    from dotflow.profiles.schema import KEYS, Key
    from dotflow.profiles.setting import Setting

_LAZY = _LazyExports(__name__, {
    "KEYS": "dotflow.profiles.schema",
    "Key": "dotflow.profiles.schema",
    "ProfileListing": "dotflow.profiles.resolution",
    "ResolvedProfile": "dotflow.profiles.resolved",
    "Setting": "dotflow.profiles.setting",
    "list_profiles": "dotflow.profiles.resolution",
    "resolve": "dotflow.profiles.resolution",
}, globals())

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
    return _LAZY.load(name)
