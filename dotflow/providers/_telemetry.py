"""What the tracer, metrics and log providers share: the fields of a task, and hooks that never raise."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable, TypeVar

from dotflow.naming import step_name

logger = logging.getLogger("dotflow")

Hook = TypeVar("Hook", bound=Callable[..., Any])

# the workflow span's name when the Reporter gives no workflow name: span names stay few
# (1.x put the workflow id in them, one name per run, which trace back ends cannot group)
WORKFLOW_SPAN = "dotflow.workflow"


def guarded(hook: Hook) -> Hook:
    """Make a provider hook swallow what the SDK raises: the first failure of each hook is
    logged as one WARNING line on the ``dotflow`` logger (secrets masked), later ones are not.

    The Reporter already shields the workflow; this also shields code that calls a provider
    directly, and keeps a misbehaving exporter from costing more than one log line.
    """
    name = hook.__name__

    @functools.wraps(hook)
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return hook(self, *args, **kwargs)
        except Exception as exc:
            _log_once(self, name, exc)
            return None

    return call  # type: ignore[return-value]


def _log_once(provider: Any, hook: str, exc: Exception) -> None:
    failed = provider.__dict__.setdefault("_failed_hooks", set())
    if hook in failed:
        return
    failed.add(hook)
    from dotflow.redact import describe

    text = describe(exc)
    redact = getattr(provider, "redact", None)  # a provider holding a secret (a Sentry DSN) hides it
    if redact is not None:
        text = redact(text)
    logger.warning(
        "%s.%s() raised %s; the workflow goes on without it (later failures of this hook are not logged)",
        type(provider).__name__,
        hook,
        text,
    )


def workflow_span_name(kwargs: dict[str, Any]) -> str:
    """``workflow <name>`` when the caller passes the workflow's name, else ``dotflow.workflow``."""
    name = kwargs.get("name")
    return f"workflow {name}" if name else WORKFLOW_SPAN


def step_of(task: Any) -> str:
    step = getattr(task, "step", None)
    return step_name(step) if step is not None else str(getattr(task, "task_id", "task"))


def last_error(task: Any) -> Any:
    """The task's last TaskError, or None (without making an empty error list)."""
    errors = _errors_of(task)
    return errors[-1] if errors else None


def all_errors(task: Any) -> list[Any]:
    return list(_errors_of(task) or ())


def _errors_of(task: Any) -> Any:
    """The task's errors, None when it has none, without making the list of a task that has none
    (``Task.errors`` would: every task ended and reported would then keep an empty list). A Task
    says so with ``last_error``; an object without it (a 1.x-shaped task) is read by ``errors``."""
    if hasattr(task, "last_error") and task.last_error is None:
        return None
    return getattr(task, "errors", None)


def error_name(error: Any) -> str:
    """The exception class name of a TaskError (1.x stored the name itself, a str)."""
    exception = getattr(error, "exception", None)
    return exception if isinstance(exception, str) else type(exception).__name__


def error_message(error: Any) -> str:
    """The TaskError's message on one short line, URL credentials masked."""
    from dotflow.redact import one_line

    return one_line(str(getattr(error, "message", "")))


def task_fields(task: Any) -> dict[str, Any]:
    """The facts every provider reports about a task, as plain str/int/float values:
    ``workflow_id, task_id, step, group, status, retry_count``, ``duration`` once known, and
    ``error_type``/``error_message`` of the last error once the task failed."""
    fields: dict[str, Any] = {
        "workflow_id": str(getattr(task, "workflow_id", "")),
        "task_id": str(getattr(task, "task_id", "")),
        "step": step_of(task),
        "group": str(getattr(task, "group_name", "default")),
        "status": str(getattr(task, "status", "")),
        "retry_count": int(getattr(task, "retry_count", 0) or 0),
    }
    duration = getattr(task, "duration", None)
    if duration is not None:
        fields["duration"] = float(duration)
    last = last_error(task)
    if last is not None and fields["status"] == "Failed":
        fields["error_type"] = error_name(last)
        fields["error_message"] = error_message(last)
    return fields


def seconds_to_millis(timeout: float | None, default: int = 30_000) -> int:
    """An SDK's ``timeout_millis`` from a flush bound in seconds (None: the SDK's usual 30 s)."""
    if timeout is None:
        return default
    return max(0, int(timeout * 1000))
