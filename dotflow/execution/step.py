"""Calling one step: the parameters it names, async steps, class steps and timeouts."""

from __future__ import annotations

import threading
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable
from weakref import WeakKeyDictionary

from dotflow.actions import ActionOptions, options_of
from dotflow.context import Context
from dotflow.errors import StepExitError, StepTimeoutError
from dotflow.interrupts import RunInterrupted, join_interruptibly
from dotflow.naming import short_name, step_name

if TYPE_CHECKING:
    from dotflow.task import Task

_CO_COROUTINE = 0x80
_CO_VARARGS = 0x04
_CO_VARKEYWORDS = 0x08
_INPUTS = ("initial_context", "previous_context")


def _accepted(target: Any) -> tuple[str, ...]:
    """Which of ``initial_context`` / ``previous_context`` the callable takes by name.

    Nothing is cached per callable: a cache keyed by bound methods or callable instances
    would keep every step-returned instance alive for the life of the process.
    """
    if isinstance(target, type):
        if target.__init__ is object.__init__:  # type: ignore[misc]
            return ()  # object.__init__'s (*args, **kwargs) would accept anything, then fail
        func = target.__init__  # type: ignore[misc]
    else:
        func = target
    func = getattr(func, "__func__", func)
    code = getattr(func, "__code__", None)
    if code is not None:
        names = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
        takes_all = bool(code.co_flags & _CO_VARKEYWORDS)
    else:
        import inspect

        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        names = tuple(params)
        takes_all = any(p.kind is p.VAR_KEYWORD for p in params.values())
    return _INPUTS if takes_all else tuple(n for n in _INPUTS if n in names)


def is_async(func: Any) -> bool:
    code = getattr(getattr(func, "__func__", func), "__code__", None)
    return bool(code is not None and code.co_flags & _CO_COROUTINE)


def call(target: Any, task: Task, previous: Context, timeout: float = 0) -> Any:
    """Call ``target`` with the inputs it names, within ``timeout`` seconds (0 = none)."""
    kwargs = {}
    for name in _accepted(target):
        # task.initial_context is made on first use: most steps never ask for it
        kwargs[name] = task.initial_context if name == "initial_context" else previous
    if is_async(target):
        return _run_coroutine(target(**kwargs), timeout)
    if timeout:
        result = _call_with_timeout(target, kwargs, timeout)
    else:
        result = target(**kwargs)
    if _is_awaitable(result):
        return _run_coroutine(result, timeout)
    return result


def run_step(step: Any, options: ActionOptions, task: Task, previous: Context) -> Any:
    """Run a step and return its result. A class step (or a step returning an instance of
    a class with ``@action`` methods) runs those methods in source order, each getting the
    previous method's Context; the result is then the list of method Contexts.

    The step's ``timeout`` bounds the whole attempt: making the instance and running every
    method. A method's own ``timeout`` still applies inside that budget.
    """
    try:
        return _run_step(step, options, task, previous)
    except SystemExit as exc:
        if isinstance(exc, RunInterrupted):
            raise
        raise StepExitError(
            f"step {step_name(step)} called sys.exit({exc.code!r}); a step ends by returning or raising"
        ) from exc


def _run_step(step: Any, options: ActionOptions, task: Task, previous: Context) -> Any:
    timeout = options.timeout
    deadline = monotonic() + timeout if timeout else 0.0
    result = call(step, task, previous, timeout)
    methods = _action_methods(type(result)) if result is not None and not isinstance(result, _PLAIN) else ()
    if not methods:
        return result
    contexts: list[Context] = []
    last = previous
    for name in methods:
        method = _selfless(getattr(result, name))
        own = options_of(method)
        limit = own.timeout if own is not None else 0.0
        step_bound = False
        if deadline:
            left = deadline - monotonic()
            if not limit or left < limit:
                limit, step_bound = left, True
            if left <= 0:
                raise _step_timeout(step, timeout)
        try:
            last = Context(call(method, task, last, limit))
        except StepTimeoutError:
            if step_bound:
                raise _step_timeout(step, timeout) from None
            raise
        contexts.append(last)
    return contexts


