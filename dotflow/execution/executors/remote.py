"""The worker's side of every executor but thread: run one step call from its pickled request.

``execute`` is what a worker process, a Dask worker or an Executor instance runs; it never
raises for the step's own failures but describes them in the reply, so a Dask or
``concurrent.futures`` error on the driver always means the worker was lost.

The step runs without its ``timeout``: the driver enforces it, by killing the worker process
(``executor="process"``) or abandoning the call. A method's own ``@action(timeout=...)``
inside a class step still applies here; a sync method abandoned that way leaves a thread
running, so the reply asks the process pool to retire this worker.

The run context (``dotflow.current_task()``) of the call: the request names the driver's task
(``base.encode``), and the step gets a ``TaskContext`` with the driver's ids, step name,
attempt and run_attempt. What the step says goes to a ``_Sink``:

- ``metadata(...)``: merged and bounded (16 KiB) here, and the whole of it rides the reply, so
  it reaches the driver before the task's outcome whatever the executor;
- what the step writes, when its run ships logs to an observer (the request's ``capture``): on
  the process pool and on a Dask worker of one thread the worker's descriptors 1 and 2 are read
  (``dotflow.capture.Descriptors``), and what is read travels as ``"w"`` messages, pieces of
  text the driver cuts into lines; on a Dask worker of several threads, which runs calls at once,
  the tees of ``dotflow.capture`` take what the step's thread writes to ``sys.stdout`` and
  ``sys.stderr`` and its ``logging`` records, as on the driver, as ``"l"`` messages of lines.
  On Dask the last ones ride the reply;
- ``progress(...)`` and ``metadata(...)`` travel while the step runs when the executor has a
  ``Link`` back to the driver (the process pool's socket, Dask's events): the latest progress and
  the metadata changed since the last message, at most one message per ``SEND_INTERVAL`` per
  call; what a step says faster is coalesced, and a daemon thread (``dotflow-live``, started the
  first time a message has to wait) sends it when its turn comes;
- ``cancel_requested()`` asks the link (the driver tells the worker when the run or the task is
  cancelled); without a link it is False.

A step that calls none of these pays for two small objects and a ContextVar set per call.
"""

from __future__ import annotations

import json
import os
import pickle
import threading
import time
from typing import Any

from dotflow.live import METADATA_MAX, TaskContext, enter, leave

_UNBOUNDED = None  # the ActionOptions with no timeout, made on first use
SEND_INTERVAL = 0.25  # seconds between two messages of one call to the driver (at most 4 a second)
LINES_SENT = 1000  # lines in one message at most: a call with that many waiting sends at once
WRITTEN_SENT = 256 * 1024  # characters read from a worker's descriptors that make a message go at once


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
    """Run the step call in ``request`` (see ``base.encode``) and return the pickled reply: what
    an Executor instance's worker runs. Nothing travels while the step runs (no link): its
    metadata comes back with the reply, its progress is dropped, and ``cancel_requested()`` is False."""
    return run(request)[0]


def run(request: bytes, link: Link | None = None) -> tuple[bytes, bool]:
    """``execute`` with ``link`` to the driver while the step runs, plus whether this process
    should stop serving (a thread was abandoned).

    The reply is ``(kind, update, *fields)``: ``("ok", update, value)``, ``("raised", update,
    exception pickle, type name, message, traceback)``, ``("unpicklable", update, why)`` or
    ``("unloadable", None, why)``; ``update`` is what the driver still has to hear of the call, as
    ``base.apply_update`` takes it (the metadata the step attached, its last lines), or None.
    """
    try:
        step, initial, previous, call = pickle.loads(request)
    except BaseException as exc:  # the step's module may fail to import here, with any error
        return _dump(("unloadable", None, _describe(exc))), False
    sink = token = None
    if call is not None:
        sink = _Sink(call, link)
        token = enter(sink.context(step))
    if link is not None:
        link.begin(call is not None and call[4], sink)
    try:
        result = outcome(step, initial, previous)
    finally:
        update = None
        if link is not None:
            link.end()
        if sink is not None:
            leave(token)
            update = sink.finish()
    if result[0] == "ok":
        reply = _dump(("ok", update, result[1]), result=True, update=update)
    else:
        reply = _raised(result[1], result[2], update)
    return reply, _abandoned_threads()


