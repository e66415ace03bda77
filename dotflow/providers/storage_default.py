"""StorageDefault: results kept in memory for the life of the process."""

from __future__ import annotations

import threading
import time
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.providers._codec import check_prefix, expiry

_SWEEP_EVERY = 1.0  # seconds between sweeps of expired entries on post


class StorageDefault(Storage):
    """In-memory storage. Fast, and gone when the process ends.

    It keeps the posted Context itself, not a copy (as 1.x does). Every method is safe to
    call from several threads. An entry posted with ``ttl`` reads as missing once it expires
    (measured on the monotonic clock) and is dropped then, or by a later ``post``.
    """

    def __init__(self) -> None:
        self._data: dict[str, Context] = {}
        self._expires: dict[str, float] = {}  # key -> time.monotonic() deadline
        self._fingerprints: dict[str, str] = {}
        self._lock = threading.RLock()
        self._next_sweep = 0.0

    def post(self, key: str, context: Context, ttl: int | float | None = None, fingerprint: str | None = None) -> None:
        deadline = _deadline(ttl)
        with self._lock:
            self._put(key, context, deadline, fingerprint)
            if self._expires:
                self._sweep()

    def get(self, key: str) -> Context:
        with self._lock:
            found = self._live(key)
        return found if found is not None else Context()

    def exists(self, key: str) -> bool:
        with self._lock:
            return self._live(key) is not None

    def delete(self, key: str) -> bool:
        with self._lock:
            return self._drop(key)

    def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix, "StorageDefault")
        with self._lock:
            doomed = [key for key in self._data if key.startswith(prefix)]
            for key in doomed:
                self._drop(key)
        return len(doomed)

    def list_keys(self, prefix: str) -> list[str]:
        with self._lock:
            return sorted(key for key in list(self._data) if key.startswith(prefix) and self._live(key) is not None)

    def atomic_swap(
        self,
        key: str,
        expected: Any,
        new: Any,
        ttl: int | float | None = None,
        fingerprint: str | None = None,
    ) -> bool:
        deadline = _deadline(ttl)
        with self._lock:
            current = self._live(key)
            if (current.storage if current is not None else None) != expected:
                return False
            self._put(key, new if isinstance(new, Context) else Context(new), deadline, fingerprint)
            return True

    def _put(self, key: str, context: Context, deadline: float | None, fingerprint: str | None) -> None:
        self._data[key] = context
        if deadline is None:
            self._expires.pop(key, None)
        else:
            self._expires[key] = deadline
        if fingerprint is None:
            self._fingerprints.pop(key, None)
        else:
            self._fingerprints[key] = fingerprint

    def _live(self, key: str) -> Context | None:
        """The Context under ``key``, or None when there is none or it has expired (then dropped)."""
        deadline = self._expires.get(key)
        if deadline is not None and time.monotonic() >= deadline:
            self._drop(key)
            return None
        return self._data.get(key)

    def _drop(self, key: str) -> bool:
        self._expires.pop(key, None)
        self._fingerprints.pop(key, None)
        return self._data.pop(key, None) is not None

    def _sweep(self) -> None:
        """Drop expired entries nobody reads, at most once per ``_SWEEP_EVERY``: memory stays bounded."""
        now = time.monotonic()
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_EVERY
        for key in [key for key, deadline in self._expires.items() if now >= deadline]:
            self._drop(key)

    def __repr__(self) -> str:
        return "StorageDefault()"


def _deadline(ttl: int | float | None) -> float | None:
    """The monotonic deadline of an entry posted now with ``ttl``; ``expiry`` validates ``ttl``."""
    if expiry(ttl) is None or ttl is None:
        return None
    return time.monotonic() + ttl
