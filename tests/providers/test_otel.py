"""TracerOpenTelemetry, MetricsOpenTelemetry and LogOpenTelemetry through DotFlow and Config, read back
from the SDK's in-memory exporters: the span tree, the metric points, the log records, and failures."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import engine_support
import pytest

pytest.importorskip("opentelemetry.sdk")

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402
from opentelemetry.trace import StatusCode  # noqa: E402

from dotflow import Config, DotFlow, action  # noqa: E402
from dotflow.errors import MissingExtraError, UsageError  # noqa: E402
from dotflow.naming import task_label
from dotflow.providers import LogOpenTelemetry, MetricsOpenTelemetry, TracerOpenTelemetry  # noqa: E402

try:
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter as InMemoryLogs
except ImportError:  # the SDK before the LogRecord renames
    from opentelemetry.sdk._logs.export import InMemoryLogExporter as InMemoryLogs  # type: ignore[no-redef]

SECRET_URL = "https://user:s3cr3t-pass@db.example.com/x"


@action
def extract() -> dict[str, int]:
    return {"rows": 3}


@action
def load(previous_context: Any) -> int:
    return int(previous_context.storage["rows"])


@action(retry=2, retry_delay=0)
def flaky() -> None:
    raise ConnectionError(f"cannot reach {SECRET_URL}")


attempts: dict[str, int] = {}


@action(retry=2, retry_delay=0)
def second_time_lucky() -> str:
    attempts["lucky"] = attempts.get("lucky", 0) + 1
    if attempts["lucky"] == 1:
        raise TimeoutError("slow")
    return "ok"


@pytest.fixture
def spans() -> Iterator[tuple[TracerOpenTelemetry, InMemorySpanExporter]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield TracerOpenTelemetry(service_name="test", tracer_provider=provider), exporter
    provider.shutdown()


@pytest.fixture
def reader() -> Iterator[tuple[MetricsOpenTelemetry, InMemoryMetricReader]]:
    metric_reader = InMemoryMetricReader()
    metrics = MetricsOpenTelemetry(service_name="test", metric_reader=metric_reader)
    yield metrics, metric_reader
    metrics._provider.shutdown()


@pytest.fixture
def logs() -> Iterator[tuple[LoggerProvider, Any]]:
    exporter = InMemoryLogs()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


def by_name(exported: Any) -> dict[str, Any]:
    return {span.name: span for span in exported}


def points(metric_reader: InMemoryMetricReader) -> dict[str, dict[tuple[tuple[str, Any], ...], Any]]:
    """``{instrument: {sorted attribute items: value or histogram count}}``."""
    found: dict[str, dict[tuple[tuple[str, Any], ...], Any]] = {}
    data = metric_reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    key = tuple(sorted(point.attributes.items()))
                    found.setdefault(metric.name, {})[key] = getattr(point, "count", None) or point.value
    return found


# --- tracer ---------------------------------------------------------------------------------------


def test_one_workflow_span_with_a_child_span_per_task(spans: Any) -> None:
    """A run gives one workflow span and, under it in the same trace, one span per task named after its step."""
    tracer, exporter = spans
    flow = DotFlow(config=Config(tracer=tracer), workflow_id="wf-tree")
    flow.task.add(extract).add(load)
    flow.start()
    found = exporter.get_finished_spans()
    assert len(found) == 3
    named = by_name(found)
    root = named["dotflow.workflow"]
    assert root.parent is None
    assert dict(root.attributes) == {"dotflow.workflow_id": "wf-tree", "dotflow.mode": "sequential",
                                     "dotflow.tasks_count": 2, "dotflow.duration": root.attributes["dotflow.duration"]}
    assert root.status.status_code is StatusCode.OK
    for name, task in zip((f"{__name__}.extract", f"{__name__}.load"), flow.result_task()):
        child = named[name]
        assert child.parent.span_id == root.context.span_id
        assert child.context.trace_id == root.context.trace_id
        assert child.attributes["dotflow.task_id"] == task.task_id
        assert child.attributes["dotflow.workflow_id"] == "wf-tree"
        assert child.attributes["dotflow.task.step"] == name
        assert child.attributes["dotflow.task.status"] == "Completed"
        assert child.attributes["dotflow.task.retry_count"] == 0
        assert child.attributes["dotflow.task.duration"] == task.duration
        assert child.status.status_code is StatusCode.OK
        assert child.events == ()


def test_a_failed_task_has_error_status_type_and_one_event_per_attempt(spans: Any) -> None:
    """A task that fails after retries ends ERROR with error.type, one exception event per attempt
    (message on one line, credentials masked), and the workflow span ends ERROR too."""
    tracer, exporter = spans
    flow = DotFlow(config=Config(tracer=tracer), workflow_id="wf-fail")
    flow.task.add(flaky)
    flow.start()
    named = by_name(exporter.get_finished_spans())
    task_span = named[f"{__name__}.flaky"]
    assert task_span.status.status_code is StatusCode.ERROR
    assert task_span.status.description.startswith("ConnectionError: cannot reach https://***@db.example.com")
    assert task_span.attributes["error.type"] == "ConnectionError"
    assert task_span.attributes["dotflow.task.status"] == "Failed"
    assert task_span.attributes["dotflow.task.retry_count"] == 1
    assert [(e.name, e.attributes["exception.type"], e.attributes["dotflow.attempt"]) for e in task_span.events] == [
        ("exception", "ConnectionError", 1), ("exception", "ConnectionError", 2)]
    assert all("s3cr3t" not in str(dict(e.attributes)) for e in task_span.events)
    assert "s3cr3t" not in str(dict(task_span.attributes))
    assert named["dotflow.workflow"].status.status_code is StatusCode.ERROR


def test_a_retried_task_that_completes_is_ok_with_its_retry_event(spans: Any) -> None:
    """A task that completes on its second attempt ends OK, with retry_count 1 and the first attempt's event."""
    tracer, exporter = spans
    attempts.clear()
    flow = DotFlow(config=Config(tracer=tracer))
    flow.task.add(second_time_lucky)
    flow.start()
    task_span = by_name(exporter.get_finished_spans())[f"{__name__}.second_time_lucky"]
    assert task_span.status.status_code is StatusCode.OK
    assert task_span.attributes["dotflow.task.retry_count"] == 1
    assert [e.attributes["exception.type"] for e in task_span.events] == ["TimeoutError"]


