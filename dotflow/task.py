"""Task and TaskError: one step of a workflow, its state and its transitions, and what became of it."""

from __future__ import annotations

from datetime import datetime
from time import time as _now
from typing import TYPE_CHECKING, Any, Callable

from dotflow.actions import ActionOptions, options_of
from dotflow.context import Context
from dotflow.redact import mask_secrets
from dotflow.results import Schema, cap, context_value, iso
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.config import Config


_MEASURED = object()  # Task.duration was not assigned: it is measured from the task's clock


class TaskError:
    """One failed attempt of a task, as in dotflow 1.x: ``attempt``, ``exception`` (the exception's
    class name, a str), ``traceback`` and ``message``; ``error`` is the exception itself.

    ``TaskError(error, attempt=None)`` builds one from an exception, as 1.x does. The message and
    the traceback are masked as they are recorded (``dotflow.redact.mask_secrets``): every secret the
    process was given and every URL's ``user:pass@``, whoever wrote the text, so nothing shown or
    sent from them holds one; ``error``, the exception object itself, is left as it was raised.
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
        self.traceback = mask_secrets(traceback) if isinstance(traceback, str) else traceback
        if message is None:
            message = (str(error) or type(error).__name__) if error is not None else ""
        self.message = mask_secrets(message) if isinstance(message, str) else message

    def as_dict(self) -> dict[str, Any]:
        """The JSON-safe form ``task.result()`` holds under ``errors``."""
        return {"attempt": self.attempt, "exception": self.exception, "traceback": self.traceback,
                "message": self.message}

    def __repr__(self) -> str:
        return f"TaskError(attempt={self.attempt}, exception={self.exception}, message={self.message!r})"



def as_step(value: Any) -> Callable[..., Any]:
    """``value`` as a step: an import string (``pkg.mod.fn``, ``pkg.mod:fn``) imported, then checked to
    be decorated with ``@action``; each failure a one-line error (``StepImportError``, ``UsageError``)."""
    spec = value if isinstance(value, str) else None
    if spec is not None:
        from dotflow.imports import import_string

        value = import_string(spec, label="step")
    if options_of(value) is not None:
        return value  # type: ignore[no-any-return]
    from dotflow.errors import UsageError
    from dotflow.naming import short_name

    if not callable(value):
        given = f"step {spec!r} is a {type(value).__name__}" if spec else (
            f"task.add(step=...) got {type(value).__name__} {value!r}"
        )
        raise UsageError(f"{given}; point it at a function decorated with @action")
    raise UsageError(f"step {short_name(value, fallback=repr)} is not decorated with @action; "
                     "add @action above its definition")


class Task:
    """One step of a workflow, with its inputs, its result and its status.

    The task owns its state: the engine changes it only through the transitions below (``begin``,
    ``retry``, ``complete``, ``fail``, ``restore``, ``reset``), and the run's Reporter then tells
    the providers what changed (``dotflow.reporting``). Assigning ``task.status`` only sets it, as
    in 1.x, and reports nothing.
    """

    __slots__ = (
        "task_id",
        "workflow_id",
        "_step",
        "_callback",
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
        "_duration",
        "_reason",
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
        self.options = options or options_of(self._step) or ActionOptions()
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
        self._duration: Any = _MEASURED
        self._reason: str | None = None

    @property
    def step(self) -> Callable[..., Any]:
        """The ``@action`` function or class this task runs. Assigning it (or building a Task) checks
        it as 1.x did: an import string is imported (``StepImportError``, 1.x's
        ``ImportModuleError``, when it cannot be), and a step without ``@action`` is a
        ``UsageError`` (1.x's ``MissingActionDecorator``)."""
        return self._step

    @step.setter
    def step(self, value: Any) -> None:
        self._step = as_step(value)

    @property
    def callback(self) -> Callable[..., Any] | None:
        """Called with ``task=`` once the task ended; None for none. Assigning it checks it: an import
        string is imported, and what is not callable is a ``UsageError`` (1.x's ``NotCallableObject``)."""
        return self._callback

    @callback.setter
    def callback(self, value: Any) -> None:
        if isinstance(value, str):
            from dotflow.imports import import_string

            value = import_string(value, label="callback")
        if value is not None and not callable(value):
            from dotflow.errors import UsageError
            from dotflow.naming import step_name

            raise UsageError(
                f"callback {value!r} for step {step_name(self._step)} is not callable; pass a function taking task="
            )
        self._callback = value

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
    def previous_context(self, value: Any) -> None:
        # a value that is not a Context is wrapped in one, as 1.x's setters did
        self._previous_context = value if value is None or isinstance(value, Context) else Context(value)

    @property
    def current_context(self) -> Context:
        """This task's result, once it completed; an empty Context before, or after a failure."""
        if self._current_context is None:
            self._current_context = Context()
        return self._current_context

    @current_context.setter
    def current_context(self, value: Any) -> None:
        if value is not None and not isinstance(value, Context):
            value = Context(value, self.task_id, self.workflow_id)
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
        """One TaskError per failed attempt, oldest first. Assigning works as in 1.x: a list
        replaces them, a TaskError is appended, and so is an exception, as a TaskError."""
        if self._errors is None:
            self._errors = []
        return self._errors

    @errors.setter
    def errors(self, value: list[TaskError] | TaskError | BaseException) -> None:
        if isinstance(value, list):
            self._errors = value
        elif isinstance(value, TaskError):
            self.errors.append(value)
        elif isinstance(value, BaseException):
            self.errors.append(TaskError(value))
        else:
            from dotflow.errors import UsageError

            raise UsageError(f"task.errors = {value!r}: assign a list of TaskError, a TaskError or an exception")

    @property
    def last_error(self) -> TaskError | None:
        """The last failed attempt's error, None without one (reading it never makes the list)."""
        return self._errors[-1] if self._errors else None

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

    @property
    def start_time(self) -> float | None:
        """``started_at`` as an epoch timestamp (no datetime made), None before the first attempt."""
        return self._started

    @property
    def finish_time(self) -> float | None:
        """``finished_at`` as an epoch timestamp (no datetime made), None while the task has not ended."""
        return self._finished

    @property
    def has_result(self) -> bool:
        """Whether ``current_context`` was set (reading it makes an empty one when not)."""
        return self._current_context is not None

    @property
    def reason(self) -> str | None:
        """Why a Cancelled or Skipped task ended so ("requested by alice", "not run: load
        failed"); None for the other statuses."""
        return self._reason

    @property
    def ended(self) -> bool:
        """Whether the task is Completed, Failed, Cancelled or Skipped: no later change of its run touches it."""
        return self._status in TypeStatus.TERMINAL

    @property
    def pristine(self) -> bool:
        """Whether the task never started nor changed status (a new task, or one just ``reset``)."""
        return self._started is None and self._status is TypeStatus.NOT_STARTED

    # -- transitions: the only code that changes a task's status ---------------------------

    def begin(self) -> None:
        """An attempt starts: In progress."""
        self._status = TypeStatus.IN_PROGRESS

    def retry(self) -> None:
        """The attempt failed and another one follows: Retry, one more retry counted."""
        self.retry_count += 1
        self._status = TypeStatus.RETRY

    def complete(self) -> None:
        """The step's result is in ``current_context`` (and stored): Completed."""
        self._status = TypeStatus.COMPLETED

    def fail(self, error: TaskError | None = None) -> None:
        """The task ended without a result: Failed, with ``error`` added to its errors when given;
        its clock stops if it had started."""
        if error is not None:
            self.errors.append(error)
        if self._started is not None:
            self._finished = _now()
        self._status = TypeStatus.FAILED

    def cancel(self, reason: str) -> None:
        """A cancel request stopped the task, or kept it from starting: Cancelled, for ``reason``;
        its clock stops if it had started."""
        if self._started is not None:
            self._finished = _now()
        self._reason = reason
        self._status = TypeStatus.CANCELLED

    def skip(self, reason: str) -> None:
        """The task never ran because the run stopped before it (an earlier task failed or was
        cancelled): Skipped, for ``reason``."""
        self._reason = reason
        self._status = TypeStatus.SKIPPED

    def restore(self, value: Any, written: float) -> None:
        """Completed from a checkpoint instead of running: ``value`` becomes the result, which
        keeps the checkpoint's time ``written``, placed before this run started even when another
        machine's clock wrote it "later"; that is how ``resumed`` tells it from a result made now."""
        self._started = started = _now()
        self._duration = _MEASURED
        result = Context(value, self.task_id, self.workflow_id)
        result.timestamp = min(written, started - 1e-6)
        self._current_context = result
        self._finished = _now()
        self._status = TypeStatus.COMPLETED

    def reset(self) -> None:
        """Forget the last run's outcome (status, errors, retries, contexts, times) before a new
        ``start()``; nothing is reported: the server already saw this task as it is now."""
        self._status = TypeStatus.NOT_STARTED
        self._errors = None
        self._reason = None
        self.retry_count = 0
        self._started = self._finished = None
        self._duration = _MEASURED
        self._previous_context = self._current_context = None

    def set_result(self, value: Any) -> Context:
        """Stop the clock and make ``value`` the task's result, a Context sharing the finish time
        (one float for both: tasks stay small); its status is changed by ``complete`` or ``fail``."""
        result = Context(value, self.task_id, self.workflow_id)
        result.timestamp = self._finished = _now()
        self._current_context = result
        return result

    def mark_started(self) -> None:
        """Start the task's clock (the engine calls it at the first attempt)."""
        self._started = _now()
        self._duration = _MEASURED

    def mark_finished(self) -> float:
        """Stop the clock; returns the timestamp, which the result Context shares."""
        self._finished = _now()
        return self._finished

    @property
    def resumed(self) -> bool:
        """Whether the task was restored from a checkpoint (``start(resume=True)``) instead of run;
        ``current_context.time`` is then when that checkpoint was written."""
        context, started = self._current_context, self._started
        return context is not None and started is not None and context.timestamp < started

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the end, or None while not finished. It can be
        assigned, as in 1.x (``dotflow.core.decorators.time`` does); the next run measures it again."""
        if self._duration is not _MEASURED:
            return self._duration  # type: ignore[no-any-return]
        if self._started is None or self._finished is None:
            return None
        return round(self._finished - self._started, 6)

    @duration.setter
    def duration(self, value: float | None) -> None:
        self._duration = value

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
            "created_at": iso(self._created),
            "started_at": iso(self._started),
            "finished_at": iso(self._finished),
            "errors": errors,
            "id": self.task_id,
            "error": errors[-1] if errors else None,
        }
        if self._reason is not None:  # Cancelled and Skipped only: a 1.x status keeps 1.x's keys
            data["reason"] = self._reason
        if max is None:
            return data
        return cap(data, max)

    def schema(self, max: int | None = None) -> Schema:  # noqa: A002 - 1.x name
        """``result(max)`` read by attribute (``task.schema().status``), as 1.x's ``schema()`` was."""
        return Schema(self.result(max))

    def __repr__(self) -> str:
        return f"Task(task_id={self.task_id!r}, workflow_id={self.workflow_id!r}, status={self._status!r})"


