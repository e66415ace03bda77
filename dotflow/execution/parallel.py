"""Parallel mode: every task at once on a bounded thread pool, with no context passed between them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from dotflow.execution.runner import RunOptions, run_task

if TYPE_CHECKING:
    from dotflow.task import Task

T = TypeVar("T")


def run_pool(jobs: Sequence[T], work: Callable[[T], object], max_workers: int | None) -> None:
    """Run ``work(job)`` for every job on at most ``max_workers`` threads (default: the
    CPU count) and re-raise the first error, AssertionError included, once all are done.

    Threads share memory, so results of any size come back without pickling or pipes.
    """
    if not jobs:
        return
    from concurrent.futures import ThreadPoolExecutor

    workers = max(1, min(len(jobs), max_workers or os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dotflow") as pool:
        futures = [pool.submit(work, job) for job in jobs]
    for future in futures:
        error = future.exception()
        if error is not None:
            raise error


def run_parallel(tasks: Sequence[Task], options: RunOptions, max_workers: int | None = None) -> None:
    run_pool(tasks, lambda task: run_task(task, None, options), max_workers)