@pytest.mark.parametrize("mode", ["sequential", "parallel", "sequential_group", "background"])
def test_tasks_on_worker_threads_stay_children_of_the_workflow_span(spans: Any, mode: str) -> None:
    """In every mode (some run tasks on other threads) each task span's parent is the workflow
    span, which is itself the child of the span current where the run started."""
    tracer, exporter = spans
    flow = DotFlow(config=Config(tracer=tracer))
    for group in ("a", "b", "c", "d"):
        flow.task.add(extract, group_name=group if mode == "sequential_group" else "default")
    with tracer._provider.get_tracer("app").start_as_current_span("app.request") as outer:
        flow.start(mode=mode).wait(10)
    found = exporter.get_finished_spans()
    root = by_name(found)["dotflow.workflow"]
    assert root.parent.span_id == outer.get_span_context().span_id
    children = [span for span in found if span.name == f"{__name__}.extract"]
    assert len(children) == 4
    assert {span.parent.span_id for span in children} == {root.context.span_id}


def test_each_scheduled_run_is_its_own_trace(spans: Any) -> None:
    """Two runs of one DotFlow give two workflow spans in two traces, each with its own task spans."""
    tracer, exporter = spans
    flow = DotFlow(config=Config(tracer=tracer))
    flow.task.add(extract)
    flow.start()
    flow.start()
    found = exporter.get_finished_spans()
    roots = [span for span in found if span.name == "dotflow.workflow"]
    assert len(roots) == 2 and roots[0].context.trace_id != roots[1].context.trace_id
    for root in roots:
        assert [s.name for s in found if s.parent and s.parent.span_id == root.context.span_id] == [
            f"{__name__}.extract"]


