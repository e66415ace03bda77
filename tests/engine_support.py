"""Shared parts for the engine tests: recording providers and a clean subprocess runner.

Imported as ``import engine_support`` (tests/ has no ``__init__.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from dotflow.abc.scheduler import Scheduler
from dotflow.abc.server import Server

REPO = Path(__file__).resolve().parent.parent


class RecordingServer(Server):
    """Records every hook call as ``(hook, subject, status)`` tuples, in call order, thread-safely.

    The subject is ``str()`` of what the workflow hooks receive (the workflow id, as a 1.x Server
    would read it) or the task id; ``status`` is the workflow status passed to ``update_workflow``
    or the task's status at the moment ``create_task`` / ``update_task`` was called.
    """

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, str]] = []
        self._lock = threading.Lock()

    def _add(self, hook: str, subject: Any, status: str) -> None:
        with self._lock:
            self.calls.append((hook, subject, status))

    def create_workflow(self, workflow: Any) -> None:
        self._add("create_workflow", str(workflow), "")

    def update_workflow(self, workflow: Any, status: str = "") -> None:
        self._add("update_workflow", str(workflow), status)

    def create_task(self, task: Any) -> None:
        self._add("create_task", task.task_id, task.status)

    def update_task(self, task: Any) -> None:
        self._add("update_task", task.task_id, task.status)

    def hooks(self) -> list[str]:
        return [hook for hook, _, _ in self.calls]

    def events(self) -> list[tuple[str, str]]:
        return [(hook, status) for hook, _, status in self.calls]

    def task_statuses(self, task_id: str) -> list[str]:
        return [status for hook, subject, status in self.calls if hook == "update_task" and subject == task_id]


class RecordingScheduler(Scheduler):
    """Keeps what ``DotFlow.schedule()`` hands over instead of scheduling it."""

    def __init__(self) -> None:
        self.received: list[tuple[Callable[..., Any], dict[str, Any]]] = []

    def start(self, workflow: Callable[..., Any], **kwargs: Any) -> None:
        self.received.append((workflow, kwargs))


def run_python(
    code_or_path: str | Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 60,
    extra_env: dict[str, str] | None = None,
) -> str:
    """Run Python code (or a script file) in a fresh interpreter and return its stdout.

    The environment is stripped of dotflow variables so no profile leaks in, then
    ``extra_env`` is added; a failure shows the child's stderr.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOTFLOW_")}
    for name in ("WORKFLOW_ID", "SERVER_BASE_URL", "SERVER_USER_TOKEN"):
        env.pop(name, None)
    env.update(extra_env or {})
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    command = [sys.executable]
    command += [str(code_or_path)] if isinstance(code_or_path, Path) else ["-c", code_or_path]
    proc = subprocess.run(
        [*command, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout, check=False
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc.stdout


def stored(data: str | bytes) -> Any:
    """A stored checkpoint document as a dict, without the ``time`` it was written at (it varies)."""
    import json

    document = json.loads(data)
    if isinstance(document, dict):
        assert isinstance(document.pop("time", 0.0), float)
    return document
