"""A task that ran is reported In progress before its terminal status, over real HTTP on 127.0.0.1.

The protocol's rule (shared spec, "Every task ends with a terminal status"): even when the backend
is slower than the step, the task's In progress reaches it before its terminal status; only the
repeated updates after it (retries, a second In progress) are coalesced. The backend is
``fault_server.FaultServer`` in ``slow`` mode (every answer ``delay`` seconds late), the runs are
real DotFlow runs reporting through ``ServerAPI``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fault_server import FaultServer

from dotflow import Config, DotFlow, action
from dotflow.providers import ServerAPI

TOKEN = "tok-SECRET-in-progress"
TERMINAL = ("Completed", "Failed")


@pytest.fixture
def slow_backend(request: pytest.FixtureRequest) -> Iterator[FaultServer]:
    """A FaultServer answering ``request.param`` seconds late."""
    with FaultServer("slow", delay=request.param) as backend:
        yield backend


def _run(backend: FaultServer, workflow_id: str, *steps: Any, **options: Any) -> ServerAPI:
    """A run of ``steps`` reporting to ``backend`` (the workflow id is given, so no POST /workflows),
    flushed before it returns."""
    server = ServerAPI(backend.url, TOKEN, **{"flush_timeout": 30.0, **options})
    flow = DotFlow(config=Config(server=server), workflow_id=workflow_id)
    for step in steps:
        flow.task.add(step=step)
    flow.start(keep_going=True).flush()
    return server


@action
def one_second() -> int:
    time.sleep(1.0)
    return 1


@pytest.mark.parametrize("slow_backend", [1.5], indirect=True)
def test_a_step_quicker_than_the_backend_is_still_seen_in_progress(slow_backend: FaultServer) -> None:
    """A 1.5 s backend and two 1 s steps: the first task's In progress waits behind its POST, still
    in flight when the step ends, and yet reaches the backend before Completed (it used to be
    replaced by Completed: the backend saw that task Not started, then Completed); so does the
    second task's."""
    server = _run(slow_backend, "wf-slow", one_second, one_second)
    statuses = slow_backend.task_statuses("wf-slow")
    assert len(statuses) == 2
    assert all(each == ["Not started", "In progress", "Completed"] for each in statuses.values()), statuses
    assert slow_backend.workflow_statuses("wf-slow") == ["In progress", "Completed"]
    assert (server.sent, server.failed) == (8, 0)


class Flaky:
    """A step failing its first ``failures`` attempts, each taking ``seconds``."""

    def __init__(self, failures: int, seconds: float) -> None:
        self.failures = failures
        self.seconds = seconds
        self.attempts = 0

    def __call__(self) -> int:
        self.attempts += 1
        time.sleep(self.seconds)
        if self.attempts <= self.failures:
            raise ValueError(f"attempt {self.attempts} failed")
        return self.attempts


def _reports(backend: FaultServer, workflow_id: str) -> list[tuple[str, int]]:
    """(status, retry_count) of each task report the backend took, in order of receipt."""
    return [
        (r.body["status"], r.body["retry_count"])
        for r in backend.requests()
        if r.workflow_id == workflow_id and r.route in ("tasks", "task") and 200 <= (r.status or 0) < 300
    ]


@pytest.mark.parametrize("slow_backend", [0.4], indirect=True)
@pytest.mark.parametrize(("failures", "terminal"), [(4, "Completed"), (9, "Failed")])
def test_a_retried_step_shows_its_first_in_progress_and_nothing_after_its_end(
    slow_backend: FaultServer, failures: int, terminal: str
) -> None:
    """A step retried 4 times (then Completed) or failing all its 5 attempts (then Failed), 0.25 s
    each, against a backend answering 0.4 s late: the task is seen Not started, then the In
    progress of its first attempt (retry_count 0; before, a later attempt's In progress, or none,
    came in its place), then at most a few of the coalesced Retry / In progress updates, then its
    terminal status, last and once. The engine reported 9 non-terminal updates."""
    flaky = Flaky(failures, 0.25)
    step = action(retry=5, retry_delay=0)(flaky)
    workflow_id = f"wf-retry-{failures}"
    _run(slow_backend, workflow_id, step)
    reports = _reports(slow_backend, workflow_id)
    statuses = [status for status, _ in reports]
    assert reports[:2] == [("Not started", 0), ("In progress", 0)], reports
    assert statuses[-1] == terminal and sum(s in TERMINAL for s in statuses) == 1, statuses
    middle = statuses[2:-1]
    assert set(middle) <= {"Retry", "In progress"} and len(middle) < 9 - 1, statuses
    counts = [count for _, count in reports]
    assert counts == sorted(counts), reports  # never an older attempt's report after a newer one's


@action
def noop() -> None:
    pass


@pytest.mark.parametrize("slow_backend", [0.02], indirect=True)
def test_a_full_queue_still_delivers_every_in_progress(
    slow_backend: FaultServer, caplog: pytest.LogCaptureFixture
) -> None:
    """queue_size=10 and 40 quick tasks: the 40 POSTs fill the queue at task.add, so each In
    progress finds it full; it is admitted over the bound (as the POSTs and terminal statuses are)
    instead of being dropped: every task is seen Not started, In progress, Completed, and no update
    is reported dropped (the 20,000-task run used to log its In progresses dropped for room)."""
    caplog.set_level(logging.WARNING, logger="dotflow")
    server = _run(slow_backend, "wf-full", *[noop] * 40, queue_size=10)
    statuses = slow_backend.task_statuses("wf-full")
    assert len(statuses) == 40
    assert all(each == ["Not started", "In progress", "Completed"] for each in statuses.values()), statuses
    assert server.failed == 0
    assert not [r.getMessage() for r in caplog.records if "queue was full" in r.getMessage()]
