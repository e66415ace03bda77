"""The worker's side of every executor but thread: run one step call from its pickled request.

``execute`` is what a worker process, a Dask worker or an Executor instance runs; it never
raises for the step's own failures but describes them in the reply, so a Dask or
``concurrent.futures`` error on the driver always means the worker was lost.

The step runs without its ``timeout``: the driver enforces it, by killing the worker process
(``executor="process"``) or abandoning the call. A method's own ``@action(timeout=...)``
inside a class step still applies here; a sync method abandoned that way leaves a thread
running, so the reply asks the process pool to retire this worker.
"""

from __future__ import annotations

import pickle
from typing import Any

_UNBOUNDED = None  # the ActionOptions with no timeout, made on first use


class _Inputs:
    """What ``run_step`` reads of a task on this side: its ``initial_context``."""

    __slots__ = ("_initial",)

    def __init__(self, initial: Any) -> None:
        self._initial = initial

    @property
    def initial_context(self) -> Any:
        if self._initial is None:
            from dotflow.context import Context

            self._initial = Context()
        return self._initial


def execute(request: bytes) -> bytes:
    """Run the step call in ``request`` (see ``base.encode``) and return the pickled reply."""
    return run(request)[0]


def run(request: bytes) -> tuple[bytes, bool]:
    """``execute``, plus whether this process should stop serving (a thread was abandoned)."""
    try:
        step, initial, previous = pickle.loads(request)
    except BaseException as exc:  # the step's module may fail to import here, with any error
        return _dump(("unloadable", _describe(exc))), False
    result = outcome(step, initial, previous)
    if result[0] == "ok":
        reply = _dump(result, result=True)
    else:
        reply = _raised(result[1], result[2])
    return reply, _abandoned_threads()


def outcome(step: Any, initial: Any, previous: Any) -> tuple[Any, ...]:
    """Call the step: ``("ok", value)``, or ``("raised", exception, traceback text)``."""
    global _UNBOUNDED
    from dotflow.execution.step import run_step

    if _UNBOUNDED is None:
        from dotflow.actions import ActionOptions

        _UNBOUNDED = ActionOptions(timeout=0)
    try:
        return ("ok", run_step(step, _UNBOUNDED, _Inputs(initial), previous))  # type: ignore[arg-type]
    except BaseException as exc:  # every failure goes back to the driver, which decides
        import traceback

        return ("raised", exc, traceback.format_exc())


def _raised(exc: BaseException, traceback: str) -> bytes:
    try:
        blob: bytes | None = _pickle(exc)
    except Exception:
        blob = None  # the driver re-creates it as a RemoteStepError from its type and text
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not lose the failure itself
        message = ""
    return _dump(("raised", blob, type(exc).__name__, message, traceback))


def _dump(reply: tuple[Any, ...], result: bool = False) -> bytes:
    try:
        return _pickle(reply)
    except Exception as exc:
        if not result:
            raise
        return pickle.dumps(("unpicklable", _describe(exc)), protocol=5)


def _pickle(value: Any) -> bytes:
    """``value`` pickled, by plain pickle when it can (a worker then needs no cloudpickle), else by
    cloudpickle (a lambda, an instance of a class that came by value)."""
    try:
        return pickle.dumps(value, protocol=5)
    except Exception:
        import cloudpickle

        return cloudpickle.dumps(value, protocol=5)


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())[:300]


def _abandoned_threads() -> bool:
    import threading

    return any(
        thread.name.startswith(("dotflow-step-", "dotflow-async-step")) and thread.is_alive()
        for thread in threading.enumerate()
    )
