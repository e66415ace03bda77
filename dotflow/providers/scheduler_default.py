"""SchedulerDefault: schedules nothing."""

from __future__ import annotations

from typing import Any, Callable

from dotflow.abc.scheduler import Scheduler


class SchedulerDefault(Scheduler):
    """The no-op scheduler: ``DotFlow.schedule()`` with it does not run the workflow."""

    def start(self, workflow: Callable[..., Any], **kwargs: Any) -> None:
        pass

    def __repr__(self) -> str:
        return "SchedulerDefault()"
