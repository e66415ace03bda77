"""LogSentry: task status records as Sentry breadcrumbs, and each failure as a Sentry event (needs dotflow[sentry])."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from dotflow.abc.log import Log
from dotflow.providers import _sentry
from dotflow.providers._telemetry import error_message, error_name, guarded, last_error, task_fields

# workflows whose breadcrumbs are kept at once; the oldest is forgotten first
_WORKFLOWS = 64


class LogSentry(Log):
    """``LogSentry(dsn=None, environment=None, traces_sample_rate=None, **options)``.

    - ``dsn`` given: ``sentry_sdk.init(dsn=..., environment=..., traces_sample_rate=...,
      **options)`` as in dotflow 1.x (``traces_sample_rate`` None means 0.0; ``options`` are any
      other ``sentry_sdk.init`` keywords: ``release``, ``before_send``, ``transport``...). A client
      already started with the same DSN is reused. Without ``dsn`` the application's own
      ``sentry_sdk.init`` is used.
    - A task added, started, completed (``info``) or retried (``warning``) becomes a breadcrumb
      (category ``dotflow``) kept with that workflow's others (its 100 last).
    - A task that failed (``error``) becomes one event: the exception itself when the task
      raised one (Sentry then groups by its type and stack), else a message
      ``Task <id> failed: <reason>`` (an interrupted run). The event has the workflow's
      breadcrumbs, the tags ``dotflow.workflow_id``, ``dotflow.task_id``, ``dotflow.step`` and
      the extra ``dotflow`` (status, retry count, duration, attempt). No traceback text is added.

    The DSN is a secret: ``repr()`` and every error show ``***`` instead.
    """

    def __init__(
        self,
        dsn: str | None = None,
        environment: str | None = None,
        traces_sample_rate: float | None = None,
        **options: Any,
    ) -> None:
        sentry_sdk = _sentry.require("LogSentry")
        self._redact = _sentry.init(
            "LogSentry",
            sentry_sdk,
            dsn,
            {"environment": environment, "traces_sample_rate": traces_sample_rate, **options},
            {"traces_sample_rate": 0.0},
        )
        self._sentry = sentry_sdk
        self._has_dsn = dsn is not None
        self.environment = environment
        self._lock = threading.Lock()
        self._scopes: OrderedDict[str, Any] = OrderedDict()

    @guarded
    def info(self, **kwargs: Any) -> None:
        self._breadcrumb("info", kwargs.get("task"))

    @guarded
    def warning(self, **kwargs: Any) -> None:
        self._breadcrumb("warning", kwargs.get("task"))

    @guarded
    def debug(self, **kwargs: Any) -> None:
        pass  # as 1.x: Sentry gets no debug records

    @guarded
    def error(self, **kwargs: Any) -> None:
        task = kwargs.get("task")
        if task is None:
            return
        fields = task_fields(task)
        scope = self._scope(fields["workflow_id"]).fork()  # this event's tags stay on this event
        scope.set_tag("dotflow.workflow_id", fields["workflow_id"])
        scope.set_tag("dotflow.task_id", fields["task_id"])
        scope.set_tag("dotflow.step", fields["step"])
        last = last_error(task)
        details: dict[str, Any] = {key: fields[key] for key in ("status", "retry_count", "duration") if key in fields}
        if last is not None:
            details["attempt"] = getattr(last, "attempt", None)
        scope.set_extra("dotflow", details)
        exception = getattr(last, "error", None)  # TaskError.exception is only the class name, as in 1.x
        if isinstance(exception, Exception):
            self._sentry.capture_exception(exception, scope=scope)
            return
        reason = fields.get("error_message") or fields["status"]
        self._sentry.capture_message(f"Task {fields['task_id']} failed: {reason}", level="error", scope=scope)

    @guarded
    def flush(self, timeout: float | None = None) -> None:
        self._sentry.flush(timeout=timeout)

    def redact(self, text: str) -> str:
        """``text`` with the DSN hidden (``***``) in every form it takes: a failed hook's log line goes through it."""
        return self._redact(text)

    def _breadcrumb(self, level: str, task: Any) -> None:
        if task is None:
            return
        fields = task_fields(task)
        line = f"ID {fields['workflow_id']} - {fields['task_id']} - {fields['status']}"
        last = last_error(task) if level == "warning" else None
        if last is not None:
            line = f"{line}: {error_name(last)}: {error_message(last)}"
        self._scope(fields["workflow_id"]).add_breadcrumb(
            category="dotflow", message=line, level=level, data={"step": fields["step"]}
        )

    def _scope(self, workflow: str) -> Any:
        """The scope that keeps ``workflow``'s breadcrumbs, whichever thread reports them."""
        with self._lock:
            scope = self._scopes.get(workflow)
            if scope is None:
                scope = self._scopes[workflow] = self._sentry.Scope()
                while len(self._scopes) > _WORKFLOWS:
                    self._scopes.popitem(last=False)
            else:
                self._scopes.move_to_end(workflow)
            return scope

    def __repr__(self) -> str:
        dsn = "'***'" if self._has_dsn else "None"
        return f"LogSentry(dsn={dsn}, environment={self.environment!r})"
