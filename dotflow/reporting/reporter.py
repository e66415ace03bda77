"""Reporter: the one caller of a workflow's providers' hooks. It observes; it changes no state.

The engine never calls a provider itself: ``DotFlow`` announces the workflow, ``TaskBuilder`` the
tasks, and after each transition of a task (``Task.begin``, ``Task.fail``...) the run calls
``task_changed``; ``run_started`` and ``run_finished`` tell the workflow's. They tell, in dotflow
1.x's order and call shapes:

- at ``task.add``: notify, log (info), server ``create_task``;
- on each task status: tracer ``start_task`` (first attempt), notify, log and metrics (by status:
  Failed ``error``/``task_failed``, Retry ``warning``/``task_retried``, Completed
  ``info``/``task_completed``, else ``info``), tracer ``end_task`` (terminal), server ``update_task``;
- when a run starts: tracer ``start_workflow``, metrics ``workflow_started``, server
  ``update_workflow("In progress")``; when it ends: tracer ``end_workflow``, metrics
  ``workflow_completed``/``workflow_failed``, server ``update_workflow``.

The hooks are called with keyword arguments, as 1.x calls them; what ``create_workflow`` and
``update_workflow`` receive has ``str()`` equal to the workflow id (``update_workflow`` gets the
id itself). A hook that raises is logged once per provider and hook, and never reaches the
workflow. The built-in no-op providers are not called at all.
"""

from __future__ import annotations

import logging
import threading
from time import monotonic
from typing import TYPE_CHECKING, Any

from dotflow.interrupts import signal_bound
from dotflow.logs import log_event
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.config import Config
    from dotflow.live import LiveRun
    from dotflow.task import Task

logger = logging.getLogger("dotflow")

# status -> (log method, metrics method); the rest log at info and count nothing
_CAPTURE_LOCK = threading.Lock()  # a run's capture ends once, whichever thread ends it

_BY_STATUS = {
    TypeStatus.FAILED: ("error", "task_failed"),
    TypeStatus.RETRY: ("warning", "task_retried"),
    TypeStatus.COMPLETED: ("info", "task_completed"),
}


