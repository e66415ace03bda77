"""Run: the mutable state of one run of a workflow, and the one door its status changes go through."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    import threading

    from dotflow.execution.executors.base import StepRunner
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
    """

    __slots__ = ("executor", "interrupted", "keep_going", "lock", "reporter", "resume")

    def __init__(
        self, reporter: Reporter, *, resume: bool = False, keep_going: bool = False,
        lock: threading.RLock | None = None,
    ) -> None:
        self.reporter = reporter
        self.resume = resume
        self.keep_going = keep_going
        self.lock = lock
        self.interrupted = False
        self.executor: StepRunner | None = None

    def change(self, task: Task, transition: Callable[..., None], *args: Any, resumed: bool = False) -> bool:
        """Apply ``transition`` (a method of ``task``: ``task.begin``, ``task.fail``...) and report
        it, unless the run was interrupted; returns whether it did."""
        lock = self.lock
        if lock is None:
            if self.interrupted:
                return False
            transition(*args)
            self.reporter.task_changed(task, resumed)
            return True
        with lock:
            if self.interrupted:
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
