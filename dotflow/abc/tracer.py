"""The Tracer contract: spans for a workflow run and each of its tasks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Tracer(ABC):
    """Called, with keyword arguments as dotflow 1.x calls it:

    - ``start_workflow(workflow_id=..., mode=..., tasks_count=...)`` when a run starts;
    - ``start_task(task=...)`` when a task's first attempt starts;
    - ``end_task(task=...)`` when that task ends (Completed or Failed);
    - ``end_workflow(workflow_id=..., duration=..., failed=...)`` when the run ends.

    A task restored from a checkpoint gets no span. An implementation must never raise into
    the workflow.
    """

    @abstractmethod
    def start_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        """A run of the workflow starts."""

    @abstractmethod
    def end_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        """The run ended; ``duration`` (seconds) and ``failed`` (bool) are given."""

    @abstractmethod
    def start_task(self, task: Any) -> None:
        """A task starts its first attempt."""

    @abstractmethod
    def end_task(self, task: Any) -> None:
        """A task ended; ``task.status``, ``retry_count``, ``duration`` and ``errors`` are final."""

    def flush(self, timeout: float | None = None) -> None:
        """Export what is buffered, waiting at most ``timeout`` seconds. No-op by default."""
