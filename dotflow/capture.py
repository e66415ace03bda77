"""What a step writes, tagged with its task, for the observer: tees on ``sys.stdout`` and
``sys.stderr``, or pipes under file descriptors 1 and 2, and a ``logging`` handler, in place
while a run whose ``LiveRun`` has a log sink goes on (a runner protocol version 2 backend's ``/logs``).

Two ways to take what a step writes:

- **Descriptors** (``Descriptors``): when the run's steps run here one at a time (sequential mode,
  threads, no step timeout, the only run capturing) and neither descriptor is a terminal, pipes
  go under descriptors 1 and 2 for the run; a thread of this module reads them, writes every byte
  through to where it went before, and notes each chunk it read for the step running then
  (``step_began``; ``step_ended`` waits until everything written before it was read). A print
  costs the step what it costs without capture (a pipe either way), the output of programs the
  step runs and of threads it starts is its too, and turning the chunks into records waits while
  the step runs (``PACE``, up to ``RAW_MAX`` characters): a print-heavy step is not slowed by its
  own log lines. Process and Dask workers read their own descriptors the same way.
- **Tees** otherwise (steps at once on threads, a terminal, another run capturing, a stream
  without a descriptor) and on a Dask worker of several threads (see
  ``execution/executors/remote.py``): a write or a log record belongs to the task whose step
  runs in the thread (the context) that made it (``dotflow.current_task()``), also when several
  steps run at once. What Python code writes is seen; what bypasses ``sys.stdout`` is not: a C
  extension or a subprocess writing to file descriptor 1 or 2, and output from threads a step
  starts without copying its context (``contextvars.copy_context().run``).

Cost of the tees: the step's thread only notes each write (its time, task and text) and writes it through;
a thread of this module (``dotflow-capture``) turns the notes into lines every ``TICK`` seconds,
hands them to each run's sink in one batch, and flushes the streams that were written, so a
step's prints reach a container's log (a pipe, which Python block-buffers) within a tick, not at
exit. Notes, log records and the engine's own lines (``note``) keep one order.

Only the standard library here.
"""

from __future__ import annotations

import codecs
import logging
import os
import select
import sys
import threading
from collections import deque
from time import monotonic, sleep, time
from typing import Any, Callable

from dotflow.live import running_task

STDOUT, STDERR, LOGGING, DOTFLOW = "stdout", "stderr", "logging", "dotflow"
TICK = 0.1  # seconds between two turns of the capture thread
# Notes waiting past this many, the writing thread turns them into lines itself: the notes of a
# step that prints faster than the capture thread keeps up stay bounded.
_BACKLOG = 20_000
_PARTIAL_MAX = 64 * 1024  # characters of a line without an end kept before it is cut
PACE = 0.5  # seconds between two turns of the notes into lines while a step's descriptors are read
RAW_MAX = 8 * 1024 * 1024  # characters read from the descriptors and not turned into lines yet, at most
_SLICE = 256 * 1024  # characters of notes one turn of dispatch takes at a time

# A run's sink takes its lines in batches, each line (time, task id or None, stream, level, text).
Sink = Callable[[list[Any]], None]

_lock = threading.Lock()  # start/stop
_turn = threading.Lock()  # one turn of dispatch at a time
_users = [0]  # runs capturing now; the tees, the handler and the thread are in place while above 0
_installed: dict[str, Any] = {}
_notes: deque[tuple[Any, ...]] = deque()  # (time, live, task id, stream, level, text, complete)
_partial: dict[tuple[int, str, str], tuple[float, str]] = {}  # (live id, task id, stream) -> begun line
_stopping = threading.Event()
# While the steps of one run are read through the descriptors: "descriptors", "live" (that run) and
# "task" (the id of its step running now, if any); "released": the exit hook is registered
_fd: dict[str, Any] = {}
_raw = [0]  # characters the descriptors noted since the last dispatch


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
        if _fd.get("task") is not None and _written_to_descriptors(record.name, self):
            return  # read from descriptor 1 or 2 already, as the text a handler of the application wrote
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
            _write_locally(last.format(record) + "\n")
        return bool(taken)


