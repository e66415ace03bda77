"""Running one task: attempts, retry delays, status changes, checkpoints and its callback."""

from __future__ import annotations

import logging
import time
from traceback import format_exc
from typing import TYPE_CHECKING

from dotflow.context import Context
from dotflow.errors import StepExitError, StepPickleError, StepTimeoutError
from dotflow.execution.step import RunInterrupted, run_step
from dotflow.naming import task_label
from dotflow.task import TRACEBACK_LOGGER, TaskError, log_event
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    import threading

    from dotflow.abc.storage import Storage
    from dotflow.execution.executors.base import StepRunner
    from dotflow.reporting import Reporter
    from dotflow.task import Task

logger = logging.getLogger("dotflow")

def interruption_message(cause: BaseException | None) -> str:
    """The error message of a task cut short: ``interrupted by SIGINT`` for KeyboardInterrupt,
    ``interrupted by SIGTERM`` for the interruption ``dotflow start`` raises on SIGTERM."""
    if isinstance(cause, KeyboardInterrupt):
        return "interrupted by SIGINT"
    code = getattr(cause, "code", None)
    if isinstance(cause, RunInterrupted) and isinstance(code, int) and code > 128:
        import signal

        try:
            return f"interrupted by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return "interrupted"


class RunOptions:
    """What a run does beyond running steps (resuming from checkpoints, continuing after a
    failure), and the run's shared state: its reporter and whether it was interrupted.

    Once ``interrupted`` is set (by ``Manager.interrupt``) the runner changes no status any
    more: a worker thread whose step ends after the interruption cannot turn a task that was
    reported Failed into Completed. When tasks run on worker threads, the Manager gives the
    run a ``lock`` that every status change takes, so that check and change are one step; a
    run in the caller's thread alone needs none. Every status change goes through ``reporter``.
    ``executor`` runs the step calls when the run has one other than threads (see
    ``dotflow.execution.executors``); everything else stays on the run's threads.
    """

    __slots__ = ("resume", "keep_going", "interrupted", "lock", "reporter", "executor")

    def __init__(self, resume: bool = False, keep_going: bool = False) -> None:
        self.resume = resume
        self.keep_going = keep_going
        self.interrupted = False
        self.lock: threading.RLock | None = None
        self.reporter: Reporter = None  # type: ignore[assignment]  # set by the Manager that runs it
        self.executor: StepRunner | None = None  # set by the Manager; None: this thread calls the step


def run_task(task: Task, previous: Context | None, options: RunOptions) -> Context:
    """Run ``task`` to Completed or Failed and return its Context (what the next task gets).

    An AssertionError from the step or the callback fails the task and then propagates:
    test suites use asserts inside steps as checks. After an interruption it runs nothing.
    """
    previous = previous if previous is not None else Context()
    if options.interrupted:
        return previous
    storage = task.config.storage  # type: ignore[union-attr]
    task.previous_context = previous
    key = storage.key(task)
    if options.resume and storage.exists(key):
        _resume(task, storage.get(key), options)
        return task.current_context

    task.mark_started()
    try:
        _attempt(task, previous, storage, key, options)
    except (KeyboardInterrupt, SystemExit) as exc:
        # SIGINT/SIGTERM mid-step: say so to the observer (Failed) before the process unwinds
        _record(task, task.retry_count + 1, exc, interruption_message(exc))
        _finish(task, TypeStatus.FAILED, options)
        raise
    if task._current_context is None:  # failed: the callback and the next task see an empty Context
        task.current_context = Context(None, task.task_id, task.workflow_id)
    if not options.interrupted:
        _callback(task)
    return task.current_context


