"""A worker process's file descriptors 1 and 2, read while its run ships logs to an observer.

On the process executor a step runs in a worker process, so what it writes never meets the
driver's tees (``dotflow.capture``): its ``print()`` calls, its log handlers and the programs it
starts all write to the worker's descriptors 1 and 2, inherited from the driver. The first call
of a run that ships logs (its request says so) puts a pipe under each descriptor, for the rest of
the worker's life; a thread of this module (``dotflow-output``) reads both pipes, writes every
byte through to the descriptor the worker had before (the terminal or the container's log, as
without capture), and cuts what a call's step writes into lines for the driver, which attributes
them to the task the worker runs: one call at a time, so everything read meanwhile is that task's.
A Dask worker with one thread runs one call at a time too, and is read the same way.

Lines go as ``{"l": [(time, stream, None, text), ...]}`` (no level: a log record is the text its
handler wrote) to the call's ``send`` (the worker's link, ``remote.Link``), at most every ``TICK``
seconds and at most ``BATCH`` lines a message, only while a call runs; at its end (``end``) the
Python streams are flushed, the pipes read to their end, a line begun and not ended sent as a
line, and only then the reply goes, so a task's lines reach the driver before its outcome. What a program the step started and left running writes later is written through,
and sent with the worker's next call, if it writes while one runs. A thread of its own (``dotflow-flush``) flushes
``sys.stdout`` and ``sys.stderr`` every ``TICK`` seconds while a call runs: a step's prints reach
the local stream promptly although they are a pipe now, which Python block-buffers.

What changes for the step: descriptors 1 and 2 are pipes, so ``isatty()`` is False there (a
program that colours its output on a terminal does not). Only the standard library here.
"""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from typing import Any, Callable

TICK = 0.1  # seconds between two messages of lines, and two flushes of the Python streams
BATCH = 1000  # lines in one message at most
_READ = 1 << 16
_LINE_MAX = 64 * 1024  # bytes of a line without an end kept before it is cut
_DRAIN_WAIT = 2.0  # seconds ``end`` waits for the reader (it may be stuck writing through)
_STREAMS = ((1, "stdout"), (2, "stderr"))


class Output:
    """Descriptors 1 and 2 of this process through pipes, read by a thread that writes through and
    hands a running call's lines to its ``send`` (OSError from it: the driver is gone)."""

    def __init__(self) -> None:
        self._send: Callable[[dict[str, Any]], None] | None = None
        self._lock = threading.Lock()  # the call's state, and a message on its way
        self._names: dict[int, str] = {}  # pipe read end -> stream name
        self._through: dict[int, int] = {}  # pipe read end -> the descriptor the worker had
        self._partial: dict[int, bytes] = {}
        self._lines: list[tuple[float, str, None, str]] = []
        self._active = False
        self._sent = 0.0
        self._drain = False
        self._drained = threading.Event()
        for fd, name in _STREAMS:
            try:
                saved = os.dup(fd)  # not inherited by the step's programs
            except OSError:
                continue  # no such descriptor (closed at start): nothing to read there
            read, write = os.pipe()
            os.dup2(write, fd)
            os.close(write)
            self._names[read] = name
            self._through[read] = saved
            self._partial[read] = b""
        self._wake_read, self._wake_write = os.pipe()
        for target, name in ((self._read, "dotflow-output"), (self._flush, "dotflow-flush")):
            threading.Thread(target=target, name=name, daemon=True).start()

    def begin(self, send: Callable[[dict[str, Any]], None]) -> None:
        """A call starts: what is read from now on is its step's, for ``send``."""
        with self._lock:
            self._send = send
            self._lines.clear()
            for read in self._partial:
                self._partial[read] = b""
            self._active = True
            self._sent = time.monotonic()

    def end(self) -> None:
        """The call ended: its step's output, to the last byte written, goes to the driver now
        (bounded: a reader stuck writing through to a full stream is not waited for past 2 s)."""
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed or broken stream: the step's own write said so already
                pass
        with self._lock:
            self._drain = True
            self._drained.clear()
        os.write(self._wake_write, b".")
        self._drained.wait(_DRAIN_WAIT)
        with self._lock:  # taken only between two messages: nothing of this call is sent after it
            self._active = False
            self._drain = False
            self._lines.clear()
            self._send = None

    # -- the threads ------------------------------------------------------------------------------

    def _read(self) -> None:
        while True:
            try:
                self._turn()
            except Exception:  # never end: the descriptors stay pipes, which must be read
                time.sleep(TICK)

    def _turn(self) -> None:
        """Wait for output (at most ``TICK``), take it, and send what is due."""
        ready, _, _ = select.select([*self._names, self._wake_read], [], [], TICK)
        for read in ready:
            if read == self._wake_read:
                os.read(read, 512)
            else:
                self._take(read)
        with self._lock:
            if self._drain:
                self._finish_call()
            elif self._lines and time.monotonic() - self._sent >= TICK:
                self._deliver()

    def _take(self, read: int) -> None:
        """Read what waits in one pipe, write it through, and keep a running call's lines."""
        try:
            data = os.read(read, _READ)
        except OSError:
            return
        if not data:
            return
        self._write_through(self._through[read], data)
        with self._lock:
            if not self._active:
                return
            at = time.time()
            text = self._partial[read] + data
            parts = text.split(b"\n")
            rest = parts.pop()
            if len(rest) > _LINE_MAX:
                parts.append(rest)
                rest = b""
            self._partial[read] = rest
            name = self._names[read]
            self._lines.extend((at, name, None, part.decode("utf-8", "replace")) for part in parts)
            if len(self._lines) >= BATCH:
                self._deliver()

    @staticmethod
    def _write_through(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except InterruptedError:
                continue
            except OSError:
                return  # the stream the worker had is closed or broken: the lines still go
            view = view[written:]

    def _finish_call(self) -> None:
        """(lock held) Read the pipes to their end, then send the call's last lines."""
        while True:
            ready, _, _ = select.select(list(self._names), [], [], 0)
            if not ready:
                break
            for read in ready:
                self._lock.release()
                try:
                    self._take(read)
                finally:
                    self._lock.acquire()
        at = time.time()
        for read, begun in self._partial.items():
            if begun and self._active:
                self._lines.append((at, self._names[read], None, begun.decode("utf-8", "replace")))
            self._partial[read] = b""
        if self._active:
            self._deliver()
        self._drain = False
        self._drained.set()

    def _deliver(self) -> None:
        """(lock held) Send the lines waiting, ``BATCH`` at a time; dropped when the driver is gone."""
        lines, self._lines = self._lines, []
        self._sent = time.monotonic()
        send = self._send
        if send is None:
            return
        for start in range(0, len(lines), BATCH):
            try:
                send({"l": lines[start:start + BATCH]})
            except Exception:  # the driver is gone (OSError), or refused the message: the lines go
                return

    def _flush(self) -> None:
        while True:
            time.sleep(TICK)
            if not self._active:
                continue
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:
                    pass


_process_output: Output | None = None
_process_lock = threading.Lock()


def process_output() -> Output:
    """This process's ``Output``, put in place on first use (a worker process keeps it for its life)."""
    global _process_output
    with _process_lock:
        if _process_output is None:
            _process_output = Output()
        return _process_output