def test_an_exporter_argument_batches_spans_until_flush() -> None:
    """TracerOpenTelemetry(exporter=...) exports in the background; DotFlow.flush() delivers them."""
    exporter = InMemorySpanExporter()
    tracer = TracerOpenTelemetry(exporter=exporter)
    flow = DotFlow(config=Config(tracer=tracer))
    flow.task.add(extract)
    flow.start()
    flow.flush(5)
    assert sorted(span.name for span in exporter.get_finished_spans()) == ["dotflow.workflow", f"{__name__}.extract"]
    assert tracer._provider is not trace.get_tracer_provider()  # given an exporter, nothing global changes


class _Boom:
    """An SDK stand-in whose every call raises."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"sdk {name} broke near {SECRET_URL}")

        return fail


class _BrokenTracerProvider:
    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        return _Boom()

    def force_flush(self, timeout_millis: int = 0) -> bool:
        raise RuntimeError("flush broke")


class _BrokenMeterProvider:
    def get_meter(self, *args: Any, **kwargs: Any) -> Any:
        class Meter:
            def __getattr__(self, name: str) -> Any:
                return lambda *a, **k: _Boom()

        return Meter()


def test_a_provider_whose_sdk_raises_does_not_fail_the_workflow(caplog: pytest.LogCaptureFixture) -> None:
    """When every SDK call raises, the workflow still completes; each hook logs one masked warning, once."""
    tracer = TracerOpenTelemetry(tracer_provider=_BrokenTracerProvider())
    metrics = MetricsOpenTelemetry(meter_provider=_BrokenMeterProvider())
    flow = DotFlow(config=Config(tracer=tracer, metrics=metrics))
    flow.task.add(extract).add(load)
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        flow.start()
        flow.start()
        flow.flush(1)
    assert flow.result_storage() == [{"rows": 3}, 3]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    hooks = [m.split(" raised ")[0] for m in warnings]
    assert sorted(hooks) == sorted(set(hooks))  # once per hook
    assert "TracerOpenTelemetry.start_workflow()" in hooks and "MetricsOpenTelemetry.task_completed()" in hooks
    assert "TracerOpenTelemetry.flush()" in hooks
    assert all("s3cr3t" not in m for m in warnings)


# --- metrics --------------------------------------------------------------------------------------


def test_counters_and_histograms_per_status(reader: Any) -> None:
    """A run with a completed task and a task failing after one retry counts each status once, with
    a duration point per ended task and per run, labelled by status and step only."""
    metrics, metric_reader = reader
    flow = DotFlow(config=Config(metrics=metrics))
    flow.task.add(extract).add(flaky)
    flow.start(keep_going=True)
    found = points(metric_reader)
    extract_name, flaky_name = f"{__name__}.extract", f"{__name__}.flaky"
    assert found["dotflow_workflow_total"] == {(("status", "started"),): 1, (("status", "failed"),): 1}
    assert found["dotflow_workflow_duration_seconds"] == {(("status", "failed"),): 1}
    assert found["dotflow_task_total"] == {(("status", "completed"), ("step", extract_name)): 1,
                                           (("status", "failed"), ("step", flaky_name)): 1}
    assert found["dotflow_task_duration_seconds"] == found["dotflow_task_total"]
    assert found["dotflow_task_retry_total"] == {(("step", flaky_name),): 1}


def test_completed_runs_add_up(reader: Any) -> None:
    """Three completed runs give completed=3 on the workflow counter and three workflow durations."""
    metrics, metric_reader = reader
    flow = DotFlow(config=Config(metrics=metrics))
    flow.task.add(extract)
    for _ in range(3):
        flow.start()
    found = points(metric_reader)
    assert found["dotflow_workflow_total"][(("status", "completed"),)] == 3
    assert found["dotflow_workflow_duration_seconds"][(("status", "completed"),)] == 3


def test_durations_use_second_buckets(reader: Any) -> None:
    """The duration histograms have bucket bounds in seconds (from 5 ms to an hour), not the SDK's millisecond ones."""
    metrics, metric_reader = reader
    flow = DotFlow(config=Config(metrics=metrics))
    flow.task.add(extract)
    flow.start()
    data = metric_reader.get_metrics_data()
    histogram = next(m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                     if m.name == "dotflow_task_duration_seconds")
    bounds = list(histogram.data.data_points[0].explicit_bounds)
    assert bounds[0] == 0.005 and bounds[-1] == 3600.0