def write_between_steps(text: str) -> bool:
    """Write ``text`` (dotflow's own line) straight to the process's stderr, past the capture's
    pipe, when the descriptors are read, no step runs, nothing waits in the pipe and ``sys.stderr``
    is descriptor 2: the line is no step's, and reading it back would cost each step's start a
    wait for the reader. False when it did not (the caller writes it as usual)."""
    descriptors = _fd.get("descriptors")
    if descriptors is None or _fd.get("task") is not None:
        return False
    stream = sys.stderr
    try:
        if stream is None or stream.fileno() != 2 or descriptors.pending():
            return False
        stream.flush()
        data = text.encode(stream.encoding or "utf-8", "backslashreplace")
    except Exception:
        return False
    descriptors.write_through(STDERR, data)
    return True


def _write_locally(text: str) -> None:
    """Write ``text`` to the stderr the process had, where no capture takes it."""
    try:
        stream = _installed.get("stderr")
        if stream is not None:
            stream.write(text)
            return
        descriptors = _fd.get("descriptors")
        if descriptors is not None:
            descriptors.write_through(STDERR, text.encode("utf-8", "replace"))
        elif sys.stderr is not None:
            sys.stderr.write(text)
    except Exception:
        pass


def _written_to_descriptors(name: str, own: logging.Handler) -> bool:
    """Whether a handler other than ``own`` on the way up from logger ``name`` writes to descriptor 1 or 2."""
    logger: logging.Logger | None = logging.getLogger(name)
    while logger is not None:
        for handler in logger.handlers:
            try:
                if handler is not own and handler.stream.fileno() in (1, 2):  # type: ignore[attr-defined]
                    return True
            except Exception:  # no stream, or one without a descriptor
                pass
        if not logger.propagate:
            return False
        logger = logger.parent
    return False


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


def written(live: Any, task_id: str, stream: str, text: str, at: float) -> None:
    """What a worker's descriptors read while ``task_id``'s step ran there (pieces of lines, in order)."""
    if live.log_sink is not None:
        _notes.append((at, live, task_id, stream, None, text, False))


def settle(live: Any) -> None:
    """The run ends (its step may have been interrupted mid-way): what its step running now wrote
    reaches the notes before the last dispatch."""
    descriptors = _fd.get("descriptors")
    if descriptors is not None and _fd.get("live") is live and _fd.get("task") is not None:
        descriptors.sync()


def step_ended(live: Any, task_id: str) -> None:
    """A step's attempt ended: what it wrote reaches the notes (read to the last byte when its
    descriptors are), and what it wrote without a line end goes as a line of its own."""
    if _fd.get("task") == task_id and _fd.get("live") is live:
        with _lock:
            if _fd.get("task") == task_id:
                _fd["task"] = None
                _fd["descriptors"].end()
    if live.log_sink is not None:
        _notes.append((time(), live, task_id, None, None, None, True))


def dispatch() -> None:
    """Turn the notes into lines and hand each run's to its sink, in one batch per run and slice
    (``_SLICE`` characters at most: what a turn holds at once stays bounded). Runs of notes from
    one task and stream are joined first, so a print-heavy step costs a split, not a loop per line."""
    with _turn:
        _raw[0] = 0
        count = len(_notes)
        popleft = _notes.popleft
        while count:
            notes = []
            size = 0
            while count and size < _SLICE:
                taken = popleft()
                count -= 1
                notes.append(taken)
                size += len(taken[5]) if isinstance(taken[5], str) else 64
            _hand_over(notes)


def _hand_over(notes: list[tuple[Any, ...]]) -> None:
    """(``_turn`` held) One slice of notes, as lines, to their runs' sinks."""
    count = len(notes)
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
    reading = _fd.get("descriptors") is not None
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _Tee):
            if not stream.dirty:
                continue
            stream.dirty = False
        elif not reading or stream is None:
            continue
        try:
            stream.flush()
        except Exception:  # a closed or broken stream: the step's own write said so already
            pass


def _loop() -> None:
    last = monotonic()
    while not _stopping.wait(TICK):
        if _fd.get("task") is None or monotonic() - last >= PACE or _raw[0] >= RAW_MAX:
            dispatch()
            last = monotonic()
        _flush_written()


