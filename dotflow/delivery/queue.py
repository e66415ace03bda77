"""DeliveryQueue: remote reports sent off the caller's thread, concurrently across lanes and in order within each.

Any provider that reports somewhere over the network hands its reports to one of these. A report
belongs to a *lane* (one task, one workflow): a lane sends one report at a time, in the order they
were put, while different lanes are served at once by up to ``workers`` sender threads, each with
its own connection. The caller never waits on the network.

- **Kinds.** A ``CREATE`` report makes the lane's subject exist (a task's POST); the lane's later
  reports wait behind it, and another lane may be told to wait for it (``after=``). An ``UPDATE``
  is a non-terminal state: a newer report of the same lane replaces it while it is still queued
  (coalescing). A ``FINAL`` report (a terminal status, a workflow status) is never replaced and
  never dropped to make room.
- **The first update is kept.** The first ``UPDATE`` put on a lane after its ``CREATE`` (a task's
  first In progress: the step ran) is *pinned*: it is never replaced by a newer report and never
  dropped to make room, however slow the remote end, so the subject is seen running before it
  is seen ending. Only the updates after it coalesce, with one another and into a ``FINAL``; a
  lane goes ``CREATE``, first ``UPDATE``, at most the latest later ``UPDATE``, ``FINAL``. A lane
  that never had a ``CREATE`` (a notifier's) pins nothing. The queue remembers which lanes wait
  for their first update by key alone (the lane itself may be forgotten meanwhile), until that
  update or a ``FINAL`` comes. One thing only outranks the pin: a deadline (a flush's, a
  signal's) that cannot hold, at the recent pace, the creations, terminal statuses and other
  reports queued plus the pinned update. A pinned update whose ``FINAL`` waits behind it is then
  given up when its turn comes, and the ``FINAL`` goes in one request instead of two: a subject
  seen ending without being seen running is less wrong than one never seen ending. A warning of
  its own at the flush's end counts them (like the updates dropped for room, they are the queue's
  choice, not reports the remote end failed to take, so ``flush()`` does not count them lost).
- **Priority.** What completes a terminal status goes before what does not, so that when time runs
  out (a flush's deadline, a server slower than the run) the reports given up are the least
  useful ones. In order: *urgent* lanes (a workflow's status: ``put(..., urgent=True)``) and
  lanes others wait on; lanes whose next report is a ``FINAL`` (one request completes a terminal
  status); lanes whose next report is a ``CREATE`` or a pinned first ``UPDATE`` with a ``FINAL``
  waiting behind it (the remote end must get the subject first, and see it running before it
  ends); then the rest, creations of subjects still running and non-terminal updates. Among
  equals, the oldest report first (under a deadline in danger, a pinned update is as old as its
  creation: a subject whose creation went is finished first). The second and third swap while
  no deadline is in danger (no flush, or one that what is queued, pinned updates aside, can meet
  at the recent pace): a creation whose terminal status waits starts its requests early, and the
  run's reports end sooner (a 2 s server: 3 rounds for 5 tasks instead of 4).
- **Bound.** ``queue_size`` reports may wait; past that, the oldest queued ``UPDATE`` that is not
  pinned is dropped to make room (one warning counts them when the pressure ends). ``CREATE``
  and ``FINAL`` reports and pinned updates are admitted over the bound rather than lost (at most
  one pinned update per lane, so the excess stays within a few reports per subject); an
  unpinned ``UPDATE`` that finds nothing to drop is itself the one dropped.
- **Fewer senders.** An outcome ``crowded()`` says the remote end left a new connection waiting
  while it served the others (it takes fewer connections at once than ``workers``): the report
  goes back to the front, uncounted, and the queue keeps one sender fewer from then on.
- **Retries.** A send returns an ``Outcome``; transient failures are retried up to ``retries``
  times after the first attempt, waiting ``retry.delay`` (full jitter, ``Retry-After`` honoured,
  capped at ``backoff_max``) without holding a sender: other lanes go on meanwhile. A ``CREATE``
  given up for good takes its lane's later reports with it, so nothing updates a subject the
  remote end never got.
- **Flush.** ``flush(timeout)`` waits until everything is delivered or the deadline passes; then
  what is left is given up, and one warning line says how many reports were lost (how many of
  them terminal) and why. Requests made while a flush waits are bounded by its deadline. When
  the interpreter exits, every queue that was given a report flushes, each within its
  ``flush_timeout`` (``dotflow.interrupts`` owns the exit and its order).

Senders are daemon threads that exit after ``idle`` seconds with nothing to do; the next report
starts them again. Nothing here raises into the caller.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import random
import threading
import weakref
from collections import deque
from enum import IntEnum
from time import monotonic
from typing import Any, Callable, NamedTuple, Protocol

from dotflow import interrupts
from dotflow.delivery import retry

__all__ = [
    "Channel",
    "DeliveryQueue",
    "Kind",
    "Outcome",
    "SENT",
    "crowded",
    "drop",
    "transient",
]


class Kind(IntEnum):
    """What a report means to its lane (see the module docstring)."""

    CREATE = 0
    UPDATE = 1
    FINAL = 2


class Outcome(NamedTuple):
    """How one attempt to send a report ended. ``reason`` is short and holds no secret."""

    sent: bool
    retry: bool = False
    reason: str = ""
    retry_after: float | None = None
    fewer: bool = False  # the remote end serves fewer connections than were opened: drop a sender


SENT = Outcome(True)


def transient(reason: str, retry_after: float | None = None) -> Outcome:
    """Not sent, worth another attempt (a connection error, a timeout, a 503)."""
    return Outcome(False, True, reason, retry_after)


def crowded(reason: str) -> Outcome:
    """Not sent because the remote end had not taken this sender's new connection while it served
    others: send it again at once on another, and keep one sender fewer."""
    return Outcome(False, True, reason, 0.0, True)


def drop(reason: str) -> Outcome:
    """Not sent and not worth retrying (a 4xx rejection, a body that cannot be encoded)."""
    return Outcome(False, False, reason)


class Channel(Protocol):
    """One sender's connection. ``send`` must respect ``deadline`` (a ``time.monotonic()``
    value, or None) in how long it blocks, and should not raise."""

    def send(self, payload: Any, deadline: float | None) -> Outcome: ...

    def close(self) -> None: ...


_PENDING, _IN_FLIGHT, _DONE = 0, 1, 2

# how much more time than the queue's recent pace says a pinned update's send must leave before a
# deadline (see ``DeliveryQueue._yield_pin``): a pace measured a moment ago can slow down (a busy machine)
_MARGIN = 1.5
_SAMPLES = 8  # requests timed before a pinned update may be given up
_WINDOW = 2048  # sends whose ends say the queue's pace: many (about a second), so that no moment sways it


class _Report:
    __slots__ = ("attempts", "born", "kind", "lane", "payload", "pinned", "seq", "state")

    def __init__(self, lane: _Lane, kind: Kind, payload: Any, seq: int, born: int | None = None) -> None:
        self.lane = lane
        self.kind = kind
        self.payload = payload
        self.seq = seq
        # the lane's first UPDATE after its CREATE (whose seq is ``born``): never replaced nor dropped
        self.pinned = born is not None
        self.born = seq if born is None else born
        self.attempts = 0  # retries so far
        self.state = _PENDING


class _Lane:
    __slots__ = (
        "busy", "creating", "dead", "dependents", "finals", "key", "not_before", "pending", "token", "urgent", "waiting"
    )

    def __init__(self, key: Any, urgent: bool = False) -> None:
        self.key = key
        self.urgent = urgent  # served before every other lane (a workflow's status)
        self.pending: deque[_Report] = deque()  # pending[0] is in flight while busy
        self.busy = False
        self.token = 0  # bumped at each (re)scheduling: older heap entries are stale
        self.not_before = 0.0  # backoff: no attempt before this monotonic time
        self.finals = 0  # FINAL reports queued
        self.creating = 0  # CREATE reports queued or in flight
        self.waiting: Any = None  # key of the lane whose CREATE this one waits for
        self.dependents: list[Any] = []  # keys of the lanes waiting for this one's CREATE
        self.dead: str | None = None  # why this lane's CREATE was given up


# Each live queue's own reset, held weakly (a queue that goes takes its entry with it): the queue
# hands it over, so the fork hook calls it without reaching into any queue.
_fork_resets: set[weakref.WeakMethod[Callable[[], None]]] = set()


def _reset_after_fork(reset: Callable[[], None]) -> None:
    """Have ``reset`` (a queue's own) run in a child process after ``fork()``, so that every queue
    starts empty there: the parent's lock, sender threads and reports are not the child's (the
    hook is registered once, on the first queue, not at import)."""
    if not _fork_resets and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_reset_all)
    _fork_resets.add(weakref.WeakMethod(reset, _fork_resets.discard))


def _reset_all() -> None:
    for ref in list(_fork_resets):
        reset = ref()
        if reset is not None:
            reset()


def _rank(lane: _Lane, pressed: bool) -> int:
    """A ready lane's place in line (see Priority in the module docstring): lower goes first. Under
    a deadline that cannot be met (``pressed``) a lone terminal PATCH goes before a creation whose
    terminal PATCH waits (one request completes a status, not two); otherwise the creation goes
    first, since its task needs two requests in a row and the run ends sooner when it starts early."""
    if lane.urgent or lane.dependents:
        return 0
    if lane.finals:
        final_next = lane.pending[0].kind is Kind.FINAL
        return (1 if final_next else 2) if pressed else (2 if final_next else 1)
    return 3


def _age(lane: _Lane, pressed: bool) -> int:
    """A ready lane's place among equals: its next report's seq, the oldest first. Under a deadline
    that cannot be met a pinned first update takes its creation's place, so that a subject whose
    creation went is finished before the creations of younger ones go (otherwise it would wait
    behind all of them, its terminal status too)."""
    head = lane.pending[0]
    return head.born if pressed else head.seq


class DeliveryQueue:
    """See the module docstring. ``open_channel`` makes one sender's connection (called on
    that sender's thread); ``label`` starts every log line ("dotflow server"), ``target``
    (already free of secrets) ends the lost-report warning, and ``noun`` is what it counts."""

    def __init__(
        self,
        open_channel: Callable[[], Channel],
        *,
        label: str,
        target: str,
        workers: int = 4,
        queue_size: int = 10_000,
        retries: int = 5,
        backoff_max: float = 30.0,
        flush_timeout: float = 10.0,
        signal_flush_timeout: float = 5.0,
        idle: float = 1.5,
        logger: logging.Logger | None = None,
        noun: str = "report",
    ) -> None:
        self._open_channel = open_channel
        self.label = label
        self.target = target
        self.noun = noun  # what the lost-report warning counts; only "report"s are said to be terminal
        self._max_workers = max(1, workers)
        self._size = max(1, queue_size)
        self._retries = max(0, retries)
        self._backoff_max = backoff_max
        self.flush_timeout = flush_timeout
        self.signal_flush_timeout = signal_flush_timeout  # what is left of a flush a signal cuts short
        self._idle_seconds = idle
        self._log = logger or logging.getLogger("dotflow.server")
        self._rand = random.Random().random
        self._exit_flush = False  # whether a report was put: then the interpreter's exit flushes this queue
        self._reset()
        _reset_after_fork(self._reset)

    def _reset(self) -> None:
        """Empty state: at construction, and in a child process after ``fork()`` (the parent's
        lock, threads and queue are not the child's)."""
        lock = threading.RLock()  # re-entrant: a signal handler may report while this thread holds it
        self._work_cv = threading.Condition(lock)  # senders wait here for work
        self._done_cv = threading.Condition(lock)  # flushes wait here for the queue to drain
        self._gen = 0  # bumped when a flush gives up: senders of older generations exit
        self._workers = 0
        self._idle = 0
        self._deadline: float | None = None
        self._latency = 0.0  # recent seconds per request (moving average): what a deadline can hold
        self._ends: deque[float] = deque(maxlen=_WINDOW)  # when the last sends ended, all senders at work
        self._took: deque[float] = deque(maxlen=_SAMPLES)  # the last requests' seconds: their least is the server's own
        self._pressed = False  # a deadline is set that what is queued cannot meet (see _rank)
        self._hastened: float | None = None  # the deadline a signal set for the flush under way
        self._clear()
        self.sent = 0  # reports delivered, ever
        self.lost = 0  # reports given up, ever
        self._since: dict[str, int] = {}  # lost since the last flush, by reason
        self._since_final = 0  # ... of which terminal
        self._overflow = 0  # UPDATEs dropped for room since the last overflow warning
        self._yielded = 0  # pinned UPDATEs given up for a deadline since the last flush's warning
        self._outage = False  # a give-up after transient errors was logged; quiet until a success

    def _clear(self) -> None:
        self._lanes: dict[Any, _Lane] = {}
        self._ready: list[tuple[int, int, int, Any]] = []  # (priority, age, token, lane key)
        self._timers: list[tuple[float, int, Any]] = []  # (not_before, token, lane key)
        self._updates: deque[_Report] = deque()  # queued unpinned UPDATEs, oldest first: what goes when full
        self._unstarted: dict[Any, int] = {}  # lanes given a CREATE and no UPDATE or FINAL since: its seq
        self._pinned = 0  # pinned UPDATEs waiting (not in flight)
        self._queued = 0  # reports queued or in flight
        self._seq = 0
        self._tokens = 0

    # -- putting ----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Reports queued or in flight."""
        with self._work_cv:
            return self._queued

    def put(self, lane_key: Any, kind: Kind, payload: Any, after: Any = None, urgent: bool = False) -> None:
        """Queue ``payload`` on lane ``lane_key``; ``after`` names a lane whose queued CREATE
        must be settled before this lane sends anything, and ``urgent`` serves the lane before
        all others (both taken from a lane's first report)."""
        with self._work_cv:
            lane = self._lanes.get(lane_key)
            if lane is None:
                lane = self._lanes[lane_key] = _Lane(lane_key, urgent)
                waited = self._lanes.get(after) if after is not None else None
                if waited is not None and waited.creating:
                    lane.waiting = after
                    waited.dependents.append(lane_key)
                    self._schedule(waited)  # a lane others wait for is served first
            if lane.dead is not None:
                self._lose(kind, f"not sent: {lane.dead}")
                return
            born = None
            if kind is Kind.CREATE:
                self._unstarted[lane_key] = self._seq
            elif self._unstarted:
                born = self._unstarted.pop(lane_key, None)
                if kind is Kind.FINAL:
                    born = None  # a FINAL first: the subject ended without running
            pinned = born is not None
            if not pinned and kind is not Kind.CREATE and lane.pending and self._coalesce(lane, kind, payload):
                return
            if self._queued >= self._size and not self._make_room(kind, pinned):
                self._overflow += 1
                self.lost += 1
                return
            report = _Report(lane, kind, payload, self._seq, born)
            self._seq += 1
            lane.pending.append(report)
            self._queued += 1
            if kind is Kind.UPDATE:
                if pinned:
                    self._pinned += 1
                else:
                    self._track_update(report)
            elif kind is Kind.FINAL:
                lane.finals += 1
            else:
                lane.creating += 1
            if len(lane.pending) == 1 or (kind is Kind.FINAL and lane.finals == 1):
                self._schedule(lane)
            if not self._exit_flush:
                self._exit_flush = True
                interrupts.flush_at_exit(self)

    def _coalesce(self, lane: _Lane, kind: Kind, payload: Any) -> bool:
        """Put the report in place of the lane's last one when that is an UPDATE still waiting and
        not pinned (a lane's first update is always sent)."""
        last = lane.pending[-1]
        if last.kind is not Kind.UPDATE or last.state != _PENDING or last.pinned:
            return False
        report = _Report(lane, kind, payload, last.seq)  # it takes the older one's place in line
        lane.pending[-1] = report
        last.state, last.payload = _DONE, None
        if kind is Kind.UPDATE:
            self._track_update(report)
        else:
            lane.finals += 1
            self._schedule(lane)  # its priority rose
        return True

    def _track_update(self, report: _Report) -> None:
        self._updates.append(report)
        while self._updates and self._updates[0].state == _DONE:  # settled ones leave from the front
            self._updates.popleft()

    def _make_room(self, kind: Kind, pinned: bool) -> bool:
        """Drop the oldest queued unpinned UPDATE; without one, admit only a CREATE, a FINAL or a
        pinned UPDATE (over the bound: losing them would cost a subject, an end, or the sign that
        a step ran; there is at most one pinned update per lane)."""
        while self._updates:
            oldest = self._updates.popleft()
            if oldest.state != _PENDING:
                continue
            lane = oldest.lane
            head = lane.pending[0] is oldest
            lane.pending.remove(oldest)
            if head:
                self._schedule(lane)
            self._forget_if_idle(lane)
            oldest.state, oldest.payload = _DONE, None
            self._queued -= 1
            self._overflow += 1
            self.lost += 1
            return True
        return kind is not Kind.UPDATE or pinned

    # -- scheduling (the caller holds the lock) ---------------------------------------------

    def _schedule(self, lane: _Lane) -> None:
        if lane.busy or not lane.pending or lane.waiting is not None:
            return
        if self._deadline is not None and lane.pending[0].pinned:
            # decided now rather than when its turn comes: a first update that does not fit must not
            # hold its terminal status behind the creations of other lanes
            self._yield_pin(lane, monotonic(), None)
        self._tokens += 1  # one counter for all lanes: a forgotten lane's stale entries never match a new one
        lane.token = self._tokens
        if lane.not_before > monotonic():
            heapq.heappush(self._timers, (lane.not_before, lane.token, lane.key))
        else:
            heapq.heappush(self._ready, (_rank(lane, self._pressed), _age(lane, self._pressed), lane.token, lane.key))
        if self._idle:
            self._work_cv.notify()
        elif self._workers < self._max_workers:
            self._spawn()

    def _spawn(self) -> bool:
        thread = threading.Thread(
            target=self._work, args=(self._gen,), name=f"{self.label.replace(' ', '-')}-sender", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:  # at interpreter shutdown: flush() sends on its own thread instead
            return False
        self._workers += 1
        return True

    def _take(self, now: float) -> _Lane | None:
        self._weigh_pressure(now)
        while self._timers and self._timers[0][0] <= now:
            _, token, key = heapq.heappop(self._timers)
            lane = self._lanes.get(key)
            if lane is not None and lane.token == token:
                lane.not_before = 0.0
                self._schedule(lane)
        while self._ready:
            _, _, token, key = heapq.heappop(self._ready)
            lane = self._lanes.get(key)
            if lane is None or lane.token != token or lane.busy or not lane.pending or lane.waiting is not None:
                continue
            return lane
        return None

    def _weigh_pressure(self, now: float) -> None:
        """Whether what is queued can still go before the deadline, at the recent pace over every
        sender. Once it cannot, the ready lanes are ranked again (see ``_rank``), once: the queue
        stays pressed until the flush ends, so a pace that wavers never re-sorts it back and forth."""
        deadline = self._deadline
        if self._pressed or deadline is None:
            return
        # pinned first updates aside: they give way to the deadline themselves (see _yield_pin)
        if (self._queued - self._pinned) * self._latency <= (deadline - now) * self._max_workers:
            return
        self._pressed = True
        ranked = []
        for _, _, token, key in self._ready:
            lane = self._lanes.get(key)
            if lane is not None and lane.token == token and lane.pending:
                ranked.append((_rank(lane, True), _age(lane, True), token, key))
        heapq.heapify(ranked)
        self._ready = ranked

    # -- sending ----------------------------------------------------------------------------

    def _work(self, gen: int, until: float | None = None) -> None:
        """A sender's loop. With ``until`` it is a flush sending on its own thread, and returns
        by that deadline or once nothing is queued."""
        channel: Channel | None = None
        try:
            while True:
                with self._work_cv:
                    if until is not None and self._hastened is not None:
                        until = min(until, self._hastened)
                    lane = self._next(gen, until)
                    if lane is None:
                        return
                    report = lane.pending[0]
                    report.state = _IN_FLIGHT
                    if report.pinned:
                        self._pinned -= 1
                    lane.busy = True
                    deadline = self._deadline if until is None else until
                    payload = report.payload
                began = monotonic()
                try:
                    if channel is None:
                        channel = self._open_channel()
                    outcome = channel.send(payload, deadline)
                except Exception as exc:  # a broken channel drops the report, never the sender
                    outcome = drop(f"the sender failed: {type(exc).__name__}")
                with self._work_cv:
                    ended = monotonic()
                    took = ended - began
                    self._latency = took if not self._latency else 0.8 * self._latency + 0.2 * took
                    self._took.append(took)
                    self._keep_pace(ended)
                    if gen != self._gen:
                        return  # a flush gave this report up while it was in flight
                    self._settle(lane, report, outcome)
                    if outcome.fewer and until is None and self._workers > self._max_workers:
                        return  # this sender is the one too many
        finally:
            if until is None:
                with self._work_cv:
                    if gen == self._gen:
                        self._workers -= 1
            if channel is not None:
                with contextlib.suppress(Exception):  # closing is best effort
                    channel.close()

    def _next(self, gen: int, until: float | None) -> _Lane | None:
        """The next lane to serve, waiting for one; None when this sender should stop."""
        idle_until = monotonic() + self._idle_seconds
        while gen == self._gen:
            now = monotonic()
            lane = self._take(now)
            if lane is not None:
                if self._yield_pin(lane, now, until):
                    self._schedule(lane)
                    continue  # the lane's terminal status is its head now: take again
                return lane
            if until is not None and (now >= until or not self._queued):
                return None
            wait = 1.0  # bounded: a missed wake-up costs at most this
            if self._timers:
                wait = min(wait, self._timers[0][0] - now)
            if until is not None:
                wait = min(wait, until - now)
            elif not self._queued:
                if now >= idle_until:
                    return None
                wait = min(wait, idle_until - now)
            self._idle += 1
            try:
                self._work_cv.wait(max(0.0, wait))
            finally:
                self._idle -= 1
        return None

    def _keep_pace(self, ended: float) -> None:
        """Learn the queue's pace: the mean time between two sends ending, over the last
        ``_WINDOW``, counted only while every sender has work (with a sender idle, the gaps say how
        fast reports came, not how fast they go). It holds what ``_latency`` misses: the senders'
        time outside the request, and how well they run at once on this machine."""
        if self._queued < self._max_workers:
            self._ends.clear()
        else:
            self._ends.append(ended)

    def _yield_pin(self, lane: _Lane, now: float, until: float | None) -> bool:
        """Give up the lane's pinned first update when a terminal status waits behind it and a
        deadline (a flush's, a signal's) cannot hold, at the recent pace, this update
        and every report queued but the other pinned ones: the terminal status then goes in one
        request instead of two. The one exception to the pin (see the module docstring): never for
        room nor for a newer report. The time needed is the more of: the rounds of requests the
        senders need at a request's own time, one more for the lanes whose reports go in a row (a
        slow server), and the reports at the queue's pace with a margin (a quick server, the
        senders' own cost)."""
        report = lane.pending[0]
        deadline = self._deadline if until is None else until
        if not report.pinned or not lane.finals or deadline is None or len(self._took) < _SAMPLES:
            return False  # nothing to decide on yet: the first requests of a run are slow ones
        request = min(self._took)  # a request's own time, without a slow start's (a new connection, a busy GIL)
        must = self._queued - self._pinned + 1  # all but the other pinned updates waiting, and this one
        # the senders send in rounds (a slow server shows it), plus one: a lane's reports go one
        # after another (this update then its terminal status, a creation then its terminal status)
        rounds = -(-must // self._max_workers) + 1
        # the pace (many quick requests) can slow down on a busy machine; a slow server's time per
        # request hardly does
        ends = self._ends
        pace = (ends[-1] - ends[0]) / (len(ends) - 1) if len(ends) > 1 else 0.0
        need = max(rounds * request, must * pace * _MARGIN)
        if need <= deadline - now:
            return False
        self._done(lane, report)
        self._yielded += 1
        self.lost += 1
        return True

    def _settle(self, lane: _Lane, report: _Report, outcome: Outcome) -> None:
        lane.busy = False
        if outcome.sent:
            self.sent += 1
            self._done(lane, report)
            if self._outage:
                self._outage = False
                self._log.info("%s: %s answers again", self.label, self.target)
        elif outcome.fewer:
            report.state = _PENDING  # not an attempt: the remote end never read it
            self._pinned += report.pinned
            fewer = max(1, min(self._max_workers, self._workers) - 1)
            if fewer < self._max_workers:
                self._max_workers = fewer
                self._log.info(
                    "%s: %s %s; sending over %d connection(s) from now on",
                    self.label, self.target, outcome.reason, fewer,
                )
        elif outcome.retry and report.attempts < self._retries:
            report.attempts += 1
            report.state = _PENDING
            self._pinned += report.pinned
            wait = retry.delay(report.attempts, outcome.retry_after, cap=self._backoff_max, rand=self._rand())
            lane.not_before = monotonic() + wait
            self._log.debug("%s: %s; retry %d in %.2f s", self.label, outcome.reason, report.attempts, wait)
        else:
            if outcome.retry:
                reason = f"gave up after {report.attempts + 1} attempt(s) ({outcome.reason})"
                log = self._log.debug if self._outage else self._log.warning
                self._outage = True
                log("%s: %s; later failures are logged at DEBUG until it answers again", self.label, reason)
            else:
                reason = outcome.reason
            self._done(lane, report)
            self._lose(report.kind, reason)
            if report.kind is Kind.CREATE:
                # nothing may update a subject the remote end never got
                lane.dead = f"its creation was not delivered ({reason})"
                self._unstarted.pop(lane.key, None)
                while lane.pending:
                    self._done(lane, lane.pending[0], lost=f"not sent: {lane.dead}")
        self._schedule(lane)
        self._forget_if_idle(lane)
        if self._overflow and self._queued <= self._size // 2:
            self._warn_overflow()
        if not self._queued:
            self._done_cv.notify_all()  # a flush waits for exactly this

    def _forget_if_idle(self, lane: _Lane) -> None:
        """Drop a lane with nothing left to do, so a long run holds no state per finished task."""
        if not lane.pending and not lane.busy and not lane.dependents and lane.dead is None:
            self._lanes.pop(lane.key, None)

    def _done(self, lane: _Lane, report: _Report, lost: str | None = None) -> None:
        """Take ``report`` (the lane's head) off the queue."""
        lane.pending.popleft()
        if report.pinned and report.state == _PENDING:
            self._pinned -= 1
        report.state, report.payload = _DONE, None
        self._queued -= 1
        if report.kind is Kind.FINAL:
            lane.finals -= 1
        elif report.kind is Kind.CREATE:
            lane.creating -= 1
            if not lane.creating:
                for key in lane.dependents:  # released, whether it was delivered or given up
                    waiting = self._lanes.get(key)
                    if waiting is not None:
                        waiting.waiting = None
                        self._schedule(waiting)
                lane.dependents = []
        if lost is not None:
            self._lose(report.kind, lost)

    def _lose(self, kind: Kind, reason: str) -> None:
        self.lost += 1
        self._since[reason] = self._since.get(reason, 0) + 1
        if kind is Kind.FINAL:
            self._since_final += 1

    def _warn_overflow(self) -> None:
        count, self._overflow = self._overflow, 0
        self._log.warning(
            "%s: the report queue was full (queue_size=%d): %d non-terminal update(s) were dropped to make room; "
            "creations, terminal statuses and the first update after each creation were all kept",
            self.label,
            self._size,
            count,
        )

    # -- flushing ---------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Deliver what is queued, waiting at most ``timeout`` seconds (default ``flush_timeout``).

        Returns whether nothing was lost since the previous flush. Safe from any thread, any
        number of times; with nothing queued and nothing to say it returns at once, silently.
        When the time is up the rest is given up, and one WARNING line counts what was lost
        since the previous flush and why. Never raises.
        """
        try:
            return self._flush(self.flush_timeout if timeout is None else max(0.0, float(timeout)))
        except Exception as exc:  # the caller's exit must not depend on reporting
            self._log.warning("%s: flush failed (%s)", self.label, type(exc).__name__)
            return False

    def _flush(self, wait: float) -> bool:
        deadline = monotonic() + wait
        inline = False
        with self._work_cv:
            if not self._queued and not self._since and not self._overflow:
                return True
            self._deadline = deadline if self._deadline is None else min(self._deadline, deadline)
            if self._queued and not self._workers:
                inline = not self._spawn()
            gen = self._gen
        if inline:
            self._work(gen, until=deadline)
        with self._work_cv:
            while self._queued:
                if self._hastened is not None:
                    deadline = min(deadline, self._hastened)
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                self._done_cv.wait(remaining)
            if self._queued:
                if self._hastened is not None and self._hastened <= deadline:
                    self._give_up("still queued when a signal cut the flush short")
                else:
                    self._give_up(f"still queued when the {wait:g} s flush timeout ran out")
            self._hastened = None
            if self._overflow:
                self._warn_overflow()
            if self._yielded:
                self._log.warning(
                    "%s: the flush's deadline could not hold every report: %d first update(s) (a task's first"
                    " In progress) were given up so that the terminal status behind each went in one request",
                    self.label,
                    self._yielded,
                )
                self._yielded = 0
            since, self._since = self._since, {}
            finals, self._since_final = self._since_final, 0
            self._outage = False
            self._deadline = None
            self._pressed = False
        if since:
            total = sum(since.values())
            parts = "; ".join(f"{count} {reason}" for reason, count in since.items())
            terminal = f", {finals} of them terminal" if finals and self.noun == "report" else ""
            self._log.warning(
                "%s: %d %s(s) lost%s: %s (to %s)", self.label, total, self.noun, terminal, parts, self.target
            )
        return not since

    def hasten(self, deadline: float) -> None:
        """A signal came during a flush: go on delivering (terminal statuses first) until
        ``deadline`` (a ``time.monotonic()`` value) at the latest, then give up the rest. Safe from a
        signal handler on a thread that is flushing: the lock is re-entrant, and the waiting flush
        is woken to see the new deadline. A flush that starts later is bounded by its own timeout."""
        with self._work_cv:
            if not self._queued and self._deadline is None:
                return  # no flush under way, nothing queued
            self._hastened = deadline if self._hastened is None else min(self._hastened, deadline)
            self._deadline = deadline if self._deadline is None else min(self._deadline, deadline)
            self._done_cv.notify_all()
            self._work_cv.notify_all()

    def _give_up(self, reason: str) -> None:
        """Abandon every queued report; senders still in flight exit when their request returns."""
        for lane in self._lanes.values():
            for report in lane.pending:
                self._lose(report.kind, reason)
                report.state, report.payload = _DONE, None
        self._clear()
        self._gen += 1
        self._workers = 0
        self._work_cv.notify_all()
