"""``@action``: marks a function, a class or a method as a workflow step."""

from __future__ import annotations

from typing import Any, Callable, TypeVar, overload

F = TypeVar("F", bound=Callable[..., Any])

MARK = "__dotflow_action__"


class ActionOptions:
    """How the engine runs one step: attempts, timeout and the delay between attempts."""

    __slots__ = ("retry", "timeout", "retry_delay", "backoff")

    def __init__(self, retry: int = 1, timeout: float = 0, retry_delay: float = 1, backoff: bool = False) -> None:
        self.retry = max(int(retry), 1)
        self.timeout = max(float(timeout or 0), 0.0)
        self.retry_delay = max(float(retry_delay or 0), 0.0)
        self.backoff = bool(backoff)

    def __repr__(self) -> str:
        return (
            f"ActionOptions(retry={self.retry}, timeout={self.timeout}, "
            f"retry_delay={self.retry_delay}, backoff={self.backoff})"
        )


DEFAULT_OPTIONS = ActionOptions()


@overload
def action(func: F) -> F: ...


@overload
def action(
    func: None = None, *, retry: int = 1, timeout: float = 0, retry_delay: float = 1, backoff: bool = False
) -> Callable[[F], F]: ...


def action(
    func: Any = None, *, retry: int = 1, timeout: float = 0, retry_delay: float = 1, backoff: bool = False
) -> Any:
    """Mark a step. Use it bare (``@action``) or with options (``@action(retry=3, timeout=10)``).

    - ``retry``: total number of attempts (values under 1 count as 1).
    - ``timeout``: seconds one attempt may take (0 = no limit). A timed-out attempt fails
      the task and is not retried.
    - ``retry_delay``: seconds between attempts; ``backoff=True`` doubles it after each failure.

    The decorated object is returned unchanged apart from the mark and, as in 1.x, the
    attributes ``retry``, ``timeout``, ``retry_delay`` and ``backoff`` (unless it has them
    already), so it can still be called directly: its own arguments, its own result. 1.x's
    wrapper, which took ``task=`` and returned a Context, is ``dotflow.core.action.Action``.
    """
    options = (
        DEFAULT_OPTIONS
        if (retry, timeout, retry_delay, backoff) == (1, 0, 1, False)
        else ActionOptions(retry=retry, timeout=timeout, retry_delay=retry_delay, backoff=backoff)
    )

    def mark(target: F) -> F:
        if not callable(target):
            from dotflow.errors import UsageError

            raise UsageError(f"@action decorates functions, methods and classes, not {type(target).__name__}")
        setattr(target, MARK, options)
        # 1.x's decorated steps carry their options as attributes; one the object has already (a
        # class's own `timeout`, say) is left alone
        for name, value in (("retry", retry), ("timeout", timeout), ("retry_delay", retry_delay),
                            ("backoff", backoff)):
            if not hasattr(target, name):
                try:
                    setattr(target, name, value)
                except (AttributeError, TypeError):  # a callable that takes no attributes
                    pass
        return target

    if func is not None:
        return mark(func)
    return mark


def options_of(step: Any) -> ActionOptions | None:
    """The options ``@action`` put on ``step``, or None when it is not a step."""
    found = getattr(step, MARK, None)
    return found if isinstance(found, ActionOptions) else None