def start(live: Any = None, serial: bool = False) -> None:
    """A run with a log sink starts: put the handler, the thread, and the tees or the descriptors
    in place (once for all runs). ``serial``: the run's steps run here, one at a time, and may
    be read through the descriptors (``live`` is the run), when nothing else captures and neither
    descriptor is a terminal; a second run capturing at once turns both to the tees."""
    with _lock:
        _users[0] += 1
        if _users[0] > 1:
            if "stdout" not in _installed:
                _end_reading()
                _install_tees()
            return
        if serial and live is not None and _descriptors_fit():
            _fd["descriptors"], _fd["live"] = Descriptors(), live
            if not _fd.get("released"):
                from dotflow.interrupts import release_at_end

                release_at_end(_release)
                _fd["released"] = True
        else:
            _install_tees()
        handler = _installed["handler"] = _Handler()
        logging.getLogger().addHandler(handler)
        _stopping.clear()
        thread = _installed["thread"] = threading.Thread(target=_loop, name="dotflow-capture", daemon=True)
        thread.start()


def _install_tees() -> None:
    _installed["stdout"], _installed["stderr"] = sys.stdout, sys.stderr
    if sys.stdout is not None:
        sys.stdout = _Tee(sys.stdout, STDOUT)  # type: ignore[assignment]
    if sys.stderr is not None:
        sys.stderr = _Tee(sys.stderr, STDERR)  # type: ignore[assignment]


def active() -> bool:
    """Whether a run of this process captures now."""
    return _users[0] > 0


def _descriptors_fit() -> bool:
    """Whether ``sys.stdout`` and ``sys.stderr`` write to descriptors 1 and 2, open, neither a terminal."""
    try:
        os.fstat(1)
        os.fstat(2)
        return (sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2
                and not os.isatty(1) and not os.isatty(2) and os.name == "posix")
    except Exception:  # None, or a stream without a descriptor (a notebook's, a test's)
        return False


def _release() -> None:
    """The process ends at once: what the pipes hold goes through, and the descriptors are put back.
    Takes no lock of this module (the thread ending the process may have interrupted one that holds
    it); the reader's is reentrant, and the wait for the reader is bounded."""
    descriptors = _fd.get("descriptors")
    if descriptors is not None:
        descriptors.end()
        descriptors.close()


def _end_reading() -> None:
    """(``_lock`` held) What the descriptors read is no step's from now on (the tees take over)."""
    descriptors = _fd.get("descriptors")
    if descriptors is not None and _fd.pop("task", None) is not None:
        descriptors.end()
    _fd.pop("live", None)


def step_began(live: Any, task_id: str) -> None:
    """A step of ``live`` starts on this thread: read through the descriptors, what they read is its."""
    with _lock:
        descriptors = _fd.get("descriptors")
        if descriptors is None or _fd.get("live") is not live:
            return
        _fd["task"] = task_id

        def take(stream: str, at: float, text: str) -> None:
            _notes.append((at, live, task_id, stream, None, text, False))
            _raw[0] += len(text)
            if _raw[0] > RAW_MAX:
                dispatch()  # the reader waits meanwhile, and so does a step that outprints the bound

        descriptors.begin(take)


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
            _installed.pop(name, None)
        handler = _installed.pop("handler", None)
        if handler is not None:
            logging.getLogger().removeHandler(handler)
        _stopping.set()
        _installed.pop("thread", None)
        _end_reading()
        descriptors = _fd.get("descriptors")
        if descriptors is not None:  # under the lock: a run starting meanwhile finds descriptors 1 and 2 back
            descriptors.end()
            descriptors.close()
            del _fd["descriptors"]  # kept until now for _release, should the process end meanwhile
    _flush_written()


# -- descriptors 1 and 2 through pipes ------------------------------------------------------------------


_READ = 1 << 16
_DRAIN_WAIT = 2.0  # seconds ``end`` waits for the reader (it may be stuck writing through to a full stream)
_PIPE_SIZE = 1 << 20  # bytes a pipe holds, where the system allows it (Linux): fewer turns of the reader
_F_SETPIPE_SZ = 1031
_FIONREAD = 0x541B  # Linux; elsewhere every end waits for the reader's turn


