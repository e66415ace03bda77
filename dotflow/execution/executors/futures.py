"""``executor=<a concurrent.futures.Executor>``: the user's own pool runs the step calls.

Each call is submitted as ``remote.execute(request)``: a module-level function and bytes, so
any Executor can take it (a ``ProcessPoolExecutor``, loky's reusable executor, a
``distributed.Client``'s ``get_executor()``). A ``ThreadPoolExecutor`` shares this process's
memory, so it gets the call itself, unpickled. The pool belongs to the caller, who shuts it
down; the run never does. An Executor cannot stop a running call, so a step that outlives
its timeout is cancelled if it has not started and abandoned otherwise, and the attempt
fails with StepTimeoutError saying so. When the run ends with calls still in flight (it was
interrupted, or a cancel's grace ran out), the calls not started yet are cancelled.

``dotflow.current_task()`` in a step: on a ``ThreadPoolExecutor`` it is the driver's own context
(the ContextVars are copied), so everything works as on the run's threads. On any other
Executor there is no channel back while the step runs: the context has the driver's ids, step
name, attempt and run_attempt; its ``metadata(...)`` comes back with the call's reply (so it goes
with the task's outcome); its ``progress(...)`` is dropped; its ``cancel_requested()`` is always
False (a cancelled run's grace still ends the run). Dask has its own channel: see ``dask.py``.
"""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Executor, Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import TYPE_CHECKING, Any

from dotflow.errors import ExecutorError, StepTimeoutError, WorkerDiedError
from dotflow.execution.executors.base import StepRunner, decode, encode
from dotflow.execution.executors.remote import execute, outcome
from dotflow.live import current_task
from dotflow.naming import step_name

if TYPE_CHECKING:
    from dotflow.context import Context
    from dotflow.live import TaskContext
    from dotflow.task import Task

TIMEOUTS: tuple[type[BaseException], ...] = (TimeoutError, FuturesTimeout)


class FuturesRunner(StepRunner):
    """Runs step calls on ``executor``; ``label`` names it in messages."""

    where = "the executor's workers"
    pickles = True  # False for a thread pool, which gets the call unpickled
    timeouts = TIMEOUTS  # what ``Future.result(timeout)`` raises when the time is up

    def __init__(self, executor: Executor, label: str | None = None) -> None:
        self.executor = executor
        self.label = label or type(executor).__name__
        # An Executor has no public size; the standard library's two pools and loky's keep it in
        # `_max_workers`, which is read here and never written. Any other: None (unknown).
        workers = getattr(executor, "_max_workers", None)
        self.capacity = workers if isinstance(workers, int) and workers > 0 else None
        self.pickles = not isinstance(executor, ThreadPoolExecutor)
        self._track()

    def _track(self) -> None:
        self._inflight: set[Future[Any]] = set()  # the calls submitted and not yet ended, for close()
        self._inflight_lock = threading.Lock()

    def submit(self, request: bytes, task: Task, context: TaskContext | None) -> Future[bytes]:
        """Submit the call ``request`` of ``task``'s attempt ``context`` (the driver's)."""
        return self.executor.submit(execute, request)

    def began(self, future: Future[Any]) -> None:
        with self._inflight_lock:
            self._inflight.add(future)

    def ended(self, future: Future[Any]) -> None:
        with self._inflight_lock:
            self._inflight.discard(future)

    def inflight(self) -> list[Future[Any]]:
        with self._inflight_lock:
            return list(self._inflight)

    def submit_here(self, task: Task, previous: Context) -> Future[Any]:
        """A thread pool shares this process's memory: the call goes as it is, unpickled, in a
        copy of the caller's ContextVars (as the run's own threads do)."""
        import contextvars

        return self.executor.submit(contextvars.copy_context().run, outcome, task.step, task.given_context, previous)

    def lost(self, exc: BaseException, name: str) -> Exception:
        """The error of a call the executor could not finish (its worker died, the pool broke)."""
        from dotflow.redact import describe

        return WorkerDiedError(f"the {self.label} worker running step {name} was lost ({describe(exc)})")

    def run(self, task: Task, previous: Context) -> Any:
        # the driver's context, entered by the runner around this call (a thread pool's call copies it)
        context = current_task() if self.pickles else None
        request = encode(task, previous, self.where, context) if self.pickles else b""
        try:
            future = self.submit(request, task, context) if self.pickles else self.submit_here(task, previous)
        except Exception as exc:
            from dotflow.redact import describe

            raise ExecutorError(f"{self.label} refused step {step_name(task.step)}: {describe(exc)}") from None
        self.began(future)
        try:
            reply = self._wait(future, task)
        finally:
            self.ended(future)
        if self.pickles:
            return decode(reply, task, self.where, context)
        if reply[0] == "ok":
            return reply[1]
        error: BaseException = reply[1]
        raise error

    def _wait(self, future: Future[Any], task: Task) -> Any:
        """The call's reply, within the step's timeout."""
        timeout = task.options.timeout
        try:
            return future.result(timeout or None)
        except self.timeouts:
            if not future.done():
                future.cancel()
                raise StepTimeoutError(
                    f"step {step_name(task.step)} timed out after {timeout:g}s; {self.label} cannot stop a running "
                    "call, so it was abandoned and runs on in its worker until it returns"
                ) from None
            raise self.lost(_exception(future), step_name(task.step)) from None
        except (CancelledError, Exception) as exc:
            raise self.lost(exc, step_name(task.step)) from None

    def close(self) -> None:
        """The run ended: its calls still in flight that have not started are cancelled (the
        executor itself is the caller's, and stays open)."""
        for future in self.inflight():
            future.cancel()


def _exception(future: Future[Any]) -> BaseException:
    try:
        error = future.exception(0)
    except BaseException as exc:
        return exc
    return error if error is not None else RuntimeError("no result")
