"""What a step writes, tagged with its task, for the observer: tees on ``sys.stdout`` and
``sys.stderr`` and a ``logging`` handler, in place while a run whose ``LiveRun`` has a log sink
goes on (a runner protocol version 2 backend's ``/logs``).

Attribution: a write or a log record belongs to the task whose step runs in the thread (the
context) that made it (``dotflow.current_task()``), also when several steps run at once on a
thread pool, and on a Dask worker, where the same tees run for the worker's calls (see
``execution/executors/remote.py``; a process worker's descriptors are read instead, by
``execution/executors/output.py``). What Python code writes is seen; what bypasses ``sys.stdout``
is not: a C extension or a subprocess writing to file descriptor 1 or 2 from a step on a thread,
and output from threads a step starts without copying its context
(``contextvars.copy_context().run``).

Cost: the step's thread only notes each write (its time, task and text) and writes it through;
a thread of this module (``dotflow-capture``) turns the notes into lines every ``TICK`` seconds,
hands them to each run's sink in one batch, and flushes the streams that were written, so a
step's prints reach a container's log (a pipe, which Python block-buffers) within a tick, not at
exit. Notes, log records and the engine's own lines (``note``) keep one order.

Only the standard library here.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from time import time
from typing import Any, Callable

from dotflow.live import running_task

STDOUT, STDERR, LOGGING, DOTFLOW = "stdout", "stderr", "logging", "dotflow"
TICK = 0.1  # seconds between two turns of the capture thread
# Notes waiting past this many, the writing thread turns them into lines itself: the notes of a
# step that prints faster than the capture thread keeps up stay bounded.
_BACKLOG = 20_000
_PARTIAL_MAX = 64 * 1024  # characters of a line without an end kept before it is cut

# A run's sink takes its lines in batches, each line (time, task id or None, stream, level, text).
Sink = Callable[[list[Any]], None]

_lock = threading.Lock()  # start/stop
_turn = threading.Lock()  # one turn of dispatch at a time
_users = [0]  # runs capturing now; the tees, the handler and the thread are in place while above 0
_installed: dict[str, Any] = {}
_notes: deque[tuple[Any, ...]] = deque()  # (time, live, task id, stream, level, text, complete)
_partial: dict[tuple[int, str, str], tuple[float, str]] = {}  # (live id, task id, stream) -> begun line
_stopping = threading.Event()


class _Tee:
    """``sys.stdout`` or ``sys.stderr`` while capture is on: writes go through to the stream as
    before, and what a step writes is noted for its run's log sink. The hot path: a note is one
    tuple appended; the capture thread does the rest."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name
        self.dirty = False  # written since the capture thread last flushed the stream

    def write(self, text: str) -> int:
        context = running_task(None)
        if context is not None:
            live = context.live
            # a worker process's context writes to a stand-in without a sink (remote.py)
            if live is not None and getattr(live, "log_sink", None) is not None:
                _notes.append((time(), live, context.task_id, self._name, None, text, False))
                self.dirty = True
                if len(_notes) > _BACKLOG:
                    dispatch()
        return self._stream.write(text)  # type: ignore[no-any-return]

    @property
    def stream(self) -> Any:
        """The stream this tee writes to."""
        return self._stream

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        self._stream.flush()

    def __getattr__(self, name: str) -> Any:  # encoding, fileno, isatty, buffer...: the stream's own
        return getattr(self._stream, name)


class _Handler(logging.Handler):
    """Records of the application's loggers emitted while a step runs, at the levels the
    application configured (the handler sits on the root logger and filters nothing itself);
    dotflow's own records are not taken (the engine's lines go as stream ``dotflow``)."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        context = running_task(None)
        live = context.live if context is not None else None
        if context is None or getattr(live, "log_sink", None) is None or record.name.split(".", 1)[0] == "dotflow":
            return
        try:
            text = self.format(record)
        except Exception:
            return
        for line in text.split("\n"):
            note(live, context.task_id, LOGGING, record.levelname, line)

    def handle(self, record: logging.LogRecord) -> bool:
        taken = super().handle(record)
        # Python shows a record no handler takes on stderr (logging.lastResort): with this handler
        # on the root logger it would take every record, so the last resort is called here instead
        last = logging.lastResort
        if last is not None and record.levelno >= last.level and not _other_handlers(record.name, self):
            # as the last resort writes it, but to the stream under the tee: the record went to
            # the log lane already, and must not go again as a stderr line
            stream = _installed.get("stderr")
            if stream is not None:
                try:
                    stream.write(last.format(record) + "\n")
                except Exception:
                    pass
        return bool(taken)


def _other_handlers(name: str, own: logging.Handler) -> bool:
    """Whether a record of logger ``name`` meets a handler other than ``own`` on its way up."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        if any(handler is not own for handler in logger.handlers):
            return True
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


