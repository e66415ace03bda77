"""DeliveryQueue: lanes, concurrency, coalescing, priority, the bound, retries and the bounded flush.

The channel here is an in-memory stand-in whose answers and delays each test scripts, so every
rule is checked exactly; tests/providers/test_server_api.py checks the same rules over real HTTP.
"""

from __future__ import annotations

import logging
import os
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import engine_support
import pytest

from dotflow.delivery.queue import SENT, DeliveryQueue, Kind, Outcome, drop, transient


class Script:
    """What the channels do: ``answers[payload]`` lists the outcomes of successive attempts
    (then SENT), ``hold`` names payloads that wait for ``release`` (or the deadline)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.answers: dict[Any, list[Outcome]] = {}
        self.hold: set[Any] = set()
        self.released = threading.Event()
        self.sent: list[Any] = []  # payloads whose attempt ended SENT, in that order
        self.attempts: list[tuple[Any, float | None]] = []  # (payload, deadline) of every attempt
        self.in_flight = 0
        self.most_in_flight = 0
        self.channels = 0
        self.lock = threading.Lock()

    def open(self) -> Channel:
        with self.lock:
            self.channels += 1
        return Channel(self)


class Channel:
    def __init__(self, script: Script) -> None:
        self.script = script

    def send(self, payload: Any, deadline: float | None) -> Outcome:
        script = self.script
        with script.lock:
            script.attempts.append((payload, deadline))
            script.in_flight += 1
            script.most_in_flight = max(script.most_in_flight, script.in_flight)
            scripted = script.answers.get(payload)
            outcome = scripted.pop(0) if scripted else SENT
        try:
            if payload in script.hold:
                wait = 10.0 if deadline is None else max(0.0, deadline - time.monotonic())
                if not script.released.wait(wait):
                    outcome = transient("server timed out: held past the deadline")
            if script.delay:
                time.sleep(script.delay)
        finally:
            with script.lock:
                script.in_flight -= 1
                if outcome.sent:
                    script.sent.append(payload)
        return outcome

    def close(self) -> None:
        pass


@pytest.fixture
def make(request: pytest.FixtureRequest) -> Iterator[Callable[..., tuple[DeliveryQueue, Script]]]:
    """A DeliveryQueue on a fresh Script (small backoff cap); every queue is flushed at teardown.
    Its sender threads are named after the test, so a test sees only its own."""
    made: list[tuple[DeliveryQueue, Script]] = []

    def build(delay: float = 0.0, **options: Any) -> tuple[DeliveryQueue, Script]:
        script = Script(delay)
        settings: dict[str, Any] = {"workers": 4, "retries": 3, "backoff_max": 0.02, "flush_timeout": 5.0}
        settings.update(options)
        queue = DeliveryQueue(script.open, label=request.node.name, target="memory", **settings)
        made.append((queue, script))
        return queue, script

    yield build
    for queue, script in made:
        script.released.set()
        queue.flush(timeout=1)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_lanes_are_served_concurrently_and_each_in_order(make: Callable[..., Any]) -> None:
    """4 lanes of 3 reports, 0.1 s each, on 4 senders: done in about 3 rounds, each lane in put order,
    never two reports of one lane at once."""
    queue, script = make(delay=0.1)
    for step in range(3):
        for lane in range(4):
            queue.put(lane, Kind.FINAL, (lane, step))
    started = time.monotonic()
    assert queue.flush()
    assert time.monotonic() - started < 0.9  # one sender would need 1.2 s
    assert script.most_in_flight == 4
    for lane in range(4):
        assert [step for (one, step) in script.sent if one == lane] == [0, 1, 2]


def test_a_lane_has_one_report_in_flight_at_a_time(make: Callable[..., Any]) -> None:
    """Reports of one lane are sent one after another even with senders to spare."""
    queue, script = make(delay=0.02)
    for step in range(5):
        queue.put("only", Kind.FINAL, step)
    queue.flush()
    assert script.sent == [0, 1, 2, 3, 4] and script.most_in_flight == 1


def test_a_queued_update_is_replaced_by_the_newer_report(make: Callable[..., Any]) -> None:
    """In a lane that had no creation (a notifier's), In progress then Retry then Completed queued
    behind a busy sender leave only Completed."""
    queue, script = make(workers=1)
    script.hold.add("busy")
    queue.put("other", Kind.FINAL, "busy")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.UPDATE, "in progress")
    queue.put("task", Kind.UPDATE, "retry")
    queue.put("task", Kind.FINAL, "completed")
    script.released.set()
    queue.flush()
    assert script.sent == ["busy", "completed"]


def test_the_first_update_after_a_creation_is_never_replaced(make: Callable[..., Any]) -> None:
    """While a task's creation is in flight, its first In progress stays queued: the Retries and
    In progresses after it replace one another, and Completed replaces the last of them, so the
    lane sends creation, first In progress, Completed (it was 'creation, Completed' before)."""
    queue, script = make()
    script.hold.add("create")
    queue.put("task", Kind.CREATE, "create")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.UPDATE, "in progress 1")
    for attempt in range(2, 5):
        queue.put("task", Kind.UPDATE, f"retry {attempt - 1}")
        queue.put("task", Kind.UPDATE, f"in progress {attempt}")
    assert queue.pending == 3  # the creation, the first In progress, the latest update
    queue.put("task", Kind.FINAL, "completed")
    assert queue.pending == 3
    script.released.set()
    assert queue.flush()
    assert script.sent == ["create", "in progress 1", "completed"]


def test_the_latest_later_update_follows_the_first_when_no_final_comes(make: Callable[..., Any]) -> None:
    """Without a terminal status yet, the lane holds its first update and the newest later one."""
    queue, script = make()
    script.hold.add("create")
    queue.put("task", Kind.CREATE, "create")
    _wait_for(lambda: script.attempts)
    for update in ("in progress 1", "retry 1", "in progress 2", "retry 2"):
        queue.put("task", Kind.UPDATE, update)
    script.released.set()
    assert queue.flush()
    assert script.sent == ["create", "in progress 1", "retry 2"]


def test_only_the_first_update_after_each_creation_is_kept(make: Callable[..., Any]) -> None:
    """The pin goes to the first update after a creation, once: a lane whose creation was
    delivered earlier (the lane itself forgotten meanwhile) still pins its first update; a later
    round of updates with no new creation coalesces; a new creation of the same key pins again.
    A terminal status first (a task that never ran) pins nothing."""
    queue, script = make(workers=1)

    def sent(lane: str) -> list[str]:
        return [text for key, text in script.sent if key == lane]

    def behind_a_busy_sender(*reports: tuple[str, Kind, str]) -> None:
        script.released.clear()
        script.hold.add(("other", "busy"))
        queue.put("other", Kind.FINAL, ("other", "busy"))
        _wait_for(lambda: script.attempts and script.attempts[-1][0] == ("other", "busy"))
        for lane, kind, text in reports:
            queue.put(lane, kind, (lane, text))
        script.released.set()
        assert queue.flush()

    queue.put("task", Kind.CREATE, ("task", "create"))
    queue.put("skipped", Kind.CREATE, ("skipped", "create"))
    assert queue.flush()
    behind_a_busy_sender(
        ("task", Kind.UPDATE, "in progress 1"),
        ("task", Kind.FINAL, "completed 1"),
        ("skipped", Kind.FINAL, "skipped"),
        ("skipped", Kind.UPDATE, "an update after the end"),
        ("skipped", Kind.FINAL, "ended again"),
    )
    assert sent("task") == ["create", "in progress 1", "completed 1"]
    assert sent("skipped") == ["create", "skipped", "ended again"]
    behind_a_busy_sender(
        ("task", Kind.UPDATE, "in progress 2"),  # a second round, no new creation: not pinned
        ("task", Kind.FINAL, "completed 2"),
        ("task", Kind.CREATE, "create again"),
        ("task", Kind.UPDATE, "in progress 3"),  # the first update after that creation
        ("task", Kind.FINAL, "completed 3"),
    )
    assert sent("task")[3:] == ["completed 2", "create again", "in progress 3", "completed 3"]


def test_final_reports_are_never_replaced(make: Callable[..., Any]) -> None:
    """Two terminal reports queued behind a busy lane are both sent, in order, and an update after them too."""
    queue, script = make()
    script.hold.add("create")
    queue.put("task", Kind.CREATE, "create")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.FINAL, "failed (run 1)")
    queue.put("task", Kind.FINAL, "completed (run 2)")
    queue.put("task", Kind.UPDATE, "in progress (run 3)")
    script.released.set()
    queue.flush()
    assert script.sent == ["create", "failed (run 1)", "completed (run 2)", "in progress (run 3)"]


def test_an_update_in_flight_is_sent_and_then_the_newer_one(make: Callable[..., Any]) -> None:
    """An update already being sent is not replaced: the newer report follows it."""
    queue, script = make()
    script.hold.add("in progress")
    queue.put("task", Kind.UPDATE, "in progress")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.FINAL, "completed")
    script.released.set()
    queue.flush()
    assert script.sent == ["in progress", "completed"]


def test_a_lane_waits_for_the_creation_it_is_put_after(make: Callable[..., Any]) -> None:
    """A task lane put ``after`` the workflow lane sends nothing until the workflow's creation is settled."""
    queue, script = make()
    script.hold.add("workflow created")
    queue.put("workflow", Kind.CREATE, "workflow created")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.CREATE, "task created", after="workflow")
    queue.put("task", Kind.FINAL, "task completed")
    time.sleep(0.1)
    assert [payload for payload, _ in script.attempts] == ["workflow created"]
    script.released.set()
    queue.flush()
    assert script.sent == ["workflow created", "task created", "task completed"]


