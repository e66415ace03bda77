"""The contract of an executor, and the driver's side of the wire: one request out, one reply back.

A request is ``cloudpickle.dumps((step, initial_context, previous_context, call))``; cloudpickle
sends steps defined in ``__main__``, closures and classes made at run time by value, and
everything importable by reference. ``call`` names the driver's running task for the worker's
``dotflow.current_task()``: ``(workflow_id, task_id, attempt, run_attempt, capture)``, taken from the
driver's own ``TaskContext`` (the runner enters it around ``StepRunner.run``); the worker names
the step from the step itself, as the driver does, when the step asks. ``capture`` says that the
run ships its steps' output to an observer: the worker takes it and sends it back
(``apply_update``). The reply (see ``remote.py``) is the step's value, or the exception it raised
with the worker's traceback, or a note that something could not be pickled; with what the driver
still has to hear of the call (the metadata the step attached, its last output).

While a step runs, what it says of itself reaches the driver as updates (``apply_update``), and the
driver's cancel reaches it, by each executor's own channel: see ``process.py`` and ``dask.py``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from dotflow.capture import note, written
from dotflow.errors import RemoteStepError, StepPickleError
from dotflow.naming import step_name

if TYPE_CHECKING:
    from dotflow.context import Context
    from dotflow.live import TaskContext
    from dotflow.task import Task

# Seconds between two looks of a waiting driver at its task's cancel flag (the worker then sees it
# within about this much, plus the time its step takes to ask).
CANCEL_POLL = 0.1


class StepRunner:
    """Runs one step call somewhere else and returns its value, or raises what the call raised.

    ``run`` is called by the run's orchestrating thread (one per running task), inside the
    attempt's ``TaskContext`` (``dotflow.current_task()`` there is the driver's), and blocks
    until the call ends; it enforces the step's ``timeout`` (raising StepTimeoutError) and
    turns a lost worker into WorkerDiedError. ``capacity`` is how many calls it runs at
    once (None: unknown), which sizes the run's thread pool in parallel mode. ``close``
    ends what ``open_executor`` started; it is called once, when the run ends.
    """

    label = "executor"
    capacity: int | None = None

    def run(self, task: Task, previous: Context) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the run started (nothing by default)."""


class RemoteTraceback(Exception):
    """The worker's traceback, as the cause of the exception re-raised here (so the task's
    error traceback shows where the step failed, in the worker)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return f'\n"""\n{self.text.rstrip()}\n"""'


def encode(task: Task, previous: Context, where: str, context: TaskContext | None = None) -> bytes:
    """The request for ``task``'s step call, for the attempt ``context`` (the driver's; None: the
    worker's ``current_task()`` is None); StepPickleError naming the step when the step or its
    inputs cannot be pickled. ``where`` ends the message ("a worker process", ...)."""
    import cloudpickle

    call = None
    if context is not None:
        live = context.live
        capture = live is not None and live.log_sink is not None  # the worker reads the step's output
        call = (context.workflow_id, context.task_id, context.attempt, context.run_attempt, capture)
    try:
        return cloudpickle.dumps((task.step, task.given_context, previous, call), protocol=5)
    except Exception as exc:
        raise StepPickleError(_unpicklable_request(task, previous, where, exc)) from None


def apply_update(context: TaskContext, update: dict[str, Any]) -> None:
    """What a worker's step said while it ran (``remote._Sink``: ``"p"``, its latest progress,
    ``"m"``, metadata values, ``"l"``, lines the worker's tees made; ``capture.Descriptors``:
    ``"w"``, what its descriptors read), told to the driver's ``context``: it reaches the run's
    LiveRun as a step on the driver's threads would. A malformed update is dropped: it never
    fails the step."""
    try:
        progress = update.get("p")
        if progress is not None:
            done, total, message = progress
            context.progress(done, total, message)
        metadata = update.get("m")
        if metadata:
            context.metadata(**metadata)
        live = context.live
        if live is not None:
            for at, stream, level, text in update.get("l") or ():
                note(live, context.task_id, stream, level, text, at)
            for stream, at, text in update.get("w") or ():
                written(live, context.task_id, stream, text, at)
    except Exception as exc:
        logging.getLogger("dotflow").debug("task %s: an update from its worker was dropped: %s",
                                           context.task_id, exc)


def _unpicklable_request(task: Task, previous: Context, where: str, exc: Exception) -> str:
    import cloudpickle

    from dotflow.redact import one_line

    name = step_name(task.step)
    reason = one_line(f"{type(exc).__name__}: {exc}", 300)
    for label, value in (("initial_context", task.given_context), ("previous_context", previous)):
        try:
            cloudpickle.dumps(value, protocol=5)
        except Exception:
            return (
                f"the {label} of step {name} cannot be sent to {where}: {reason}; "
                "pass plain data (dicts, lists, numbers, strings) or picklable objects"
            )
    return (
        f"step {name} cannot be sent to {where}: {reason}; define it at module level, or keep what it "
        "uses picklable (no locks, open files, sockets or generators), or use executor='thread'"
    )


def decode(reply: bytes | memoryview, task: Task, where: str, context: TaskContext | None = None) -> Any:
    """The value of a reply, or raise what the step raised (with the worker's traceback as its
    cause), or StepPickleError when the step or its result could not cross. The metadata the
    step attached goes to ``context`` first, so it goes with the task's report of its outcome."""
    import pickle

    kind, update, *rest = pickle.loads(reply)
    if update and context is not None:
        apply_update(context, update)
    if kind == "ok":
        return rest[0]
    if kind == "raised":
        blob, type_name, message, traceback = rest
        error: BaseException | None = None
        if blob is not None:
            try:
                error = pickle.loads(blob)
            except Exception:
                error = None
        if not isinstance(error, BaseException):
            error = RemoteStepError(f"{type_name}: {message}" if message else type_name)
        error.__cause__ = RemoteTraceback(traceback)
        raise error
    name = step_name(task.step)
    if kind == "unloadable":
        raise StepPickleError(
            f"step {name} cannot be loaded in {where}: {rest[0]}; a step pickled by reference needs its "
            "module importable there (installed, or on sys.path)"
        )
    raise StepPickleError(
        f"the result of step {name} cannot be sent back from {where}: {rest[0]}; return plain data "
        "(dicts, lists, numbers, strings) or picklable objects"
    )
