"""``executor="process"``: a pool of worker processes for one run, forked by a helper process.

- The pool lives for one ``start()``: its workers are forked from the helper as the run's
  steps need them (a few ms each; see ``zygote.py``), up to the pool's size, take the
  driver's current ``sys.path``, working directory and environment, and are ended when the
  run ends. Only the helper, a single-threaded process with dotflow and cloudpickle imported,
  outlives runs: one per driver process, started on first use and ended when the driver exits.
- A running task's orchestrating thread checks a worker out, sends it the step call and
  waits for the reply within the step's ``timeout``. On expiry the worker is killed, so the
  step really stops, and a new worker takes its place when one is next needed. A worker that
  dies mid-step fails the attempt with WorkerDiedError naming the step and the exit code.
- Workers ignore SIGINT (Ctrl-C is the driver's to handle) and have no stdin; their stdout
  and stderr are the driver's, flushed after every step call. POSIX only (fork, SCM_RIGHTS).

The run context of a step in a worker (``dotflow.current_task()``) uses the worker's own socket,
which is idle while the step runs: the worker sends the step's progress and metadata as frames
marked ``UPDATE`` before its reply (coalesced there: at most 4 a second), which the waiting
orchestrating thread hands to the driver's TaskContext as they come; and that thread, which
wakes every ``CANCEL_POLL`` seconds while it waits, sends a frame of no bytes once the task is
cancelled, which the worker reads (without blocking) when its step asks ``cancel_requested()``.
Frames stay in order on the socket, so every update precedes the reply, and a cancel the worker
did not read is skipped before its next request. No thread and no extra message for a step that
says nothing.
"""

from __future__ import annotations

import os
import pickle
import socket
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from dotflow import interrupts
from dotflow.errors import ExecutorError, StepTimeoutError, WorkerDiedError
from dotflow.execution.executors.base import CANCEL_POLL, StepRunner, apply_update, decode, encode
from dotflow.execution.executors.zygote import HEADER, UPDATE, describe_exit, recv_exact, recv_frame, send_frame
from dotflow.live import current_task
from dotflow.naming import step_name

if TYPE_CHECKING:
    from dotflow.context import Context
    from dotflow.live import TaskContext
    from dotflow.task import Task

WHERE = "a worker process"
READY_TIMEOUT = 60.0  # seconds for a new helper to import dotflow and cloudpickle; a loaded machine is slow
REQUEST_TIMEOUT = 30.0  # seconds for the helper to answer a fork or end request
GRACE = 2.0  # seconds a worker that should exit by itself gets before it is killed
_BOOT = "import sys; sys.path[:] = {path!r}; from dotflow.execution.executors.zygote import main; main()"


