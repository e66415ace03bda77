"""Kept for 1.x import paths: ``from dotflow.core.decorators.time import time``, 1.x's decorator that
times a call and writes the seconds it took on what the call returns (a Task: ``task.duration``)."""

from __future__ import annotations

import functools
from time import perf_counter
from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["time"]


def time(func: F) -> F:
    """Decorate ``func`` so that each call sets ``duration``, the seconds the call took (a float),
    on the object it returns, and returns that object."""

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        begin = perf_counter()
        result = func(*args, **kwargs)
        result.duration = perf_counter() - begin
        return result

    return timed  # type: ignore[return-value]
