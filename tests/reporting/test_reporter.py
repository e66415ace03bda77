"""The Reporter: the only caller of a Server's hooks, with 1.x's call shapes, and never fatal."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests
from engine_support import RecordingServer
from fault_server import FaultServer

from dotflow import Config, DotFlow, TypeStatus, action
from dotflow.abc.server import Server
from dotflow.naming import task_label
from dotflow.providers import ServerAPI, ServerDefault
from dotflow.reporting import Reporter


@action
def one() -> int:
    return 1


@action
def fails() -> None:
    raise ValueError("no")


class KeywordOnlyServer(Server):
    """A user's Server whose hooks accept keyword arguments only, as 1.x calls them."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def create_workflow(self, *, workflow: Any) -> None:
        self.calls.append(("create_workflow", workflow))

    def update_workflow(self, *, workflow: Any, status: str = "") -> None:
        self.calls.append(("update_workflow", (workflow, status)))

    def create_task(self, *, task: Any) -> None:
        self.calls.append(("create_task", task.status))

    def update_task(self, *, task: Any) -> None:
        self.calls.append(("update_task", task.status))


class ReferenceServer(Server):
    """A user's own Server written like the managed-mode proposal's reference ServerAPI: URLs built
    with f-strings of what the hooks receive, synchronous requests calls."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def create_workflow(self, workflow: Any) -> None:
        self.session.post(f"{self.base}/workflows", json={"id": str(workflow)}, timeout=5)

    def update_workflow(self, workflow: Any, status: str = "") -> None:
        self.session.patch(f"{self.base}/workflows/{workflow}", json={"status": status}, timeout=5)

    def create_task(self, task: Any) -> None:
        self.session.post(f"{self.base}/workflows/{task.workflow_id}/tasks", json=task.result(), timeout=5)

    def update_task(self, task: Any) -> None:
        url = f"{self.base}/workflows/{task.workflow_id}/tasks/{task.task_id}"
        self.session.patch(url, json=task.result(), timeout=5)


def test_hooks_are_called_with_keywords_as_in_1x() -> None:
    """A Server whose hooks take keyword arguments only gets every report of a run."""
    server = KeywordOnlyServer()
    flow = DotFlow(config=Config(server=server))
    flow.task.add(one)
    flow.start()
    assert [hook for hook, _ in server.calls] == [
        "create_workflow", "create_task", "update_workflow", "update_task", "update_task", "update_workflow"
    ]
    assert server.calls[0][1] is flow and str(flow) == flow.workflow_id  # the DotFlow itself, str() its id
    assert server.calls[2][1] == (flow.workflow_id, "In progress")  # the id itself, as 1.x passes it
    assert type(server.calls[2][1][0]) is str


def test_a_1x_style_server_builds_the_right_urls_and_bodies() -> None:
    """The reference-ServerAPI pattern, wired in code against a real local server, sends POST /workflows
    with the id, the task reports under that id, and PATCH /workflows/<id> with each status."""
    with FaultServer("nodelay") as backend:
        flow = DotFlow(config=Config(server=ReferenceServer(backend.url)))
        flow.task.add(one)
        flow.start()
        wid = flow.workflow_id
        paths = [(r.method, r.path) for r in backend.requests()]
        assert backend.created_workflows() == [wid]
        assert ("PATCH", f"/api/v1/workflows/{wid}") in paths
        assert backend.workflow_statuses(wid) == ["In progress", "Completed"]
        assert list(backend.final_statuses(wid).values()) == ["Completed"]
        assert not any("DotFlow(" in path for _, path in paths)


def test_a_raising_hook_is_logged_once_and_the_run_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A Server whose update_task raises: the run completes, one WARNING names the provider and hook,
    and later failures of that hook, in this run or the next, log nothing more."""

    class Broken(RecordingServer):
        def update_task(self, task: Any) -> None:
            raise RuntimeError("backend client bug")

    flow = DotFlow(config=Config(server=Broken()), workflow_id="wf-b")
    flow.task.add([one, one])
    assert flow.start().status == TypeStatus.COMPLETED
    flow.start()
    lines = [r.getMessage() for r in caplog.records if "raised" in r.getMessage()]
    assert len(lines) == 1
    assert "Broken.update_task() raised RuntimeError: backend client bug" in lines[0]