def execute_on_dask(request: bytes, key: str) -> bytes:
    """``execute`` on a Dask worker, for the call Dask knows as ``key``: progress and metadata go to
    the driver as the worker's events, a cancel comes as ``cancel_calls`` (see ``dask.py``)."""
    try:
        return run(request, _DaskLink(key))[0]
    finally:
        _cancelled_calls.pop(key, None)


# -- the link to the driver ----------------------------------------------------------------------


class Link:
    """How one worker talks to the driver while a step runs: ``send`` one message (a dict with
    ``"p"``, the latest progress ``[done, total, message]``, ``"m"``, metadata values, ``"l"``,
    lines ``[(time, stream, level, text), ...]``, and/or ``"w"``, what the worker's descriptors
    read ``[(stream, time, text), ...]``), and ``cancelled`` (whether the driver asked this call
    to stop). ``begin`` and ``end`` frame each call: ``capture`` says that
    its run ships the steps' output to an observer, and ``end`` returns once the call's lines went."""

    __slots__ = ()

    def begin(self, capture: bool, sink: _Sink | None) -> None:
        """A call starts, saying what it says of itself to ``sink`` (nothing by default: its output is not read)."""

    def end(self) -> None:
        """The call ended, its reply not built yet."""

    def send(self, update: dict[str, Any]) -> None:
        """Deliver ``update`` to the driver (nothing by default)."""

    def cancelled(self) -> bool:
        return False


TOPIC = "dotflow-live"  # the Dask event topic of every dotflow call (one topic: the scheduler keeps each one forever)

# Dask: the calls the driver asked to stop, by key, set by ``cancel_calls`` on every worker of the
# cluster (the driver does not know which worker runs a call); bounded, oldest first out.
_cancelled_calls: dict[str, None] = {}
_CANCELLED_KEPT = 1024


def cancel_calls(keys: list[str]) -> None:
    """On a Dask worker (``Client.run``, in the worker's event loop): the calls ``keys`` are asked
    to stop; their steps' ``cancel_requested()`` turns true, even if they have not started yet."""
    for key in keys:
        _cancelled_calls[str(key)] = None
    while len(_cancelled_calls) > _CANCELLED_KEPT:
        _cancelled_calls.pop(next(iter(_cancelled_calls)), None)


class _DaskLink(Link):
    """A call on a Dask worker: messages are the worker's events on ``TOPIC`` (sent from any
    thread, through the worker's batched stream to the scheduler, which hands them to the
    subscribed clients); a cancel is the call's key in ``_cancelled_calls``. When the run ships
    logs, a worker of one thread has its descriptors 1 and 2 read (``dotflow.capture.Descriptors``:
    the call is the only one running, so what its programs write is its too); on a worker of several threads the
    tees of ``dotflow.capture`` are in place while the call runs, and take what its own thread
    writes. Either way the lines go to the call's sink."""

    __slots__ = ("_output", "_sink", "_worker", "key")

    def __init__(self, key: str) -> None:
        self.key = key
        self._sink: _Sink | None = None
        self._output: Any = None
        self._worker: Any = None
        try:
            from distributed import get_worker

            self._worker = get_worker()  # a ContextVar of the task's thread: read it here, not in the sender thread
        except (ImportError, ValueError):
            pass

    def begin(self, capture: bool, sink: _Sink | None) -> None:
        if not capture or sink is None:
            return
        from dotflow import capture as tees

        # one thread: its descriptors hold only this call's output, unless the worker runs in the
        # driver's own process (Client(processes=False)), where a run captures already
        if getattr(getattr(self._worker, "state", None), "nthreads", 0) == 1 and not tees.active():
            from dotflow.capture import worker_descriptors

            self._output = worker_descriptors()
            self._output.begin(sink.take_written)
            return
        sink.log_sink = sink.take_lines
        self._sink = sink
        tees.start()

    def end(self) -> None:
        output, self._output = self._output, None
        if output is not None:
            output.end()  # what the call's step wrote last waits in its sink, for the reply
        sink, self._sink = self._sink, None
        if sink is not None:
            from dotflow import capture as tees

            tees.step_ended(sink, sink.task_id)  # a line begun and not ended is a line
            tees.dispatch()  # every line of the call, to its sink, before the reply
            sink.log_sink = None
            tees.stop()

    def send(self, update: dict[str, Any]) -> None:
        if self._worker is not None:
            self._worker.log_event(TOPIC, {"key": self.key, **update})

    def cancelled(self) -> bool:
        return self.key in _cancelled_calls