class _Helper:
    """The driver's end of its helper process: starts it, and forks and ends workers through it."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        command = [
            sys.executable,
            *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]  # -X, -W, -O as the driver
            "-c",
            _BOOT.format(path=list(sys.path)),
            str(theirs.fileno()),
        ]
        try:
            self.process = subprocess.Popen(command, pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL)
        except OSError as exc:
            ours.close()
            raise ExecutorError(f"could not start the process pool's helper process: {exc}") from None
        finally:
            theirs.close()
        self.sock = ours
        self.lock = threading.Lock()
        self.ready = False
        self.broken = False

    @property
    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None

    def wait_ready(self) -> None:
        with self.lock:
            if self.ready:
                return
            reply = self._receive(READY_TIMEOUT)
            if reply is None or reply[0] != "ready":
                self._break()
                code = self.process.poll()
                raise ExecutorError(
                    f"the process pool's helper process did not start ({describe_exit(code)}); "
                    "its error, if any, is on stderr above"
                )
            self.ready = True

    def request(self, command: tuple[Any, ...], fds: tuple[int, ...] = ()) -> Any:
        """Send ``command`` and return the helper's answer; ExecutorError when it is gone."""
        with self.lock:
            try:
                send_frame(self.sock, pickle.dumps(command), fds)
            except OSError:
                self._break()
                raise ExecutorError("the process pool's helper process is gone") from None
            reply = self._receive(REQUEST_TIMEOUT)
            if reply is None:
                self._break()
                raise ExecutorError("the process pool's helper process stopped answering")
            return reply

    def fork(self) -> _Worker:
        ours, theirs = socket.socketpair()
        try:
            try:
                cwd = os.getcwd()
            except OSError:
                cwd = ""  # the driver's folder is gone
            reply = self.request(("fork", list(sys.path), list(sys.argv), cwd, dict(os.environ)), (theirs.fileno(),))
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return _Worker(reply[1], ours)

    def end(self, pids: list[int], grace: float) -> dict[int, int | None]:
        """End these workers (killed after ``grace`` seconds); their exit codes."""
        if not pids:
            return {}
        try:
            return self.request(("end", pids, grace))[1]  # type: ignore[no-any-return]
        except ExecutorError:
            return {pid: None for pid in pids}  # the helper is gone, and killed its workers as it went

    def _receive(self, timeout: float) -> Any:
        self.sock.settimeout(timeout)
        try:
            frame = recv_frame(self.sock)
        except OSError:  # TimeoutError included
            return None
        finally:
            try:
                self.sock.settimeout(None)
            except OSError:
                pass
        return None if frame is None else pickle.loads(frame)

    def _break(self) -> None:
        self.broken = True
        try:
            self.process.kill()
            self.process.wait(GRACE)  # reaped, so no zombie and no "still running" warning later
        except (OSError, subprocess.TimeoutExpired):
            pass

    def close(self) -> None:
        """End the helper (it kills any worker left); at interpreter exit."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.process.wait(GRACE)
        except subprocess.TimeoutExpired:
            self._break()
            try:
                self.process.wait(GRACE)
            except subprocess.TimeoutExpired:
                pass


_helper: _Helper | None = None
_helper_lock = threading.Lock()
_forgotten: list[_Helper] = []  # a forked child's copies, kept so no __del__ runs on another process's helper


_hooked = False


def helper() -> _Helper:
    """This process's helper, started when there is none (or it died); not yet waited for."""
    global _helper, _hooked
    if not hasattr(os, "fork") or not hasattr(socket, "send_fds"):
        raise ExecutorError(
            "executor='process' needs fork and SCM_RIGHTS (Linux, macOS); here pass a "
            "concurrent.futures.ProcessPoolExecutor instance, or a Dask scheduler address"
        )
    with _helper_lock:
        if _helper is None or not _helper.alive:
            if not _hooked:  # registered on first use, never at import
                os.register_at_fork(after_in_child=_forget)
                interrupts.close_at_exit(_close_helper)
                _hooked = True
            _helper = _Helper()
        return _helper


def _forget() -> None:
    """In a child forked from the driver: the helper belongs to the parent."""
    global _helper
    if _helper is not None:
        _forgotten.append(_helper)
        _helper = None


def _close_helper() -> None:
    if _helper is not None:
        _helper.close()


class _Worker:
    __slots__ = ("pid", "sock")

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock = sock


class _Lost(Exception):
    """The worker's socket closed or failed: the worker died."""


def _receive(sock: socket.socket, wait: float | None) -> bytes | None:
    """The next frame from a worker, or None when none began within ``wait`` seconds (None: no
    limit); _Lost when the worker closed its socket."""
    sock.settimeout(wait)
    try:
        header = sock.recv(HEADER.size)
    except TimeoutError:
        return None
    finally:
        sock.settimeout(None)
    if len(header) < HEADER.size:
        if not header:
            raise _Lost
        rest = recv_exact(sock, HEADER.size - len(header))  # the frame began: the rest follows
        if rest is None:
            raise _Lost
        header += rest
    frame = recv_exact(sock, HEADER.unpack(header)[0])
    if frame is None:
        raise _Lost
    return frame


