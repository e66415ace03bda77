"""SchedulerCron: runs at the cron times, bounds, stop(), overlap, failures and errors.

A fake clock that only moves when the scheduler sleeps keeps every test free of real waiting.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from dotflow import DotFlow, action
from dotflow.config import Config
from dotflow.errors import MissingExtraError, UsageError
from dotflow.providers import SchedulerCron

START = datetime(2024, 1, 1, 12, 0, 30)


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2024, 1, 1, hour, minute, second)


class FakeTime:
    """A clock that moves only when the scheduler sleeps or a test advances it."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FakeRun:
    """Stands for a background Manager: ``done`` once the fake clock reaches ``ends``."""

    def __init__(self, fake: FakeTime, ends: datetime) -> None:
        self.fake = fake
        self.ends = ends

    @property
    def done(self) -> bool:
        return self.fake.now >= self.ends


def cron(expression: str, fake: FakeTime, **options: Any) -> SchedulerCron:
    return SchedulerCron(expression, clock=fake.clock, sleep=fake.sleep, **options)


@pytest.fixture
def records() -> Iterator[list[logging.LogRecord]]:
    """Records of the ``dotflow`` logger, caught by a handler of its own (the CLI may turn propagation off)."""
    caught: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = caught.append  # type: ignore[method-assign]
    logger = logging.getLogger("dotflow")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield caught
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def messages(records: list[logging.LogRecord], level: int) -> list[str]:
    return [r.getMessage() for r in records if r.levelno == level]


def test_runs_at_the_cron_times() -> None:
    """Each run starts at the next time the expression gives, never before it."""
    fake = FakeTime()
    started: list[datetime] = []
    cron("*/5 * * * *", fake, max_runs=3).start(lambda: started.append(fake.now))
    assert started == [at(12, 5), at(12, 10), at(12, 15)]


def test_start_options_reach_every_run() -> None:
    """The keyword arguments given to start() are passed to each call of the workflow."""
    fake = FakeTime()
    seen: list[dict[str, Any]] = []
    cron("* * * * *", fake, max_runs=2).start(lambda **kw: seen.append(kw), mode="sequential", keep_going=True)
    assert seen == [{"mode": "sequential", "keep_going": True}] * 2


def test_max_runs_ends_the_schedule_right_after_the_last_run() -> None:
    """With max_runs=2 the workflow runs twice and start() returns without sleeping again."""
    fake = FakeTime()
    calls: list[int] = []
    cron("* * * * *", fake, max_runs=2).start(lambda: calls.append(1))
    assert calls == [1, 1]
    assert fake.sleeps == [30.0, 60.0]


def test_stop_from_another_thread_wakes_a_sleeping_schedule() -> None:
    """stop() from another thread ends a schedule sleeping on the default wait at once."""
    clock_calls = 0
    sleeping = threading.Event()

    def frozen_clock() -> datetime:
        nonlocal clock_calls
        clock_calls += 1
        if clock_calls >= 2:  # the second call comes just before the first sleep
            sleeping.set()
        return START  # frozen: the next run stays 30 s away

    calls: list[int] = []
    scheduler = SchedulerCron("* * * * *", clock=frozen_clock)  # real sleep: the stop Event's wait
    thread = threading.Thread(target=scheduler.start, args=(lambda: calls.append(1),), daemon=True)
    thread.start()
    assert sleeping.wait(5)
    time.sleep(0.05)  # let it enter the wait
    began = time.monotonic()
    scheduler.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert time.monotonic() - began < 5
    assert calls == []


def test_stop_inside_a_run_ends_the_schedule_after_it() -> None:
    """A run that calls stop() is the last one, even without max_runs."""
    fake = FakeTime()
    scheduler = cron("* * * * *", fake)
    calls: list[int] = []

    def workflow() -> None:
        calls.append(1)
        if len(calls) == 2:
            scheduler.stop()

    scheduler.start(workflow)
    assert calls == [1, 1]


def test_a_stopped_scheduler_can_start_again() -> None:
    """stop() ends one start(); a later start() runs its schedule afresh."""
    fake = FakeTime()
    scheduler = cron("* * * * *", fake, max_runs=1)
    scheduler.stop()
    calls: list[int] = []
    scheduler.start(lambda: calls.append(1))
    assert calls == []
    scheduler.start(lambda: calls.append(1))
    assert calls == [1]


@pytest.mark.parametrize("expression", ["* * *", "61 * * * *", "0 0 30 2 *", "every minute", 5])
def test_a_bad_expression_is_rejected_in_the_constructor(expression: Any) -> None:
    """An expression croniter cannot use raises UsageError naming it, before any run."""
    with pytest.raises(UsageError, match=r"^invalid cron expression ") as info:
        SchedulerCron(expression)
    assert repr(expression) in str(info.value)


