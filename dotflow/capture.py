"""What a step writes, tagged with its task, for the observer: tees on ``sys.stdout`` and
``sys.stderr`` and a ``logging`` handler, in place while a run whose ``LiveRun`` has a log sink
goes on (a runner protocol version 2 backend's ``/logs``).

Attribution: a write or a log record belongs to the task whose step runs in the thread (the
context) that made it (``dotflow.current_task()``), also when several steps run at once on a
thread pool. What Python code writes is seen; what bypasses ``sys.stdout`` is not: a C extension
or a subprocess writing to file descriptor 1 or 2 from a step on a thread (on the process and Dask
executors the worker's descriptors are read instead), and output from threads a step starts
without copying its context (``contextvars.copy_context().run``).

The tee changes nothing of the local output but its timing: each write still goes to the stream
it was meant for, which is flushed at every line end while capture is on, so a step's prints
reach a container's log (a pipe, block-buffered by Python) as they happen, not at exit.

Only the standard library here: the engine's lowest layer.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any, Callable

from dotflow.live import current_task

# Characters of one line shipped; a longer line is cut and marked truncated.
LINE_MAX = 8 * 1024
STDOUT, STDERR, LOGGING, DOTFLOW = "stdout", "stderr", "logging", "dotflow"

Sink = Callable[["str | None", str, "str | None", str], None]  # (task id or None, stream, level, line)

_lock = threading.Lock()
_quiet = threading.local()  # set while the last-resort handler writes a record already taken
_users = [0]  # runs capturing now; the tees and the handler are in place while above 0
_installed: dict[str, Any] = {}


class _Tee:
    """``sys.stdout`` or ``sys.stderr`` while capture is on: writes go through to the stream as
    before, and each complete line a step writes also goes to its run's log sink."""

    def __init__(self, stream: Any, name: str) -> None:
        self._stream = stream
        self._name = name
        self._partial: dict[str, str] = {}  # task id -> the line begun and not yet ended

    def write(self, text: str) -> int:
        written = self._stream.write(text)
        context = current_task()
        if context is not None and isinstance(text, str) and not getattr(_quiet, "on", False):
            live = context.live
            sink = live.log_sink if live is not None else None
            if sink is not None:
                self._collect(context.task_id, text, sink)
                if "\n" in text:
                    try:
                        self._stream.flush()  # prompt in a pipe too
                    except Exception:  # a stream that cannot flush is the tee's business no more than before
                        pass
        return written

    def _collect(self, task_id: str, text: str, sink: Sink) -> None:
        begun = self._partial.pop(task_id, "")
        if "\n" not in text:
            if len(begun) < LINE_MAX * 2:  # a line without an end is not kept without bound
                self._partial[task_id] = begun + text
            return
        lines = (begun + text).split("\n")
        rest = lines.pop()
        if rest:
            self._partial[task_id] = rest
        for line in lines:
            sink(task_id, self._name, None, line)

    def end(self, task_id: str, sink: Sink | None) -> None:
        """The task's step returned: a line it began and did not end goes as it is."""
        begun = self._partial.pop(task_id, "")
        if begun and sink is not None:
            sink(task_id, self._name, None, begun)

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
        context = current_task()
        live = context.live if context is not None else None
        if context is None or live is None or record.name.split(".", 1)[0] == "dotflow":
            return
        sink = live.log_sink
        if sink is None:
            return
        try:
            text = self.format(record)
        except Exception:
            return
        for line in text.split("\n"):
            sink(context.task_id, LOGGING, record.levelname, line)

    def handle(self, record: logging.LogRecord) -> bool:
        taken = super().handle(record)
        # Python shows a record no handler takes on stderr (logging.lastResort): with this handler
        # on the root logger it would take every record, so the last resort is called here instead
        last = logging.lastResort
        if last is not None and record.levelno >= last.level and not _other_handlers(record.name, self):
            _quiet.on = True  # the record went to the log lane already, not again as a stderr line
            try:
                last.handle(record)
            finally:
                _quiet.on = False
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


def start() -> None:
    """A run with a log sink starts: put the tees and the handler in place (once for all runs)."""
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


def stop() -> None:
    """A run with a log sink ended: the last one out puts the streams back (unless someone else
    replaced them meanwhile, whose choice stays) and removes the handler."""
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


def step_ended(task_id: str, sink: Sink | None) -> None:
    """A step's attempt ended: what it wrote without a line end goes now."""
    for stream in (sys.stdout, sys.stderr):
        if isinstance(stream, _Tee):
            stream.end(task_id, sink)