class Reporter:
    """Reports one workflow's events to the providers of ``config``.

    ``workflow`` is the DotFlow; ``create_workflow`` receives it, every other hook its id.
    """

    __slots__ = ("_capturing", "_failed_hooks", "_live", "_log", "_metrics", "_notify", "_run_began", "_server",
                 "_tracer", "config", "workflow")

    def __init__(self, config: Config, workflow: Any = None) -> None:
        self.config = config
        self.workflow = workflow
        # the built-in no-ops are skipped altogether (never even made): nothing to tell, and the
        # hot path stays short
        self._server = None if config.is_default("server") else config.server
        self._notify = None if config.is_default("notify") else config.notify
        self._tracer = None if config.is_default("tracer") else config.tracer
        self._metrics = None if config.is_default("metrics") else config.metrics
        self._log = config.log
        self._failed_hooks: set[tuple[str, str]] = set()
        self._run_began = monotonic()
        self._live: LiveRun | None = None
        self._capturing = False

    @property
    def server(self) -> Any:
        return self.config.server

    @property
    def remote(self) -> bool:
        """Whether status goes to a server (any but the no-op ``ServerDefault``)."""
        return self._server is not None

    @property
    def signal_flush_timeout(self) -> float:
        """How long a flush may take after SIGTERM or SIGINT: the server's own bound, else 5 s."""
        return signal_bound(self._server)

    # -- the events -------------------------------------------------------------------------

    def workflow_created(self, id_generated: bool = True) -> None:
        """A workflow was made: announce it when the server wants it (``should_create_workflow``;
        a server without that method, as 1.x's, only when its id was generated here)."""
        server = self._server
        if server is None:
            return
        wants = getattr(server, "should_create_workflow", None)
        try:
            announce = bool(wants(id_generated)) if callable(wants) else id_generated
        except Exception:
            announce = id_generated
        if announce:
            self._call(server, "create_workflow", workflow=self.workflow)

    def task_added(self, task: Task) -> None:
        if self._notify is not None:
            self._call(self._notify, "hook_status_task", task=task)
        self._call(self._log, "info", task=task)
        if self._server is not None:
            self._call(self._server, "create_task", task=task)

    def task_changed(self, task: Task, resumed: bool = False) -> None:
        """Tell every provider the status ``task`` just took. A task ``resumed`` from its
        checkpoint gets no span (it did not run), as in 1.x."""
        status = task.status
        live = self._live
        if live is not None:
            if status is TypeStatus.IN_PROGRESS:
                live.began(task.task_id, task.retry_count + 1)
            elif status in TypeStatus.TERMINAL:
                live.left(task.task_id)
            if live.log_sink is not None:  # the engine's own line, beside what the step wrote
                _engine_line(live, task)
        tracer = None if resumed else self._tracer
        if tracer is not None and status is TypeStatus.IN_PROGRESS and not task.retry_count:
            self._call(tracer, "start_task", task=task)
        if self._notify is not None:
            self._call(self._notify, "hook_status_task", task=task)
        log_method, count = _BY_STATUS.get(status, ("info", None))
        self._call(self._log, log_method, task=task)
        if count is not None and self._metrics is not None:
            self._call(self._metrics, count, task=task)
        if tracer is not None and status in TypeStatus.TERMINAL and task.start_time is not None:
            self._call(tracer, "end_task", task=task)
        if self._server is not None:
            self._call(self._server, "update_task", task=task)

    def run_started(self, mode: str, tasks: int, live: LiveRun | None = None, serial: bool = False) -> None:
        """A run starts: ``live`` is what an observer may follow of it; a server that can
        (``watch_run``, ServerAPI's heartbeats) gets it before the workflow's In progress.
        ``serial``: its steps run in this process one at a time (see ``capture.start``)."""
        self._run_began = monotonic()
        self._live = live
        workflow_id = self.workflow.workflow_id
        if live is not None and self._server is not None and callable(getattr(self._server, "watch_run", None)):
            self._call(self._server, "watch_run", live)
            if live.log_sink is not None:  # the server takes the steps' output: capture it while the run lasts
                from dotflow import capture

                capture.start(live, serial)
                self._capturing = True
                live.when_logs_stop(self._end_capture)  # or until the server turns out not to take it
        if self._tracer is not None:
            self._call(self._tracer, "start_workflow", workflow_id=workflow_id, mode=mode, tasks_count=tasks)
        if self._metrics is not None:
            self._call(self._metrics, "workflow_started", workflow_id=workflow_id, mode=mode)
        self.workflow_status(TypeStatus.IN_PROGRESS)

    def _end_capture(self) -> None:
        """The run's capture ends, once: at the run's end, or from the thread that learnt that the
        server takes no lines (a version 1 backend), so that its tees cost the steps nothing more."""
        with _CAPTURE_LOCK:
            if not self._capturing:
                return
            self._capturing = False
        from dotflow import capture

        capture.stop()

    def run_finished(self, status: str) -> None:
        live = self._live
        if live is not None:
            live.end()  # no heartbeat after the final status
            if self._capturing:
                from dotflow import capture

                capture.settle(live)  # an interrupted step's last output, read before the last dispatch
                capture.note(live, None, capture.DOTFLOW, "INFO", f"workflow {status}")
                capture.dispatch()  # every line of the run reaches the sink before the final status
                live.log_sink = None
                self._end_capture()
        workflow_id = self.workflow.workflow_id
        duration = monotonic() - self._run_began
        failed = status is not TypeStatus.COMPLETED
        if self._tracer is not None:
            self._call(self._tracer, "end_workflow", workflow_id=workflow_id, duration=duration, failed=failed)
        if self._metrics is not None:
            # positional, as 1.x calls these two
            self._call(self._metrics, "workflow_failed" if failed else "workflow_completed", workflow_id, duration)
        self.workflow_status(status)

    def workflow_status(self, status: str) -> None:
        """Report the workflow's status to the server: In progress, then Completed or Failed."""
        if self._server is not None:
            self._call(self._server, "update_workflow", workflow=self.workflow.workflow_id, status=status)
        if status is not TypeStatus.IN_PROGRESS and logger.isEnabledFor(logging.INFO):
            log_event(logging.INFO, self.workflow.workflow_id, "workflow", status)

    def abandoned(self, tasks: Any) -> None:
        """A run that could not start (or got no further) left ``tasks`` Failed (see
        ``dotflow.execution.run.abandon``): tell the server them and the workflow, since the
        backend's rows wait on them; no log line per task: whoever stopped the run shows the error."""
        if self._server is not None:
            for task in tasks:
                self._call(self._server, "update_task", task=task)
        self.workflow_status(TypeStatus.FAILED)

    # -- delivery ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Wait for what the providers queued to be delivered: at most ``timeout`` seconds in all
        (None: each provider's own bound, the server's ``flush_timeout`` say). The tasks never
        wait on this; the end of a program does."""
        deadline = None if timeout is None else monotonic() + timeout
        for provider in (self._server, self._notify, self._tracer, self._metrics, self._log):
            if provider is not None:
                left = None if deadline is None else max(0.0, deadline - monotonic())
                self._call(provider, "flush", timeout=left)

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: every provider that can (``hasten``) delivers until
        ``deadline`` (``time.monotonic()``) at the latest, then gives up the rest."""
        for provider in (self._server, self._notify, self._tracer, self._metrics, self._log):
            if provider is not None and callable(getattr(provider, "hasten", None)):
                self._call(provider, "hasten", deadline)

    def _call(self, provider: Any, hook: str, *args: Any, **kwargs: Any) -> None:
        try:
            getattr(provider, hook)(*args, **kwargs)
        except Exception as exc:
            name = type(provider).__name__
            if (name, hook) not in self._failed_hooks:
                from dotflow.redact import describe

                self._failed_hooks.add((name, hook))
                logger.warning(
                    "ID %s - the provider %s.%s() raised %s; the workflow goes on without it "
                    "(later failures of this hook are not logged)",
                    getattr(self.workflow, "workflow_id", None),
                    name,
                    hook,
                    describe(exc),
                )


_LEVELS = {TypeStatus.FAILED: "ERROR", TypeStatus.RETRY: "WARNING"}


def _engine_line(live: LiveRun, task: Task) -> None:
    """A status change as the observer's log shows it: the status, and why for a failure, a retry,
    a cancel or a skip (the error's type and message, the user's frame)."""
    from dotflow.naming import task_label

    status = task.status
    text = f"{task_label(task)} - {status}"
    if status in (TypeStatus.FAILED, TypeStatus.RETRY):
        from dotflow.text import failure_reason, user_frame

        reason = failure_reason(task.errors) if task.errors else ""
        if reason:
            where = user_frame(task.errors[-1].traceback)
            text = f"{text}: {reason}" + (f" (at {where})" if where else "")
    elif task.reason:
        text = f"{text}: {task.reason}"
    from dotflow import capture

    capture.note(live, task.task_id, capture.DOTFLOW, _LEVELS.get(status, "INFO"), text)