def _resume(task: Task, checkpoint: Context, options: RunOptions) -> None:
    """Complete ``task`` from its stored ``checkpoint`` without running its step. The task's
    result keeps the checkpoint's time, which is how a resumed task is told from one that ran
    (``Task.resumed``)."""
    value = checkpoint.storage
    if isinstance(task.step, type) and isinstance(value, list):
        # a class step's result is its methods' Contexts; a store that keeps plain JSON
        # returns their values, so give the next step the shape the first run gave it
        value = [item if isinstance(item, Context) else Context(item) for item in value]
    task.current_context = Context(value, task.task_id, task.workflow_id)
    task.mark_started()
    started = task._started or checkpoint._ts
    # before this run started, even if another machine's clock wrote it "later"
    task.current_context._ts = min(checkpoint._ts, started - 1e-6)
    task.mark_finished()
    if logger.isEnabledFor(logging.INFO):
        written = task.current_context.time.isoformat(sep=" ", timespec="seconds")
        log_event(logging.INFO, task.workflow_id, task_label(task), f"resumed from the checkpoint written {written}")
    if _set_status(task, TypeStatus.COMPLETED, options, resumed=True):
        _callback(task)


def _attempt(task: Task, previous: Context, storage: Storage, key: str, options: RunOptions) -> None:
    """Run the step until it succeeds, fails for good, or runs out of attempts."""
    step_options = task.options
    delay = step_options.retry_delay
    executor = options.executor
    for attempt in range(1, step_options.retry + 1):
        if not _set_status(task, TypeStatus.IN_PROGRESS, options):
            return
        try:
            if executor is None:
                value = run_step(task.step, step_options, task, previous)
            else:  # only the call goes to the executor: this thread keeps statuses, retries and storage
                value = executor.run(task, previous)
        except AssertionError as exc:
            _record(task, attempt, exc)
            _finish(task, TypeStatus.FAILED, options)
            raise
        except Exception as exc:
            if options.interrupted:
                return
            _record(task, attempt, exc)
            if isinstance(exc, _FINAL) or attempt == step_options.retry:
                _finish(task, TypeStatus.FAILED, options)
                return
            task.retry_count += 1
            if not _set_status(task, TypeStatus.RETRY, options):
                return
            if delay:
                time.sleep(delay)
            if step_options.backoff:
                delay *= 2
        else:
            if options.interrupted:
                return  # the task was reported Failed meanwhile; that stays its outcome
            finished = task.mark_finished()
            task.current_context = Context(value, task.task_id, task.workflow_id)
            task.current_context._ts = finished  # one float for both: tasks stay small
            try:
                storage.post(key, task.current_context)
            except Exception as exc:
                _record(task, attempt, exc, f"could not store the result: {exc}")
                _finish(task, TypeStatus.FAILED, options)
                return
            _set_status(task, TypeStatus.COMPLETED, options)
            return


# failures that another attempt would repeat: the timeout, a step's sys.exit(), a step that cannot be pickled
_FINAL = (StepTimeoutError, StepExitError, StepPickleError)


def _set_status(task: Task, status: str, options: RunOptions, resumed: bool = False) -> bool:
    """Set (and so report) ``status`` unless the run was interrupted; returns whether it did."""
    lock = options.lock
    if lock is None:
        if options.interrupted:
            return False
        options.reporter.task_status(task, status, resumed)
        return True
    with lock:
        if options.interrupted:
            return False
        options.reporter.task_status(task, status, resumed)
        return True


def _record(task: Task, attempt: int, exc: BaseException, message: str | None = None) -> None:
    message = message or str(exc) or type(exc).__name__
    task.errors.append(TaskError(exc, attempt, traceback=format_exc(), message=message))
    if logger.isEnabledFor(logging.DEBUG):
        from dotflow.redact import one_line

        # one line, credentials masked, as the WARNING and ERROR lines have it
        reason = f"attempt {attempt} failed: {type(exc).__name__}: {one_line(message)}"
        log_event(logging.DEBUG, task.workflow_id, task_label(task), reason)


def _finish(task: Task, status: str, options: RunOptions) -> None:
    task.mark_finished()
    _set_status(task, status, options)


def _callback(task: Task) -> None:
    if task.callback is None:
        return
    try:
        task.callback(task=task)
    except (AssertionError, RunInterrupted, KeyboardInterrupt):
        raise
    except BaseException as exc:  # a callback's own sys.exit() (or GeneratorExit...) does not end the run
        from dotflow.redact import describe

        log_event(logging.WARNING, task.workflow_id, task_label(task), f"the task callback raised {describe(exc)}")
        logging.getLogger(TRACEBACK_LOGGER).debug("the task callback of %s raised:", task_label(task), exc_info=True)
