"""Executors: where a step's call runs, chosen with ``start(executor=...)`` or ``workflow.executor``.

- ``"thread"`` (the default): the run's own thread calls the step, as it always has.
- ``"process"``: a pool of worker processes (``process.py``), sized by ``max_workers``.
- ``"dask"``: a local Dask cluster sized to the machine; ``"tcp://host:8786"`` (or ``tls://``):
  the Dask scheduler at that address (``dask.py``, the ``dotflow[dask]`` extra).
- any ``concurrent.futures.Executor`` instance (``futures.py``): the user's own pool.

Whatever the executor, the run's threads stay the orchestrators: statuses, retries, timeouts,
callbacks, storage writes and reports happen there, exactly as with threads. An executor
other than ``thread`` only runs the step call (``dotflow.execution.step.run_step``) on the
other side (``remote.py``) and hands its result back.

This module is imported by the profile schema and by ``start()``, so it imports nothing
heavy: each kind is loaded when it is chosen.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from dotflow.errors import UsageError
from dotflow.text import did_you_mean

if TYPE_CHECKING:
    from dotflow.execution.executors.base import StepRunner

THREAD = "thread"
PROCESS = "process"
DASK = "dask"
NAMES = (THREAD, PROCESS, DASK)
SCHEMES = ("tcp", "tls")  # the Dask transports a scheduler address may use here
FORMS = "thread, process, dask, or a Dask scheduler address like 'tcp://host:8786'"


def executor_problem(value: str) -> str | None:
    """What is wrong with the executor string ``value``, or None when it is valid.

    The one validator of the setting: ``start(executor=...)`` and the profile key
    ``workflow.executor`` (file, environment, ``--executor``) both use it.
    """
    if value in NAMES:
        return None
    scheme, sep, rest = value.partition("://")
    if sep:
        host, colon, port = rest.rpartition(":")
        if scheme.lower() not in SCHEMES:
            return "is not a Dask scheduler address: use tcp:// or tls://, like 'tcp://host:8786'"
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536 or "/" in rest:
            return "is not a Dask scheduler address; write it as tcp://host:port, like 'tcp://127.0.0.1:8786'"
        return None
    return f"is not one of {FORMS}{did_you_mean(value.strip().lower(), NAMES)}"


def check_executor(value: Any) -> Any:
    """``value`` if it is an executor ``start()`` accepts, else UsageError naming the allowed forms."""
    if isinstance(value, str):
        problem = executor_problem(value)
        if problem:
            raise UsageError(f"executor={value!r} {problem}")
        return value
    from concurrent.futures import Executor

    if isinstance(value, Executor):
        return value
    raise UsageError(f"executor={value!r} is not {FORMS}, or a concurrent.futures.Executor instance")


def max_workers_problem(value: Any) -> str | None:
    """What is wrong with a ``max_workers`` value (``start()`` and ``workflow.max_workers``), or None."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return "is not a positive integer; give one, or leave it unset for the CPU count"
    return None


def pool_size(concurrency: int, max_workers: int | None) -> int:
    """Worker processes for a run that can use ``concurrency`` at once: at most ``max_workers``
    (default: the CPU count), and never more than the run can use."""
    return max(1, min(concurrency, max_workers or os.cpu_count() or 1))


def open_executor(value: Any, max_workers: int | None, concurrency: int) -> StepRunner | None:
    """Start what ``value`` (already checked) names, for a run that can use ``concurrency``
    workers at once; None for ``thread``, whose steps run in the run's own threads.

    Raises ExecutorError (a Dask scheduler unreachable, the pool's helper not starting) or
    MissingExtraError (``distributed`` not installed) before any step runs.
    """
    if value == THREAD:
        return None
    if value == PROCESS:
        from dotflow.execution.executors.process import ProcessRunner

        return ProcessRunner(pool_size(concurrency, max_workers))
    if isinstance(value, str):
        from dotflow.execution.executors import dask

        if value == DASK:
            return dask.local_cluster(max_workers or os.cpu_count() or 1)
        return dask.connect(value)
    from dotflow.execution.executors import dask
    from dotflow.execution.executors.futures import FuturesRunner

    if dask.is_client_executor(value):
        return dask.from_client_executor(value)
    return FuturesRunner(value)
