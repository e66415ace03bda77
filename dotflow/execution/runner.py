"""Running one task: attempts, retry delays, status changes, checkpoints and its callback."""

from __future__ import annotations

import logging
import time
from traceback import format_exc
from typing import TYPE_CHECKING

from dotflow.context import Context
from dotflow.core.types.status import TypeStatus
from dotflow.errors import StepTimeoutError
from dotflow.execution.step import run_step
from dotflow.task import TaskError

if TYPE_CHECKING:
    from dotflow.abc.storage import Storage
    from dotflow.task import Task

logger = logging.getLogger("dotflow")


class RunOptions:
    """What a run does beyond running steps: resuming from checkpoints, and continuing after a failure."""

    __slots__ = ("resume", "keep_going")

    def __init__(self, resume: bool = False, keep_going: bool = False) -> None:
        self.resume = resume
        self.keep_going = keep_going


def run_task(task: Task, previous: Context | None, options: RunOptions) -> Context:
    """Run ``task`` to Completed or Failed and return its Context (what the next task gets).

    An AssertionError from the step or the callback fails the task and then propagates:
    test suites use asserts inside steps as checks.
    """
    storage = task.config.storage  # type: ignore[union-attr]
    previous = previous if previous is not None else Context()
    task.previous_context = previous
    key = storage.key(task)
    if options.resume:
        stored = storage.get(key)
        if stored.storage is not None:
            task.current_context = Context(stored.storage, task.task_id, task.workflow_id)
            task.mark_started()
            task.mark_finished()
            logger.info("ID %s - %s - resumed from checkpoint", task.workflow_id, task.task_id)
            task.status = TypeStatus.COMPLETED
            _callback(task)
            return task.current_context

    task.mark_started()
    try:
        _attempt(task, previous, storage, key)
    except (KeyboardInterrupt, SystemExit) as exc:
        # SIGINT/SIGTERM mid-step: say so to the observer (Failed) before the process unwinds
        _record(task, task.retry_count + 1, exc)
        _finish(task, TypeStatus.FAILED)
        raise
    if task._current_context is None:  # failed: the callback and the next task see an empty Context
        task.current_context = Context(None, task.task_id, task.workflow_id)
    _callback(task)
    return task.current_context


def _attempt(task: Task, previous: Context, storage: Storage, key: str) -> None:
    """Run the step until it succeeds, fails for good, or runs out of attempts."""
    step_options = task.options
    delay = step_options.retry_delay
    for attempt in range(1, step_options.retry + 1):
        task.status = TypeStatus.IN_PROGRESS
        try:
            value = run_step(task.step, step_options, task, previous)
        except AssertionError as exc:
            _record(task, attempt, exc)
            _finish(task, TypeStatus.FAILED)
            raise
        except Exception as exc:
            _record(task, attempt, exc)
            if isinstance(exc, StepTimeoutError) or attempt == step_options.retry:
                _finish(task, TypeStatus.FAILED)
                return
            task.retry_count += 1
            task.status = TypeStatus.RETRY
            if delay:
                time.sleep(delay)
            if step_options.backoff:
                delay *= 2
        else:
            finished = task.mark_finished()
            task.current_context = Context(value, task.task_id, task.workflow_id)
            task.current_context._ts = finished  # one float for both: tasks stay small
            try:
                storage.post(key, task.current_context)
            except Exception as exc:
                _record(task, attempt, exc)
                logger.error("ID %s - %s - could not store the result: %s", task.workflow_id, task.task_id, exc)
                _finish(task, TypeStatus.FAILED)
                return
            task.status = TypeStatus.COMPLETED
            return


def _record(task: Task, attempt: int, exc: BaseException) -> None:
    message = str(exc) or type(exc).__name__
    task.errors.append(TaskError(attempt, exc, format_exc(), message))
    logger.debug("ID %s - %s - attempt %d failed: %s", task.workflow_id, task.task_id, attempt, message)


def _finish(task: Task, status: str) -> None:
    task.mark_finished()
    task.status = status


def _callback(task: Task) -> None:
    if task.callback is None:
        return
    try:
        task.callback(task=task)
    except AssertionError:
        raise
    except Exception:
        logger.exception("ID %s - %s - the task callback raised", task.workflow_id, task.task_id)

