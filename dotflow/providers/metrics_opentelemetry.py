"""MetricsOpenTelemetry: counters and duration histograms of runs and tasks (needs dotflow[otel])."""

from __future__ import annotations

from typing import Any

from dotflow.abc.metrics import Metrics
from dotflow.providers import _otel
from dotflow.providers._telemetry import guarded, step_of

# seconds: from a quick step to an hour-long pipeline (the SDK's default buckets are made for milliseconds)
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
                    600.0, 1800.0, 3600.0)


class MetricsOpenTelemetry(Metrics):
    """``MetricsOpenTelemetry(service_name="dotflow", meter_provider=None, metric_reader=None)``.

    The instruments keep dotflow 1.x's names, so existing dashboards still work:

    - ``dotflow_workflow_total`` (counter), ``status`` = ``started``, ``completed`` or ``failed``;
    - ``dotflow_workflow_duration_seconds`` (histogram), ``status`` = ``completed`` or ``failed``;
    - ``dotflow_task_total`` (counter), ``status`` = ``completed`` or ``failed``, and ``step``;
    - ``dotflow_task_duration_seconds`` (histogram), same attributes;
    - ``dotflow_task_retry_total`` (counter), ``step``: one per failed attempt that is retried.

    ``step`` is the step's qualified name; no workflow or task id is an attribute, so the
    number of series stays bounded however many runs there are.

    Where the points go: ``meter_provider`` if given; else a provider of its own read by
    ``metric_reader`` (an ``InMemoryMetricReader``, a ``PeriodicExportingMetricReader``) if
    given; else the application's global provider if it installed one; else a new provider
    with ``service.name`` = ``service_name``, installed as the global one as dotflow 1.x did.
    """

    def __init__(self, service_name: str = "dotflow", meter_provider: Any = None, metric_reader: Any = None) -> None:
        _otel.require("MetricsOpenTelemetry")
        from opentelemetry import metrics

        resource = _otel.resource(service_name, "MetricsOpenTelemetry")
        self.service_name = service_name

        def build() -> Any:
            from opentelemetry.sdk.metrics import MeterProvider

            readers = [metric_reader] if metric_reader is not None else []
            return MeterProvider(resource=resource, metric_readers=readers)

        self._provider = _otel.choose(
            meter_provider, metric_reader is not None, metrics.get_meter_provider, build, metrics.set_meter_provider
        )
        meter = self._provider.get_meter("dotflow", _otel.version())
        self._workflow_total = meter.create_counter("dotflow_workflow_total", description="Workflow runs by status")
        self._workflow_duration = meter.create_histogram(
            "dotflow_workflow_duration_seconds",
            unit="s",
            description="Workflow run duration in seconds",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._task_total = meter.create_counter("dotflow_task_total", description="Tasks ended, by status")
        self._task_duration = meter.create_histogram(
            "dotflow_task_duration_seconds",
            unit="s",
            description="Task duration in seconds, first attempt to end",
            explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
        )
        self._task_retries = meter.create_counter("dotflow_task_retry_total", description="Task attempts retried")

    @guarded
    def workflow_started(self, workflow_id: Any, **kwargs: Any) -> None:
        self._workflow_total.add(1, {"status": "started"})

    @guarded
    def workflow_completed(self, workflow_id: Any, duration: float) -> None:
        self._workflow_ended("completed", duration)

    @guarded
    def workflow_failed(self, workflow_id: Any, duration: float) -> None:
        self._workflow_ended("failed", duration)

    @guarded
    def task_completed(self, task: Any) -> None:
        self._task_ended("completed", task)

    @guarded
    def task_failed(self, task: Any) -> None:
        self._task_ended("failed", task)

    @guarded
    def task_retried(self, task: Any) -> None:
        self._task_retries.add(1, {"step": step_of(task)})

    @guarded
    def flush(self, timeout: float | None = None) -> None:
        _otel.force_flush(self._provider, timeout)

    def _workflow_ended(self, status: str, duration: Any) -> None:
        attributes = {"status": status}
        self._workflow_total.add(1, attributes)
        if isinstance(duration, (int, float)):
            self._workflow_duration.record(float(duration), attributes)

    def _task_ended(self, status: str, task: Any) -> None:
        attributes = {"status": status, "step": step_of(task)}
        self._task_total.add(1, attributes)
        duration = getattr(task, "duration", None)
        if duration is not None:
            self._task_duration.record(float(duration), attributes)

    def __repr__(self) -> str:
        return f"MetricsOpenTelemetry(service_name={self.service_name!r})"
