"""SchedulerCron: runs the workflow at the times a cron expression gives (needs croniter)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dotflow.abc.scheduler import Scheduler
from dotflow.errors import MissingExtraError, UsageError
from dotflow.interrupts import join_interruptibly
from dotflow.types import TypeOverlap

logger = logging.getLogger("dotflow")

OVERLAPS = (TypeOverlap.SKIP, TypeOverlap.QUEUE, TypeOverlap.PARALLEL)
# "wait" was this scheduler's name for "queue" before 1.x's names were adopted; it still works
_ALIASES = {"wait": TypeOverlap.QUEUE}
# runs at once with overlap="parallel", as in 1.x
PARALLEL_LIMIT = 10
# How often "queue" checks whether a background run has ended; stop() still wakes it at once.
_POLL_SECONDS = 1.0
# How often start() checks whether the last "parallel" runs ended; stop() wakes it at once.
_JOIN_POLL_SECONDS = 0.1
# The longest single sleep: a wall clock that jumps (suspend, NTP) is noticed within this.
_MAX_SLEEP = 60.0


class SchedulerCron(Scheduler):
    """``SchedulerCron(cron, overlap="skip", *, max_runs=None, clock=None, sleep=None)``.

    ``DotFlow.schedule()`` with it blocks and runs the whole workflow at each time of ``cron``
    (croniter's forms: 5 fields; a 6th for seconds, so ``* * * * * *`` is every second; a
    7th for years; ``@hourly`` and friends; read in the clock's time zone). Every time is a full
    run (1.x ran the workflow only at the first).

    - ``overlap`` says what happens to a run that falls due while an earlier one is going:

      - ``"skip"`` (default): it is dropped, with a warning;
      - ``"queue"``: at most one run waits, and starts as soon as the going one ends; the
        times that pass meanwhile collapse into that one run. ``"wait"`` is the same;
      - ``"parallel"``: it starts at once on a thread of its own, up to 10 runs at a time
        (a time when 10 are going is dropped, with a warning). ``DotFlow.schedule()`` runs an
        overlapping run on a copy of the workflow (``DotFlow.copy()``: its own tasks and a new id),
        since one DotFlow's tasks hold one run's state; any other callable must be safe to
        call while an earlier call is still going.

      With ``"skip"`` and ``"queue"`` runs happen in the thread that called ``start()``, so a
      Ctrl-C interrupts the run (its tasks are reported Failed) and then ends the schedule. A
      background-mode run (``schedule(mode="background")``) is "going" until it is done.
    - ``max_runs`` ends the schedule after that many runs (with ``"parallel"``, ``start()``
      then waits for them to end). ``stop()`` ends it at once, from any thread or from inside
      a run, waking it if it sleeps; a ``stop()`` before ``start()`` makes that ``start()``
      return without a run. ``running`` is True from ``start()`` until the schedule ends or
      ``stop()`` is called (a run going in ``start()``'s thread may still be finishing then).
    - A run that raises, AssertionError included, is logged on the ``dotflow`` logger and the
      schedule goes on: unlike ``start()``, a long-lived schedule has no caller to raise to.
    - Unlike 1.x no signal handler is installed: the application owns its signals (``dotflow
      schedule`` handles SIGTERM and SIGINT itself; see the README).
    - ``clock`` (returns the current datetime) and ``sleep`` (takes seconds) are injectable for
      tests; they default to ``datetime.now`` and a wait that ``stop()`` interrupts.
    """

    def __init__(
        self,
        cron: str,
        overlap: str = TypeOverlap.SKIP,
        *,
        max_runs: int | None = None,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], object] | None = None,
    ) -> None:
        try:
            from croniter import croniter
        except ImportError as exc:
            raise MissingExtraError("SchedulerCron needs croniter: pip install 'dotflow[scheduler]'") from exc
        if not isinstance(cron, str):
            raise UsageError(f"invalid cron expression {cron!r}: expected a string such as '*/5 * * * *'")
        try:
            # get_next also catches dates that never come, such as '0 0 30 2 *'.
            croniter(cron, datetime(2000, 1, 1)).get_next(datetime)
        except (ValueError, KeyError) as exc:
            raise UsageError(f"invalid cron expression {cron!r}: {exc}") from exc
        overlap = _ALIASES.get(overlap, overlap) if isinstance(overlap, str) else overlap
        if overlap not in OVERLAPS:
            raise UsageError(
                f"SchedulerCron(overlap={overlap!r}) is not supported; use one of {', '.join(map(repr, OVERLAPS))}"
            )
        if max_runs is not None and (isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1):
            raise UsageError(f"SchedulerCron(max_runs={max_runs!r}): expected a positive int, or None for no limit")
        self.cron = cron
        self.overlap = str(overlap)
        self.max_runs = max_runs
        self.running = False
        self._croniter = croniter
        self._stopped = threading.Event()
        self._clock: Callable[[], datetime] = clock or datetime.now
        self._sleep: Callable[[float], object] = sleep or self._stopped.wait
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(PARALLEL_LIMIT)
        self._threads: list[threading.Thread] = []

    def start(self, workflow: Callable[..., Any], **kwargs: Any) -> None:
        """Call ``workflow(**kwargs)`` at each cron time until ``max_runs`` or ``stop()``."""
        self.running = True
        runs = 0
        last: Any = None
        parallel = self.overlap == TypeOverlap.PARALLEL
        if parallel:
            workflow = _one_run_per_dotflow(workflow)
        try:
            due = self._next_after(self._clock())
            while self.max_runs is None or runs < self.max_runs:
                if not self._sleep_until(due):
                    break
                if parallel:
                    runs += self._dispatch(workflow, due, kwargs)
                    due = self._next_after(due)
                    due = self._catch_up(due, skip=True)
                    continue
                if _is_running(last):
                    if self.overlap == TypeOverlap.SKIP:
                        logger.warning("%r: skipped the run due at %s: the previous run is still going", self, due)
                        due = self._next_after(due)
                        continue
                    if not self._wait_for(last):
                        break
                last = self._run(workflow, due, kwargs)
                runs += 1
                if self._stopped.is_set():
                    break
                due = self._catch_up(self._next_after(due), skip=self.overlap == TypeOverlap.SKIP)
            # max_runs reached: the runs it started are part of the schedule, until they end or a
            # stop() (a signal's handler) ends the schedule: a plain join would not see the stop
            while parallel and not self.join(0) and not self._stopped.wait(_JOIN_POLL_SECONDS):
                pass
        finally:
            self.running = False
            self._stopped.clear()  # so that the scheduler can be started again

    def stop(self, timeout: float | None = None) -> None:
        """End the schedule (thread-safe); a sleeping scheduler wakes at once. Then wait up to
        ``timeout`` seconds for the ``"parallel"`` runs still going (None: until they end, as
        1.x does; 0: not at all). A run in the thread that called ``start()`` is not waited
        for here: ``start()`` returns once it ends."""
        self._stopped.set()
        self.running = False  # as in 1.x: the schedule is over once stop() returns
        if timeout is None or timeout > 0:
            self.join(timeout)

    def join(self, timeout: float | None = None) -> bool:
        """Wait up to ``timeout`` seconds (None: no limit) for the runs going on threads of
        their own (``overlap="parallel"``); True when none is left."""
        from time import monotonic

        deadline = None if timeout is None else monotonic() + timeout
        current = threading.current_thread()
        with self._lock:
            threads = [thread for thread in self._threads if thread is not current]
        for thread in threads:
            join_interruptibly(thread, None if deadline is None else max(0.0, deadline - monotonic()))
        with self._lock:
            self._threads = [thread for thread in self._threads if thread.is_alive()]
            return not [thread for thread in self._threads if thread is not current]

    def _next_after(self, moment: datetime) -> datetime:
        return self._croniter(self.cron, moment).get_next(datetime)  # type: ignore[no-any-return]

    def _catch_up(self, due: datetime, skip: bool) -> datetime:
        """The next time to run once ``due`` came while a run blocked the scheduler (or the
        clock jumped): skip those times (logged), or run once right now for all of them."""
        now = self._clock()
        if due >= now:
            return due
        if skip:
            logger.warning("%r: skipped the runs due from %s to %s: the previous run was still going", self, due, now)
            return self._next_after(now)
        return now

    def _sleep_until(self, due: datetime) -> bool:
        """Sleep until ``due``; False if ``stop()`` came first."""
        while not self._stopped.is_set():
            remaining = (due - self._clock()).total_seconds()
            if remaining <= 0:
                return True
            self._sleep(min(remaining, _MAX_SLEEP))
        return False

    def _wait_for(self, run: Any) -> bool:
        """Wait for a background run to end; False if ``stop()`` came first."""
        while _is_running(run):
            if self._stopped.is_set():
                return False
            self._sleep(_POLL_SECONDS)
        return not self._stopped.is_set()

    def _run(self, workflow: Callable[..., Any], due: datetime, kwargs: dict[str, Any]) -> Any:
        logger.info("%r: run due at %s", self, due)
        try:
            return workflow(**kwargs)
        except Exception:
            logger.exception("%r: the run due at %s failed; the schedule goes on", self, due)
            return None

    def _dispatch(self, workflow: Callable[..., Any], due: datetime, kwargs: dict[str, Any]) -> int:
        """Start one ``"parallel"`` run on a thread of its own; 0 when 10 are already going."""
        if not self._slots.acquire(blocking=False):
            logger.warning("%r: skipped the run due at %s: %d runs are still going", self, due, PARALLEL_LIMIT)
            return 0
        thread = threading.Thread(target=self._run_on_thread, args=(workflow, due, kwargs),
                                  name=f"dotflow-schedule-{due:%H%M%S}")
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        try:
            thread.start()
        except BaseException:
            self._slots.release()
            raise
        return 1

    def _run_on_thread(self, workflow: Callable[..., Any], due: datetime, kwargs: dict[str, Any]) -> None:
        try:
            result = self._run(workflow, due, kwargs)
            if _is_running(result) and callable(getattr(result, "wait", None)):
                result.wait()  # a background-mode run holds its slot until it is done
        except Exception:
            logger.exception("%r: the run due at %s failed", self, due)
        finally:
            self._slots.release()

    def __repr__(self) -> str:
        return f"SchedulerCron({self.cron!r}, overlap={self.overlap!r}, max_runs={self.max_runs!r})"


def _is_running(result: Any) -> bool:
    """Whether a run's result (a Manager, in background mode) says it is still going."""
    return getattr(result, "done", True) is False


def _one_run_per_dotflow(workflow: Callable[..., Any]) -> Callable[..., Any]:
    """For ``DotFlow.start``: a callable that runs on that DotFlow when no other run of it is
    going, and on a ``copy()`` of it otherwise. One DotFlow's tasks hold one run's state (status,
    errors, results), so two runs of it at once would overwrite each other's. Anything else is
    returned as it is."""
    if not _is_copyable_start(workflow):
        return workflow
    flow: Any = getattr(workflow, "__self__")
    busy = threading.Lock()

    def run(**kwargs: Any) -> Any:
        own = busy.acquire(blocking=False)
        try:
            manager = (flow if own else copy_workflow(flow)).start(**kwargs)
            if _is_running(manager):
                manager.wait()  # background mode: the run is this one's until it is done
            return manager
        finally:
            if own:
                busy.release()

    return run


def _is_copyable_start(workflow: Callable[..., Any]) -> bool:
    """Whether ``workflow`` is a DotFlow's own ``start``, told without importing the engine (a
    provider sits below it): a bound ``start`` whose class defines ``copy()`` beside it. A
    subclass that overrides ``start`` alone is called as it is, like any other callable."""
    flow = getattr(workflow, "__self__", None)
    function = getattr(workflow, "__func__", None)
    if flow is None or getattr(function, "__name__", None) != "start":
        return False
    for cls in type(flow).__mro__:
        if "start" in vars(cls):
            return vars(cls)["start"] is function and callable(vars(cls).get("copy"))
    return False


def copy_workflow(flow: Any) -> Any:
    """``flow.copy()`` (the same providers, name, run defaults and tasks, and a new id, so its
    checkpoints, spans and server rows are its own), logged as the copy of ``flow``."""
    twin = flow.copy()
    logger.info("ID %s - runs as a copy of workflow %s, whose previous run is still going", twin.workflow_id,
                flow.workflow_id)
    return twin

