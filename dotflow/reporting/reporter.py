"""Reporter: the one caller of a workflow's Server hooks and of its flush, and the one place a status changes.

The engine never calls a Server itself: ``DotFlow`` announces the workflow, ``TaskBuilder`` the
tasks, and the run's status changes all go through ``task_status`` / ``workflow_status``, which
set the status, log the change and report it. The hooks are called with keyword arguments, as
dotflow 1.x calls them, and what ``create_workflow`` and ``update_workflow`` receive has ``str()``
equal to the workflow id (``update_workflow`` gets the id itself), so a user's own Server written
for 1.x builds the same URLs and bodies. A hook that raises is logged once per hook and never
reaches the workflow.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dotflow.core.types.status import TypeStatus
from dotflow.task import failure_reason, log_event

if TYPE_CHECKING:
    from dotflow.abc.server import Server
    from dotflow.task import Task

logger = logging.getLogger("dotflow")

# The bound of a flush after SIGTERM or SIGINT for a Server that does not say (ServerAPI does).
SIGNAL_FLUSH_TIMEOUT = 5.0


class Reporter:
    """Reports one workflow's events to its ``server`` (and to the ``dotflow`` logger).

    ``workflow`` is the DotFlow; ``create_workflow`` receives it, every other hook its id.
    """

    __slots__ = ("_failed_hooks", "_silent", "server", "workflow")

    def __init__(self, server: Server, workflow: Any = None) -> None:
        from dotflow.providers.server_default import ServerDefault

        self.server = server
        self.workflow = workflow
        self._silent = type(server) is ServerDefault  # the no-op server: skip the calls altogether
        self._failed_hooks: set[str] = set()

    @property
    def remote(self) -> bool:
        """Whether anything is reported anywhere (any server but the no-op ``ServerDefault``)."""
        return not self._silent

    @property
    def signal_flush_timeout(self) -> float:
        """How long a flush may take after SIGTERM or SIGINT: the server's own bound, else 5 s."""
        value = getattr(self.server, "signal_flush_timeout", SIGNAL_FLUSH_TIMEOUT)
        return value if isinstance(value, (int, float)) and not isinstance(value, bool) else SIGNAL_FLUSH_TIMEOUT

    def workflow_created(self) -> None:
        """The workflow's id was generated here: announce the workflow."""
        if not self._silent:
            self._call("create_workflow", workflow=self.workflow)

    def task_added(self, task: Task) -> None:
        if logger.isEnabledFor(logging.INFO):
            log_event(logging.INFO, task.workflow_id, task.task_id, task.status)
        if not self._silent:
            self._call("create_task", task=task)

    def task_status(self, task: Task, status: str) -> None:
        """Set ``task``'s status, log the change, and report it."""
        task._status = status
        if status is TypeStatus.FAILED:
            # the one line a failure gets: the CLI's --quiet shows WARNING and up
            if logger.isEnabledFor(logging.WARNING):
                reason = failure_reason(task._errors)
                log_event(logging.WARNING, task.workflow_id, task.task_id, f"{status}: {reason}" if reason else status)
        elif logger.isEnabledFor(logging.INFO):
            log_event(logging.INFO, task.workflow_id, task.task_id, status)
        if not self._silent:
            self._call("update_task", task=task)

    def workflow_status(self, status: str) -> None:
        """Report the workflow's status: In progress when a run starts, Completed or Failed at its end."""
        if not self._silent:
            self._call("update_workflow", workflow=self.workflow.workflow_id, status=status)
        if status is not TypeStatus.IN_PROGRESS and logger.isEnabledFor(logging.INFO):
            log_event(logging.INFO, self.workflow.workflow_id, "workflow", status)

    def flush(self, timeout: float | None = None) -> None:
        """Wait for the reports to be delivered, at most ``timeout`` seconds (None: the server's own
        ``flush_timeout``). The tasks never wait on this; the end of a program does."""
        if not self._silent:
            self._call("flush", timeout=timeout)

    def flush_after_signal(self) -> None:
        self.flush(self.signal_flush_timeout)

    def _call(self, hook: str, **kwargs: Any) -> None:
        try:
            getattr(self.server, hook)(**kwargs)
        except Exception as exc:
            if hook not in self._failed_hooks:
                from dotflow.redact import describe

                self._failed_hooks.add(hook)
                workflow_id = getattr(self.workflow, "workflow_id", None)
                logger.warning(
                    "ID %s - the server provider %s.%s() raised %s; the workflow goes on without that report "
                    "(later failures of this hook are not logged)",
                    workflow_id,
                    type(self.server).__name__,
                    hook,
                    describe(exc),
                )