# -- what the step says, on this side --------------------------------------------------------------


# Guards every sink of this process (a Dask worker runs several calls at once); a step talks
# rarely, so one lock costs nothing, and a call that says nothing creates none.
_LOCK = threading.Lock()


class _Sink:
    """What a worker's ``TaskContext`` writes to, for one call, in place of the driver's LiveRun
    (a TaskContext calls only ``set_progress`` and ``add_metadata``; the tees of
    ``dotflow.capture`` its ``log_sink``, when the link set one). It keeps the call's metadata,
    merged and bounded as the driver's (so a step past 16 KiB is warned here, where it runs), and
    sends the changes to the driver through the link, coalesced; lines wait for the next message,
    which goes at once when ``LINES_SENT`` wait. After ``finish`` it drops what it is told
    (a thread of the step may outlive the call). Made for every call, so it is small: its state is
    created when the step first says something."""

    __slots__ = ("_asked", "_call", "_link", "_metadata", "_pending", "_scheduled", "_sent", "active", "log_sink")

    def __init__(self, call: tuple[Any, ...], link: Link | None) -> None:
        self._call = call  # (workflow_id, task_id, attempt, run_attempt, capture)
        self._link = link
        self._metadata: dict[str, Any] | None = None
        self._pending: dict[str, Any] | None = None
        self._sent = 0.0  # time.monotonic() of the last message
        self._scheduled = False  # the sender thread has this sink's next message to send
        self._asked = False
        self.active = True
        self.log_sink: Any = None

    def context(self, step: Any) -> TaskContext:
        """The ``current_task()`` of ``step`` (named from it only when asked, as on the driver). It
        refers to this sink, never the reverse: no cycle, so both go with the call (a cycle per call
        would feed the garbage collector)."""
        workflow_id, task_id, attempt, run_attempt, _ = self._call
        return TaskContext(workflow_id, task_id, step, attempt, run_attempt, self,  # type: ignore[arg-type]
                           self.cancel_requested)

    def set_progress(self, task_id: str, done: float, total: float | None, message: str | None) -> None:
        self._update("p", [done, total, message])

    def add_metadata(self, task_id: str, values: dict[str, Any]) -> bool:
        """``LiveRun.add_metadata``'s rule, for this call."""
        with _LOCK:
            merged = {**(self._metadata or {}), **values}
            if len(json.dumps(merged, separators=(",", ":"), default=str)) > METADATA_MAX:
                return False
            self._metadata = merged
        self._update("m", values)
        return True

    @property
    def task_id(self) -> str:
        """The driver's id of the call's task."""
        return self._call[1]  # type: ignore[no-any-return]

    def take_written(self, stream: str, at: float, text: str) -> None:
        """What the worker's descriptors read for the call (``Descriptors.begin``'s taker)."""
        self._update("w", (stream, at, text))

    def take_lines(self, lines: list[Any]) -> None:
        """The ``log_sink`` of a call whose run ships logs: lines ``(time, task id, stream, level,
        text)`` from the tees, for the driver (which knows the task)."""
        self._update("l", [(at, stream, level, text) for at, _, stream, level, text in lines])

    def _update(self, kind: str, value: Any) -> None:
        if self._link is None:
            return
        with _LOCK:
            if not self.active:
                return
            pending = self._pending
            if pending is None:
                pending = self._pending = {}
            if kind == "p":
                pending["p"] = value  # the latest progress wins
            elif kind == "l":
                lines = pending.setdefault("l", [])
                lines.extend(value)
                if len(lines) >= LINES_SENT:  # not kept here: the driver's log lane holds the bound
                    self._send()
                    return
            elif kind == "w":
                written = pending.setdefault("w", [])
                written.append(value)
                pending["size"] = pending.get("size", 0) + len(value[2])
                if pending["size"] >= WRITTEN_SENT:
                    self._send()
                    return
            else:
                pending.setdefault("m", {}).update(value)
            if self._scheduled:
                return
            due = self._sent + SEND_INTERVAL
            if time.monotonic() >= due:
                self._send()
                return
            self._scheduled = True
        _sender().schedule(self, due)

    def _send(self) -> None:
        """Send what is pending (``_LOCK`` held), lines ``LINES_SENT`` a message."""
        update, self._pending = self._pending, None
        self._sent = time.monotonic()
        if update:
            update.pop("size", None)
        lines = update.pop("l", None) if update else None  # type: ignore[union-attr]
        messages = [update] if update else []
        if lines:
            messages += [{"l": lines[start:start + LINES_SENT]} for start in range(0, len(lines), LINES_SENT)]
        try:
            for message in messages:
                self._link.send(message)  # type: ignore[union-attr]
        except Exception:  # the driver is gone, or Dask refused the message: the step goes on
            pass

    def flush(self) -> None:
        """The sender thread's turn: send what waited, unless the call ended."""
        with _LOCK:
            self._scheduled = False
            if self.active and self._pending:
                self._send()

    def cancel_requested(self) -> bool:
        if self._asked:
            return True
        link = self._link
        if link is None:
            return False
        with _LOCK:
            if self.active and link.cancelled():
                self._asked = True
        return self._asked

    def finish(self) -> dict[str, Any] | None:
        """The call is over: nothing more is sent; what rides the reply (the step's metadata, its
        lines not sent yet), or None."""
        with _LOCK:
            self.active = False
            pending = self._pending or {}
            self._pending = None
            update = {kind: pending[kind] for kind in ("l", "w") if pending.get(kind)}
            if self._metadata is not None:
                update["m"] = self._metadata
            return update or None


