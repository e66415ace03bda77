"""Running one task: attempts, retry delays, status changes, checkpoints and its callback."""

from __future__ import annotations

import logging
import time
from datetime import datetime
from traceback import format_exc
from typing import TYPE_CHECKING, Any

from dotflow.capture import step_began, step_ended
from dotflow.context import Context
from dotflow.errors import StepExitError, StepPickleError, StepTimeoutError, TaskCancelled
from dotflow.execution.step import run_step
from dotflow.interrupts import RunInterrupted, interruption_error, interruption_message
from dotflow.live import TaskContext, enter, leave
from dotflow.logs import TRACEBACK_LOGGER, log_event
from dotflow.naming import task_label
from dotflow.task import TaskError

if TYPE_CHECKING:
    from dotflow.abc.storage import Storage
    from dotflow.execution.run import Run
    from dotflow.task import Task

logger = logging.getLogger("dotflow")


def run_task(task: Task, previous: Context | None, run: Run) -> Context:
    """Run ``task`` to Completed or Failed and return its Context (what the next task gets).

    An AssertionError from the step or the callback fails the task and then propagates:
    test suites use asserts inside steps as checks. After an interruption it runs nothing.
    """
    previous = previous if previous is not None else Context()
    if run.interrupted or task.ended:  # interrupted, or cancelled before its turn came
        return previous
    reason = run.cancel_reason(task.task_id)
    if reason is not None:  # cancelled: it never starts
        run.change(task, task.cancel, reason)
        return previous
    storage = task.config.storage  # type: ignore[union-attr]
    task.previous_context = previous
    key = storage.key(task)
    if run.resume and storage.exists(key):
        _resume(task, storage.get(key), run)
        return task.current_context

    task.mark_started()
    try:
        _attempt(task, previous, storage, key, run)
    except (KeyboardInterrupt, SystemExit) as exc:
        # SIGINT/SIGTERM mid-step: say so to the observer (Failed) before the process unwinds
        _fail(task, task.retry_count + 1, interruption_error(exc), run, interruption_message(exc))
        raise
    if not task.has_result:  # failed: the callback and the next task see an empty Context
        task.current_context = Context(None, task.task_id, task.workflow_id)
    if not run.interrupted:
        _callback(task)
    return task.current_context


def _resume(task: Task, checkpoint: Context, run: Run) -> None:
    """Complete ``task`` from its stored ``checkpoint`` without running its step. The task's
    result keeps the checkpoint's time, which is how a resumed task is told from one that ran
    (``Task.resumed``)."""
    value = checkpoint.storage
    if isinstance(task.step, type) and isinstance(value, list):
        # a class step's result is its methods' Contexts; a store that keeps plain JSON
        # returns their values, so give the next step the shape the first run gave it
        value = [item if isinstance(item, Context) else Context(item) for item in value]
    written = checkpoint.timestamp
    if logger.isEnabledFor(logging.INFO):
        shown = datetime.fromtimestamp(min(written, time.time())).isoformat(sep=" ", timespec="seconds")
        log_event(logging.INFO, task.workflow_id, task_label(task), f"resumed from the checkpoint written {shown}")
    if run.change(task, task.restore, value, written, resumed=True):
        _callback(task)


def _attempt(task: Task, previous: Context, storage: Storage, key: str, run: Run) -> None:
    """Run the step until it succeeds, fails for good, or runs out of attempts."""
    step_options = task.options
    delay = step_options.retry_delay
    for attempt in range(1, step_options.retry + 1):
        if not run.change(task, task.begin):
            return
        try:
            value = _call(task, previous, attempt, run)
        except AssertionError as exc:
            _fail(task, attempt, exc, run)
            raise
        except Exception as exc:
            if run.interrupted or task.ended:
                return
            reason = run.cancel_reason(task.task_id)
            if reason is not None or isinstance(exc, TaskCancelled):
                # a step that stops once asked to (or raises TaskCancelled) is Cancelled, never retried
                _cancel(task, attempt, exc, run, reason)
                return
            if isinstance(exc, _FINAL) or attempt == step_options.retry:
                _fail(task, attempt, exc, run)
                return
            _record(task, attempt, exc)
            if not run.change(task, task.retry):
                return
            if delay and run.wait_unless_cancelled(task.task_id, delay):
                run.change(task, task.cancel, run.cancel_reason(task.task_id))
                return
            if step_options.backoff:
                delay *= 2
        else:
            if run.interrupted or task.ended:
                return  # the task was reported Failed (or Cancelled) meanwhile; that stays its outcome
            result = task.set_result(value)
            try:
                storage.post(key, result)
            except Exception as exc:
                _fail(task, attempt, exc, run, f"could not store the result: {exc}")
                return
            run.change(task, task.complete)
            return


def _call(task: Task, previous: Context, attempt: int, run: Run) -> Any:
    """One attempt's call of the step, where it runs (here, or the run's executor: this thread
    keeps statuses, retries and storage), with ``dotflow.current_task()`` telling the step who it is."""
    live = run.live
    task_id = task.task_id
    context = TaskContext(task.workflow_id or "", task_id, task.step, attempt, live.run_attempt if live else 1, live,
                          lambda: run.cancel_reason(task_id) is not None)
    entered = enter(context)
    try:
        if run.executor is None:
            if live is not None and live.log_sink is not None:
                step_began(live, task_id)  # what the descriptors read is this step's, when they are read
            return run_step(task.step, task.options, task, previous)
        return run.executor.run(task, previous)
    finally:
        leave(entered)
        if live is not None and live.log_sink is not None:
            step_ended(live, task_id)  # a line the step began and did not end


# failures that another attempt would repeat: the timeout, a step's sys.exit(), a step that cannot be pickled
_FINAL = (StepTimeoutError, StepExitError, StepPickleError)


def _record(task: Task, attempt: int, exc: BaseException, message: str | None = None) -> TaskError:
    """The error of a failed attempt, logged at DEBUG; a retried attempt's joins the task's errors here."""
    error = _error(task, attempt, exc, message)
    task.errors.append(error)
    return error


def _fail(task: Task, attempt: int, exc: BaseException, run: Run, message: str | None = None) -> None:
    """The attempt's failure ends the task: its error is kept, then the task is Failed."""
    _record(task, attempt, exc, message)
    run.change(task, task.fail)


def _cancel(task: Task, attempt: int, exc: BaseException, run: Run, reason: str | None) -> None:
    """The step stopped on a cancel request (or raised TaskCancelled of its own): Cancelled, with
    the request's reason, else the exception's message."""
    if reason is None:
        reason = str(exc) or "cancelled by the step"
    if logger.isEnabledFor(logging.DEBUG):
        from dotflow.redact import one_line

        log_event(logging.DEBUG, task.workflow_id, task_label(task),
                  f"attempt {attempt} stopped on cancellation: {type(exc).__name__}: {one_line(str(exc))}")
    run.change(task, task.cancel, reason)


def _error(task: Task, attempt: int, exc: BaseException, message: str | None) -> TaskError:
    message = message or str(exc) or type(exc).__name__
    error = TaskError(exc, attempt, traceback=format_exc(), message=message)
    if logger.isEnabledFor(logging.DEBUG):
        from dotflow.redact import one_line

        # one line, credentials masked, as the WARNING and ERROR lines have it
        reason = f"attempt {attempt} failed: {type(exc).__name__}: {one_line(message)}"
        log_event(logging.DEBUG, task.workflow_id, task_label(task), reason)
    return error


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
