"""How dotflow names a step and a task, in task ids, log lines and messages: the one rule.

- ``step_name(step)``: ``pkg.mod.fn`` (``pkg.mod.Class.method``), what a task id hashes and most
  messages show;
- ``short_name(step)``: ``fn`` (``Class.method``), what a log line shows;
- ``task_label(task)``: ``fn [0-80ff3611]``, a task in a log line: its step, then its id for grep.

A step without a ``__qualname__`` (a callable instance, a ``functools.partial``) is named by its
class; the few messages that have always shown something else for it say so with ``fallback``.
"""

from __future__ import annotations

from typing import Any, Callable


def short_name(step: Any, fallback: Callable[[Any], str] | None = None) -> str:
    """``fn`` or ``Class.method``: the step's ``__qualname__``; for an object without one, the
    name of its class, or ``fallback(step)`` when given (``repr``, say)."""
    name = getattr(step, "__qualname__", None)
    if name:
        return name
    return fallback(step) if fallback is not None else type(step).__name__


def step_name(step: Any) -> str:
    """``pkg.mod.fn``: the step's module and ``short_name`` (the short name alone without a module)."""
    module = getattr(step, "__module__", None) or ""
    name = short_name(step)
    return f"{module}.{name}" if module else name


def task_label(task: Any) -> str:
    """How a log line names a task: its step, then its id for grep (``extract [0-80ff3611]``)."""
    return f"{short_name(getattr(task, 'step', None))} [{task.task_id}]"
