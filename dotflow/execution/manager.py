"""Manager: one run of a workflow in a given mode, from the first report to the final callbacks."""

from __future__ import annotations

import logging
import threading
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Sequence

from dotflow.core.types.execution import TypeExecution
from dotflow.core.types.status import TypeStatus
from dotflow.errors import UsageError
from dotflow.execution.runner import RunOptions

if TYPE_CHECKING:
    from dotflow.task import Task

logger = logging.getLogger("dotflow")

_MODES = TypeExecution.ALL


def check_mode(mode: Any) -> str:
    if mode not in _MODES:
        raise UsageError(f"unknown mode {mode!r}; use one of: {', '.join(_MODES)}")
    return str(mode)


def check_callback(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise UsageError(f"{name}={value!r} is not callable; pass a function taking tasks=")


class Manager:
    """Runs the tasks of one ``start()`` call and reports the workflow's status.

    In background mode ``start()`` returns at once; ``wait()`` blocks until the run ends.
    """

    def __init__(
        self,
        workflow: Any,
        tasks: Sequence[Task],
        mode: str,
        options: RunOptions,
        on_success: Callable[..., Any] | None = None,
        on_failure: Callable[..., Any] | None = None,
        max_workers: int | None = None,
    ) -> None:
        self.workflow = workflow
        self.workflow_id = workflow.workflow_id
        self.tasks = list(tasks)
        self.mode = mode
        self.options = options
        self.on_success = on_success
        self.on_failure = on_failure
        self.max_workers = max_workers
        self.started = datetime.now()
        self.status: str = TypeStatus.NOT_STARTED
        self._thread: threading.Thread | None = None
        self._errors: list[BaseException] = []

    def run(self) -> Manager:
        server = self.workflow.config.server
        server.update_workflow(self.workflow, status=TypeStatus.IN_PROGRESS)
        self.status = TypeStatus.IN_PROGRESS
        if self.mode == TypeExecution.BACKGROUND:
            from dotflow.execution.background import start_background

            self._thread = start_background(self._run_and_finish, self._errors)
        else:
            self._run_and_finish()
        return self

    def _run_and_finish(self) -> None:
        try:
            self._run_tasks()
        finally:
            self._finish()

    def _run_tasks(self) -> None:
        mode = self.mode
        if mode in (TypeExecution.SEQUENTIAL, TypeExecution.BACKGROUND) and _has_groups(self.tasks):
            mode = TypeExecution.SEQUENTIAL_GROUP
        if mode == TypeExecution.PARALLEL:
            from dotflow.execution.parallel import run_parallel

            run_parallel(self.tasks, self.options, self.max_workers)
        elif mode == TypeExecution.SEQUENTIAL_GROUP:
            from dotflow.execution.groups import run_groups

            run_groups(self.tasks, self.options, self.max_workers)
        else:
            from dotflow.execution.sequential import run_sequential

            run_sequential(self.tasks, self.options)

    def _finish(self) -> None:
        ok = all(task.status is TypeStatus.COMPLETED for task in self.tasks)
        self.status = TypeStatus.COMPLETED if ok else TypeStatus.FAILED
        server = self.workflow.config.server
        server.update_workflow(self.workflow, status=self.status)
        logger.info("ID %s - workflow - %s", self.workflow_id, self.status)
        server.flush()  # bounded by the provider's flush_timeout; tasks never waited on it
        callback = self.on_success if ok else self.on_failure
        if callback is not None:
            callback(tasks=self.tasks)

    @property
    def done(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a background run ends, at most ``timeout`` seconds. Returns whether it
        ended; re-raises an AssertionError raised inside the run."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self._errors:
            raise self._errors.pop(0)
        return self.done

    def __repr__(self) -> str:
        return f"Manager(workflow_id={self.workflow_id!r}, mode={self.mode!r}, status={self.status!r})"


def _has_groups(tasks: Sequence[Task]) -> bool:
    first = tasks[0].group_name if tasks else None
    return any(task.group_name != first for task in tasks)
