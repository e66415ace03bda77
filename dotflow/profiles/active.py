"""The active profile: the one a command resolved, which ``DotFlow()`` inside ``use_profile`` takes as its own."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:
    from dotflow.profiles.resolved import ResolvedProfile

_active: ContextVar[ResolvedProfile | None] = ContextVar("dotflow_active_profile", default=None)


def active_profile() -> ResolvedProfile | None:
    """The profile a ``use_profile`` block around this call made active, else None."""
    return _active.get()


@contextmanager
def use_profile(profile: ResolvedProfile) -> Iterator[None]:
    """Make ``DotFlow()`` calls inside the block use ``profile`` instead of resolving one.

    The CLI resolves the profile once, with its flags, and a ``--workflow`` factory's
    ``DotFlow()`` must see exactly that profile.
    """
    token = _active.set(profile)
    try:
        yield
    finally:
        _active.reset(token)


def nothing_to_resolve() -> bool:
    """True when no profile is active and no variable or file could set a value, so that resolving
    would give every key its default: ``DotFlow()`` then skips resolution (and the key table)."""
    if _active.get() is not None:
        return False
    import os

    from dotflow.profiles.discover import nothing_to_read

    return nothing_to_read(os.environ, os.getcwd())


def profile_for(profile: ResolvedProfile | str | None = None) -> ResolvedProfile:
    """The profile given (resolved, or resolved now by name), else the one a command made active,
    else the one resolution selects."""
    if profile is not None and not isinstance(profile, str):
        return profile
    active = _active.get()
    if profile is None and active is not None:
        return active
    from dotflow.profiles.resolution import resolve

    return resolve(profile)
