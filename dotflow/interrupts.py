"""How a process running workflows stops: the one owner of signal handlers, the interpreter-exit
hook, the interruption of runs, the bounded flush of their reports and the exit codes, for
``dotflow start``, ``dotflow schedule`` and library runs alike.

Everything that must happen before the process ends registers here instead of installing its
own handler or hook, and the order is written down once (``_at_exit``):

1. runs still going are interrupted: their unfinished tasks and the run itself become Failed and
   are reported ("interrupted: the process exited during the run"), then their reports flushed;
2. every delivery queue that was used flushes what it still holds (each its own ``flush_timeout``,
   the most recently used first);
3. what closes last closes (the process executor's helper).

**Library runs** that report remotely are *watched* while they last (``watch``/``unwatch``).
SIGTERM (``docker stop``, Kubernetes): if the application left SIGTERM at its default and the run
started on the main thread, a handler is installed for as long as watched runs last. It marks
every watched run's running and unstarted tasks, and the run, Failed ("interrupted by SIGTERM"),
reports them, flushes within the server's ``signal_flush_timeout`` and ends the process with 143,
as the default action would have ended it. The work happens on a thread of its own, so a lock the
interrupted code held is never waited for by the same thread. A SIGTERM arriving when no watched
run is active gets the default action. SIGINT is left to Python: KeyboardInterrupt unwinds
through the run, which interrupts itself and flushes within the signal bound (``unwound``).

**Commands** (``dotflow start``, ``dotflow schedule``) own their signals while they run
(``command_signals``): in the main thread a signal becomes an exception that unwinds the run
(KeyboardInterrupt, or ``RunInterrupted`` with the exit code), and the command ends with
``end_process`` once the interrupted runs are reported and flushed (``interrupt_and_flush``).

Interrupting a run is safe from any thread (``interrupt_and_flush``): a cancel request from
another thread goes the same way as a signal.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import weakref
from contextlib import contextmanager
from time import monotonic
from typing import Any, Callable, Iterable, Iterator, NoReturn, Protocol

from dotflow.errors import Interrupted

EXIT_OK = 0
EXIT_FAILED = 1  # the workflow ran and failed (or a schedule had a failed run)
EXIT_USAGE = 2  # a usage or configuration error: nothing ran
EXIT_CANCELLED = 3  # the run was cancelled (by its backend, or Manager.cancel)
# The bound of a flush after a signal for a Server that does not say (ServerAPI does).
SIGNAL_FLUSH_TIMEOUT = 5.0
# Seconds past the flush bound given to marking the tasks Failed (a user's Server may be slow at it).
_GRACE = 2.0


class Reporting(Protocol):
    """What is flushed here: a run's Reporter, or a delivery queue (either may also ``hasten``)."""

    @property
    def signal_flush_timeout(self) -> float: ...

    def flush(self, timeout: float | None = None) -> None: ...


class Interruptible(Protocol):
    """What is interrupted here: a run (``dotflow.execution.manager.Manager``)."""

    reporter: Any

    @property
    def finished(self) -> bool: ...

    def interrupt(self, reason: BaseException | None = None, message: str | None = None) -> None: ...


class RunInterrupted(SystemExit):
    """The SystemExit that interrupts a run: a command raises it on SIGTERM, with the process's
    exit code (128 + the signal's number). Like KeyboardInterrupt it unwinds the run, which
    reports its unfinished tasks Failed.

    Any other SystemExit comes from a step's own code (``sys.exit()``, a click command's
    ``main()``) and fails that step like an exception, instead of ending the whole run.
    """


class SignalInterrupt(KeyboardInterrupt):
    """The KeyboardInterrupt a command raises for a real SIGINT: code that turns a module's own
    ``raise KeyboardInterrupt`` into an error (a step module imported) lets this one through."""


def signal_exit_code(signum: int) -> int:
    """The exit code of a process ended by signal ``signum``, as a shell reports it: 128 + n."""
    return 128 + signum


def exit_code_of(cause: BaseException) -> int:
    """The exit code a command ends with after ``cause`` interrupted it: 130 for Ctrl-C, the code a
    ``RunInterrupted`` carries (143 for SIGTERM), else 1."""
    if isinstance(cause, KeyboardInterrupt):
        return signal_exit_code(signal.SIGINT)
    code = getattr(cause, "code", None)
    return code if isinstance(code, int) else EXIT_FAILED


def cause_of(signum: int) -> BaseException:
    """The exception a command's handler raises for ``signum``: what a command ends with when the
    signal came where nothing could raise it (during the final flush)."""
    return SignalInterrupt() if signum == signal.SIGINT else RunInterrupted(signal_exit_code(signum))