class ProcessRunner(StepRunner):
    """The process pool of one run: up to ``size`` workers, forked as steps need them, ended by ``close``."""

    label = "process pool"
    capacity: int

    def __init__(self, size: int) -> None:
        self.capacity = size
        self._helper = helper()
        import cloudpickle  # noqa: F401  (loaded while the helper starts, for the first request)

        self._helper.wait_ready()
        self._cond = threading.Condition()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._count = 0  # workers idle, busy or being forked
        self._closed = False
        # Workers are forked when a step first needs one, not all here: the run's first step starts
        # after one fork, and the others' forks overlap it; a run that uses fewer forks fewer.

    def run(self, task: Task, previous: Context) -> Any:
        context = current_task()  # the driver's, entered by the runner around this call
        request = encode(task, previous, WHERE, context)
        worker = self._checkout()
        timeout = task.options.timeout
        try:
            frame = self._call(worker, request, timeout, context)
        except _Lost:
            code = self._discard(worker, GRACE)
            raise WorkerDiedError(
                f"the worker process (pid {worker.pid}) running step {step_name(task.step)} died "
                f"({describe_exit(code)})"
            ) from None
        if frame is None:
            self._discard(worker, 0)
            raise StepTimeoutError(
                f"step {step_name(task.step)} timed out after {timeout:g}s; its worker process (pid {worker.pid}) "
                "was killed, so the step stopped (a new worker takes its place)"
            )
        if frame[:1] == b"\x01":  # the worker abandoned a thread (a method's own timeout) and stops
            self._discard(worker, GRACE)
        else:
            self._checkin(worker)
        return decode(memoryview(frame)[1:], task, WHERE, context)  # a view: results may be megabytes

    def _call(self, worker: _Worker, request: bytes, timeout: float, context: TaskContext | None) -> bytes | None:
        """The worker's reply frame, None after ``timeout`` seconds (0: no limit); _Lost when it died.
        Meanwhile the step's updates go to ``context``, and its cancel goes to the worker, once."""
        sock = worker.sock
        deadline = time.monotonic() + timeout if timeout else None
        watch = context is not None  # the cancel flag is looked at until it is sent
        try:
            send_frame(sock, request)
            while True:
                wait = None
                if deadline is not None:
                    wait = deadline - time.monotonic()
                    if wait <= 0:
                        return None
                if watch:
                    wait = CANCEL_POLL if wait is None else min(wait, CANCEL_POLL)
                frame = _receive(sock, wait)
                if frame is None:  # nothing yet
                    if watch and context.cancel_requested():  # type: ignore[union-attr]
                        send_frame(sock, b"")
                        watch = False
                    continue
                if frame[:1] == UPDATE:
                    if context is not None:
                        apply_update(context, pickle.loads(memoryview(frame)[1:]))
                    continue
                return frame
        except OSError:
            raise _Lost from None

    def _checkout(self) -> _Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise ExecutorError("the run's process pool is closed (the run ended or was interrupted)")
                if self._idle:
                    worker = self._idle.pop()
                    self._busy.add(worker)
                    return worker
                if self._count < self.capacity:
                    self._count += 1
                    break
                self._cond.wait(0.5)  # a worker comes back, or one is replaced
        try:
            worker = self._helper.fork()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise
        with self._cond:
            closed = self._closed
            if not closed:
                self._busy.add(worker)
        if closed:  # the run ended (interrupted) while this worker was forked: it runs nothing
            self._discard(worker, 0, closing=True)
            raise ExecutorError("the run's process pool is closed (the run ended or was interrupted)")
        return worker

    def _checkin(self, worker: _Worker) -> None:
        with self._cond:
            self._busy.discard(worker)
            if not self._closed:
                self._idle.append(worker)
                self._cond.notify()
                return
        self._discard(worker, GRACE, closing=True)

    def _discard(self, worker: _Worker, grace: float, closing: bool = False) -> int | None:
        """End ``worker`` (killed at once when ``grace`` is 0) and forget it; its exit code."""
        try:
            worker.sock.close()
        except OSError:
            pass
        code = self._helper.end([worker.pid], grace).get(worker.pid)
        with self._cond:
            self._busy.discard(worker)
            if not closing:
                self._count -= 1
                self._cond.notify()
        return code

    def close(self) -> None:
        """End every worker: idle ones exit when their socket closes; busy ones (an interrupted
        run) are killed, since a run's end does not wait for its steps."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
            self._cond.notify_all()
        for worker in idle:
            try:
                worker.sock.close()
            except OSError:
                pass
        # busy sockets stay open: their orchestrating threads are reading them, and see the kill as EOF
        self._helper.end([w.pid for w in busy], 0)
        self._helper.end([w.pid for w in idle], GRACE)
