"""Kept for 1.x import paths: ``from dotflow.core.action import Action``, 1.x's decorator class.

``Action(fn, task=None, retry=1, timeout=0, retry_delay=1, backoff=False)`` wraps a step as 1.x's
did: the object has ``func``, ``task``, ``retry``, ``timeout``, ``retry_delay``, ``backoff`` and
``params``, is a step (``task.add`` takes it; the engine applies its options), and calling it with
``task=`` calls the function with the contexts it names and returns
``Context(storage=<result>, task_id=task.task_id, workflow_id=task.workflow_id)``. Called without
``task=`` it returns the function's result itself. ``Action(retry=3)`` is a decorator that makes
such an object. ``isinstance(step, Action)`` tells whether ``step`` is a step, whichever decorator
made it. ``from dotflow import action`` marks the function itself instead (see ``dotflow.actions``).
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from dotflow.actions import MARK, ActionOptions, action, options_of
from dotflow.context import Context

__all__ = ["Action", "action"]

_INPUTS = ("initial_context", "previous_context")


class _Decorated(type):
    def __instancecheck__(cls, instance: Any) -> bool:
        return options_of(instance) is not None


class Action(metaclass=_Decorated):
    """A step wrapped the 1.x way; see the module's documentation."""

    def __init__(
        self,
        func: Callable[..., Any] | None = None,
        task: Any = None,
        retry: int = 1,
        timeout: float = 0,
        retry_delay: float = 1,
        backoff: bool = False,
    ) -> None:
        self.func = func
        self.task = task
        self.retry = retry
        self.timeout = timeout
        self.retry_delay = retry_delay
        self.backoff = backoff
        self.params: list[str] = []
        if func is not None:
            functools.update_wrapper(self, func)
            setattr(self, MARK, ActionOptions(retry=retry, timeout=timeout, retry_delay=retry_delay, backoff=backoff))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.func is None:  # Action(retry=3) decorating: Action(retry=3)(fn)
            if len(args) != 1 or kwargs or not callable(args[0]):
                raise TypeError("Action(...) with no function decorates one: Action(retry=3)(fn)")
            return Action(args[0], task=self.task, retry=self.retry, timeout=self.timeout,
                          retry_delay=self.retry_delay, backoff=self.backoff)
        self._set_params()
        task = self._get_task(kwargs)
        result = self._run_action(*args, **self._get_context(kwargs))
        if task is None:
            return result
        return Context(storage=result, task_id=task.task_id, workflow_id=task.workflow_id)

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # an @Action method: bound to the instance, unless it was written without `self` (1.x ran those)
        if instance is None or not self._takes_positional():
            return self
        import types

        return types.MethodType(self, instance)

    def _takes_positional(self) -> bool:
        # `self` is the first parameter, unless there is none or it is one of the contexts
        code = getattr(self.func, "__code__", None)
        if code is None or code.co_flags & 0x04:
            return True
        return code.co_argcount > 0 and code.co_varnames[0] not in _INPUTS

    def _run_action(self, *args: Any, **kwargs: Any) -> Any:
        """Call the function; an ``async def`` one runs to its end on an event loop (a thread's
        own when the caller's thread already runs one), as in 1.x."""
        assert self.func is not None
        result = self.func(*args, **kwargs)
        import inspect

        if not inspect.isawaitable(result):
            return result
        import asyncio

        async def awaited() -> Any:
            return await result

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(awaited())
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, awaited()).result()

    def _set_params(self) -> None:
        """``params``: the names the function (a class: its ``__init__``) takes, as 1.x read them."""
        target = self.func
        if isinstance(target, type):
            target = target.__init__ if target.__init__ is not object.__init__ else None  # type: ignore[misc]
        code = getattr(getattr(target, "__func__", target), "__code__", None)
        self.params = list(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]) if code else []

    def _get_context(self, kwargs: dict[str, Any]) -> dict[str, Context]:
        """The contexts among ``kwargs`` that the function names, each as a Context; the rest is dropped."""
        return {name: Context(kwargs.get(name)) for name in _INPUTS if name in self.params}

    def _get_task(self, kwargs: dict[str, Any]) -> Any:
        return kwargs.get("task")

    def __repr__(self) -> str:
        return (f"Action({getattr(self.func, '__qualname__', self.func)!r}, retry={self.retry}, "
                f"timeout={self.timeout}, retry_delay={self.retry_delay}, backoff={self.backoff})")
