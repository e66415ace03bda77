"""Sequential mode: one task after another; each result is the next task's previous_context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from dotflow.execution.runner import run_task
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.context import Context
    from dotflow.execution.run import Run
    from dotflow.task import Task


def run_sequential(tasks: Sequence[Task], run: Run) -> None:
    """Run ``tasks`` in order in this thread; stop at the first failed or cancelled task unless
    keep_going, and after an interruption of the run."""
    previous: Context | None = None
    for task in tasks:
        if run.interrupted:
            break
        previous = run_task(task, previous, run)
        if task.status in _STOPS and not run.keep_going:
            break  # the tasks after it end Skipped (Manager._finish)


# a task ending so stops its sequence unless keep_going
_STOPS = (TypeStatus.FAILED, TypeStatus.CANCELLED)