def _selfless(method: Any) -> Any:
    """The function itself for a method written without ``self`` (``def run():``,
    ``def run(previous_context):``), which 1.x ran
    (it called action methods without their instance first); the bound method otherwise."""
    func = getattr(method, "__func__", None)
    code = getattr(func, "__code__", None)
    if code is None or getattr(method, "__self__", None) is None or code.co_flags & _CO_VARARGS:
        return method
    if code.co_argcount == 0 or code.co_varnames[0] in _INPUTS:  # no `self`: the first is a context
        return func
    return method


def _step_timeout(step: Any, timeout: float) -> StepTimeoutError:
    name = short_name(step, fallback=lambda obj: type(obj).__qualname__)
    return StepTimeoutError(
        f"step {name} timed out after {timeout:g}s (the whole step, its @action methods included); "
        "the running method was abandoned (an async one is cancelled, a sync one runs on unobserved until it returns)"
    )


_PLAIN = (str, bytes, int, float, bool, list, tuple, dict, set, frozenset, Context)
# weak keys: a class made at run time (in a factory, in a test) is not kept alive by the cache
_methods_cache: WeakKeyDictionary[type, tuple[str, ...]] = WeakKeyDictionary()


def _action_methods(cls: type) -> tuple[str, ...]:
    try:
        return _methods_cache[cls]
    except (KeyError, TypeError):
        pass
    names: dict[str, None] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if name in names:
                continue
            if options_of(getattr(value, "__func__", value)) is not None and callable(value):
                names[name] = None
    found = tuple(names)
    try:
        _methods_cache[cls] = found
    except TypeError:  # a type that takes no weak references
        pass
    return found


def _is_awaitable(value: Any) -> bool:
    return hasattr(value, "__await__") and not isinstance(value, type)


def _run_coroutine(awaitable: Any, timeout: float) -> Any:
    """Run an awaitable to completion on a fresh event loop; on another thread when this
    thread already runs a loop."""
    import asyncio

    async def guarded() -> Any:
        if timeout:
            try:
                return await asyncio.wait_for(awaitable, timeout)
            except asyncio.TimeoutError:
                raise StepTimeoutError(f"step timed out after {timeout:g}s and was cancelled") from None
        return await awaitable

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(guarded())
    _, value = in_thread(lambda: asyncio.run(guarded()), "dotflow-async-step", None)
    return value


def _call_with_timeout(target: Any, kwargs: dict[str, Any], timeout: float) -> Any:
    """Run a sync step on a daemon thread and stop waiting after ``timeout`` seconds.

    Python cannot kill a thread, so a step that overruns is abandoned: it keeps running
    unobserved until it returns, and the error (logged with the task's Failed line) says so.
    """
    name = short_name(target, fallback=repr)
    done, value = in_thread(lambda: target(**kwargs), f"dotflow-step-{name}", timeout)
    if not done:
        raise StepTimeoutError(
            f"step {name} timed out after {timeout:g}s; it was abandoned and its thread runs on "
            "unobserved until it returns"
        )
    return value


def in_thread(work: Callable[[], Any], name: str, timeout: float | None) -> tuple[bool, Any]:
    """Run ``work()`` on a daemon thread, in a copy of this thread's ``contextvars``, and wait
    for it at most ``timeout`` seconds (None: until it ends).

    Returns ``(True, value)``, or ``(False, None)`` when it is still running; an exception it
    raised is re-raised here, on the caller's thread.
    """
    import contextvars

    context = contextvars.copy_context()
    box: dict[str, Any] = {}

    def runner() -> None:
        try:
            box["value"] = context.run(work)
        except BaseException as exc:  # handed back to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=runner, name=name, daemon=True)
    thread.start()
    join_interruptibly(thread, timeout)
    if thread.is_alive():
        return False, None
    if "error" in box:
        raise box["error"]
    return True, box.get("value")
