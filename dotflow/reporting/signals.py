"""Runs that report remotely leave a terminal status behind when the process is told to stop.

While a run that reports to a remote server lasts, it is *watched*:

- **SIGTERM** (``docker stop``, Kubernetes): if the application left SIGTERM at its default and
  the run started on the main thread, a handler is installed for as long as watched runs last.
  It marks every watched run's running and unstarted tasks, and the run itself, Failed
  ("interrupted by SIGTERM"), reports them, flushes within the server's ``signal_flush_timeout``
  and ends the process with 143, as the default action would have ended it (with no cleanup).
  The work happens on a thread of its own, so a lock the interrupted code held is never waited
  for by the same thread; the interrupted code goes on meanwhile, but the run changes no status
  any more. A SIGTERM arriving when no watched run is active gets the default action.
- **SIGINT** is left to Python: KeyboardInterrupt unwinds through the run, which interrupts and
  flushes itself (see ``Manager``).
- **Interpreter exit** with a watched run still going (a background run never waited for): it is
  interrupted ("interrupted: the process exited") and reported before the exit-time flush.

``dotflow start`` installs its own SIGTERM handler, so a run under it is never handled here twice.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from time import monotonic
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dotflow.execution.manager import Manager

# Seconds past the flush bound given to marking the tasks Failed (a user's Server may be slow at it).
_GRACE = 2.0
_lock = threading.RLock()
_watched: dict[Manager, None] = {}  # insertion-ordered set
_state: dict[str, Any] = {"installed": False, "atexit": False, "exiting": False}


def watch(manager: Manager) -> None:
    """Watch ``manager``'s run until ``unwatch``; install the SIGTERM handler when allowed."""
    with _lock:
        _watched[manager] = None
        if not _state["atexit"]:
            atexit.register(_at_exit)
            _state["atexit"] = True
        if _state["installed"] or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
                return  # the application handles SIGTERM itself: leave it alone
            signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):  # not the main interpreter, or no SIGTERM on this platform
            return
        _state["installed"] = True


def unwatch(manager: Manager) -> None:
    """Stop watching ``manager``; the default SIGTERM action comes back when no run is watched
    (from the main thread; elsewhere the handler restores it the next time it fires)."""
    with _lock:
        _watched.pop(manager, None)
        if _watched or not _state["installed"] or threading.current_thread() is not threading.main_thread():
            return
        try:
            if signal.getsignal(signal.SIGTERM) is _on_sigterm:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
        except (ValueError, OSError):
            return
        _state["installed"] = False


def _on_sigterm(signum: int, frame: Any) -> None:
    with _lock:
        managers = list(_watched)
        if _state["exiting"]:
            return  # already reporting and about to exit
        if not managers:
            # a background run ended without wait(): behave exactly as if never installed
            signal.signal(signum, signal.SIG_DFL)
            _state["installed"] = False
            signal.raise_signal(signum)
            return
        _state["exiting"] = True
    # not a daemon: an interpreter that reaches its end meanwhile waits for the exit code set here
    threading.Thread(target=_stop, args=(managers, signum), name="dotflow-sigterm", daemon=False).start()


def _stop(managers: list[Manager], signum: int) -> None:
    name = signal.Signals(signum).name
    # the reporting runs on a daemon thread of its own, watched: a user's Server hook that blocks
    # must not keep the process from ending once the bound is spent
    bound = max((manager.reporter.signal_flush_timeout for manager in managers), default=0.0)
    work = threading.Thread(
        target=_interrupt_and_flush,
        args=(managers, f"interrupted by {name}", True),
        name="dotflow-sigterm-report",
        daemon=True,
    )
    work.start()
    work.join(bound + _GRACE)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken stream must not keep the process alive
            pass
    os._exit(128 + signum)


def _interrupt_and_flush(managers: list[Manager], message: str, signal_bound: bool) -> None:
    """Interrupt each run (its unfinished tasks and itself become Failed with ``message``),
    then flush each distinct reporter, all within one deadline."""
    reporters = []
    for manager in managers:
        try:
            manager.interrupt(message=message)
        except Exception:  # one broken run must not keep the others from being reported
            pass
        if manager.reporter not in reporters:
            reporters.append(manager.reporter)
    if not reporters:
        return
    if signal_bound:
        bound = max(reporter.signal_flush_timeout for reporter in reporters)
        deadline = monotonic() + bound
        for reporter in reporters:
            reporter.flush(max(0.0, deadline - monotonic()))
    else:
        for reporter in reporters:
            reporter.flush()


def _at_exit() -> None:
    with _lock:
        running = [manager for manager in _watched if not manager.finished]
        _watched.clear()
    if running:
        _interrupt_and_flush(running, "interrupted: the process exited during the run", signal_bound=False)