def note(live: Any, task_id: str | None, stream: str, level: str | None, line: str, at: float | None = None) -> None:
    """A complete line for ``live``'s sink (a log record, an engine line, a line a worker process
    read, written at ``at``), in order with the writes."""
    if live.log_sink is not None:
        _notes.append((time() if at is None else at, live, task_id, stream, level, line, True))


def step_ended(live: Any, task_id: str) -> None:
    """A step's attempt ended: what it wrote without a line end goes as a line of its own."""
    if live.log_sink is not None:
        _notes.append((time(), live, task_id, None, None, None, True))


def dispatch() -> None:
    """Turn the notes into lines and hand each run's to its sink, in one batch per run. Runs of
    notes from one task and stream are joined first, so a print-heavy step costs a split, not a
    loop per line."""
    with _turn:
        count = len(_notes)
        if not count:
            return
        popleft = _notes.popleft
        notes = [popleft() for _ in range(count)]
        batches: dict[int, tuple[Any, list[Any]]] = {}
        index = 0
        while index < count:
            at, live, task_id, stream, level, text, complete = notes[index]
            index += 1
            key = id(live)
            batch = batches.get(key)
            if batch is None:
                batch = batches[key] = (live, [])
            lines = batch[1]
            if stream is None:  # a step ended: its lines begun and not ended go
                for name in (STDOUT, STDERR):
                    begun = _partial.pop((key, task_id, name), None)
                    if begun is not None:
                        lines.append((begun[0], task_id, name, None, begun[1]))
                continue
            if complete:
                lines.append((at, task_id, stream, level, text))
                continue
            # the writes that follow from the same task and stream, joined
            pieces = [text if isinstance(text, str) else str(text)]
            while index < count:
                following = notes[index]
                if following[6] or following[1] is not live or following[2] != task_id or following[3] != stream:
                    break
                piece = following[5]
                pieces.append(piece if isinstance(piece, str) else str(piece))
                index += 1
            where = (key, task_id, stream)
            begun = _partial.pop(where, None)
            if begun is not None:
                at = begun[0]
                pieces[0] = begun[1] + pieces[0]
            text = "".join(pieces)
            parts = text.split("\n")
            rest = parts.pop()
            if rest:
                if len(rest) > _PARTIAL_MAX:
                    parts.append(rest)
                else:
                    _partial[where] = (at, rest)
            lines.extend([(at, task_id, stream, None, part) for part in parts])
        for live, lines in batches.values():
            sink = live.log_sink
            if sink is not None and lines:
                try:
                    sink(lines)
                except Exception:  # the log lane never breaks a step
                    pass


def _flush_written() -> None:
    for name in ("stdout", "stderr"):
        tee = getattr(sys, name)
        if isinstance(tee, _Tee) and tee.dirty:
            tee.dirty = False
            try:
                tee.flush()
            except Exception:  # a closed or broken stream: the step's own write said so already
                pass


def _loop() -> None:
    while not _stopping.wait(TICK):
        dispatch()
        _flush_written()


def start() -> None:
    """A run with a log sink starts: put the tees, the handler and the thread in place (once for all runs)."""
    with _lock:
        _users[0] += 1
        if _users[0] > 1:
            return
        _installed["stdout"], _installed["stderr"] = sys.stdout, sys.stderr
        if sys.stdout is not None:
            sys.stdout = _Tee(sys.stdout, STDOUT)  # type: ignore[assignment]
        if sys.stderr is not None:
            sys.stderr = _Tee(sys.stderr, STDERR)  # type: ignore[assignment]
        handler = _installed["handler"] = _Handler()
        logging.getLogger().addHandler(handler)
        _stopping.clear()
        thread = _installed["thread"] = threading.Thread(target=_loop, name="dotflow-capture", daemon=True)
        thread.start()


def stop() -> None:
    """A run with a log sink ended (its lines were dispatched): the last one out puts the streams
    back (unless someone else replaced them meanwhile, whose choice stays) and removes the handler."""
    with _lock:
        if _users[0] == 0:
            return
        _users[0] -= 1
        if _users[0]:
            return
        for name in ("stdout", "stderr"):
            current = getattr(sys, name)
            if isinstance(current, _Tee):
                setattr(sys, name, _installed.get(name, current.stream))
        handler = _installed.pop("handler", None)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        _stopping.set()
        _installed.pop("thread", None)
    _flush_written()