def test_a_creation_given_up_takes_the_lanes_later_reports(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A rejected creation means its lane's later reports are never sent, and the flush counts them lost."""
    queue, script = make()
    script.answers["create"] = [drop("rejected with HTTP 422")]
    script.hold.add("create")
    queue.put("task", Kind.CREATE, "create")
    _wait_for(lambda: script.attempts)
    queue.put("task", Kind.UPDATE, "in progress")
    queue.put("task", Kind.FINAL, "completed")
    script.released.set()
    _wait_for(lambda: queue.pending == 0)
    queue.put("task", Kind.FINAL, "completed again")  # later reports of a dead lane go nowhere
    assert not queue.flush()
    assert script.sent == [] and [p for p, _ in script.attempts] == ["create"]
    (line,) = [m for m in _warnings(caplog) if "lost" in m]
    # "in progress", the first update after the creation, was kept behind it, so it is lost with it
    assert "4 report(s) lost, 2 of them terminal" in line
    assert "1 rejected with HTTP 422" in line and "3 not sent: its creation was not delivered" in line


def test_transient_failures_are_retried_then_given_up(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Two transient failures then success: 3 attempts, delivered. With retries=1 a report failing
    for good is tried twice, lost, and the give-up is logged once."""
    queue, script = make()
    script.answers["a"] = [transient("server answered HTTP 503"), transient("server timed out: ReadTimeoutError")]
    queue.put("a", Kind.FINAL, "a")
    assert queue.flush()
    assert [p for p, _ in script.attempts] == ["a", "a", "a"] and script.sent == ["a"]

    queue, script = make(retries=1)
    script.answers["b"] = [transient("server answered HTTP 503")] * 5
    queue.put("b", Kind.FINAL, "b")
    assert not queue.flush()
    assert [p for p, _ in script.attempts] == ["b", "b"] and script.sent == []
    assert any("gave up after 2 attempt(s) (server answered HTTP 503)" in m for m in _warnings(caplog))


def test_a_backoff_wait_holds_no_sender(make: Callable[..., Any]) -> None:
    """With one sender, a lane waiting out a 0.3 s Retry-After lets other lanes' reports go meanwhile."""
    queue, script = make(workers=1, backoff_max=5.0)
    script.answers["slow lane"] = [transient("server answered HTTP 429", retry_after=0.3)]
    queue.put("a", Kind.FINAL, "slow lane")
    _wait_for(lambda: script.attempts)
    queue.put("b", Kind.FINAL, "other lane")
    assert queue.flush()
    assert script.sent == ["other lane", "slow lane"]
    times = [p for p, _ in script.attempts]
    assert times == ["slow lane", "other lane", "slow lane"]


def test_terminal_reports_are_served_first(make: Callable[..., Any]) -> None:
    """With the one sender busy, a later terminal report of another lane goes before an older update."""
    queue, script = make(workers=1)
    script.hold.add("busy")
    queue.put("x", Kind.FINAL, "busy")
    _wait_for(lambda: script.attempts)
    queue.put("a", Kind.UPDATE, "update of a")
    queue.put("b", Kind.FINAL, "final of b")
    script.released.set()
    queue.flush()
    assert script.sent == ["busy", "final of b", "update of a"]


def _pile_up(queue: Any, script: Any) -> None:
    """Reports piled up behind a busy sender: creations, terminal statuses, an update, the workflow's."""
    script.hold.add("busy")
    queue.put("x", Kind.FINAL, "busy")
    _wait_for(lambda: script.attempts)
    for task in ("t1", "t2", "t3"):
        queue.put(task, Kind.CREATE, f"create {task}")
    queue.put("w", Kind.FINAL, "workflow In progress", urgent=True)
    queue.put("t1", Kind.FINAL, "final t1")
    queue.put("t3", Kind.UPDATE, "update t3")
    queue.put("old", Kind.FINAL, "final old")  # a subject created long ago
    queue.put("w", Kind.FINAL, "workflow Completed", urgent=True)


def test_what_completes_a_terminal_status_goes_before_creations_and_updates(make: Callable[..., Any]) -> None:
    """The order when reports pile up behind a busy sender and a flush's deadline cannot hold them all
    at the recent pace (the 20,000-task trial sent every creation first and lost every terminal
    status): the urgent workflow lane, then terminal statuses whose subject exists, then the
    creations of subjects with a terminal status waiting (each followed at once by that status), and
    only then creations of running subjects and non-terminal updates."""
    queue, script = make(workers=1)
    _pile_up(queue, script)
    flushing = threading.Thread(target=queue.flush, args=(2.0,))
    flushing.start()
    time.sleep(0.6)  # the busy report takes 0.6 s: nine more at that pace do not fit in the flush
    script.released.set()
    flushing.join(10)
    assert script.sent == [
        "busy",
        "workflow In progress",
        "workflow Completed",
        "final old",
        "create t1",
        "final t1",
        "create t2",
        "create t3",
        "update t3",
    ]


def test_without_a_deadline_in_danger_a_creation_with_its_status_waiting_starts_first(
    make: Callable[..., Any]
) -> None:
    """The same pile with time enough: a creation whose terminal status waits goes before a lone
    terminal status, so its two requests start early and the reports end sooner; the urgent
    workflow lane still goes first, running subjects and updates last."""
    queue, script = make(workers=1)
    _pile_up(queue, script)
    script.released.set()
    queue.flush()
    assert script.sent == [
        "busy",
        "workflow In progress",
        "workflow Completed",
        "create t1",
        "final t1",
        "final old",
        "create t2",
        "create t3",
        "update t3",
    ]


def test_a_crowded_outcome_resends_at_once_over_fewer_senders(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A send answered ``crowded`` (the server left that connection waiting) is not an attempt (with
    retries=0 it is still delivered): it goes back to the front, and the queue keeps one sender
    fewer from then on."""
    from dotflow.delivery.queue import crowded

    caplog.set_level(logging.INFO)
    queue, script = make(workers=2, retries=0)
    script.answers["first"] = [crowded("left it waiting")]
    script.hold.add("zero")
    queue.put("z", Kind.FINAL, "zero")  # two senders at work
    queue.put("a", Kind.FINAL, "first")
    _wait_for(lambda: len(script.attempts) == 2)
    script.released.set()
    assert queue.flush()
    assert sorted(script.sent) == ["first", "zero"] and len(script.attempts) == 3
    script.released.clear()
    assert any("left it waiting; sending over 1 connection(s) from now on" in r.getMessage() for r in caplog.records)
    script.hold.update({"one", "two"})
    queue.put("b", Kind.FINAL, "one")
    queue.put("c", Kind.FINAL, "two")
    _wait_for(lambda: script.attempts[-1][0] == "one")
    time.sleep(0.1)
    assert script.in_flight == 1  # one sender now: "two" waits for "one"
    script.released.set()
    assert queue.flush()


def test_a_full_queue_drops_the_oldest_updates_and_keeps_creations_and_finals(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """queue_size=3 with the sender busy: the oldest updates go first, creations and terminal reports
    are kept even past the bound, and one warning counts the dropped updates."""
    queue, script = make(workers=1, queue_size=3)
    script.hold.add("busy")
    queue.put("x", Kind.FINAL, "busy")
    _wait_for(lambda: script.attempts)
    queue.put("a", Kind.UPDATE, "update a")
    queue.put("b", Kind.UPDATE, "update b")
    queue.put("c", Kind.FINAL, "final c")  # full: drops "update a"
    queue.put("d", Kind.CREATE, "create d")  # full: drops "update b"
    queue.put("e", Kind.FINAL, "final e")  # full, no update left: kept over the bound
    queue.put("f", Kind.UPDATE, "update f")  # full, and it is the oldest update: dropped
    script.released.set()
    queue.flush()
    assert sorted(script.sent) == ["busy", "create d", "final c", "final e"]
    dropped = [m for m in _warnings(caplog) if "queue was full" in m]
    assert len(dropped) == 1 and "3 non-terminal update(s) were dropped" in dropped[0]


def test_a_full_queue_keeps_the_first_update_after_a_creation(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """queue_size=3 with the sender busy: a task's first In progress is admitted (an older ordinary
    update is dropped for it, or, with none left, it goes over the bound like creations and terminal
    statuses); a later update of the task finding nothing to drop is the one dropped."""
    queue, script = make(workers=1, queue_size=3)
    script.hold.add("busy")
    queue.put("x", Kind.FINAL, "busy")
    _wait_for(lambda: script.attempts)
    queue.put("u", Kind.UPDATE, "update u")
    queue.put("a", Kind.CREATE, "create a")  # the queue is full now
    queue.put("a", Kind.UPDATE, "in progress a")  # drops "update u"
    queue.put("a", Kind.UPDATE, "retry a")  # not the first: nothing to drop, so dropped itself
    queue.put("a", Kind.FINAL, "completed a")  # over the bound
    queue.put("b", Kind.CREATE, "create b")  # over the bound
    queue.put("b", Kind.UPDATE, "in progress b")  # nothing to drop: over the bound
    assert queue.pending == 6
    script.released.set()
    queue.flush()
    assert [p for p in script.sent if p.endswith(" a")] == ["create a", "in progress a", "completed a"]
    assert [p for p in script.sent if p.endswith(" b")] == ["create b", "in progress b"]
    assert "update u" not in script.sent and "retry a" not in script.sent
    (dropped,) = [m for m in _warnings(caplog) if "queue was full" in m]
    assert "2 non-terminal update(s) were dropped" in dropped


def _learn_the_pace(queue: DeliveryQueue) -> None:
    """Eight reports sent: before that the queue gives no first update up (a run's first requests
    are slow ones, and say little of the server)."""
    for n in range(8):
        queue.put(("warm-up", n), Kind.FINAL, f"warm-up {n}")
    assert queue.flush()


def test_a_flush_deadline_that_cannot_hold_a_first_update_sends_the_terminal_status_alone(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """One sender at 0.4 s a report; two tasks each queue their first In progress and their terminal
    status, then a 1.9 s flush: "a" has time for both (3 reports at the pace with its margin, 1.8 s,
    fit), but when "b"'s turn comes 1.1 s are left for 1.2, so its In progress is given up and the
    terminal status goes alone. A warning of its own counts it (like the updates dropped for room, it is
    the queue's choice, not a report the server failed to take)."""
    queue, script = make(delay=0.4, workers=1)
    _learn_the_pace(queue)
    for task in ("a", "b"):
        queue.put(task, Kind.CREATE, f"create {task}")
    assert queue.flush()
    for task in ("a", "b"):
        queue.put(task, Kind.UPDATE, f"in progress {task}")
        queue.put(task, Kind.FINAL, f"completed {task}")
    assert queue.flush(1.9)
    assert script.sent[-3:] == ["in progress a", "completed a", "completed b"]
    (line,) = _warnings(caplog)
    assert "1 first update(s) (a task's first In progress) were given up" in line


def test_under_a_deadline_a_task_whose_creation_went_is_finished_before_another_starts(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """One sender at 0.2 s a report, three tasks each queueing creation, first In progress and
    Completed, a 1 s flush (9 reports do not fit): once a task's creation went, its In progress is
    given up at once (it no longer fits) and its terminal status comes next, before the next
    creation, so two tasks end Completed; had the In progress waited for its turn among the
    others, ranked by age, the three creations would have gone first and no task would have ended."""
    queue, script = make(delay=0.2, workers=1)
    _learn_the_pace(queue)
    for kind, text in ((Kind.CREATE, "create"), (Kind.UPDATE, "in progress"), (Kind.FINAL, "completed")):
        for task in ("a", "b", "c"):
            queue.put(task, kind, f"{text} {task}")
    queue.flush(1.0)
    assert script.sent[8:12] == ["create a", "completed a", "create b", "completed b"]
    assert not [p for p in script.sent if p.startswith("in progress")]


def test_under_a_deadline_a_kept_first_update_goes_before_younger_creations(make: Callable[..., Any]) -> None:
    """Before the queue knows the pace (fewer than eight requests timed) no first update is given up;
    under a 1 s flush that cannot hold the 9 reports of three tasks, the first In progress of the
    task whose creation went counts as old as that creation: it goes, then its Completed, before
    the other creations (ranked by its own age it would wait behind them, and so would its Completed)."""
    queue, script = make(delay=0.2, workers=1)
    for kind, text in ((Kind.CREATE, "create"), (Kind.UPDATE, "in progress"), (Kind.FINAL, "completed")):
        for task in ("a", "b", "c"):
            queue.put(task, kind, f"{text} {task}")
    queue.flush(1.0)
    assert script.sent[:3] == ["create a", "in progress a", "completed a"]


def test_flush_gives_up_at_its_deadline(make: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    """A server that never answers: flush(0.3) returns within 0.3 s plus slack and one line counts the
    reports lost, terminal ones included; later flushes are silent and immediate."""
    queue, script = make()
    script.hold.update({"create", "final"})
    queue.put("t", Kind.CREATE, "create")
    queue.put("t", Kind.FINAL, "final")
    queue.put("w", Kind.FINAL, "final")
    started = time.monotonic()
    assert not queue.flush(timeout=0.3)
    assert time.monotonic() - started < 0.8
    (line,) = [m for m in _warnings(caplog) if "lost" in m]
    assert "3 report(s) lost, 2 of them terminal: 3 still queued when the 0.3 s flush timeout ran out" in line
    assert queue.pending == 0
    caplog.clear()
    started = time.monotonic()
    assert queue.flush()
    assert time.monotonic() - started < 0.05 and _warnings(caplog) == []


def test_requests_during_a_flush_carry_its_deadline(make: Callable[..., Any]) -> None:
    """Before a flush a send gets no deadline; while a flush waits it gets the flush's deadline."""
    queue, script = make()
    queue.put("a", Kind.FINAL, "before")
    queue.flush()
    queue.put("b", Kind.FINAL, "during")
    started = time.monotonic()
    queue.flush(timeout=2.0)
    deadlines = dict(script.attempts)
    assert deadlines["before"] is None or deadlines["before"] > started
    assert deadlines["during"] is not None and deadlines["during"] <= started + 2.05


def test_flush_with_nothing_to_say_is_silent(make: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    """Everything delivered: flush returns True at once and logs nothing, any number of times."""
    queue, _ = make()
    for lane in range(10):
        queue.put(lane, Kind.FINAL, lane)
    assert queue.flush() and queue.flush() and queue.flush(timeout=0)
    assert _warnings(caplog) == [] and (queue.sent, queue.lost, queue.pending) == (10, 0, 0)


def test_senders_exit_when_idle_and_come_back(make: Callable[..., Any]) -> None:
    """With nothing to do, senders stop after ``idle`` seconds; the next report starts one again."""
    queue, script = make(idle=0.05)
    queue.put("a", Kind.FINAL, "first")
    queue.flush()
    _wait_for(lambda: not _senders(queue))
    queue.put("a", Kind.FINAL, "second")
    assert _senders(queue)
    queue.flush()
    assert script.sent == ["first", "second"]


def test_flush_sends_on_its_own_thread_when_no_sender_can_start(
    make: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At interpreter shutdown no thread can start: flush() delivers the queue on the calling thread."""
    queue, script = make()
    monkeypatch.setattr(queue, "_spawn", lambda: False)
    queue.put("a", Kind.CREATE, "create")
    queue.put("a", Kind.FINAL, "final")
    assert queue.flush(timeout=2)
    assert script.sent == ["create", "final"] and not _senders(queue)


def test_a_channel_that_raises_costs_the_report_not_the_sender(
    make: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    """A send that raises drops that report (counted at the flush); the next one still goes."""
    queue, script = make(workers=1)

    def explode(payload: Any, deadline: float | None) -> Outcome:
        raise RuntimeError("bug in a provider")

    original = script.open

    def open_channel() -> Channel:
        channel = original()
        real = channel.send
        channel.send = lambda payload, deadline: (  # type: ignore[method-assign]
            explode(payload, deadline) if payload == "bad" else real(payload, deadline)
        )
        return channel

    queue._open_channel = open_channel
    queue.put("a", Kind.FINAL, "bad")
    queue.put("b", Kind.FINAL, "good")
    assert not queue.flush()
    assert script.sent == ["good"]
    assert any("1 the sender failed: RuntimeError" in m for m in _warnings(caplog))


def test_put_returns_at_once_while_the_channel_hangs(make: Callable[..., Any]) -> None:
    """2,000 reports queued behind a channel that never answers: putting them takes well under a second."""
    queue, script = make()
    script.hold.update(range(2_000))
    started = time.monotonic()
    for n in range(2_000):
        queue.put(n, Kind.FINAL, n)
    assert time.monotonic() - started < 1.0
    assert queue.pending == 2_000
    queue.flush(timeout=0)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() is POSIX only")
def test_a_forked_child_starts_with_an_empty_queue(make: Callable[..., Any]) -> None:
    """A report in flight in the parent is not the child's: there the queue holds nothing, and a report
    put there is delivered by the child's own sender."""
    queue, script = make()
    script.hold.add("parent")
    queue.put("lane", Kind.FINAL, "parent")
    _wait_for(lambda: script.attempts)
    pid = os.fork()
    if pid == 0:  # the child answers with its exit code and never returns into pytest
        code = 1
        try:
            empty = queue.pending == 0
            queue.put("lane", Kind.FINAL, "child")
            code = 0 if empty and queue.flush(timeout=5) and script.sent == ["child"] else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    script.released.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert queue.flush(timeout=5) and script.sent == ["parent"]


def test_the_interpreter_exit_delivers_what_every_queue_holds() -> None:
    """A program that ends with reports queued on two queues delivers them all as it exits, through one
    exit hook (dotflow.interrupts'), registered with the first report."""
    code = textwrap.dedent(
        """
        import atexit, sys, threading, time

        registered = []
        register = atexit.register
        atexit.register = lambda func, *args: (registered.append(func), register(func, *args))[1]

        from dotflow.delivery.queue import SENT, DeliveryQueue, Kind

        gate = threading.Event()

        class Slow:
            def send(self, payload, deadline):
                gate.wait()
                time.sleep(0.2)  # past the interpreter's end, unless something waits for it
                sys.stdout.write(payload + "\\n")  # one write: two senders never interleave a line
                sys.stdout.flush()
                return SENT

            def close(self):
                pass

        queues = [DeliveryQueue(Slow, label=f"queue {n}", target="stdout", workers=1) for n in range(3)]
        queues[0].put("a", Kind.FINAL, "first")
        queues[1].put("a", Kind.FINAL, "second")
        queues[1].put("b", Kind.FINAL, "third")
        print([f"{func.__module__}.{func.__name__}" for func in registered if func.__module__.startswith("dotflow")],
              flush=True)
        atexit.register(gate.set)  # the latest hook runs first: the senders start as the exit begins
        """
    )
    lines = engine_support.run_python(code).splitlines()
    assert lines[0] == "['dotflow.interrupts._at_exit']"
    assert sorted(lines[1:]) == ["first", "second", "third"]


def _senders(queue: DeliveryQueue) -> list[threading.Thread]:
    name = f"{queue.label.replace(' ', '-')}-sender"
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def _wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.005)
