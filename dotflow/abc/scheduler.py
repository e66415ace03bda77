"""The Scheduler contract: something that decides when a workflow's ``start`` runs."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Callable


class Scheduler(ABC):
    """Receives the workflow's ``start`` and calls it when it sees fit."""

    @abstractmethod
    def start(self, workflow: Callable[..., Any], **kwargs: Any) -> None:
        """Take over ``workflow`` (a callable that runs one run) with its ``start`` options."""

    def stop(self) -> None:
        """Stop scheduling further runs. No-op by default."""
