"""The Log contract: one record per task status change, in the text or JSON format of dotflow 1.x."""

from __future__ import annotations

import logging
from abc import ABC
from typing import Any

from dotflow.naming import task_label
from dotflow.text import failure_reason

LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING, "ERROR": logging.ERROR}
FORMATS = ("simple", "json")

logger = logging.getLogger("dotflow")


class _Record:
    """Fields with defaults, set by keyword; ``model_dump``/``model_dump_json`` as 1.x's pydantic
    models had them (``exclude_none=True`` leaves the unset optional fields out)."""

    __slots__: tuple[str, ...] = ()
    _DEFAULTS: dict[str, Any] = {}

    def __init__(self, **fields: Any) -> None:
        unknown = set(fields) - set(self._DEFAULTS)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}; "
                            f"its fields are {', '.join(self._DEFAULTS)}")
        for name, default in self._DEFAULTS.items():
            setattr(self, name, fields.get(name, default))

    def model_dump(self, exclude_none: bool = False) -> dict[str, Any]:
        """The fields as a dict (a nested record as its own dict), in their order."""
        data: dict[str, Any] = {}
        for name in self._DEFAULTS:
            value = getattr(self, name)
            if value is None and exclude_none:
                continue
            data[name] = value.model_dump(exclude_none) if isinstance(value, _Record) else value
        return data

    def model_dump_json(self, exclude_none: bool = False) -> str:
        """``model_dump`` as compact JSON."""
        import json

        return json.dumps(self.model_dump(exclude_none), separators=(",", ":"))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.model_dump() == other.model_dump()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._DEFAULTS)
        return f"{type(self).__name__}({fields})"


class LogRecordError(_Record):
    """The ``error`` of a JSON log record: the exception's class name and its message."""

    __slots__ = ("exception", "message")
    _DEFAULTS = {"exception": "", "message": ""}
    exception: str
    message: str


class LogRecord(_Record):
    """One JSON log record, the ``json`` format's shape (1.x's model of the same name): ``timestamp``,
    ``level``, ``workflow_id``, ``task_id``, ``status``, and the optional ``duration``,
    ``retry_count`` and ``error`` (a LogRecordError), None until known."""

    __slots__ = ("timestamp", "level", "workflow_id", "task_id", "status", "duration", "retry_count", "error")
    _DEFAULTS = {"timestamp": "", "level": "", "workflow_id": "", "task_id": "", "status": "", "duration": None,
                 "retry_count": None, "error": None}
    timestamp: str
    level: str
    workflow_id: str
    task_id: str
    status: str
    duration: float | None
    retry_count: int | None
    error: LogRecordError | None


class Log(ABC):
    """The engine calls ``info(task=...)`` when a task is added or starts or completes,
    ``warning(task=...)`` when it is retried and ``error(task=...)`` when it fails, as dotflow 1.x
    does. A subclass sets ``_logger`` (a ``logging.Logger``), ``_level`` and ``_format``
    (``"simple"`` or ``"json"``), or overrides the four methods. Never raises into the workflow.

    ``simple``: ``ID <workflow> - <step> [<task>] - <status>``, and ``: <Exception>: <message>`` after a
    failure (one line; 1.x appended the whole traceback). ``json``: one object per record with
    ``timestamp, level, workflow_id, task_id, status`` and, when known, ``duration``,
    ``retry_count`` and, on errors, ``error: {exception, message}``.
    """

    _logger: logging.Logger = logger
    _level: int = logging.INFO
    _format: str = "simple"
    # format name -> method, as in 1.x: a subclass may add its own format here
    _FORMATTERS: dict[str, str] = {"json": "_format_json", "simple": "_format_text"}

    def info(self, **kwargs: Any) -> None:
        """Write a INFO record (the engine passes ``task=``)."""
        self._log(logging.INFO, **kwargs)

    def warning(self, **kwargs: Any) -> None:
        """Write a WARNING record (the engine passes ``task=``)."""
        self._log(logging.WARNING, **kwargs)

    def error(self, **kwargs: Any) -> None:
        """Write a ERROR record (the engine passes ``task=``)."""
        self._log(logging.ERROR, **kwargs)

    def debug(self, **kwargs: Any) -> None:
        """Write a DEBUG record (the engine passes ``task=``)."""
        self._log(logging.DEBUG, **kwargs)

    def flush(self, timeout: float | None = None) -> None:
        """Write out what is buffered. No-op by default."""

    def _log(self, level: int, **kwargs: Any) -> None:
        if level < self._level or not self._logger.isEnabledFor(level):
            return
        format_record = getattr(self, self._FORMATTERS.get(self._format, "_format_text"))
        self._logger.log(level, format_record(level, **kwargs))

    def _format_text(self, level: int, **kwargs: Any) -> str:
        task = kwargs.get("task")
        if task is None:
            return " ".join(f"{key}={value}" for key, value in kwargs.items())
        line = f"ID {task.workflow_id} - {task_label(task)} - {task.status}"
        reason = _reason(task) if level >= logging.WARNING else ""
        return f"{line}: {reason}" if reason else line

    def _format_json(self, level: int, **kwargs: Any) -> str:
        import json
        from datetime import datetime, timezone

        timestamp = datetime.now(timezone.utc).isoformat()
        task = kwargs.get("task")
        if task is None:
            fields = {"timestamp": timestamp, "level": logging.getLevelName(level)}
            fields.update({key: str(value) for key, value in kwargs.items()})
            return json.dumps(fields)
        record = LogRecord(timestamp=timestamp, level=logging.getLevelName(level), workflow_id=str(task.workflow_id),
                           task_id=str(task.task_id), status=str(task.status))
        if task.duration is not None:
            record.duration = task.duration
        if task.retry_count:
            record.retry_count = task.retry_count
        errors = task.errors
        if errors and level >= logging.WARNING:
            last = errors[-1]
            record.error = LogRecordError(exception=exception_name(last.exception), message=_one_line(last.message))
        return json.dumps(record.model_dump(exclude_none=True))


def exception_name(exception: Any) -> str:
    """The class name a ``TaskError.exception`` stands for: it is that name already (a str, as in
    1.x), or the exception itself."""
    return exception if isinstance(exception, str) else type(exception).__name__


def _reason(task: Any) -> str:
    # task.errors makes the list of a task without errors, as reading `_errors or errors` did
    return failure_reason(task.errors)


def _one_line(text: Any) -> str:
    from dotflow.redact import one_line

    return one_line(str(text))
