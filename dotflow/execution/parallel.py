"""Parallel mode: every task at once on a bounded thread pool, with no context passed between them."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

from dotflow.execution.runner import run_task

if TYPE_CHECKING:
    from dotflow.execution.run import Run
    from dotflow.task import Task

T = TypeVar("T")


def run_pool(jobs: Sequence[T], work: Callable[[T], object], max_workers: int | None,
             abandoned: Callable[[], bool] = lambda: False) -> None:
    """Run ``work(job)`` for every job on at most ``max_workers`` threads (default: the
    CPU count) and re-raise the first error, AssertionError included, once all are done.

    Threads share memory, so results of any size come back without pickling or pipes. Each
    job runs in a copy of the caller's ``contextvars``. When this thread is interrupted
    (KeyboardInterrupt, SystemExit) while waiting, queued jobs are cancelled and the
    interruption propagates at once: running steps are not waited for. Neither are they once
    ``abandoned()`` (a cancelled run's grace ran out): the pool is left to finish them unseen.
    """
    if not jobs:
        return
    import contextvars
    from concurrent.futures import ThreadPoolExecutor, wait

    from dotflow import interrupts

    workers = max(1, min(len(jobs), max_workers or os.cpu_count() or 1))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dotflow")
    try:
        futures = [pool.submit(contextvars.copy_context().run, work, job) for job in jobs]
        interrupts.wait_interruptibly(lambda seconds: not wait(futures, seconds).not_done or abandoned())
        if abandoned():
            pool.shutdown(wait=False, cancel_futures=True)
            return
        errors = [future.exception() for future in futures]
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    for error in errors:
        if error is not None:
            raise error


def run_parallel(tasks: Sequence[Task], run: Run, max_workers: int | None = None) -> None:
    run_pool(tasks, lambda task: run_task(task, None, run), max_workers, lambda: run.abandoned)