class _Sender:
    """The worker's one ``dotflow-live`` thread: sends each sink's coalesced message when it is due."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[_Sink, float] = {}
        threading.Thread(target=self._loop, name="dotflow-live", daemon=True).start()

    def schedule(self, sink: _Sink, at: float) -> None:
        with self._cond:
            self._due[sink] = at
            self._cond.notify()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    ready = [sink for sink, at in self._due.items() if at <= now]
                    if ready:
                        for sink in ready:
                            del self._due[sink]
                        break
                    self._cond.wait(min(self._due.values()) - now if self._due else None)
            for sink in ready:
                sink.flush()


_the_sender: _Sender | None = None
_sender_lock = threading.Lock()


def _sender() -> _Sender:
    """The sender thread, started on first use."""
    global _the_sender
    with _sender_lock:
        if _the_sender is None:
            _the_sender = _Sender()
            os.register_at_fork(after_in_child=_forked)
        return _the_sender


def _forked() -> None:
    """In a process a step forks: the sender thread did not come along, and may have held the lock."""
    global _LOCK, _the_sender, _sender_lock
    _LOCK, _sender_lock, _the_sender = threading.Lock(), threading.Lock(), None


# -- the call and its reply -------------------------------------------------------------------------


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


def _raised(exc: BaseException, traceback: str, update: dict[str, Any] | None = None) -> bytes:
    try:
        blob: bytes | None = _pickle(exc)
    except Exception:
        blob = None  # the driver re-creates it as a RemoteStepError from its type and text
    try:
        message = str(exc)
    except Exception:  # a broken __str__ must not lose the failure itself
        message = ""
    return _dump(("raised", update, blob, type(exc).__name__, message, traceback))


def _dump(reply: tuple[Any, ...], result: bool = False, update: dict[str, Any] | None = None) -> bytes:
    try:
        return _pickle(reply)
    except Exception as exc:
        if not result:
            raise
        return pickle.dumps(("unpicklable", update, _describe(exc)), protocol=5)


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
