"""The Storage contract: where task results (checkpoints) are kept."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.context import Context


class Storage(ABC):
    """Keeps one Context per key. ``get`` of a missing key returns an empty Context."""

    @abstractmethod
    def post(self, key: str, context: Context) -> None:
        """Store ``context`` under ``key``, replacing what was there."""

    @abstractmethod
    def get(self, key: str) -> Context:
        """Return the Context stored under ``key``, or an empty Context."""

    def key(self, task: Any) -> str:
        """The key a task's result is stored under: ``<workflow_id>-<task_id>``."""
        return f"{task.workflow_id}-{task.task_id}"