def test_assigning_a_status_reports_nothing() -> None:
    """``task.status = ...`` only sets the status: reporting is the Reporter's job, not a setter's."""
    server = RecordingServer()
    flow = DotFlow(config=Config(server=server), workflow_id="wf-s")
    flow.task.add(one)
    task = flow.result_task()[0]
    task.status = TypeStatus.COMPLETED
    assert task.status is TypeStatus.COMPLETED
    assert server.hooks() == ["create_task"]


def test_the_no_op_server_is_never_called_but_its_subclasses_are() -> None:
    """ServerDefault itself is skipped (nothing to report); a subclass overriding a hook is called."""

    class Counting(ServerDefault):
        def __init__(self) -> None:
            self.count = 0

        def update_task(self, task: Any) -> None:
            self.count += 1

    assert not Reporter(Config()).remote
    server = Counting()
    flow = DotFlow(config=Config(server=server))
    flow.task.add(one)
    flow.start()
    assert Reporter(Config(server=server)).remote and server.count == 2


def test_start_returns_without_waiting_for_delivery_and_flush_waits() -> None:
    """Against a server taking 0.5 s per answer, start() of 3 tasks returns at once; flush() then
    delivers every terminal status."""
    with FaultServer("slow", delay=0.5) as backend:
        server = ServerAPI(backend.url, "tok-12345678", flush_timeout=10)
        flow = DotFlow(config=Config(server=server), workflow_id="wf-d")
        flow.task.add([one, one, fails])
        started = time.monotonic()
        manager = flow.start(keep_going=True)
        assert time.monotonic() - started < 0.3
        assert server.pending > 0
        manager.flush()
        assert sorted(backend.final_statuses("wf-d").values()) == ["Completed", "Completed", "Failed"]
        assert backend.workflow_statuses("wf-d") == ["In progress", "Failed"]


def test_flush_passes_its_timeout_to_the_server() -> None:
    """DotFlow.flush(t) and Manager.flush(t) reach Server.flush(timeout=t); None means the server's default."""

    class Flushing(RecordingServer):
        def __init__(self) -> None:
            super().__init__()
            self.flushes: list[float | None] = []

        def flush(self, timeout: float | None = None) -> None:
            self.flushes.append(timeout)

    server = Flushing()
    flow = DotFlow(config=Config(server=server))
    flow.task.add(one)
    manager = flow.start()
    assert server.flushes == []  # the run itself never waits for delivery
    flow.flush(1.5)
    manager.flush()
    assert server.flushes[0] == pytest.approx(1.5, abs=0.01) and server.flushes[1:] == [None]


def test_the_signal_bound_is_the_servers_or_five_seconds() -> None:
    """After a signal the flush is bounded by the server's signal_flush_timeout, else 5 s."""
    api = ServerAPI("http://127.0.0.1:9", "tok-12345678", signal_flush_timeout=2)
    assert Reporter(Config(server=api)).signal_flush_timeout == 2
    assert Reporter(Config(server=RecordingServer())).signal_flush_timeout == 5.0


def test_status_changes_are_logged_once_each(caplog: pytest.LogCaptureFixture) -> None:
    """Each status change is one log line naming the step and the task id (INFO; Failed an ERROR with the reason)."""
    caplog.set_level(logging.INFO, logger="dotflow")
    flow = DotFlow(workflow_id="wf-l")
    flow.task.add([one, fails])
    flow.start(keep_going=True)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("ID wf-l")]
    tasks = [task_label(t) for t in flow.result_task()]
    assert lines == [
        f"ID wf-l - {tasks[0]} - Not started",
        f"ID wf-l - {tasks[1]} - Not started",
        f"ID wf-l - {tasks[0]} - In progress",
        f"ID wf-l - {tasks[0]} - Completed",
        f"ID wf-l - {tasks[1]} - In progress",
        f"ID wf-l - {tasks[1]} - Failed: ValueError: no",
        "ID wf-l - workflow - Failed",
    ]