def interruption_message(cause: BaseException | None) -> str:
    """The error message of a task cut short: ``interrupted by SIGINT`` for KeyboardInterrupt,
    ``interrupted by SIGTERM`` for the interruption ``dotflow start`` raises on SIGTERM."""
    if isinstance(cause, KeyboardInterrupt):
        return "interrupted by SIGINT"
    code = getattr(cause, "code", None)
    if isinstance(cause, RunInterrupted) and isinstance(code, int) and code > 128:
        try:
            return f"interrupted by {signal.Signals(code - 128).name}"
        except ValueError:
            pass
    return "interrupted"


def interruption_error(cause: BaseException | None, message: str | None = None) -> Interrupted:
    """The error a task cut short by ``cause`` (KeyboardInterrupt, RunInterrupted, None for the
    process's exit) records: always ``Interrupted``, so a backend sees one type for a signal
    wherever it was caught, with ``message`` (by default ``interruption_message(cause)``)."""
    error = Interrupted(message or interruption_message(cause))
    error.__cause__ = cause
    return error


# -- the registry ------------------------------------------------------------------------------

_lock = threading.RLock()
_watched: dict[Interruptible, None] = {}  # insertion-ordered set of the library runs watched
# delivery queues to flush at exit, in the order of their first report (weak: a queue that goes leaves)
_queues: weakref.WeakKeyDictionary[Any, None] = weakref.WeakKeyDictionary()
_closers: list[Callable[[], None]] = []  # called last at exit
_releases: list[Callable[[], None]] = []  # called when the process ends at once, before its streams are flushed
_state: dict[str, Any] = {"sigterm": False, "atexit": False, "exiting": False, "cancel_exits": False}


def _hook_exit() -> None:
    """Register the one interpreter-exit hook, on first need (never at import)."""
    if not _state["atexit"]:
        atexit.register(_at_exit)
        _state["atexit"] = True


# These two take no lock (a dict's item and a list's append are set atomically), so that a process
# forked while another thread registers never inherits a held lock; two threads registering the
# hook at once would at worst run it twice, and the second run finds nothing left to do.


def flush_at_exit(queue: Any) -> None:
    """Have ``queue`` (anything with ``flush()``) flushed when the interpreter exits, after the
    runs still going were interrupted. Held weakly: a queue no longer used is not kept alive."""
    _queues[queue] = None
    _hook_exit()


def close_at_exit(close: Callable[[], None]) -> None:
    """Have ``close()`` called last when the interpreter exits (the process executor's helper)."""
    _closers.append(close)
    _hook_exit()


def release_at_end(release: Callable[[], None]) -> None:
    """Have ``release()`` called when the process ends at once (``end_process``), before the
    standard streams are flushed: what holds the process's output gives it back (the capture's
    pipes under descriptors 1 and 2, whose reader ``os._exit`` would stop mid-way)."""
    _releases.append(release)


def watch(run: Interruptible) -> None:
    """Watch a library run that reports remotely until ``unwatch``: interpreter exit, and SIGTERM
    where the application left it at its default, still leave it a terminal status."""
    with _lock:
        _watched[run] = None
        _hook_exit()
        if _state["sigterm"] or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return  # the application (or dotflow start) handles SIGTERM itself: leave it alone
            signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not the main interpreter, or no SIGTERM on this platform
            return
        _state["sigterm"] = True


def unwatch(run: Interruptible) -> None:
    """Stop watching ``run``; the default SIGTERM action comes back when no run is watched
    (from the main thread; elsewhere the handler restores it the next time it fires)."""
    with _lock:
        _watched.pop(run, None)
        if _watched or not _state["sigterm"] or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except (ValueError, OSError):
            return
        _state["sigterm"] = False


def _on_sigterm(signum: int, frame: Any) -> None:
    with _lock:
        runs = list(_watched)
        if _state["exiting"]:
            return  # already reporting and about to exit
        if not runs:
            # a background run ended without wait(): behave exactly as if never installed
            signal.signal(signum, signal.SIG_DFL)
            _state["sigterm"] = False
            signal.raise_signal(signum)
            return
        _state["exiting"] = True
    # not a daemon: an interpreter that reaches its end meanwhile waits for the exit code set here
    threading.Thread(target=_stop, args=(runs, signum), name="dotflow-sigterm", daemon=False).start()


def _stop(runs: list[Interruptible], signum: int) -> None:
    message = f"interrupted by {signal.Signals(signum).name}"
    # the reporting runs on a daemon thread of its own, watched: a user's Server hook that blocks
    # must not keep the process from ending once the bound is spent
    bound = max((signal_bound(run.reporter) for run in runs), default=0.0)
    work = threading.Thread(
        target=interrupt_and_flush, args=(runs, message, True), name="dotflow-sigterm-report", daemon=True
    )
    work.start()
    work.join(bound + _GRACE)
    end_process(signal_exit_code(signum))


