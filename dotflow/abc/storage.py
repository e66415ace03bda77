"""The Storage contract: where task results (checkpoints) are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

from dotflow.context import Context


class Storage(ABC):
    """Keeps one Context per key. ``get`` of a missing key returns an empty Context.

    A custom storage implements ``post`` and ``get`` (the engine calls ``post(key, context)``
    with two arguments, so a 1.x storage whose ``post`` takes only those still works).
    ``exists`` and ``delete`` have defaults built on those two; override them when the store
    can tell "stored None" from "missing" (the defaults cannot, so with them a step that
    returned None runs again on resume).

    ``list_keys``, ``delete_prefix`` and ``atomic_swap`` are optional, as in dotflow 1.x: here
    they raise NotImplementedError, and ``clear`` needs ``delete_prefix``. Every built-in
    storage implements them all. ``dotflow.testing.StorageContract`` checks a storage against
    this contract.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Accepts and ignores any arguments, as 1.x's did, so ``super().__init__(...)`` works."""

    @abstractmethod
    def post(self, key: str, context: Context, ttl: int | float | None = None, fingerprint: str | None = None) -> None:
        """Store ``context`` under ``key``, replacing what was there. With ``ttl`` (seconds) the
        entry reads as missing once that time has passed; ``fingerprint`` is kept with it."""

    @abstractmethod
    def get(self, key: str) -> Context:
        """Return the Context stored under ``key``, or an empty Context."""

    def key(self, task: Any) -> str:
        """The key a task's result is stored under: ``<workflow_id>-<task_id>``."""
        return f"{task.workflow_id}-{task.task_id}"

    def exists(self, key: str) -> bool:
        """Whether a result is stored under ``key``, even a None one. ``start(resume=True)``
        skips a task exactly when this is true. Default: ``get(key).storage is not None``."""
        return self.get(key).storage is not None

    def delete(self, key: str) -> bool:
        """Remove what is stored under ``key`` and say whether something was; a missing key is
        not an error. The engine uses it to drop stale checkpoints. Default: post an empty
        Context (and answer with ``exists`` beforehand)."""
        existed = self.exists(key)
        self.post(key, Context())
        return existed

    def clear(self, workflow_id: str) -> None:
        """Remove every entry whose key starts with ``"<workflow_id>-"``: ``delete_prefix``.
        (A workflow whose id starts with ``"<workflow_id>-"`` shares that prefix.)"""
        self.delete_prefix(f"{workflow_id}-")

    def delete_prefix(self, prefix: str) -> int:
        """Remove every entry whose key starts with ``prefix``; return how many were removed."""
        raise NotImplementedError(_optional(self, "delete_prefix", "clear() and delete_prefix()"))

    def list_keys(self, prefix: str) -> Iterable[str]:
        """The keys that start with ``prefix`` and have not expired."""
        raise NotImplementedError(_optional(self, "list_keys", "list_keys()"))

    def atomic_swap(
        self,
        key: str,
        expected: Any,
        new: Any,
        ttl: int | float | None = None,
        fingerprint: str | None = None,
    ) -> bool:
        """Store ``new`` (a Context or a value) under ``key`` only if the stored value (None when
        missing or expired) equals ``expected``, with nothing changing in between; return
        whether it did. The new entry gets ``ttl`` and ``fingerprint``, never the old ones."""
        raise NotImplementedError(_optional(self, "atomic_swap", "atomic_swap()"))


def _optional(storage: Storage, method: str, needed_by: str) -> str:
    return (
        f"{type(storage).__name__} does not implement Storage.{method}, which a custom storage may leave "
        f"out (optional since dotflow 1.x); implement {method} to use {needed_by}"
    )
