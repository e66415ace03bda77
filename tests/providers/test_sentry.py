"""LogSentry and TracerSentry through DotFlow and Config, against a Sentry client whose transport
keeps the envelopes in memory (nothing leaves the process): breadcrumbs, failure events,
transactions with their spans, the shared client, secrets, and SDK failures."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

sentry_sdk = pytest.importorskip("sentry_sdk")

from sentry_sdk.transport import Transport  # noqa: E402

from dotflow import Config, DotFlow, action  # noqa: E402
from dotflow.errors import MissingExtraError, UsageError  # noqa: E402
from dotflow.providers import LogSentry, TracerSentry  # noqa: E402
from dotflow.task import TaskError  # noqa: E402

DSN = "https://publickey0123456789@127.0.0.1/42"  # a local address; the transport below sends nothing


class CaptureTransport(Transport):
    """Keeps every envelope the client would have sent."""

    def __init__(self) -> None:
        super().__init__()
        self.envelopes: list[Any] = []
        self.lock = threading.Lock()

    def capture_envelope(self, envelope: Any) -> None:
        with self.lock:
            self.envelopes.append(envelope)

    def payloads(self, kind: str) -> list[dict[str, Any]]:
        """The JSON payloads of the items of ``kind`` (``event`` or ``transaction``)."""
        with self.lock:
            return [item.payload.json for envelope in self.envelopes for item in envelope.items if item.type == kind]


@pytest.fixture
def transport() -> Iterator[CaptureTransport]:
    """A capture transport; the global Sentry client any test started is closed afterwards."""
    capture = CaptureTransport()
    yield capture
    client = sentry_sdk.get_client()
    if client.is_active():
        client.close(timeout=1)
    sentry_sdk.get_global_scope().set_client(None)


def log_sentry(transport: CaptureTransport, **options: Any) -> LogSentry:
    return LogSentry(dsn=DSN, transport=transport, default_integrations=False, **options)


@action
def fetch() -> int:
    return 1


@action
def explode() -> None:
    raise KeyError("missing column")


def test_info_records_are_breadcrumbs_of_the_failure_event(transport: CaptureTransport) -> None:
    """A failed task sends one event with the exception itself, the task's tags, and the workflow's
    status changes as breadcrumbs, in order."""
    log = log_sentry(transport)
    flow = DotFlow(config=Config(log=log), workflow_id="wf-crumbs")
    flow.task.add(fetch).add(explode)
    flow.start()
    flow.flush(2)
    events = transport.payloads("event")
    assert len(events) == 1
    event = events[0]
    assert event["exception"]["values"][-1]["type"] == "KeyError"
    ok_id, bad_id = (task.task_id for task in flow.result_task())
    assert event["tags"] == {"dotflow.workflow_id": "wf-crumbs", "dotflow.task_id": bad_id,
                             "dotflow.step": f"{__name__}.explode"}
    assert event["extra"]["dotflow"]["status"] == "Failed" and event["extra"]["dotflow"]["attempt"] == 1
    crumbs = [(b["category"], b["level"], b["message"]) for b in event["breadcrumbs"]["values"]]
    assert crumbs == [
        ("dotflow", "info", f"ID wf-crumbs - {ok_id} - Not started"),
        ("dotflow", "info", f"ID wf-crumbs - {bad_id} - Not started"),
        ("dotflow", "info", f"ID wf-crumbs - {ok_id} - In progress"),
        ("dotflow", "info", f"ID wf-crumbs - {ok_id} - Completed"),
        ("dotflow", "info", f"ID wf-crumbs - {bad_id} - In progress"),
    ]


def test_breadcrumbs_of_two_workflows_stay_apart(transport: CaptureTransport) -> None:
    """Two workflows sharing one LogSentry each get only their own breadcrumbs on their events."""
    log = log_sentry(transport)
    first = DotFlow(config=Config(log=log), workflow_id="wf-one")
    second = DotFlow(config=Config(log=log), workflow_id="wf-two")
    first.task.add(explode)
    second.task.add(fetch).add(explode)
    first.start()
    second.start()
    first.flush(2)
    events = {e["tags"]["dotflow.workflow_id"]: e for e in transport.payloads("event")}
    for workflow_id, event in events.items():
        assert {b["message"].split(" - ")[0] for b in event["breadcrumbs"]["values"]} == {f"ID {workflow_id}"}
    assert len(events["wf-two"]["breadcrumbs"]["values"]) == 5


def test_a_retry_is_a_warning_breadcrumb(transport: CaptureTransport) -> None:
    """A retried attempt becomes a warning breadcrumb carrying the reason."""
    @action(retry=2, retry_delay=0)
    def always_fails() -> None:
        raise ValueError("bad row 7")

    log = log_sentry(transport)
    flow = DotFlow(config=Config(log=log), workflow_id="wf-retry")
    flow.task.add(always_fails)
    flow.start()
    flow.flush(2)
    crumbs = transport.payloads("event")[0]["breadcrumbs"]["values"]
    warnings = [b["message"] for b in crumbs if b["level"] == "warning"]
    assert len(warnings) == 1 and warnings[0].endswith("Retry: ValueError: bad row 7")


def test_a_failure_without_an_exception_is_a_message(transport: CaptureTransport) -> None:
    """A task failed by an interruption (no exception object) becomes a message event `Task <id> failed: <reason>`."""
    log = log_sentry(transport)
    task = SimpleNamespace(workflow_id="wf-int", task_id="0-abc", step=fetch, group_name="default", status="Failed",
                           retry_count=0, duration=None,
                           errors=[TaskError(None, 1, traceback="", message="interrupted by SIGTERM")])
    log.error(task=task)
    log.flush(2)
    event = transport.payloads("event")[0]
    assert event["message"] == "Task 0-abc failed: interrupted by SIGTERM" and event["level"] == "error"


def test_tracer_sends_a_transaction_with_a_span_per_task(transport: CaptureTransport) -> None:
    """TracerSentry gives each run a transaction whose child spans are the tasks, with their
    statuses; it shares LogSentry's client (same DSN) and traces every run, although LogSentry's
    own sample rate is 0.0 as in 1.x."""
    log = log_sentry(transport)
    tracer = TracerSentry()  # no dsn: the client LogSentry started
    flow = DotFlow(config=Config(log=log, tracer=tracer), workflow_id="wf-tx")
    flow.task.add(fetch).add(explode)
    flow.start(mode="parallel", keep_going=True)
    flow.flush(2)
    transactions = transport.payloads("transaction")
    assert len(transactions) == 1
    transaction = transactions[0]
    assert transaction["transaction"] == "dotflow.workflow"
    assert transaction["contexts"]["trace"]["op"] == "dotflow.workflow"
    assert transaction["contexts"]["trace"]["status"] == "internal_error"
    assert transaction["tags"]["dotflow.workflow_id"] == "wf-tx" and transaction["tags"]["dotflow.mode"] == "parallel"
    spans = {span["description"]: span for span in transaction["spans"]}
    assert set(spans) == {f"{__name__}.fetch", f"{__name__}.explode"}
    root = transaction["contexts"]["trace"]["span_id"]
    assert {span["parent_span_id"] for span in spans.values()} == {root}
    assert spans[f"{__name__}.fetch"]["status"] == "ok"
    assert spans[f"{__name__}.explode"]["status"] == "internal_error"
    assert spans[f"{__name__}.explode"]["data"]["dotflow.task.exception"] == "KeyError"
    assert spans[f"{__name__}.explode"]["tags"]["dotflow.task.status"] == "Failed"


def test_traces_sample_rate_zero_sends_no_transaction(transport: CaptureTransport) -> None:
    """TracerSentry(traces_sample_rate=0.0) sends no transaction (the failure event still goes)."""
    flow = DotFlow(config=Config(log=log_sentry(transport), tracer=TracerSentry(traces_sample_rate=0.0)))
    flow.task.add(explode)
    flow.start()
    flow.flush(2)
    assert transport.payloads("transaction") == [] and len(transport.payloads("event")) == 1


def test_tracer_with_its_own_dsn_initialises_the_client(transport: CaptureTransport) -> None:
    """TracerSentry(dsn=...) calls sentry_sdk.init itself, as 1.x did."""
    tracer = TracerSentry(dsn=DSN, transport=transport, default_integrations=False)
    flow = DotFlow(config=Config(tracer=tracer))
    flow.task.add(fetch)
    flow.start()
    flow.flush(2)
    assert [t["contexts"]["trace"]["status"] for t in transport.payloads("transaction")] == ["ok"]


def test_tracer_warns_once_when_no_client_runs(caplog: pytest.LogCaptureFixture) -> None:
    """Without a running Sentry client, TracerSentry() says once why nothing is sent, and the run completes."""
    sentry_sdk.get_global_scope().set_client(None)
    flow = DotFlow(config=Config(tracer=TracerSentry()))
    flow.task.add(fetch)
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        flow.start()
        flow.start()
    assert [r.getMessage() for r in caplog.records].count(
        "TracerSentry: no Sentry client is running, so no transaction is sent; pass dsn= or call sentry_sdk.init() "
        "first") == 1
    assert flow.result_storage() == [1]


def test_the_dsn_never_shows(transport: CaptureTransport) -> None:
    """repr() shows dsn='***', and a DSN sentry_sdk refuses is masked in the error."""
    assert repr(log_sentry(transport, environment="prod")) == "LogSentry(dsn='***', environment='prod')"
    assert "publickey" not in repr(TracerSentry(dsn=DSN, transport=transport))
    with pytest.raises(UsageError) as info:
        LogSentry(dsn="ftp://supersecretkey@sentry.example.com/1")
    assert "supersecretkey" not in str(info.value)
    assert str(info.value).startswith("LogSentry(dsn=***) was refused by sentry_sdk.init: BadDsn")


def test_options_without_a_dsn_are_refused() -> None:
    """sentry_sdk.init options with no dsn would be ignored, so they are refused with one line."""
    with pytest.raises(UsageError, match=r"^LogSentry\(environment=\.\.\.\) without dsn="):
        LogSentry(environment="prod")


@pytest.mark.parametrize("rate", [-0.1, 1.5, "1", True])
def test_a_bad_sample_rate_is_refused(rate: Any) -> None:
    """traces_sample_rate must be a number from 0.0 to 1.0."""
    with pytest.raises(UsageError, match=r"traces_sample_rate="):
        TracerSentry(traces_sample_rate=rate)


@pytest.mark.parametrize("cls", [LogSentry, TracerSentry])
def test_without_sentry_sdk_the_error_gives_the_pip_line(cls: type, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without sentry-sdk each provider raises MissingExtraError naming `pip install 'dotflow[sentry]'`."""
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    with pytest.raises(MissingExtraError) as info:
        cls()
    assert str(info.value) == f"{cls.__name__} needs sentry-sdk: pip install 'dotflow[sentry]'"


class _Broken:
    """A sentry_sdk stand-in whose calls raise with the DSN in the message."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"{name} failed for {DSN}")

        return fail


def test_an_sdk_that_raises_does_not_fail_the_workflow(transport: CaptureTransport,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """When every sentry_sdk call raises, the workflow still ends as it would, each hook logs one
    warning once, and the DSN in the SDK's message is masked."""
    log = log_sentry(transport)
    tracer = TracerSentry()
    log._sentry = tracer._sentry = _Broken()
    flow = DotFlow(config=Config(log=log, tracer=tracer))
    flow.task.add(fetch).add(explode)
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        flow.start()
        flow.start()
        flow.flush(1)
    assert [task.status for task in flow.result_task()] == ["Completed", "Failed"]
    warnings = [r.getMessage() for r in caplog.records if "raised" in r.getMessage()]
    hooks = [m.split(" raised ")[0] for m in warnings]
    assert len(hooks) == len(set(hooks)) and "LogSentry.error()" in hooks and "TracerSentry.start_workflow()" in hooks
    assert all("publickey0123456789" not in m for m in warnings) and any("***" in m for m in warnings)
