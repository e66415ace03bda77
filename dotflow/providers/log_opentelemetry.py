"""LogOpenTelemetry: each task status record as an OpenTelemetry log record (needs dotflow[otel])."""

from __future__ import annotations

import logging
import os
import sys
from time import monotonic, time_ns
from typing import Any

from dotflow.abc.log import FORMATS, LEVELS, Log
from dotflow.delivery.queue import SENT, DeliveryQueue, Kind, Outcome, drop
from dotflow.errors import UsageError
from dotflow.providers import _otel
from dotflow.providers._telemetry import guarded, task_fields

OUTPUTS = ("console", "file", "both")
FLUSH_TIMEOUT = 5.0  # seconds the records still queued get at exit or flush(), at most
_LANE = "records"  # one lane: the records are emitted in the order they were made
# The Log contract's method for each level: the file copy of a record goes through it
_WRITE = {logging.DEBUG: "debug", logging.INFO: "info", logging.WARNING: "warning", logging.ERROR: "error"}


class LogOpenTelemetry(Log):
    """``LogOpenTelemetry(service_name="dotflow", level="INFO", output="console",
    path=".output/flow.log", format="simple", logger_provider=None, exporter=None)``: 1.x's
    signature, plus the two last keywords.

    Each record the Log contract gets (a task added, started, retried, completed, failed) at
    ``level`` or above becomes one OpenTelemetry log record: severity INFO, WARN or ERROR; the
    body is the ``simple`` line (``ID <workflow> - <task> - <status>[: <reason>]``) or the
    ``json`` object of ``dotflow.abc.log.Log``; the attributes are ``dotflow.workflow_id``,
    ``dotflow.task_id``, ``dotflow.task.step``, ``dotflow.task.status``,
    ``dotflow.task.retry_count``, ``dotflow.task.duration`` once known and, on Failed,
    ``exception.type`` and ``exception.message`` (one line, URL credentials masked).

    Where the records go: ``logger_provider`` if given; else a provider of its own exporting to
    ``exporter`` (batched) if given; else the application's global logger provider if it
    installed one; else a new provider (``service.name`` = ``service_name``, installed as the
    global one, as 1.x did) that prints the records on stderr when ``output`` is ``console`` or
    ``both``. ``output="file"`` or ``"both"`` also appends the plain lines to ``path``.
    """

    def __init__(
        self,
        service_name: str = "dotflow",
        level: str = "INFO",
        output: str = "console",
        path: str | os.PathLike[str] = ".output/flow.log",
        format: str = "simple",
        logger_provider: Any = None,
        exporter: Any = None,
    ) -> None:
        _otel.require("LogOpenTelemetry")
        from opentelemetry import _logs
        from opentelemetry._logs import SeverityNumber

        name = level.upper() if isinstance(level, str) else level
        if name not in LEVELS:
            raise UsageError(f"LogOpenTelemetry(level={level!r}); use one of: {', '.join(LEVELS)}")
        if output not in OUTPUTS:
            raise UsageError(f"LogOpenTelemetry(output={output!r}); use one of: {', '.join(OUTPUTS)}")
        if format not in FORMATS:
            raise UsageError(f"LogOpenTelemetry(format={format!r}); use one of: {', '.join(FORMATS)}")
        resource = _otel.resource(service_name, "LogOpenTelemetry")
        self.service_name, self.level, self.output, self.path, self.format = (
            service_name, str(name), output, os.fspath(path), format)
        self._level = LEVELS[str(name)]
        self._format = format

        def build() -> Any:
            from opentelemetry.sdk._logs import LoggerProvider
            from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, SimpleLogRecordProcessor

            provider = LoggerProvider(resource=resource)
            if exporter is not None:
                provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
            elif output in ("console", "both"):
                provider.add_log_record_processor(SimpleLogRecordProcessor(_console_exporter()))
            return provider

        self._provider = _otel.choose(
            logger_provider, exporter is not None, _logs.get_logger_provider, build, _logs.set_logger_provider
        )
        self._otel_logger = self._provider.get_logger("dotflow", _otel.version())
        self._queue = DeliveryQueue(
            lambda: _Emitter(self._otel_logger),
            label="dotflow log OpenTelemetry",
            target=f"the logger provider {type(self._provider).__name__}",
            workers=1,
            retries=0,
            flush_timeout=FLUSH_TIMEOUT,
            logger=logging.getLogger("dotflow.log"),
            noun="log record",
        )
        self._severity = {
            logging.DEBUG: SeverityNumber.DEBUG,
            logging.INFO: SeverityNumber.INFO,
            logging.WARNING: SeverityNumber.WARN,
            logging.ERROR: SeverityNumber.ERROR,
        }
        self._file: Log | None = None
        if output in ("file", "both"):
            from dotflow.providers.log_default import LogDefault

            self._file = LogDefault(level=str(name), output="file", path=path, format=format)

    @guarded
    def _log(self, level: int, **kwargs: Any) -> None:
        if level < self._level:
            return
        body = self._format_json(level, **kwargs) if self._format == "json" else self._format_text(level, **kwargs)
        record = {
            "timestamp": time_ns(),
            "severity_number": self._severity.get(level),
            "severity_text": logging.getLevelName(level),
            "body": body,
            "attributes": _attributes(kwargs.get("task")),
        }
        # emitted by a sender thread, in order: a processor that exports as it emits (an
        # application's SimpleLogRecordProcessor to a collector that is down) must not hold the task
        self._queue.put(_LANE, Kind.FINAL, record)
        if self._file is not None:
            getattr(self._file, _WRITE[level])(**kwargs)

    @guarded
    def flush(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else monotonic() + timeout
        self._queue.flush(timeout)
        _otel.force_flush(self._provider, None if deadline is None else max(0.0, deadline - monotonic()))
        if self._file is not None:
            self._file.flush(timeout)

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: deliver until ``deadline`` (``time.monotonic()``) at the latest."""
        self._queue.hasten(deadline)

    def __repr__(self) -> str:
        path = f", path={self.path!r}" if self.output in ("file", "both") else ""
        return (f"LogOpenTelemetry(service_name={self.service_name!r}, level={self.level!r}, "
                f"output={self.output!r}{path}, format={self.format!r})")


class _Emitter:
    """The sender's channel: one ``emit`` per record."""

    def __init__(self, otel_logger: Any) -> None:
        self._otel_logger = otel_logger

    def send(self, record: dict[str, Any], deadline: float | None) -> Outcome:
        try:
            self._otel_logger.emit(**record)
        except Exception as exc:
            from dotflow.redact import describe

            return drop(f"the logger provider raised {describe(exc)}")
        return SENT

    def close(self) -> None:
        pass


def _attributes(task: Any) -> dict[str, Any]:
    if task is None:
        return {}
    fields = task_fields(task)
    attributes: dict[str, Any] = {
        "dotflow.workflow_id": fields["workflow_id"],
        "dotflow.task_id": fields["task_id"],
        "dotflow.task.step": fields["step"],
        "dotflow.task.status": fields["status"],
        "dotflow.task.retry_count": fields["retry_count"],
    }
    if "duration" in fields:
        attributes["dotflow.task.duration"] = fields["duration"]
    if "error_type" in fields:
        attributes["exception.type"] = fields["error_type"]
        attributes["exception.message"] = fields["error_message"]
    return attributes


def _console_exporter() -> Any:
    try:
        from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter as Console
    except ImportError:  # the SDK before the Log* -> LogRecord* renames
        from opentelemetry.sdk._logs.export import ConsoleLogExporter as Console  # type: ignore[attr-defined,no-redef]
    return Console(out=sys.stderr)
