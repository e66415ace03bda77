"""Spans, metrics and log records with OpenTelemetry: ``python examples/tracing_otel.py`` (needs dotflow[otel]).

It keeps everything in memory and prints the span tree and the task counters, so it runs offline.
In production pass ``exporter=OTLPSpanExporter()`` (from opentelemetry-exporter-otlp) instead, or
give no exporter at all and let ``opentelemetry-instrument`` configure the global providers.
"""

from __future__ import annotations

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from dotflow import Config, DotFlow, action
from dotflow.providers import MetricsOpenTelemetry, TracerOpenTelemetry

calls = {"load": 0}


@action
def extract():
    return [3, 1, 2]


@action
def transform(previous_context):
    return sorted(previous_context.storage)


@action(retry=2, retry_delay=0)
def load(previous_context):
    calls["load"] += 1
    if calls["load"] == 1:
        raise ConnectionError("the warehouse is waking up")
    return len(previous_context.storage)


def main() -> None:
    spans = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    tracer = TracerOpenTelemetry(service_name="etl", exporter=spans)
    metrics = MetricsOpenTelemetry(service_name="etl", metric_reader=reader)
    flow = DotFlow(config=Config(tracer=tracer, metrics=metrics))
    flow.task.add(step=[extract, transform, load])
    flow.start(mode="sequential")
    flow.flush(5)  # the spans are batched; a program that exits flushes by itself

    finished = spans.get_finished_spans()
    root = next(span for span in finished if span.parent is None)
    print(f"{root.name} {root.status.status_code.name} tasks={root.attributes['dotflow.tasks_count']}")
    for span in sorted((s for s in finished if s is not root), key=lambda s: s.start_time):
        retries = span.attributes["dotflow.task.retry_count"]
        print(f"  {span.name} {span.status.status_code.name} retries={retries} events={len(span.events)}")
    for resource_metrics in reader.get_metrics_data().resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                if metric.name == "dotflow_task_retry_total":
                    print(f"{metric.name} = {sum(point.value for point in metric.data.data_points)}")


if __name__ == "__main__":
    main()
