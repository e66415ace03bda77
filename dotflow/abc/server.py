"""The Server contract: the hooks the engine calls to report workflow and task status."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Server(ABC):
    """Receives status reports from the engine.

    The engine calls ``create_workflow`` once for a new workflow when
    ``should_create_workflow`` says so (by default, as in 1.x: when it generated the id),
    ``create_task`` when a task is added, ``update_workflow`` when a run starts and
    ends, and ``update_task`` on every task status change, always with keyword
    arguments (``create_task(task=...)``), as dotflow 1.x does. An implementation must
    never raise into the workflow and must never make a task wait on the network: queue
    the report and deliver it elsewhere (``dotflow.delivery.queue.DeliveryQueue``
    does that), then deliver what is left in ``flush``.
    """

    def should_create_workflow(self, id_generated: bool) -> bool:
        """Whether ``create_workflow`` is called for a new workflow. ``id_generated`` is False for
        an id given by the caller or the profile (a managed runner's backend made that row
        already). By default, as in 1.x: only for a generated id."""
        return id_generated

    @abstractmethod
    def create_workflow(self, workflow: Any) -> None:
        """Announce a workflow whose id was generated locally. ``workflow`` is the DotFlow;
        ``str(workflow)`` is its id."""

    @abstractmethod
    def update_workflow(self, workflow: Any, status: str = "") -> None:
        """Report the workflow's status ("In progress", "Completed" or "Failed"). ``workflow``
        is the workflow id, as 1.x passes it."""

    @abstractmethod
    def create_task(self, task: Any) -> None:
        """Announce a task, in status "Not started"."""

    @abstractmethod
    def update_task(self, task: Any) -> None:
        """Report a task's new status."""

    def flush(self, timeout: float | None = None) -> None:
        """Deliver pending reports, waiting at most ``timeout`` seconds (None: the provider's own
        bound). Called at the end of ``dotflow start``, at interpreter exit, after a signal and by
        ``DotFlow.flush()``. No-op by default."""