# --- log ------------------------------------------------------------------------------------------


def test_every_status_change_is_a_log_record_with_attributes(logs: Any) -> None:
    """Each record the Log contract gets becomes an OTel log record: the simple line as body, the
    severity (Retry WARN, Failed ERROR) and the task's attributes, the error masked."""
    provider, exporter = logs
    flow = DotFlow(config=Config(log=LogOpenTelemetry(logger_provider=provider)), workflow_id="wf-log")
    flow.task.add(flaky)
    flow.start()
    flow.flush(5)  # the records are emitted off the task's thread
    records = [r.log_record for r in exporter.get_finished_logs()]
    task_id = flow.result_task()[0].task_id
    label = task_label(flow.result_task()[0])
    assert [(r.severity_text, r.body) for r in records] == [
        ("INFO", f"ID wf-log - {label} - Not started"),
        ("INFO", f"ID wf-log - {label} - In progress"),
        ("WARNING", f"ID wf-log - {label} - Retry: ConnectionError: cannot reach https://***@db.example.com/x"),
        ("INFO", f"ID wf-log - {label} - In progress"),
        ("ERROR", f"ID wf-log - {label} - Failed: ConnectionError: cannot reach https://***@db.example.com/x"),
    ]
    last = dict(records[-1].attributes)
    assert last["dotflow.workflow_id"] == "wf-log" and last["dotflow.task_id"] == task_id
    assert last["dotflow.task.status"] == "Failed" and last["dotflow.task.retry_count"] == 1
    assert last["exception.type"] == "ConnectionError" and "s3cr3t" not in last["exception.message"]
    assert records[-1].severity_number.name == "ERROR"


def test_json_format_and_level(logs: Any) -> None:
    """format="json" makes each body a JSON object; level="WARNING" drops the INFO records."""
    provider, exporter = logs
    log = LogOpenTelemetry(level="WARNING", format="json", logger_provider=provider)
    flow = DotFlow(config=Config(log=log), workflow_id="wf-json")
    flow.task.add(flaky)
    flow.start()
    flow.flush(5)
    bodies = [json.loads(r.log_record.body) for r in exporter.get_finished_logs()]
    assert [(b["level"], b["status"]) for b in bodies] == [("WARNING", "Retry"), ("ERROR", "Failed")]
    assert bodies[-1]["error"]["exception"] == "ConnectionError"


def test_a_processor_that_exports_as_it_emits_never_holds_the_tasks(logs: Any) -> None:
    """An application's synchronous processor whose export blocks (a collector that is down) costs
    the run nothing: the records are emitted by a sender thread, in order, and flush() waits for them."""
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor

    _, exporter = logs

    class Slow(SimpleLogRecordProcessor):
        def on_emit(self, *args: Any, **kwargs: Any) -> None:
            time.sleep(0.3)
            super().on_emit(*args, **kwargs)

    provider = LoggerProvider()
    provider.add_log_record_processor(Slow(exporter))
    flow = DotFlow(config=Config(log=LogOpenTelemetry(logger_provider=provider)), workflow_id="wf-slow")
    flow.task.add([extract, extract])
    begin = time.perf_counter()
    flow.start()
    assert time.perf_counter() - begin < 0.6  # 6 records at 0.3 s each, had they been emitted inline
    flow.flush(10)
    statuses = [r.log_record.body.rsplit(" - ", 1)[1] for r in exporter.get_finished_logs()]
    assert statuses == ["Not started", "Not started", "In progress", "Completed", "In progress", "Completed"]


def test_file_output_also_writes_the_lines(logs: Any, tmp_path: Path) -> None:
    """output="file" appends the plain lines to path besides emitting the OTel records."""
    provider, exporter = logs
    path = tmp_path / "out" / "flow.log"
    flow = DotFlow(config=Config(log=LogOpenTelemetry(output="file", path=path, logger_provider=provider)))
    flow.task.add(extract)
    flow.start()
    flow.flush(1)
    assert path.read_text().count(" - Completed") == 1
    assert len(exporter.get_finished_logs()) == 3