def _at_exit() -> None:
    with _lock:
        running = [run for run in _watched if not run.finished]
        _watched.clear()
    queues = list(_queues)
    _queues.clear()
    closers = list(_closers)
    _closers.clear()
    if running:
        interrupt(running, "interrupted: the process exited during the run")
    # the runs' reports first, then what any other queue holds (the most recently used first)
    signum = flush_reports([*(run.reporter for run in running), *reversed(queues)], signalled=False)
    for close in reversed(closers):
        close()
    if signum is not None:  # a signal during the exit flush: end as it asked, with its code
        end_process(signal_exit_code(signum))


# -- interrupting and flushing ------------------------------------------------------------------


def interrupt(runs: Iterable[Interruptible], message: str) -> None:
    """Interrupt each run: its unfinished tasks and itself become Failed with ``message``, and
    are reported. Safe from any thread."""
    for run in runs:
        try:
            run.interrupt(message=message)
        except Exception:  # one broken run must not keep the others from being reported
            pass


def interrupt_and_flush(runs: Iterable[Interruptible], message: str, signalled: bool = True) -> None:
    """``interrupt`` the runs, then flush their reporters (``flush_reports``)."""
    runs = list(runs)
    interrupt(runs, message)
    flush_reports([run.reporter for run in runs], signalled)


def flush_reports(flushables: Iterable[Reporting], signalled: bool) -> int | None:
    """Flush each distinct one (a run's Reporter, a delivery queue): after a signal all within one
    deadline, the longest ``signal_flush_timeout`` among them; otherwise each within its own bound
    (a server's ``flush_timeout``).

    On the main thread, SIGTERM and SIGINT that arrive during the flush do not end the process
    there and then (``docker stop`` during the final flush is ordinary): the first one shortens
    what is left to ``signal_flush_timeout``, while what can still be delivered goes, terminal
    statuses first. Returns that signal's number (None without one): the caller ends as the
    signal asked, once the flush is done."""
    distinct: list[Reporting] = []
    for flushable in flushables:
        if flushable not in distinct:
            distinct.append(flushable)
    if not distinct:
        return None
    flush = _Flush(distinct, signalled)
    with _hastened_by_signals(flush):
        for flushable in distinct:
            deadline = flush.deadline
            flushable.flush(None if deadline is None else max(0.0, deadline - monotonic()))
    return flush.signum


