"""Task, TaskError and TaskBuilder: the steps of a workflow and what became of them."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from time import time as _now
from typing import TYPE_CHECKING, Any, Callable
from zlib import crc32

from dotflow.actions import ActionOptions, options_of
from dotflow.context import Context, to_jsonable
from dotflow.errors import UsageError
from dotflow.naming import short_name, step_name
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.config import Config

logger = logging.getLogger("dotflow")

_CONTEXT_KEYS = ("initial_context", "current_context", "previous_context")


# Tracebacks go to this child logger at DEBUG, apart from the one-line records: `dotflow start -v`
# turns it on; an application can too (logging.getLogger("dotflow.traceback").setLevel("DEBUG")).
TRACEBACK_LOGGER = "dotflow.traceback"


def log_event(level: int, workflow_id: Any, subject: Any, event: str, exc_info: bool = False) -> None:
    """Log ``ID <workflow> - <subject> - <event>`` on the ``dotflow`` logger: the one format of
    every per-task and per-workflow line, so a log can be grepped by workflow id."""
    logger.log(level, "ID %s - %s - %s", workflow_id, subject, event, exc_info=exc_info)


class TaskError:
    """One failed attempt of a task, as in dotflow 1.x: ``attempt``, ``exception`` (the exception's
    class name, a str), ``traceback`` and ``message``; ``error`` is the exception itself.

    ``TaskError(error, attempt=None)`` builds one from an exception, as 1.x does.
    """

    __slots__ = ("attempt", "error", "exception", "traceback", "message")

    def __init__(
        self,
        error: BaseException | None = None,
        attempt: int | None = None,
        traceback: str | None = None,
        message: str | None = None,
    ) -> None:
        self.attempt = attempt
        self.error = error
        self.exception = type(error).__name__ if error is not None else ""
        if traceback is None:
            from dotflow.utils import traceback_error

            traceback = traceback_error(error) if error is not None else ""
        self.traceback = traceback
        if message is None:
            message = (str(error) or type(error).__name__) if error is not None else ""
        self.message = message

    def as_dict(self) -> dict[str, Any]:
        """The JSON-safe form ``task.result()`` holds under ``errors``."""
        return {"attempt": self.attempt, "exception": self.exception, "traceback": self.traceback,
                "message": self.message}

    def __repr__(self) -> str:
        return f"TaskError(attempt={self.attempt}, exception={self.exception}, message={self.message!r})"



class Task:
    """One step of a workflow, with its inputs, its result and its status.

    The engine changes ``status`` through the workflow's Reporter (``dotflow.reporting``), which
    logs and reports each change; assigning ``task.status`` only sets it.
    """

    __slots__ = (
        "task_id",
        "workflow_id",
        "step",
        "callback",
        "options",
        "group_name",
        "config",
        "retry_count",
        "_created",
        "_started",
        "_finished",
        "_initial_context",
        "_previous_context",
        "_current_context",
        "_status",
        "_errors",
    )

    def __init__(
        self,
        task_id: str,
        step: Callable[..., Any],
        callback: Callable[..., Any] | None = None,
        initial_context: Any = None,
        workflow_id: str | None = None,
        config: Config | None = None,
        group_name: str = "default",
        options: ActionOptions | None = None,
    ) -> None:
        self.task_id = task_id
        self.workflow_id = workflow_id
        self.step = step
        self.callback = callback
        self.options = options or options_of(step) or ActionOptions()
        self.group_name = group_name
        self.config = config
        self.retry_count = 0
        # epoch floats, half the size of datetimes; the *_at properties give datetimes as in 1.x
        self._created: float = _now()
        self._started: float | None = None
        self._finished: float | None = None
        self._initial_context = None if initial_context is None else Context(initial_context)
        self._previous_context: Context | None = None
        self._current_context: Context | None = None
        self._status: str = TypeStatus.NOT_STARTED
        self._errors: list[TaskError] | None = None

    @property
    def initial_context(self) -> Context:
        """The input given at ``task.add(initial_context=...)``, as a Context."""
        if self._initial_context is None:
            self._initial_context = Context()
        return self._initial_context

    @initial_context.setter
    def initial_context(self, value: Any) -> None:
        self._initial_context = Context(value)

    @property
    def given_context(self) -> Context | None:
        """The Context given at ``task.add(initial_context=...)``, or None when none was given
        (``initial_context`` makes an empty one on first use; this never does)."""
        return self._initial_context

    # The three contexts are always Contexts, as in 1.x (callbacks read ``.storage`` of tasks
    # that failed or never ran); the empty ones are made on first use, so tasks stay small.
    @property
    def previous_context(self) -> Context:
        """The previous task's result (in sequential modes); an empty Context for the first."""
        if self._previous_context is None:
            self._previous_context = Context()
        return self._previous_context

    @previous_context.setter
    def previous_context(self, value: Context | None) -> None:
        self._previous_context = value

    @property
    def current_context(self) -> Context:
        """This task's result, once it completed; an empty Context before, or after a failure."""
        if self._current_context is None:
            self._current_context = Context()
        return self._current_context

    @current_context.setter
    def current_context(self, value: Context | None) -> None:
        self._current_context = value

    @property
    def status(self) -> str:
        """One of the ``TypeStatus`` strings (the constants themselves: compare with ``is``)."""
        return self._status

    @status.setter
    def status(self, value: str) -> None:
        self._status = value

    @property
    def errors(self) -> list[TaskError]:
        """One TaskError per failed attempt, oldest first."""
        if self._errors is None:
            self._errors = []
        return self._errors

    @property
    def error(self) -> TaskError:
        """The last error (an empty TaskError without one). Deprecated, as in 1.x: use ``errors``."""
        import warnings

        warnings.warn("Task.error is deprecated; use Task.errors (TaskError.exception is the class name, a str)",
                      DeprecationWarning, stacklevel=2)
        return self._errors[-1] if self._errors else TaskError()

    @property
    def created_at(self) -> datetime:
        """When the task was added."""
        return datetime.fromtimestamp(self._created)

    @property
    def started_at(self) -> datetime | None:
        """When the first attempt started (or the checkpoint was taken on resume)."""
        return None if self._started is None else datetime.fromtimestamp(self._started)

    @property
    def finished_at(self) -> datetime | None:
        """When the task ended (None while it has not)."""
        return None if self._finished is None else datetime.fromtimestamp(self._finished)

    def _reset(self) -> None:
        """Forget the last run's outcome (status, errors, retries, contexts, times) before a new
        ``start()``; nothing is reported: the server already saw this task as it is now."""
        self._status = TypeStatus.NOT_STARTED
        self._errors = None
        self.retry_count = 0
        self._started = self._finished = None
        self._previous_context = self._current_context = None

    def mark_started(self) -> None:
        """Start the task's clock (the engine calls it at the first attempt)."""
        self._started = _now()

    def mark_finished(self) -> float:
        """Stop the clock; returns the timestamp, which the result Context shares."""
        self._finished = _now()
        return self._finished

    @property
    def resumed(self) -> bool:
        """Whether the task was restored from a checkpoint (``start(resume=True)``) instead of run;
        ``current_context.time`` is then when that checkpoint was written."""
        context, started = self._current_context, self._started
        return context is not None and started is not None and context._ts < started

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the end, or None while not finished."""
        if self._started is None or self._finished is None:
            return None
        return round(self._finished - self._started, 6)

    def result(self, max: int | None = None) -> dict[str, Any]:  # noqa: A002 - 1.x name
        """A JSON-safe dict of this task.

        With ``max=N`` the dict serialized by ``json.dumps`` is at most N bytes: the largest
        contexts are replaced by a note first, then the errors are trimmed, then whatever
        is left is dropped key by key (N below 2 gives ``{}``).
        """
        errors = [e.as_dict() for e in self._errors] if self._errors else []
        data: dict[str, Any] = {
            "task_id": self.task_id,
            "workflow_id": self.workflow_id,
            "status": self._status,
            "duration": self.duration,
            "initial_context": context_value(self._initial_context),
            "current_context": context_value(self._current_context),
            "previous_context": context_value(self._previous_context),
            "group_name": self.group_name,
            "retry_count": self.retry_count,
            "created_at": _iso(self._created),
            "started_at": _iso(self._started),
            "finished_at": _iso(self._finished),
            "errors": errors,
            "id": self.task_id,
            "error": errors[-1] if errors else None,
        }
        if max is None:
            return data
        return _cap(data, max)

    def __repr__(self) -> str:
        return f"Task(task_id={self.task_id!r}, workflow_id={self.workflow_id!r}, status={self._status!r})"


def context_value(context: Context | None) -> Any:
    """The JSON-safe value of a context, None when there is none."""
    return None if context is None else to_jsonable(context.storage)


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts).isoformat()


def _cap(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """``data`` trimmed until ``json.dumps(data)`` is at most ``limit`` characters (see Task.result).

    Each value is serialized once and the dict's size is summed from the pieces, so a 3 MB
    context costs one ``json.dumps`` of it, not one per trimming step (this runs on the task's
    thread whenever a server asks for the report).
    """
    sizes = {key: _item_size(key, value) for key, value in data.items()}
    total = _dict_size(sizes)
    if total <= limit:
        return data

    def put(key: str, value: Any) -> int:
        data[key] = value
        sizes[key] = _item_size(key, value)
        return _dict_size(sizes)

    for key in sorted(_CONTEXT_KEYS, key=lambda k: -sizes[k]):
        if data[key] is None:
            continue
        # the note gives the size of the value's JSON; its key's share of the item is known
        value_size = sizes[key] - len(json.dumps(key)) - 2
        if put(key, f"<truncated: {value_size} bytes>") <= limit:
            return data
    if data["errors"]:
        last = dict(data["errors"][-1], traceback=None)
        last["message"] = str(last["message"])[:200]
        put("errors", [last])
        if put("error", last) <= limit:
            return data
        put("errors", [])
        if put("error", {"exception": last["exception"], "message": last["message"][:50]}) <= limit:
            return data
    for key in ("error", "errors", *_CONTEXT_KEYS, "group_name", "created_at", "started_at", "finished_at",
                "duration", "retry_count", "id", "workflow_id", "status", "task_id"):
        del data[key]
        del sizes[key]
        if _dict_size(sizes) <= limit:
            return data
    return data


def _item_size(key: str, value: Any) -> int:
    """Characters ``"key": value`` takes inside ``json.dumps`` of a dict (default separators)."""
    return len(json.dumps(key)) + 2 + len(json.dumps(value))


def _dict_size(sizes: dict[str, int]) -> int:
    """Characters of ``json.dumps`` of a dict whose items take ``sizes``: braces and ", " between items."""
    return 2 + sum(sizes.values()) + 2 * max(len(sizes) - 1, 0)


class TaskBuilder:
    """Collects a workflow's tasks. ``add`` is chainable and announces each task to the server."""

    def __init__(self, config: Config, workflow_id: str | None = None, workflow: Any = None) -> None:
        self.config = config
        self.workflow_id = workflow_id
        self.queue: list[Task] = []
        self._workflow = workflow
        reporter = getattr(workflow, "_reporter", None)
        if reporter is None:
            from dotflow.reporting import Reporter

            reporter = Reporter(config, workflow)
        self._reporter = reporter

    def add(
        self,
        step: Any,
        callback: Callable[..., Any] | None = None,
        initial_context: Any = None,
        group_name: str = "default",
    ) -> TaskBuilder:
        """Add a step (a callable, a list of them, or an import string ``pkg.mod.fn`` /
        ``pkg.mod:fn``) as a new task."""
        if isinstance(step, (list, tuple)):
            for one in step:
                self.add(one, callback=callback, initial_context=initial_context, group_name=group_name)
            return self
        spec = step if isinstance(step, str) else None
        if spec is not None:
            step = import_step(spec)
        options = options_of(step)
        if options is None:
            name = short_name(step, fallback=repr)
            if not callable(step):
                given = f"step {spec!r} is a {type(step).__name__}" if spec else (
                    f"task.add(step=...) got {type(step).__name__} {step!r}"
                )
                raise UsageError(f"{given}; point it at a function decorated with @action")
            raise UsageError(f"step {name} is not decorated with @action; add @action above its definition")
        if callback is not None and not callable(callback):
            raise UsageError(
                f"callback {callback!r} for step {step_name(step)} is not callable; pass a function taking task="
            )
        index = len(self.queue)
        task = Task(
            task_id=task_id_for(index, step, str(group_name)),
            step=step,
            callback=callback,
            initial_context=initial_context,
            workflow_id=self.workflow_id,
            config=self.config,
            group_name=str(group_name),
            options=options,
        )
        self.queue.append(task)
        self._reporter.task_added(task)
        return self

    def count(self) -> int:
        """How many tasks were added."""
        return len(self.queue)

    def clear(self) -> None:
        """Remove every task (nothing is reported)."""
        self.queue.clear()

    def reverse(self) -> None:
        """Reverse the order the tasks will run in."""
        self.queue.reverse()

    def result(self) -> dict[str, Any]:
        """The workflow's JSON-safe result (the same as ``DotFlow.result()``)."""
        return {
            "workflow_id": self.workflow_id,
            "workflow_name": getattr(self._workflow, "name", None),
            "tasks": [task.result() for task in self.queue],
            "id": self.workflow_id,
            "name": getattr(self._workflow, "name", None),
        }

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.queue)

    def __len__(self) -> int:
        return len(self.queue)


def task_id_for(index: int, step: Any, group_name: str) -> str:
    """A task id that depends only on the workflow definition: the task's position, its
    step's qualified name and its group. The same pipeline gets the same ids in every
    process, which is what lets ``resume=True`` find the checkpoints of an earlier run.

    The index alone makes ids unique; the checksum makes a checkpoint of another step at the
    same position miss instead of being fed on. CRC-32 is plenty for that and, unlike
    hashlib, costs nothing to import."""
    return f"{index}-{step_checksum(step_name(step), group_name)}"


def step_checksum(name: str, group_name: str = "default") -> str:
    """The part of a task id that names its step (``pkg.mod.fn``) and group: 8 hex digits."""
    return f"{crc32(f'{name}{chr(0)}{group_name}'.encode()):08x}"


def import_step(path: str) -> Any:
    """Resolve a step's import string, ``pkg.mod.fn`` or ``pkg.mod:fn`` (``fn`` may be ``Class.method``)."""
    from dotflow.imports import import_string

    return import_string(path, label="step")
