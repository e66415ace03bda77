"""The Metrics contract: counters and durations of runs and tasks."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Metrics(ABC):
    """Called as dotflow 1.x calls it: ``workflow_started(workflow_id=..., mode=...)`` when a run
    starts, ``workflow_completed(workflow_id, duration)`` or ``workflow_failed(workflow_id,
    duration)`` when it ends, and ``task_completed(task=...)``, ``task_failed(task=...)`` or
    ``task_retried(task=...)`` when a task reaches that status. An implementation must never
    raise into the workflow.
    """

    @abstractmethod
    def workflow_started(self, workflow_id: Any, **kwargs: Any) -> None:
        """A run starts."""

    @abstractmethod
    def workflow_completed(self, workflow_id: Any, duration: float) -> None:
        """A run ended with every task Completed, after ``duration`` seconds."""

    @abstractmethod
    def workflow_failed(self, workflow_id: Any, duration: float) -> None:
        """A run ended with a task Failed, after ``duration`` seconds."""

    @abstractmethod
    def task_completed(self, task: Any) -> None:
        """A task completed."""

    @abstractmethod
    def task_failed(self, task: Any) -> None:
        """A task failed for good."""

    @abstractmethod
    def task_retried(self, task: Any) -> None:
        """A task's attempt failed and another follows."""

    def flush(self, timeout: float | None = None) -> None:
        """Export what is buffered, waiting at most ``timeout`` seconds. No-op by default."""