def test_a_log_exporter_argument_batches_records_until_flush() -> None:
    """LogOpenTelemetry(exporter=...) batches; DotFlow.flush() delivers every record."""
    exporter = InMemoryLogs()
    flow = DotFlow(config=Config(log=LogOpenTelemetry(exporter=exporter)))
    flow.task.add(extract)
    flow.start()
    flow.flush(5)
    assert [r.log_record.severity_text for r in exporter.get_finished_logs()] == ["INFO"] * 3


# --- construction ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [TracerOpenTelemetry, MetricsOpenTelemetry, LogOpenTelemetry])
def test_without_the_sdk_the_error_gives_the_pip_line(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the OpenTelemetry SDK each provider raises MissingExtraError naming `pip install 'dotflow[otel]'`."""
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.resources", None)
    with pytest.raises(MissingExtraError) as info:
        cls()
    assert str(info.value) == f"{cls.__name__} needs the OpenTelemetry SDK: pip install 'dotflow[otel]'"


@pytest.mark.parametrize("cls", [TracerOpenTelemetry, MetricsOpenTelemetry, LogOpenTelemetry])
def test_a_blank_service_name_is_refused(cls: type) -> None:
    """service_name must be a non-empty string; the error names the class and the value."""
    with pytest.raises(UsageError, match=rf"^{cls.__name__}\(service_name=' '\)"):
        cls(service_name=" ", **({"tracer_provider": TracerProvider()} if cls is TracerOpenTelemetry else {}))


def test_reprs_name_the_service() -> None:
    """The reprs show what the provider was built with."""
    tracer = TracerOpenTelemetry("etl", tracer_provider=TracerProvider())
    assert repr(tracer) == "TracerOpenTelemetry(service_name='etl')"
    assert repr(MetricsOpenTelemetry("etl", metric_reader=InMemoryMetricReader())) == (
        "MetricsOpenTelemetry(service_name='etl')")
    assert repr(LogOpenTelemetry("etl", exporter=InMemoryLogs())) == (
        "LogOpenTelemetry(service_name='etl', level='INFO', output='console', format='simple')")


def test_global_providers_are_installed_only_when_none_is_set() -> None:
    """With no provider or exporter given, 1.x's behaviour: a new SDK provider with the service name
    becomes the global one; a second instance, or an application that installed its own first, reuses it."""
    code = """
import json
from opentelemetry import trace, metrics, _logs
from dotflow.providers import TracerOpenTelemetry, MetricsOpenTelemetry, LogOpenTelemetry
first = TracerOpenTelemetry(service_name="etl")
second = TracerOpenTelemetry(service_name="other")
m = MetricsOpenTelemetry(service_name="etl")
log = LogOpenTelemetry(service_name="etl")
print(json.dumps([
    first._provider is trace.get_tracer_provider(),
    second._provider is first._provider,
    first._provider.resource.attributes["service.name"],
    m._provider is metrics.get_meter_provider(),
    log._provider is _logs.get_logger_provider(),
]))
"""
    assert json.loads(engine_support.run_python(code)) == [True, True, "etl", True, True]
    app_first = """
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
mine = TracerProvider()
trace.set_tracer_provider(mine)
from dotflow.providers import TracerOpenTelemetry
print(TracerOpenTelemetry()._provider is mine)
"""
    assert engine_support.run_python(app_first).strip() == "True"


def test_hooks_are_thread_safe_under_many_parallel_tasks(spans: Any) -> None:
    """Forty tasks in parallel mode give forty task spans, all under the one workflow span."""
    tracer, exporter = spans
    flow = DotFlow(config=Config(tracer=tracer))
    for _ in range(40):
        flow.task.add(extract)
    flow.start(mode="parallel", max_workers=8)
    found = exporter.get_finished_spans()
    root = by_name(found)["dotflow.workflow"]
    children = [s for s in found if s is not root]
    assert len(children) == 40 and {s.parent.span_id for s in children} == {root.context.span_id}
    assert len({s.attributes["dotflow.task_id"] for s in children}) == 40
