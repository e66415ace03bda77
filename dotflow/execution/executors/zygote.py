"""The process pool's helper process, and the loop of the worker processes it forks.

The driver starts one helper per driver process (``python -c``: a fresh interpreter, never a
fork of the driver, whose reporter threads make forking it unsafe), which imports dotflow's
step runner, pickle and cloudpickle once. The helper is single-threaded, so forking it is
safe, and a worker is serving a few milliseconds after it is asked for. Each worker gets its
own socket to the driver (passed to the helper with SCM_RIGHTS), takes the driver's current
``sys.path``, ``sys.argv``, working directory and environment, and serves step calls on that
socket until the driver closes it. The helper ends, killing its workers, when the driver's
end of its control socket closes: when the driver exits, however it exits.

Unlike multiprocessing's spawn and forkserver, nothing here re-imports the user's main
module: steps cross by value or by reference through cloudpickle, so a script needs no
``if __name__ == "__main__"`` guard.

Every socket carries frames: 8 bytes of big-endian length, then that many bytes (a pickle).
On a worker's socket the driver sends requests, and a frame of no bytes when the running call's
task is cancelled; the worker sends its reply (its first byte says whether the worker stops
now), preceded by any number of ``UPDATE`` frames: what the step said of itself (``remote.py``).
This module is the helper's and the workers' whole program, so it imports little.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

from dotflow.execution.executors.remote import Link

HEADER = struct.Struct("!Q")
UPDATE = b"\x02"  # the first byte of a worker's frame that is an update, not its reply
_CHUNK = 1 << 20
_IDLE = 0.02  # seconds without a command after which the helper imports what workers may need
_CANCEL_CHECK = 0.01  # seconds between two looks of a worker at its socket for a cancel


def send_frame(sock: socket.socket, payload: bytes, fds: tuple[int, ...] = ()) -> None:
    """Send one frame (and ``fds``, with its header)."""
    header = HEADER.pack(len(payload))
    if fds:
        sent = socket.send_fds(sock, [header], list(fds))
        if sent < len(header):
            sock.sendall(header[sent:])
    else:
        sock.sendall(header)
    sock.sendall(payload)


def recv_exact(sock: socket.socket, size: int) -> bytes | None:
    """``size`` bytes, or None when the other end closed first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:], min(size - got, _CHUNK))
        if not n:
            return None
        got += n
    return bytes(buffer)


def recv_frame(sock: socket.socket) -> bytes | None:
    """One frame's payload, or None when the other end closed."""
    header = recv_exact(sock, HEADER.size)
    if header is None:
        return None
    (size,) = HEADER.unpack(header)
    return recv_exact(sock, size) if size else b""


def _recv_command(sock: socket.socket) -> tuple[bytes | None, list[int]]:
    """One command frame of the control socket and the descriptors that came with it."""
    data, fds, _, _ = socket.recv_fds(sock, HEADER.size, 4)
    if not data:
        return None, fds
    if len(data) < HEADER.size:
        rest = recv_exact(sock, HEADER.size - len(data))
        if rest is None:
            return None, fds
        data += rest
    (size,) = HEADER.unpack(data)
    return recv_exact(sock, size), fds


