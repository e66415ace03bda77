"""Sequential-group mode: groups run in parallel; inside a group, tasks run in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from dotflow.execution.parallel import run_pool
from dotflow.execution.sequential import run_sequential

if TYPE_CHECKING:
    from dotflow.execution.run import Run
    from dotflow.task import Task


def split_groups(tasks: Sequence[Task]) -> list[list[Task]]:
    """The tasks grouped by ``group_name``, groups in order of first appearance."""
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.group_name, []).append(task)
    return list(groups.values())


def run_groups(tasks: Sequence[Task], run: Run, max_workers: int | None = None) -> None:
    """Run every group at once (``max_workers`` caps that when given). The default is one
    thread per group, not the CPU count: groups are few, long chains that often wait on
    I/O, and on a small machine a CPU-sized pool would quietly run them one after another."""
    groups = split_groups(tasks)
    run_pool(groups, lambda group: run_sequential(group, run), max_workers or len(groups), lambda: run.abandoned)
