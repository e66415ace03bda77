"""Sequential mode: one task after another; each result is the next task's previous_context."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from dotflow.execution.runner import RunOptions, run_task
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.context import Context
    from dotflow.task import Task


def run_sequential(tasks: Sequence[Task], options: RunOptions) -> None:
    """Run ``tasks`` in order in this thread; stop at the first failure unless keep_going,
    and after an interruption of the run."""
    previous: Context | None = None
    for task in tasks:
        if options.interrupted:
            break
        previous = run_task(task, previous, options)
        if task.status is TypeStatus.FAILED and not options.keep_going:
            break
