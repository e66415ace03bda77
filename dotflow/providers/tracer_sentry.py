"""TracerSentry: one Sentry transaction per workflow run and a child span per task (needs dotflow[sentry])."""

from __future__ import annotations

import logging
import threading
from random import random
from typing import Any

from dotflow.abc.tracer import Tracer
from dotflow.errors import UsageError
from dotflow.providers import _sentry
from dotflow.providers._telemetry import all_errors, error_name, guarded, step_of, task_fields, workflow_span_name

logger = logging.getLogger("dotflow")


class TracerSentry(Tracer):
    """``TracerSentry(dsn=None, environment=None, traces_sample_rate=None, **options)``.

    - ``dsn`` given: ``sentry_sdk.init`` as in dotflow 1.x (``options`` are other
      ``sentry_sdk.init`` keywords). A client already started with the same DSN (by LogSentry,
      say) is reused. Without ``dsn`` the application's own ``sentry_sdk.init`` (or
      LogSentry's) is used; it must have tracing on (any ``traces_sample_rate``), else a warning
      says why nothing arrives.
    - ``traces_sample_rate`` (None: 1.0, every run, as in 1.x) is the share of runs traced; it
      decides for dotflow's transactions whoever started the client, so ``LogSentry(dsn)`` with
      ``TracerSentry()`` traces every run (1.x sent none: LogSentry's client samples 0.0).
    - Each run is a transaction (op ``dotflow.workflow``) tagged ``dotflow.workflow_id`` and
      ``dotflow.mode``, with ``dotflow.tasks_count`` and ``dotflow.duration`` as data; its
      status is ``internal_error`` when the run failed, else ``ok``.
    - Each task that runs is a child span (op ``dotflow.task``, named after its step) tagged
      ``dotflow.task_id`` and ``dotflow.task.status``, with the step, retry count, duration and,
      on failure, the exception type as data; ``internal_error`` when it failed.

    Spans are children of their transaction explicitly, whatever thread runs the task. The
    DSN is a secret: ``repr()`` and every error show ``***`` instead.
    """

    def __init__(
        self,
        dsn: str | None = None,
        environment: str | None = None,
        traces_sample_rate: float | None = None,
        **options: Any,
    ) -> None:
        sentry_sdk = _sentry.require("TracerSentry")
        rate = 1.0 if traces_sample_rate is None else traces_sample_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise UsageError(
                f"TracerSentry(traces_sample_rate={traces_sample_rate!r}): expected a number from 0.0 to 1.0"
            )
        self.traces_sample_rate = float(rate)
        # the rate also works without a dsn (it samples dotflow's transactions), so it is no init-only option
        self._redact = _sentry.init(
            "TracerSentry",
            sentry_sdk,
            dsn,
            {"environment": environment, **options},
            {"traces_sample_rate": self.traces_sample_rate},
        )
        self._sentry = sentry_sdk
        self._has_dsn = dsn is not None
        self.environment = environment
        self._checked = False
        self._lock = threading.Lock()
        self._transactions: dict[str, Any] = {}
        self._spans: dict[tuple[str, str], Any] = {}

    @guarded
    def start_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        key = str(workflow_id)
        if not self._checked:
            self._checked = True
            _check_client(self._sentry)
        # this tracer's own rate decides, whoever started the client (LogSentry's is 0.0, as in 1.x)
        sampled = self.traces_sample_rate >= 1.0 or random() < self.traces_sample_rate
        transaction = self._sentry.start_transaction(
            op="dotflow.workflow", name=workflow_span_name(kwargs), sampled=sampled
        )
        transaction.set_tag("dotflow.workflow_id", key)
        if kwargs.get("mode") is not None:
            transaction.set_tag("dotflow.mode", str(kwargs["mode"]))
        if kwargs.get("tasks_count") is not None:
            transaction.set_data("dotflow.tasks_count", kwargs["tasks_count"])
        with self._lock:
            stale = self._transactions.get(key)
            self._transactions[key] = transaction
        if stale is not None:  # the earlier run of this id never reported its end
            self._finish_leftovers(key)
            stale.set_status("aborted")
            stale.finish()

    @guarded
    def end_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
        key = str(workflow_id)
        with self._lock:
            transaction = self._transactions.pop(key, None)
        self._finish_leftovers(key)
        if transaction is None:
            return
        if isinstance(kwargs.get("duration"), (int, float)):
            transaction.set_data("dotflow.duration", float(kwargs["duration"]))
        transaction.set_status("internal_error" if kwargs.get("failed") else "ok")
        transaction.finish()

    @guarded
    def start_task(self, task: Any) -> None:
        workflow = str(task.workflow_id)
        with self._lock:
            transaction = self._transactions.get(workflow)
        if transaction is None:  # as 1.x: a task outside a traced run gets no span
            return
        span = transaction.start_child(op="dotflow.task", name=step_of(task))
        span.set_tag("dotflow.workflow_id", workflow)
        span.set_tag("dotflow.task_id", str(task.task_id))
        span.set_data("dotflow.task.step", step_of(task))
        with self._lock:
            stale = self._spans.get((workflow, str(task.task_id)))
            self._spans[(workflow, str(task.task_id))] = span
        if stale is not None:
            stale.set_status("aborted")
            stale.finish()

    @guarded
    def end_task(self, task: Any) -> None:
        with self._lock:
            span = self._spans.pop((str(task.workflow_id), str(task.task_id)), None)
        if span is None:
            return
        fields = task_fields(task)
        span.set_tag("dotflow.task.status", fields["status"])
        span.set_data("dotflow.task.retry_count", fields["retry_count"])
        if "duration" in fields:
            span.set_data("dotflow.task.duration", fields["duration"])
        errors = all_errors(task)
        if errors:
            span.set_data("dotflow.task.exception", error_name(errors[-1]))
        span.set_status("internal_error" if fields["status"] == "Failed" else "ok")
        span.finish()

    @guarded
    def flush(self, timeout: float | None = None) -> None:
        self._sentry.flush(timeout=timeout)

    def redact(self, text: str) -> str:
        """``text`` with the DSN hidden (``***``) in every form it takes: a failed hook's log line goes through it."""
        return self._redact(text)

    def _finish_leftovers(self, workflow: str) -> None:
        with self._lock:
            keys = [key for key in self._spans if key[0] == workflow]
            spans = [self._spans.pop(key) for key in keys]
        for span in spans:
            span.set_status("aborted")
            span.finish()

    def __repr__(self) -> str:
        dsn = "'***'" if self._has_dsn else "None"
        return (f"TracerSentry(dsn={dsn}, environment={self.environment!r}, "
                f"traces_sample_rate={self.traces_sample_rate!r})")


def _check_client(sentry_sdk: Any) -> None:
    """Say once why no transaction will arrive: no client, or a client with tracing off."""
    client = sentry_sdk.get_client()
    if not client.is_active():
        logger.warning("TracerSentry: no Sentry client is running, so no transaction is sent; "
                       "pass dsn= or call sentry_sdk.init() first")
        return
    options = getattr(client, "options", None) or {}
    if options.get("traces_sample_rate") is None and options.get("traces_sampler") is None:
        logger.warning("TracerSentry: the running Sentry client has tracing off (no traces_sample_rate), so "
                       "no transaction is sent; pass traces_sample_rate to sentry_sdk.init, or dsn= to TracerSentry")
