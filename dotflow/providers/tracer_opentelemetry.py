"""TracerOpenTelemetry: one span per workflow run and a child span per task (needs dotflow[otel])."""

from __future__ import annotations

import threading
from typing import Any

from dotflow.abc.tracer import Tracer
from dotflow.providers import _otel
from dotflow.providers._telemetry import (
    all_errors,
    error_message,
    error_name,
    guarded,
    last_error,
    step_of,
    task_fields,
    workflow_span_name,
)


class TracerOpenTelemetry(Tracer):
    """``TracerOpenTelemetry(service_name="dotflow", tracer_provider=None, exporter=None)``.

    - The workflow span (``dotflow.workflow``) has ``dotflow.workflow_id``, ``dotflow.mode``,
      ``dotflow.tasks_count`` and, at its end, ``dotflow.duration``; its status is ERROR when
      the run failed. It is a child of the span current where the run starts, if any.
    - Each task that runs gets a child span named after its step (``pkg.mod.fn``), with
      ``dotflow.workflow_id``, ``dotflow.task_id``, ``dotflow.task.step``, ``dotflow.task.group``
      and, at its end, ``dotflow.task.status``, ``dotflow.task.retry_count`` and
      ``dotflow.task.duration``; one ``exception`` event per failed attempt
      (``exception.type``, ``exception.message``, ``dotflow.attempt``); on Failed, status ERROR
      and ``error.type`` / ``dotflow.task.error.message``. Messages are one line with URL
      credentials masked; no traceback is sent.
    - Task spans are started with the workflow span as their explicit parent, so the tree is the
      same whatever thread runs the task (parallel modes run tasks on worker threads).

    Where the spans go: ``tracer_provider`` if given; else a provider of its own exporting to
    ``exporter`` (batched) if given; else the application's global provider if it installed
    one; else a new provider with ``service.name`` = ``service_name``, installed as the global
    one as dotflow 1.x did (add a span processor to it to export). ``flush(timeout)`` calls the
    provider's ``force_flush``; the Reporter calls it when a program's runs are done.
    """

    def __init__(self, service_name: str = "dotflow", tracer_provider: Any = None, exporter: Any = None) -> None:
        _otel.require("TracerOpenTelemetry")
        from opentelemetry import trace
        from opentelemetry.trace import Status, StatusCode

        resource = _otel.resource(service_name, "TracerOpenTelemetry")
        self.service_name = service_name

        def build() -> Any:
            from opentelemetry.sdk.trace import TracerProvider

            provider = TracerProvider(resource=resource)
            if exporter is not None:
                from opentelemetry.sdk.trace.export import BatchSpanProcessor

                provider.add_span_processor(BatchSpanProcessor(exporter))
            return provider

        self._provider = _otel.choose(
            tracer_provider, exporter is not None, trace.get_tracer_provider, build, trace.set_tracer_provider
        )
        self._tracer = self._provider.get_tracer("dotflow", _otel.version())
        self._in_context = trace.set_span_in_context
        self._ok = Status(StatusCode.OK)
        self._error = lambda description: Status(StatusCode.ERROR, description)
        self._lock = threading.Lock()
        self._runs: dict[str, tuple[Any, Any]] = {}  # workflow id -> (span, its context)
        self._tasks: dict[tuple[str, str], Any] = {}  # (workflow id, task id) -> span

    @guarded
    def start_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        key = str(workflow_id)
        attributes: dict[str, Any] = {"dotflow.workflow_id": key}
        if kwargs.get("mode") is not None:
            attributes["dotflow.mode"] = str(kwargs["mode"])
        if isinstance(kwargs.get("tasks_count"), int):
            attributes["dotflow.tasks_count"] = kwargs["tasks_count"]
        span = self._tracer.start_span(workflow_span_name(kwargs), attributes=attributes)
        with self._lock:
            stale = self._runs.get(key)
            self._runs[key] = (span, self._in_context(span))
        if stale is not None:  # the earlier run of this id never reported its end
            self._end_leftovers(key, "the run ended without reporting this task's end")
            stale[0].set_status(self._error("a new run of this workflow started before this one ended"))
            stale[0].end()

    @guarded
    def end_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        key = str(workflow_id)
        with self._lock:
            run = self._runs.pop(key, None)
        self._end_leftovers(key, "the run ended without reporting this task's end")
        if run is None:
            return
        span = run[0]
        duration = kwargs.get("duration")
        if isinstance(duration, (int, float)):
            span.set_attribute("dotflow.duration", float(duration))
        span.set_status(self._error("workflow failed") if kwargs.get("failed") else self._ok)
        span.end()

    @guarded
    def start_task(self, task: Any) -> None:
        workflow = str(task.workflow_id)
        with self._lock:
            run = self._runs.get(workflow)
        attributes = {
            "dotflow.workflow_id": workflow,
            "dotflow.task_id": str(task.task_id),
            "dotflow.task.step": step_of(task),
            "dotflow.task.group": str(getattr(task, "group_name", "default")),
        }
        # the parent is given, never taken from the thread's current context
        span = self._tracer.start_span(step_of(task), context=run[1] if run else None, attributes=attributes)
        with self._lock:
            stale = self._tasks.get((workflow, str(task.task_id)))
            self._tasks[(workflow, str(task.task_id))] = span
        if stale is not None:
            stale.set_status(self._error("the task started again before this attempt ended"))
            stale.end()

    @guarded
    def end_task(self, task: Any) -> None:
        with self._lock:
            span = self._tasks.pop((str(task.workflow_id), str(task.task_id)), None)
        if span is None:
            return
        fields = task_fields(task)
        span.set_attribute("dotflow.task.status", fields["status"])
        span.set_attribute("dotflow.task.retry_count", fields["retry_count"])
        if "duration" in fields:
            span.set_attribute("dotflow.task.duration", fields["duration"])
        for error in all_errors(task):
            span.add_event(
                "exception",
                attributes={
                    "exception.type": error_name(error),
                    "exception.message": error_message(error),
                    "dotflow.attempt": int(getattr(error, "attempt", 0) or 0),
                },
            )
        if fields["status"] == "Failed":
            last = last_error(task)
            kind = fields.get("error_type", "Error")
            message = fields.get("error_message", "")
            span.set_attribute("error.type", kind)
            if message:
                span.set_attribute("dotflow.task.error.message", message)
            span.set_status(self._error(f"{kind}: {message}" if last is not None else "Failed"))
        else:
            span.set_status(self._ok)
        span.end()

    @guarded
    def flush(self, timeout: float | None = None) -> None:
        _otel.force_flush(self._provider, timeout)

    def _end_leftovers(self, workflow: str, reason: str) -> None:
        with self._lock:
            keys = [key for key in self._tasks if key[0] == workflow]
            spans = [self._tasks.pop(key) for key in keys]
        for span in spans:
            span.set_status(self._error(reason))
            span.end()

    def __repr__(self) -> str:
        return f"TracerOpenTelemetry(service_name={self.service_name!r})"
