"""The Storage contract: where task results (checkpoints) are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from dotflow.context import Context


class Storage(ABC):
    """Keeps one Context per key. ``get`` of a missing key returns an empty Context.

    A custom storage implements ``post`` and ``get``. ``exists`` and ``delete`` have defaults
    built on those two; override them when the store can tell "stored None" from "missing"
    (the defaults cannot, so with them a step that returned None runs again on resume).
    """

    @abstractmethod
    def post(self, key: str, context: Context) -> None:
        """Store ``context`` under ``key``, replacing what was there."""

    @abstractmethod
    def get(self, key: str) -> Context:
        """Return the Context stored under ``key``, or an empty Context."""

    def exists(self, key: str) -> bool:
        """Whether a result is stored under ``key``, even a None one. ``start(resume=True)``
        skips a task exactly when this is true. Default: ``get(key).storage is not None``."""
        return self.get(key).storage is not None

    def delete(self, key: str) -> None:
        """Remove what is stored under ``key``; a missing key is not an error.
        ``start(on_input_change="reset")`` uses it. Default: post an empty Context."""
        self.post(key, Context())

    def key(self, task: Any) -> str:
        """The key a task's result is stored under: ``<workflow_id>-<task_id>``."""
        return f"{task.workflow_id}-{task.task_id}"
