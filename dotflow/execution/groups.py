"""Sequential-group mode: groups run in parallel; inside a group, tasks run in order."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from dotflow.execution.parallel import run_pool
from dotflow.execution.runner import RunOptions
from dotflow.execution.sequential import run_sequential

if TYPE_CHECKING:
    from dotflow.task import Task


def split_groups(tasks: Sequence[Task]) -> list[list[Task]]:
    """The tasks grouped by ``group_name``, groups in order of first appearance."""
    groups: dict[str, list[Task]] = {}
    for task in tasks:
        groups.setdefault(task.group_name, []).append(task)
    return list(groups.values())


def run_groups(tasks: Sequence[Task], options: RunOptions, max_workers: int | None = None) -> None:
    run_pool(split_groups(tasks), lambda group: run_sequential(group, options), max_workers)