class Descriptors:
    """Descriptors 1 and 2 of this process through pipes, read by a thread (``dotflow-output``)
    that writes every byte through to the descriptor the process had (the terminal, the
    container's log) and, between ``begin(take)`` and ``end()``, hands each chunk it read to
    ``take(stream, time, text)`` (decoded as UTF-8; pieces of lines, in order per stream).
    ``end`` returns once everything written before it was read and handed over (bounded: a reader
    stuck writing through to a full stream is not waited for past 2 s). ``flushing``: a thread of
    its own flushes ``sys.stdout`` and ``sys.stderr`` every ``TICK`` seconds while a taker is set,
    so what a step prints is read promptly although Python block-buffers a pipe. ``close`` puts the
    descriptors back; the reader goes on writing through until the last program that holds a pipe
    lets it go, then closes everything it opened. What changes for whoever writes there:
    descriptors 1 and 2 are pipes (``isatty()`` is False)."""

    def __init__(self, flushing: bool = False) -> None:
        import fcntl

        # the taker, the pipes' tables and the syncs asked and done; reentrant: a chunk's taker may
        # dispatch, and a log record made meanwhile is written through from this same thread
        self._lock = threading.RLock()
        self._synced = threading.Condition(self._lock)
        self._asked = 0  # syncs asked for, and the last one the reader answered
        self._done = 0
        self._take: Callable[[str, float, str], None] | None = None
        self._names: dict[int, str] = {}  # pipe read end -> stream name
        self._through: dict[int, int] = {}  # pipe read end -> the descriptor the process had
        self._decoders: dict[int, Any] = {}
        self._fds: dict[int, int] = {}  # pipe read end -> 1 or 2
        self._busy = False  # the reader holds a chunk not handed over yet
        self._closed = False
        for fd, name in ((1, STDOUT), (2, STDERR)):
            try:
                os.fstat(fd)
                # a number above 2 (a closed 1 must not be taken by the copy of 2), not inherited
                saved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 3)
            except OSError:
                continue  # no such descriptor: nothing to read there
            read, write = os.pipe()
            try:
                fcntl.fcntl(write, _F_SETPIPE_SZ, _PIPE_SIZE)
            except OSError:
                pass
            os.dup2(write, fd)
            os.close(write)
            self._names[read] = name
            self._through[read] = saved
            self._fds[read] = fd
            self._decoders[read] = codecs.getincrementaldecoder("utf-8")("replace")
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_write, False)
        threading.Thread(target=self._read, name="dotflow-output", daemon=True).start()
        if flushing:
            threading.Thread(target=self._flush, name="dotflow-flush", daemon=True).start()

    def begin(self, take: Callable[[str, float, str], None]) -> None:
        """What is read from now on goes to ``take``: what is written from now on, and what was
        written since the last ``end`` and not read yet (dotflow's own lines between steps go past
        the pipe, ``write_between_steps``). No wait here: a look at the pipes would hand the
        interpreter to the run's other threads at every step's start."""
        with self._lock:
            self._take = take

    def end(self) -> None:
        """Everything written before this call goes to the taker now (a character cut in two at
        the end too, as a replacement character); then no more does."""
        self.sync()
        with self._lock:  # taken only between two chunks: nothing written before is handed after
            take, self._take = self._take, None
            for read, decoder in self._decoders.items():
                rest = decoder.decode(b"", final=True)
                decoder.reset()
                if rest and take is not None:
                    take(self._names[read], time(), rest)

    def sync(self) -> None:
        """Return once everything written before was read and handed to the taker of now (at most
        ``_DRAIN_WAIT`` seconds: a reader stuck writing through to a full stream is not waited for)."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed or broken stream: the writer's own write said so already
                pass
        if not self.pending():
            return
        with self._lock:
            if self._wake_write < 0:
                return  # the reader is done: every pipe reached its end
            self._asked += 1
            mine = self._asked
            try:
                os.write(self._wake_write, b".")
            except BlockingIOError:  # woken plenty already
                pass
            self._synced.wait_for(lambda: self._done >= mine, _DRAIN_WAIT)

    def write_through(self, stream: str, data: bytes) -> None:
        """Write ``data`` where ``stream`` went before (what must show locally and not be taken)."""
        with self._lock:
            targets = [self._through[read] for read, name in self._names.items() if name == stream]
        for through in targets:
            _write_all(through, data)

    def close(self) -> None:
        """Put descriptors 1 and 2 back (after ``end``), and return once what the pipes held then
        went through (a process may end right after). Called again, it does no harm."""
        with self._lock:
            self._closed = True
            back = [(self._through[read], fd) for read, fd in self._fds.items() if read in self._through]
        for through, fd in back:
            try:
                os.dup2(through, fd)
            except OSError:
                pass
        self.sync()

    def pending(self) -> bool:
        """Whether a byte written may not have reached the taker yet."""
        if self._busy:
            return True
        with self._lock:
            reads = list(self._names)  # the reader drops a pipe at its end
        try:
            waiting = _waiting_bytes()
            if any(waiting(read) for read in reads):
                return True
        except OSError:
            return True
        return self._busy

    # -- the thread --------------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                ready, _, _ = select.select([*self._names, self._wake_read], [], [], TICK)
                for read in ready:
                    if read == self._wake_read:
                        os.read(read, 512)
                    else:
                        self._take_from(read)
                with self._lock:
                    if self._done < self._asked:
                        self._finish()
                    if self._closed and not self._names:
                        self._done = self._asked
                        self._synced.notify_all()
                        os.close(self._wake_read)
                        os.close(self._wake_write)
                        self._wake_write = -1
                        return
            except Exception:  # never end while a pipe may be written: it must be read
                sleep(TICK)

    def _take_from(self, read: int) -> None:
        """Read what waits in one pipe, write it through, hand it to the taker; at the pipe's end
        (every writer let it go, after ``close``) forget it."""
        self._busy = True
        try:
            try:
                data = os.read(read, _READ)
            except OSError:
                return
            if not data:
                with self._lock:
                    del self._names[read]
                    del self._decoders[read]
                    through = self._through.pop(read)
                os.close(read)
                os.close(through)
                return
            _write_all(self._through[read], data)
            with self._lock:
                take = self._take
                if take is not None:
                    text = self._decoders[read].decode(data)
                    if text:
                        take(self._names[read], time(), text)
        finally:
            self._busy = False

    def _finish(self) -> None:
        """(lock held) Read the pipes to their end, and answer the syncs asked so far."""
        target = self._asked
        while self._names:
            ready, _, _ = select.select(list(self._names), [], [], 0)
            if not ready:
                break
            self._lock.release()  # a write through may block on a full stream: the waiters' timeouts hold
            try:
                for read in ready:
                    self._take_from(read)
            finally:
                self._lock.acquire()
        self._done = target
        self._synced.notify_all()

    def _flush(self) -> None:
        while not self._closed:
            sleep(TICK)
            if self._take is None:
                continue
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass


_counter: list[Callable[[int], int]] = []


def _waiting_bytes() -> Callable[[int], int]:
    """``count(fd)``: the bytes waiting in a pipe (``FIONREAD``). Through libc with the interpreter
    lock held (ctypes.PyDLL) where it can be: ``fcntl.ioctl`` lets the lock go, and getting it back
    from the run's busy reporting threads cost a step's end some 25 µs."""
    if not _counter:
        try:
            import ctypes

            ioctl = ctypes.PyDLL(None).ioctl
            ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.POINTER(ctypes.c_int))
            ioctl.restype = ctypes.c_int

            def count(fd: int) -> int:
                value = ctypes.c_int(0)
                if ioctl(fd, _FIONREAD, ctypes.byref(value)) != 0:
                    raise OSError(ctypes.get_errno(), "ioctl FIONREAD failed")
                return value.value
        except (ImportError, OSError, AttributeError):
            import fcntl
            import struct

            def count(fd: int) -> int:
                return int(struct.unpack("i", fcntl.ioctl(fd, _FIONREAD, b"\0\0\0\0"))[0])

        _counter.append(count)
    return _counter[0]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except InterruptedError:
            continue
        except OSError:
            return  # the stream the process had is closed or broken: what was read is still taken
        view = view[written:]


_process_descriptors: Descriptors | None = None


def worker_descriptors() -> Descriptors:
    """A worker process's ``Descriptors`` (flushing), put in place on first use for the worker's life."""
    global _process_descriptors
    with _lock:
        if _process_descriptors is None:
            _process_descriptors = Descriptors(flushing=True)
        return _process_descriptors