def main() -> None:
    """The helper: ``python -c '...; main()' <control fd>``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle; workers inherit this
    control = socket.socket(fileno=int(sys.argv[1]))
    _preload()
    send_frame(control, pickle.dumps(("ready", os.getpid())))
    children: set[int] = set()
    exited: dict[int, int] = {}
    idle_preloaded = False
    try:
        while True:
            if not idle_preloaded and not select.select([control], [], [], _IDLE)[0]:
                # cloudpickle (~20 ms) is imported once the first workers are forked, not before:
                # those import it themselves, in parallel, only if a step comes by value
                _preload_when_idle()
                idle_preloaded = True
            payload, fds = _recv_command(control)
            if payload is None:
                for fd in fds:
                    os.close(fd)
                return
            command = pickle.loads(payload)
            if command[0] == "fork" and fds:
                pid = os.fork()
                if pid == 0:  # the worker: never returns into the helper's loop
                    code = 70
                    try:
                        control.close()
                        for fd in fds[1:]:
                            os.close(fd)
                        code = _serve(fds[0], *command[1:])
                    finally:
                        os._exit(code)
                for fd in fds:
                    os.close(fd)
                children.add(pid)
                send_frame(control, pickle.dumps(("forked", pid)))
            elif command[0] == "end":
                _, pids, grace = command
                codes = {pid: _end(pid, children, exited, grace) for pid in pids}
                send_frame(control, pickle.dumps(("ended", codes)))
            else:
                for fd in fds:
                    os.close(fd)
                send_frame(control, pickle.dumps(("error", f"unknown command {command[0]!r}")))
            _reap(children, exited)
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while children and time.monotonic() < deadline:
            _reap(children, exited)
            time.sleep(0.005)
        os._exit(0)


def _preload() -> None:
    """What every worker needs, imported once here (before the helper says it is ready)."""
    import threading  # noqa: F401  (the worker checks for abandoned step threads)

    import dotflow.execution.executors.remote  # noqa: F401
    import dotflow.execution.step  # noqa: F401


def _preload_when_idle() -> None:
    """What many workers need: steps sent by value, step errors and their messages."""
    import traceback  # noqa: F401

    import cloudpickle  # noqa: F401

    import dotflow.task  # noqa: F401


def _reap(children: set[int], exited: dict[int, int]) -> None:
    for pid in list(children):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            children.discard(pid)
            continue
        if done:
            children.discard(pid)
            exited[pid] = os.waitstatus_to_exitcode(status)


def _wait(pid: int, children: set[int], exited: dict[int, int], timeout: float) -> int | None:
    """The exit code of worker ``pid`` once it has exited (within ``timeout`` seconds), else None."""
    deadline = time.monotonic() + timeout
    while True:
        _reap(children, exited)
        if pid in exited:
            return exited.pop(pid)
        if pid not in children or time.monotonic() >= deadline:
            return None
        time.sleep(0.001)


def _end(pid: int, children: set[int], exited: dict[int, int], grace: float) -> int | None:
    """End worker ``pid``: let it exit by itself for ``grace`` seconds, then SIGKILL it; return
    its exit code (None for a pid that is not, or no more, a worker of this helper).

    Only the helper kills its workers, and only those it has not reaped yet, so a pid that
    the system has given to another process since is never signalled.
    """
    code = _wait(pid, children, exited, grace) if grace > 0 else None
    if code is not None or (pid not in children and pid not in exited):
        return code if code is not None else exited.pop(pid, None)
    _reap(children, exited)
    if pid in children:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return _wait(pid, children, exited, 5.0)


def _serve(fd: int, path: list[str], argv: list[str], cwd: str, env: dict[str, str]) -> int:
    """A worker: take the driver's view of the world, then run step calls until the socket closes."""
    sys.path[:] = path
    sys.argv[:] = argv
    try:
        os.chdir(cwd)
    except OSError:
        pass  # the driver's folder is gone; steps that need it will say so
    if dict(os.environ) != env:
        os.environ.clear()
        os.environ.update(env)
    sock = socket.socket(fileno=fd)
    from dotflow.execution.executors.remote import run

    link = SocketLink(sock)
    try:
        while True:
            request = recv_frame(sock)
            if request is None:
                return 0
            if not request:
                continue  # the cancel of a call that ended before it read it
            reply, retire = run(request, link)
            link.settle()  # a step's prints show before its task's status
            try:
                link.reply((b"\x01" if retire else b"\x00") + reply)  # first byte: this worker stops now
            except OSError:
                return 0  # the driver is gone
            if retire:
                return 0
    finally:
        link.close()  # what the worker's pipes hold goes through before the worker's _exit


class SocketLink(Link):
    """A worker's ``remote.Link`` to the driver: its own socket, idle while a step runs. Updates
    are ``UPDATE`` frames; a cancel is a frame of no bytes from the driver, looked for without
    blocking (at most every ``_CANCEL_CHECK`` seconds) when the step asks. When a call's run ships
    logs, the worker's descriptors 1 and 2 are read from then on (``dotflow.capture.Descriptors``),
    and what the step writes goes as updates too, from that reader's thread: a lock keeps each
    frame whole."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._looked = 0.0
        self._pid = os.getpid()  # a process the step forks inherits the socket: it never uses it
        self._lock = threading.Lock()
        self._output: Any = None
        self._capturing = False

    def begin(self, capture: bool, sink: Any) -> None:
        if capture and self._output is None:
            from dotflow.capture import worker_descriptors

            self._output = worker_descriptors()
        self._capturing = capture and self._output is not None
        if self._capturing:
            self._output.begin(self._written)

    def end(self) -> None:
        if self._capturing:
            self._capturing = False
            self._output.end()

    def settle(self) -> None:
        """The call's output, flushed, has gone through to the worker's own streams."""
        if self._output is not None:
            self._output.sync()
            return
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # a closed or broken stream: nothing waits for it
                pass

    def close(self) -> None:
        """The worker stops: its descriptors are put back, what their pipes held written through."""
        if self._output is not None:
            self._output.close()

    def _written(self, stream: str, at: float, text: str) -> None:
        try:
            self.send({"w": [(stream, at, text)]})
        except OSError:  # the driver is gone: the bytes went through to the worker's own output
            pass

    def send(self, update: dict[str, Any]) -> None:
        if os.getpid() == self._pid:
            payload = UPDATE + pickle.dumps(update, protocol=5)
            with self._lock:
                send_frame(self.sock, payload)

    def reply(self, frame: bytes) -> None:
        """Send the call's reply (after ``end``: every line of the call went before it)."""
        with self._lock:
            send_frame(self.sock, frame)

    def cancelled(self) -> bool:
        now = time.monotonic()
        if now - self._looked < _CANCEL_CHECK or os.getpid() != self._pid:
            return False
        self._looked = now
        sock = self.sock
        try:
            header = sock.recv(HEADER.size, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True  # the driver is gone: nothing waits for this step any more
        if len(header) < HEADER.size:
            if not header:
                return True
            rest = recv_exact(sock, HEADER.size - len(header))
            if rest is None:
                return True
            header += rest
        (size,) = HEADER.unpack(header)
        if size:
            recv_exact(sock, size)  # the driver sends nothing else during a call; never kept
        return True


def describe_exit(code: int | None) -> str:
    """``exit code 3`` or ``exit code -9, SIGKILL`` (``exit code unknown`` for None)."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        try:
            return f"exit code {code}, {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"exit code {code}"
