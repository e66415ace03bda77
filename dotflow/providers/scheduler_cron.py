"""SchedulerCron: runs the workflow at the times a cron expression gives (needs croniter)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from dotflow.abc.scheduler import Scheduler
from dotflow.errors import MissingExtraError, UsageError

logger = logging.getLogger("dotflow")

_OVERLAPS = ("skip", "wait")
# How often "wait" checks whether a background run has ended; stop() still wakes it at once.
_POLL_SECONDS = 1.0


class SchedulerCron(Scheduler):
    """``DotFlow.schedule()`` with it blocks and calls ``start`` at each time of ``cron``
    (5, 6 or 7 fields, or ``@hourly`` and friends, read in the clock's time zone).

    - ``max_runs`` ends the schedule after that many runs; ``stop()`` (from any thread, or
      from inside a run) ends it at once, waking it if it is sleeping. A ``stop()`` that comes
      before ``start()`` makes that ``start()`` return without a run.
    - ``overlap`` says what happens to a run that falls due while the previous one is still
      going: ``"skip"`` (the default) drops it with a warning; ``"wait"`` starts it as soon as
      the previous one ends, several such runs collapsing into one. A background-mode run
      (``schedule(mode="background")``) is "going" until its Manager is done; a blocking run
      holds the scheduler, so times that pass during it are treated the same way.
    - A run that raises, AssertionError included, is logged on the ``dotflow`` logger and the
      schedule goes on: unlike ``start()``, a long-lived schedule has no caller to raise to.
    - ``clock`` (returns the current datetime) and ``sleep`` (takes seconds) are injectable for
      tests; they default to ``datetime.now`` and a wait that ``stop()`` interrupts.
    """

    def __init__(
        self,
        cron: str,
        *,
        max_runs: int | None = None,
        overlap: str = "skip",
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
        if overlap not in _OVERLAPS:
            raise UsageError(
                f"SchedulerCron(overlap={overlap!r}) is not supported; use one of {', '.join(map(repr, _OVERLAPS))}"
            )
        if max_runs is not None and (isinstance(max_runs, bool) or not isinstance(max_runs, int) or max_runs < 1):
            raise UsageError(f"SchedulerCron(max_runs={max_runs!r}): expected a positive int, or None for no limit")
        self.cron = cron
        self.max_runs = max_runs
        self.overlap = overlap
        self._croniter = croniter
        self._stopped = threading.Event()
        self._clock: Callable[[], datetime] = clock or datetime.now
        self._sleep: Callable[[float], object] = sleep or self._stopped.wait

    def start(self, workflow: Callable[..., Any], **kwargs: Any) -> None:
        """Call ``workflow(**kwargs)`` at each cron time until ``max_runs`` or ``stop()``."""
        runs = 0
        last: Any = None
        try:
            due = self._next_after(self._clock())
            while self.max_runs is None or runs < self.max_runs:
                if not self._sleep_until(due):
                    break
                if _is_running(last):
                    if self.overlap == "skip":
                        logger.warning("%r: skipped the run due at %s: the previous run is still going", self, due)
                        due = self._next_after(due)
                        continue
                    if not self._wait_for(last):
                        break
                last = self._run(workflow, due, kwargs)
                runs += 1
                if self._stopped.is_set():
                    break
                due = self._next_after(due)
                now = self._clock()
                if due < now:  # it came while that run blocked the scheduler
                    if self.overlap == "skip":
                        logger.warning(
                            "%r: skipped the runs due from %s to %s: the previous run was still going", self, due, now
                        )
                        due = self._next_after(now)
                    else:
                        due = now
        finally:
            self._stopped.clear()  # so that the scheduler can be started again

    def stop(self) -> None:
        """End the schedule (thread-safe); a sleeping scheduler wakes at once."""
        self._stopped.set()

    def _next_after(self, moment: datetime) -> datetime:
        return self._croniter(self.cron, moment).get_next(datetime)  # type: ignore[no-any-return]

    def _sleep_until(self, due: datetime) -> bool:
        """Sleep until ``due``; False if ``stop()`` came first."""
        while not self._stopped.is_set():
            remaining = (due - self._clock()).total_seconds()
            if remaining <= 0:
                return True
            self._sleep(remaining)
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

    def __repr__(self) -> str:
        return f"SchedulerCron({self.cron!r}, max_runs={self.max_runs!r}, overlap={self.overlap!r})"


def _is_running(result: Any) -> bool:
    """Whether a run's result (a Manager, in background mode) says it is still going."""
    return getattr(result, "done", True) is False
