"""The Notify contract: told of every task status change, to alert people (chat, e-mail, ...)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any


class Notify(ABC):
    """Receives ``hook_status_task(task=...)`` on every status change of every task, "Not started"
    at ``task.add`` included, as dotflow 1.x calls it.

    An implementation must never raise into the workflow nor make the task wait on the
    network: queue the message (``dotflow.delivery.queue.DeliveryQueue``) and send it from
    elsewhere, then deliver what is left in ``flush``.
    """

    @abstractmethod
    def hook_status_task(self, task: Any) -> None:
        """A task's status changed; ``task.status`` is the new one."""

    def flush(self, timeout: float | None = None) -> None:
        """Deliver pending notifications, waiting at most ``timeout`` seconds. No-op by default."""