def test_a_bad_expression_message_gives_the_reason() -> None:
    """The message is `invalid cron expression '<expr>': <croniter's reason>`."""
    with pytest.raises(UsageError) as info:
        SchedulerCron("61 * * * *")
    assert str(info.value).startswith("invalid cron expression '61 * * * *': ")
    assert "out of range" in str(info.value)


def test_a_bad_overlap_is_rejected() -> None:
    """overlap accepts "skip", "queue" and "parallel" (and "wait"); anything else raises UsageError listing them."""
    with pytest.raises(UsageError, match=r"overlap='later'.*'skip', 'queue', 'parallel'"):
        SchedulerCron("* * * * *", overlap="later")


@pytest.mark.parametrize("max_runs", [0, -1, True, "2", 1.5])
def test_a_bad_max_runs_is_rejected(max_runs: Any) -> None:
    """max_runs must be a positive int or None."""
    with pytest.raises(UsageError, match=r"max_runs="):
        SchedulerCron("* * * * *", max_runs=max_runs)


@pytest.mark.parametrize("error", [RuntimeError("boom"), AssertionError("check failed")])
def test_a_failing_run_is_logged_and_the_schedule_goes_on(error: Exception, records: list[logging.LogRecord]) -> None:
    """A run that raises (AssertionError too) is logged with its traceback, and later runs still happen."""
    fake = FakeTime()
    calls: list[int] = []

    def workflow() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise error

    cron("* * * * *", fake, max_runs=3).start(workflow)
    assert calls == [1, 1, 1]
    errors = [r for r in records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "the run due at 2024-01-01 12:01:00 failed" in errors[0].getMessage()
    assert errors[0].exc_info is not None and errors[0].exc_info[1] is error


def test_without_croniter_the_error_gives_the_pip_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without croniter the constructor raises MissingExtraError with the exact install line."""
    monkeypatch.setitem(sys.modules, "croniter", None)
    with pytest.raises(MissingExtraError) as info:
        SchedulerCron("* * * * *")
    assert str(info.value) == "SchedulerCron needs croniter: pip install 'dotflow[scheduler]'"


def test_skip_drops_a_run_due_while_a_background_run_is_going(records: list[logging.LogRecord]) -> None:
    """overlap="skip": the run due while the previous background run goes on is skipped and logged."""
    fake = FakeTime()
    started: list[datetime] = []

    def workflow() -> FakeRun:
        started.append(fake.now)
        return FakeRun(fake, ends=fake.now + timedelta(seconds=90))

    cron("* * * * *", fake, max_runs=2).start(workflow)
    assert started == [at(12, 1), at(12, 3)]
    assert any("skipped the run due at 2024-01-01 12:02:00" in m for m in messages(records, logging.WARNING))


def test_wait_starts_the_run_when_the_background_run_ends() -> None:
    """overlap="wait": the run due while the previous background run goes on starts when it ends."""
    fake = FakeTime()
    started: list[datetime] = []

    def workflow() -> FakeRun:
        started.append(fake.now)
        return FakeRun(fake, ends=fake.now + timedelta(seconds=90))

    cron("* * * * *", fake, max_runs=2, overlap="wait").start(workflow)
    assert started == [at(12, 1), at(12, 2, 30)]


def test_skip_drops_the_times_a_blocking_run_overran(records: list[logging.LogRecord]) -> None:
    """overlap="skip": times that pass during a long blocking run are skipped, logged, not caught up."""
    fake = FakeTime()
    started: list[datetime] = []

    def workflow() -> None:
        started.append(fake.now)
        fake.advance(150)  # 12:01 -> 12:03:30, over 12:02 and 12:03

    cron("* * * * *", fake, max_runs=2).start(workflow)
    assert started == [at(12, 1), at(12, 4)]
    assert any("skipped the runs due from 2024-01-01 12:02:00" in m for m in messages(records, logging.WARNING))


def test_wait_collapses_the_times_a_blocking_run_overran_into_one_run() -> None:
    """overlap="wait": the times a blocking run overran become one run right after it, then the schedule resumes."""
    fake = FakeTime()
    started: list[datetime] = []

    def workflow() -> None:
        started.append(fake.now)
        if len(started) == 1:
            fake.advance(150)

    cron("* * * * *", fake, max_runs=3, overlap="wait").start(workflow)
    assert started == [at(12, 1), at(12, 3, 30), at(12, 4)]


def test_dotflow_schedule_runs_the_workflow_at_each_cron_time() -> None:
    """DotFlow(config=Config(scheduler=SchedulerCron(...))).schedule() runs the whole workflow max_runs times."""
    fake = FakeTime()
    runs: list[datetime] = []

    @action
    def record() -> str:
        runs.append(fake.now)
        return "ok"

    scheduler = SchedulerCron("* * * * *", max_runs=2, clock=fake.clock, sleep=fake.sleep)
    workflow = DotFlow(config=Config(scheduler=scheduler))
    workflow.task.add(record)
    workflow.schedule()
    assert runs == [at(12, 1), at(12, 2)]
    assert workflow.result_storage() == ["ok"]


def test_dotflow_schedule_in_background_mode_waits_for_the_real_manager() -> None:
    """With mode="background" and overlap="wait", each run starts only once the previous Manager is done."""
    fake = FakeTime()
    running = threading.Lock()
    overlapped: list[bool] = []
    finished: list[int] = []

    @action
    def slow() -> None:
        overlapped.append(not running.acquire(blocking=False))
        time.sleep(0.05)
        running.release()
        finished.append(1)

    scheduler = SchedulerCron("* * * * *", max_runs=2, overlap="wait", clock=fake.clock, sleep=fake.sleep)
    workflow = DotFlow(config=Config(scheduler=scheduler))
    workflow.task.add(slow)
    workflow.schedule(mode="background")
    deadline = time.monotonic() + 5
    while len(finished) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert finished == [1, 1]
    assert overlapped == [False, False]


# --- 1.x's overlap names and "parallel" ------------------------------------------------------------


def test_overlap_is_the_second_positional_argument_as_in_1x() -> None:
    """SchedulerCron(cron, overlap) keeps 1.x's positional order, and exposes cron, overlap and running."""
    scheduler = SchedulerCron("*/5 * * * *", "parallel")
    assert (scheduler.cron, scheduler.overlap, scheduler.running) == ("*/5 * * * *", "parallel", False)


def test_wait_is_an_alias_of_queue() -> None:
    """overlap="wait" (this scheduler's earlier name) is stored as 1.x's "queue"."""
    assert SchedulerCron("* * * * *", overlap="wait").overlap == "queue"


def test_queue_collapses_the_times_a_blocking_run_overran_into_one_run() -> None:
    """overlap="queue": the times a blocking run overran become one run right after it (at most one pending)."""
    fake = FakeTime()
    started: list[datetime] = []

    def workflow() -> None:
        started.append(fake.now)
        if len(started) == 1:
            fake.advance(150)  # over 12:02 and 12:03: two times, one queued run

    cron("* * * * *", fake, max_runs=3, overlap="queue").start(workflow)
    assert started == [at(12, 1), at(12, 3, 30), at(12, 4)]


def test_running_is_true_only_while_start_goes() -> None:
    """``running`` is True inside a run and False once start() returned."""
    fake = FakeTime()
    scheduler = cron("* * * * *", fake, max_runs=1)
    seen: list[bool] = []
    scheduler.start(lambda: seen.append(scheduler.running))
    assert seen == [True] and scheduler.running is False


def test_parallel_starts_a_run_while_the_previous_one_goes() -> None:
    """overlap="parallel": two runs go at the same time (each waits for the other at a barrier),
    and start() returns once both ended when max_runs is reached."""
    fake = FakeTime()
    barrier = threading.Barrier(2, timeout=5)
    ended: list[str] = []

    def workflow() -> None:
        barrier.wait()  # raises BrokenBarrierError unless the other run is going too
        ended.append(threading.current_thread().name)

    cron("* * * * *", fake, max_runs=2, overlap="parallel").start(workflow)
    assert len(ended) == 2 and all(name.startswith("dotflow-schedule-") for name in ended)


def test_parallel_drops_the_times_when_ten_runs_are_going(records: list[logging.LogRecord]) -> None:
    """overlap="parallel" runs at most 10 at once: a time that comes while 10 go is dropped with a warning."""
    fake = FakeTime()
    release = threading.Event()
    started: list[int] = []
    lock = threading.Lock()

    def workflow() -> None:
        with lock:
            started.append(1)
        release.wait(10)

    scheduler = cron("* * * * *", fake, overlap="parallel")

    def sleep(seconds: float) -> None:
        fake.sleep(seconds)
        if len(fake.sleeps) == 15:  # 14 times have come: 10 started, the later ones dropped
            release.set()
            scheduler.stop(timeout=5)

    scheduler._sleep = sleep
    scheduler.start(workflow)
    assert scheduler.join(5)
    assert len(started) == 10
    assert len([m for m in messages(records, logging.WARNING) if "10 runs are still going" in m]) == 4


def test_stop_waits_for_parallel_runs_at_most_its_timeout() -> None:
    """stop(timeout) returns after about timeout while a parallel run still goes; join() then waits for it."""
    fake = FakeTime()
    release = threading.Event()
    scheduler = cron("* * * * *", fake, overlap="parallel", max_runs=1)
    began = threading.Event()

    def workflow() -> None:
        began.set()
        release.wait(10)

    thread = threading.Thread(target=scheduler.start, args=(workflow,))
    thread.start()
    assert began.wait(5)
    t0 = time.monotonic()
    scheduler.stop(timeout=0.2)
    assert 0.15 < time.monotonic() - t0 < 3
    assert scheduler.join(0) is False
    release.set()
    assert scheduler.join(5) is True
    thread.join(5)
    assert not thread.is_alive()


def test_dotflow_schedule_in_parallel_runs_overlapping_runs_on_copies() -> None:
    """DotFlow.schedule() with overlap="parallel": an overlapping run goes on a copy with its own
    workflow id and tasks, so both runs complete and neither overwrites the other's results."""
    from dotflow.abc.tracer import Tracer

    class Runs(Tracer):
        def __init__(self) -> None:
            self.started: list[str] = []
            self.ended: list[tuple[str, bool]] = []

        def start_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
            self.started.append(workflow_id)

        def end_workflow(self, workflow_id: Any, **kwargs: Any) -> None:
            self.ended.append((workflow_id, kwargs["failed"]))

        def start_task(self, task: Any) -> None: ...

        def end_task(self, task: Any) -> None: ...

    fake = FakeTime()
    barrier = threading.Barrier(2, timeout=5)

    @action
    def meet(initial_context: Any) -> Any:
        barrier.wait()
        return initial_context.storage * 2

    runs = Runs()
    scheduler = SchedulerCron("* * * * *", "parallel", max_runs=2, clock=fake.clock, sleep=fake.sleep)
    workflow = DotFlow(config=Config(scheduler=scheduler, tracer=runs))
    workflow.task.add(meet, initial_context=21)
    workflow.schedule()
    assert len(set(runs.started)) == 2 and workflow.workflow_id in runs.started
    assert sorted(failed for _, failed in runs.ended) == [False, False]
    assert workflow.result_storage() == [42]


def test_only_a_dotflows_own_start_runs_on_copies() -> None:
    """The overlap="parallel" copying applies to a DotFlow's start (a subclass's too), not to a subclass
    that overrides start alone, nor to any other callable: those are called as they are, as before."""
    from dotflow.providers.scheduler_cron import _one_run_per_dotflow

    class Inherits(DotFlow):
        pass

    class Overrides(DotFlow):
        def start(self, *args: Any, **kwargs: Any) -> Any:
            return super().start(*args, **kwargs)

    def plain() -> None: ...

    for flow in (DotFlow(config=Config()), Inherits(config=Config())):
        start = flow.start
        assert _one_run_per_dotflow(start) is not start
    for other in (Overrides(config=Config()).start, plain, DotFlow(config=Config()).flush):
        assert _one_run_per_dotflow(other) is other


def test_the_scheduler_imports_nothing_of_the_engine() -> None:
    """scheduler_cron (a provider, below the engine) imports neither dotflow.workflow nor the dotflow
    façade, not even inside a function: it copies a workflow through DotFlow.copy()."""
    import ast
    from pathlib import Path

    import dotflow.providers.scheduler_cron as module

    tree = ast.parse(Path(module.__file__ or "").read_text(encoding="utf-8"))
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert [name for name in imported if name in ("dotflow", "dotflow.workflow")] == []


def test_each_tick_of_dotflow_schedule_is_a_full_fresh_run() -> None:
    """Every cron time runs every task again from a clean slate (1.x ran the workflow only at the first)."""
    fake = FakeTime()
    counter = {"calls": 0}

    @action
    def count() -> int:
        counter["calls"] += 1
        return counter["calls"]

    scheduler = SchedulerCron("* * * * *", max_runs=3, clock=fake.clock, sleep=fake.sleep)
    workflow = DotFlow(config=Config(scheduler=scheduler))
    workflow.task.add(count)
    workflow.schedule()
    assert counter["calls"] == 3
    assert workflow.result_storage() == [3]
    assert [task.status for task in workflow.result_task()] == ["Completed"]


def test_running_is_false_once_stop_returns() -> None:
    """``stop()`` from inside a run ends the schedule: ``running`` is False once it returns, as in 1.x."""
    scheduler = SchedulerCron("* * * * * *", sleep=lambda seconds: None)
    seen: list[bool] = []

    def run() -> None:
        scheduler.stop()
        seen.append(scheduler.running)

    scheduler.start(run)
    assert seen == [False] and scheduler.running is False
