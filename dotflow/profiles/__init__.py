"""Runner profiles: resolve ``dotflow.toml`` files, the environment and flags into settings.

Nothing is read at import time; ``resolve()`` does the work when it is called.
"""

from __future__ import annotations

from dotflow.profiles.resolve import ProfileListing, list_profiles, resolve
from dotflow.profiles.resolved import ResolvedProfile
from dotflow.profiles.schema import KEYS, Key
from dotflow.profiles.setting import Setting

__all__ = [
    "KEYS",
    "Key",
    "ProfileListing",
    "ResolvedProfile",
    "Setting",
    "list_profiles",
    "resolve",
]
