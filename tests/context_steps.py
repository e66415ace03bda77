"""Steps that read their run context (``dotflow.current_task()``) in a worker: importable by name
in a process-pool worker, a ``concurrent.futures`` worker and the tests' Dask worker."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import dotflow
from dotflow import TaskCancelled, action

LONG = 30.0  # seconds a step waits at most for what the test does; a pass never waits this long


@action(retry=2, retry_delay=0)
def who_am_i() -> list[Any]:
    """Its ids, attempt and run_attempt, and its pid; attaches metadata on each attempt, and fails
    the first one (so its metadata comes back with a failure, and the second attempt is 2)."""
    task = dotflow.current_task()
    assert task is not None, "no run context in the worker"
    if task.attempt == 1:
        task.metadata(first="attempt one")
        raise RuntimeError("the first attempt fails on purpose")
    task.metadata(rows=3, link="https://example.com/report")
    return [task.workflow_id, task.task_id, task.step, task.attempt, task.run_attempt, os.getpid()]


@action
def reports_until_cancelled() -> int:
    """Attaches metadata, then reports its progress every few ms (far faster than it is sent) until
    it is asked to stop, which it does by raising TaskCancelled."""
    task = dotflow.current_task()
    assert task is not None
    task.metadata(phase="started")
    deadline = time.monotonic() + LONG
    count = 0
    while time.monotonic() < deadline:
        count += 1
        task.progress(count, None, f"row {count}")
        if task.cancel_requested():
            raise TaskCancelled("asked to stop")
        time.sleep(0.002)
    return count


@action
def ignores_the_cancel(initial_context: Any) -> str:
    """Never looks at the flag: runs until the file named by ``initial_context`` exists."""
    deadline = time.monotonic() + LONG
    while time.monotonic() < deadline and not Path(initial_context.storage).exists():
        time.sleep(0.01)
    return "released"


@action
def sleeps_a_moment() -> str:
    """Runs half a second without looking at its flag."""
    time.sleep(0.5)
    return "slept"


@action
def is_it_cancelled() -> bool:
    task = dotflow.current_task()
    assert task is not None
    return task.cancel_requested()
