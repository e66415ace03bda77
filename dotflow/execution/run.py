"""Run: the mutable state of one run of a workflow, and the one door its status changes go through."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Collection, Iterable

if TYPE_CHECKING:
    from dotflow.execution.executors.base import StepRunner
    from dotflow.live import LiveRun
    from dotflow.reporting import Reporter
    from dotflow.task import Task


class Run:
    """What one ``start()`` shares between its threads while it lasts.

    - ``reporter`` tells the providers about every status change, which goes through ``change``.
    - ``interrupted``: once set (by ``Manager.interrupt``), ``change`` changes nothing any more,
      so a worker thread whose step ends after the interruption cannot turn a task that was
      reported Failed into Completed.
    - ``lock``: given when tasks run on worker threads, or another thread may interrupt the run;
      every change takes it, so the check and the change are one step. A run in the caller's
      thread alone needs none.
    - ``executor`` runs the step calls when the run has one other than threads (see
      ``dotflow.execution.executors``); None: the run's own threads call the steps.
    - ``resume`` and ``keep_going`` are the run's options as they apply to it (a run whose
      inputs changed may not resume after all).
    - A cancel request (``request_cancel``) names the whole run or some of its tasks, with a
      reason: no task it names starts any more, its retry waits end (``wait_unless_cancelled``),
      and its steps can ask ``cancel_requested``.
    """

    __slots__ = ("_cancel", "_cancel_cv", "abandoned", "cancelled", "executor", "interrupted", "keep_going", "live",
                 "lock", "reporter", "resume")

    def __init__(
        self, reporter: Reporter, *, resume: bool = False, keep_going: bool = False,
        lock: threading.RLock | None = None,
    ) -> None:
        self.reporter = reporter
        self.resume = resume
        self.keep_going = keep_going
        self.lock = lock
        self.interrupted = False
        self.abandoned = False  # a cancel's grace ran out: steps still running are not waited for
        self.executor: StepRunner | None = None
        self.cancelled: str | None = None  # the reason, once the whole run is cancelled
        self._cancel: dict[str, str] = {}  # task id -> reason, for the tasks cancelled one by one
        self._cancel_cv = threading.Condition()
        self.live: LiveRun | None = None  # what an observer and the steps see of the run (Manager.run)

    # -- cancellation -------------------------------------------------------------------------

    def request_cancel(self, reason: str, task_ids: Collection[str] | None = None) -> None:
        """Cancel the whole run (``task_ids`` None) or those tasks, for ``reason``. Safe from any
        thread; the first reason given for a task is the one it keeps."""
        with self._cancel_cv:
            if task_ids is None:
                if self.cancelled is None:
                    self.cancelled = reason
            else:
                for task_id in task_ids:
                    self._cancel.setdefault(str(task_id), reason)
            self._cancel_cv.notify_all()

    def cancel_reason(self, task_id: str) -> str | None:
        """Why the task is cancelled (the whole run's reason first), None when it is not."""
        if self.cancelled is not None:
            return self.cancelled
        return self._cancel.get(task_id) if self._cancel else None

    def wait_unless_cancelled(self, task_id: str, seconds: float) -> bool:
        """Sleep ``seconds`` (a retry delay) unless the task is or gets cancelled; returns
        whether it was cancelled."""
        with self._cancel_cv:
            return self._cancel_cv.wait_for(lambda: self.cancel_reason(task_id) is not None, seconds)

    def change(self, task: Task, transition: Callable[..., None], *args: Any, resumed: bool = False) -> bool:
        """Apply ``transition`` (a method of ``task``: ``task.begin``, ``task.fail``...) and report
        it, unless the run was interrupted or the task already ended (a step that returns after
        its task was cancelled changes nothing); returns whether it did."""
        lock = self.lock
        if lock is None:
            if self.interrupted or task.ended:
                return False
            transition(*args)
            self.reporter.task_changed(task, resumed)
            return True
        with lock:
            if self.interrupted or task.ended:
                return False
            transition(*args)
            self.reporter.task_changed(task, resumed)
            return True


def abandon(reporter: Reporter, tasks: Iterable[Task], problem: BaseException | None = None,
            message: str | None = None) -> None:
    """A run that could not start, or got no further (an executor that cannot be had, a signal
    before its Manager existed), leaves its unfinished ``tasks`` Failed with ``problem`` as their
    error (``message``: by default its own), and the reporter tells the server them and the
    workflow: the backend's rows wait on them."""
    from dotflow.interrupts import RunInterrupted, interruption_error, interruption_message
    from dotflow.task import TaskError

    if isinstance(problem, (KeyboardInterrupt, RunInterrupted)):  # a signal: recorded as every interruption is
        message = message or interruption_message(problem)
        problem = interruption_error(problem, message)
    failed = []
    for task in tasks:
        if task.ended:
            continue
        task.fail(None if problem is None else TaskError(problem, task.retry_count + 1, traceback="", message=message))
        failed.append(task)
    reporter.abandoned(failed)