class _Flush:
    """One flush under way: its deadline, which a signal brings nearer, and the signal that came."""

    def __init__(self, flushables: list[Reporting], signalled: bool) -> None:
        self.flushables = flushables
        self.bound = max(signal_bound(flushable) for flushable in flushables)
        self.deadline: float | None = monotonic() + self.bound if signalled else None
        self.signum: int | None = None

    def on_signal(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
        deadline = monotonic() + self.bound
        if self.deadline is not None and self.deadline <= deadline:
            return  # already as short (a second signal does not cut the terminal statuses off)
        self.deadline = deadline
        for flushable in self.flushables:
            hasten = getattr(flushable, "hasten", None)
            if callable(hasten):
                try:
                    hasten(deadline)
                except Exception:  # a provider's own hasten must not break the flush
                    pass


def signal_bound(flushable: Any) -> float:
    """How long a flush of ``flushable`` may take after a signal: its ``signal_flush_timeout``
    (a Server, a Reporter, a delivery queue), else ``SIGNAL_FLUSH_TIMEOUT``."""
    value = getattr(flushable, "signal_flush_timeout", SIGNAL_FLUSH_TIMEOUT)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else SIGNAL_FLUSH_TIMEOUT


@contextmanager
def _hastened_by_signals(flush: _Flush) -> Iterator[None]:
    """While ``flush`` runs on the main thread, SIGTERM and SIGINT hasten it instead of ending the
    process: where they have their default action, Python's KeyboardInterrupt, or dotflow's own
    handler; an application's own handler is left alone. The handlers come back at the end."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        try:
            current = signal.getsignal(signum)
            if current in (signal.SIG_DFL, signal.default_int_handler, _on_sigterm):
                previous[signum] = signal.signal(signum, flush.on_signal)
        except (ValueError, OSError):  # not the main interpreter
            pass
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)


# How long a blocking wait of a run's own thread lasts before it looks for a signal again.
_WAIT_SLICE = 0.2


def wait_interruptibly(wait: Callable[[float], bool], timeout: float | None = None) -> bool:
    """``wait(seconds)`` (which returns whether what it waits for happened) called in slices of at
    most ``_WAIT_SLICE`` until it returns True or ``timeout`` passes; returns the last answer.

    A signal that reaches the main thread just before it blocks in a lock is only handled once the
    lock is released: one wait without a bound could hold a Ctrl-C or a SIGTERM until a step
    ends, however long that is. Waiting in slices bounds that delay to a slice.
    """
    deadline = None if timeout is None else monotonic() + timeout
    while True:
        remaining = _WAIT_SLICE if deadline is None else min(_WAIT_SLICE, deadline - monotonic())
        if wait(max(0.0, remaining)):
            return True
        if deadline is not None and monotonic() >= deadline:
            return False


def join_interruptibly(thread: threading.Thread, timeout: float | None = None) -> bool:
    """``thread.join(timeout)`` in slices (see ``wait_interruptibly``); whether the thread ended."""

    def joined(seconds: float) -> bool:
        thread.join(seconds)
        return not thread.is_alive()

    return wait_interruptibly(joined, timeout)


def unwound(run: Interruptible, cause: BaseException) -> None:
    """``cause`` (KeyboardInterrupt, SystemExit) is unwinding through the thread that drives
    ``run``: interrupt it and flush its reports within the signal bound, before it propagates. A
    signal that came during that flush is raised again once it is done, for its own handler."""
    run.interrupt(cause)
    signum = flush_reports([run.reporter], signalled=True)
    if signum is not None and signum != signal.SIGINT:
        signal.raise_signal(signum)


def cancelled(run: Interruptible, reason: str, exits: bool) -> None:
    """A cancelled run's grace ran out and the steps still running were left behind
    (``Manager.cancel``). When ``exits`` (read by the stop when it began: a command that asked for
    it, ``cancel_ends_process``, was running), the process ends, without waiting for the executor:
    the run's reports and every queue's are flushed within the signal bound, one line says why on
    stderr, then the exit code is ``EXIT_CANCELLED``, whatever the main thread is doing. A library
    run's process goes on."""
    if not exits:
        return
    with _lock:
        if _state["exiting"]:
            return
        _state["exiting"] = True
    flush_reports([run.reporter, *reversed(list(_queues))], signalled=True)
    reason = " ".join(reason.split())[:200]  # the backend's reason was masked when it came
    try:
        sys.stderr.write(f"error: the run was cancelled ({reason}) and a step did not stop within "
                         "the grace; it was left behind\n")
    except Exception:  # a closed stderr does not keep the process alive
        pass
    end_process(EXIT_CANCELLED)


def end_process(code: int) -> NoReturn:
    """End the process now with ``code``, standard streams flushed: steps may still run on worker
    threads, and waiting for them is what the signal asked not to do."""
    for release in list(_releases):
        try:
            release()
        except Exception:  # the output that was held is lost; the exit is not
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream must not keep the process alive
            pass
    os._exit(code)


# -- commands -----------------------------------------------------------------------------------


@contextmanager
def cancel_ends_process() -> Iterator[None]:
    """While the block runs (``dotflow start``, from its first line to its last), a cancelled run
    whose grace runs out ends the process (``cancelled``)."""
    _state["cancel_exits"] = True
    try:
        yield
    finally:
        _state["cancel_exits"] = False


def cancel_exits() -> bool:
    """Whether a cancelled run's stop ends the process now (see ``cancel_ends_process``)."""
    return bool(_state["cancel_exits"])


@contextmanager
def command_signals(
    busy: Callable[[], bool] = lambda: True, idle: Callable[[int], None] | None = None, sigint: bool = False,
) -> Iterator[None]:
    """A command's signals while the block runs, in the main thread: SIGTERM (and SIGINT when
    ``sigint``) raise where the main thread is, when ``busy()`` says a run goes on there:
    ``RunInterrupted(128 + n)`` for SIGTERM, ``SignalInterrupt`` (a KeyboardInterrupt) for SIGINT,
    so the run unwinds and reports its unfinished tasks Failed. When not busy, ``idle(signum)`` is called instead (a
    schedule between runs just stops). The previous handlers come back at the end."""

    def handler(signum: int, frame: Any) -> None:
        if idle is not None and not busy():
            idle(signum)
            return
        if signum == signal.SIGINT:
            raise SignalInterrupt
        raise RunInterrupted(signal_exit_code(signum))

    wanted = (signal.SIGTERM, signal.SIGINT) if sigint else (signal.SIGTERM,)
    previous = {signum: signal.signal(signum, handler) for signum in wanted}
    try:
        yield
    finally:
        for signum, before in previous.items():
            signal.signal(signum, before)
