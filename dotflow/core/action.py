"""Kept for 1.x import paths: ``from dotflow.core.action import Action``.

In 1.x ``Action`` was the decorator's class and ``action`` the same class. Here ``action`` is a
function; ``Action`` calls it (``Action(fn)``, ``Action(retry=3)(fn)``), and
``isinstance(step, Action)`` tells whether ``step`` was decorated, as it did in 1.x."""

from __future__ import annotations

from typing import Any

from dotflow.actions import action, options_of


class _Decorated(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return options_of(instance) is not None


class Action(metaclass=_Decorated):
    def __new__(cls, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        return action(*args, **kwargs)


__all__ = ["Action", "action"]
