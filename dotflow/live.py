"""A run while it lasts: what a step learns of itself (``dotflow.current_task()``), and what an
observer learns of the run (the tasks running, their progress and metadata) and how it asks the
run to stop. The engine writes a ``LiveRun``; the runner protocol version 2's heartbeats read it
and carry a backend's cancel request back to it.

Only the standard library here: the engine's lowest layer, imported by a step's own code.
"""

from __future__ import annotations

import json
import threading
from contextvars import ContextVar
from typing import Any, Callable, Collection

# Characters of a progress message kept; bytes of JSON a task's metadata may hold in all.
MESSAGE_MAX = 200
METADATA_MAX = 16 * 1024

_current: ContextVar[TaskContext | None] = ContextVar("dotflow_current_task", default=None)


RUN_ATTEMPT_ENV = "RUN_ATTEMPT"


def run_attempt(environ: Any = None) -> int:
    """The orchestrator's relaunch count of this run, from ``RUN_ATTEMPT`` (1 when unset);
    ConfigError for a value that is not an integer from 1."""
    import os

    text = (os.environ if environ is None else environ).get(RUN_ATTEMPT_ENV, "").strip()
    if not text:
        return 1
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        from dotflow.errors import ConfigError

        raise ConfigError(f"{RUN_ATTEMPT_ENV}={text[:40]!r} is invalid; it must be an integer from 1 "
                          "(the orchestrator's relaunch count), or unset")
    return value


# current_task() without the call around it, for the engine's hot paths (a write to sys.stdout)
running_task = _current.get


def current_task() -> TaskContext | None:
    """The task whose step is running in this thread (or this worker process), or None outside
    a step. See ``TaskContext``."""
    return _current.get()


class LiveRun:
    """One run as an observer follows it. Thread-safe: the run's threads write it, a heartbeat
    thread reads it.

    - ``running()`` and ``progress()``: the tasks between their first attempt and their end, and
      the latest progress each reported (``TaskContext.progress``).
    - ``metadata_of(task_id)``: what a step attached to its task (``TaskContext.metadata``); it
      goes with the task's next report.
    - ``request_cancel(reason, tasks, grace)``: what a backend's cancel turns into; it calls the
      engine's ``cancel`` (``Manager.cancel``).
    - ``ended``: set once the run's final status is reported; no heartbeat follows it.
    - ``log_sink``: where the lines the steps write go (``dotflow.capture``), when an observer takes
      them; ``stop_logs()`` when it turns out not to (a version 1 backend), which calls what
      ``when_logs_stop`` registered (the capture's end) once.
    """

    __slots__ = ("_cancel", "_lock", "_logs_off", "_logs_stopped", "_metadata", "_progress", "_running", "ended",
                 "log_sink", "run_attempt", "workflow_id")

    def __init__(
        self, workflow_id: str, run_attempt: int = 1,
        cancel: Callable[[str, Collection[str] | None, float], None] | None = None,
    ) -> None:
        self.workflow_id = workflow_id
        self.run_attempt = run_attempt
        self.ended = False
        self._cancel = cancel
        self._lock = threading.Lock()
        self._running: dict[str, int] = {}  # task id -> attempt, in the order they began
        self._progress: dict[str, dict[str, Any]] = {}
        self._metadata: dict[str, dict[str, Any]] = {}
        # where the lines the steps write go, tagged with their task (dotflow.capture), when an
        # observer takes them (a version 2 backend's /logs): batches of (time, task id or None for
        # the workflow's own lines, stream, level, line)
        self.log_sink: Callable[[list[Any]], None] | None = None
        self._logs_stopped: Callable[[], None] | None = None
        self._logs_off = False

    def when_logs_stop(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once when ``stop_logs`` is called (at once if it was already)."""
        with self._lock:
            if not self._logs_off:
                self._logs_stopped = callback
                return
        callback()

    def stop_logs(self) -> None:
        """Nobody takes the steps' lines after all: no more are made."""
        with self._lock:
            self.log_sink = None
            self._logs_off = True
            callback, self._logs_stopped = self._logs_stopped, None
        if callback is not None:
            callback()

    def __repr__(self) -> str:
        return f"LiveRun(workflow_id={self.workflow_id!r}, running={len(self._running)}, ended={self.ended})"

    # -- written by the engine and the steps -------------------------------------------------

    def began(self, task_id: str, attempt: int) -> None:
        with self._lock:
            self._running[task_id] = attempt

    def left(self, task_id: str) -> None:
        with self._lock:
            self._running.pop(task_id, None)
            self._progress.pop(task_id, None)

    def end(self) -> None:
        self.ended = True

    def set_progress(self, task_id: str, done: float, total: float | None, message: str | None) -> None:
        entry: dict[str, Any] = {"done": done, "total": total, "message": message}
        with self._lock:
            self._progress[task_id] = entry

    def add_metadata(self, task_id: str, values: dict[str, Any]) -> bool:
        """Merge ``values`` into the task's metadata; False (nothing kept) when the result would
        pass ``METADATA_MAX`` bytes of JSON."""
        with self._lock:
            merged = {**self._metadata.get(task_id, {}), **values}
            if len(json.dumps(merged, separators=(",", ":"), default=str)) > METADATA_MAX:
                return False
            self._metadata[task_id] = merged
            return True

    # -- read by an observer -----------------------------------------------------------------

    def running(self) -> list[str]:
        with self._lock:
            return list(self._running)

    def progress(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {task_id: dict(entry) for task_id, entry in self._progress.items()}

    def metadata_of(self, task_id: str) -> dict[str, Any] | None:
        with self._lock:
            values = self._metadata.get(task_id)
            return dict(values) if values else None

    def request_cancel(self, reason: str, tasks: Collection[str] | None, grace: float) -> None:
        """A backend asks the run (``tasks`` None) or some of its tasks to stop."""
        if self._cancel is not None and not self.ended:
            self._cancel(reason, tasks, grace)


class TaskContext:
    """The running task, as its step sees it through ``dotflow.current_task()``.

    ``workflow_id``, ``task_id``, ``step`` (its dotted name), ``attempt`` (this task's try, from
    1) and ``run_attempt`` (the orchestrator's relaunch count, from ``RUN_ATTEMPT``, else 1).
    ``progress(done, total=None, message=None)`` tells the observer how far the step got (the
    latest value rides the next heartbeat); ``metadata(**values)`` attaches JSON values (links,
    counts, short markdown) that go with the task's next report, at most 16 KiB in all;
    ``cancel_requested()`` says whether the run, or this task, was asked to stop: a step that
    checks it can return early or raise ``dotflow.TaskCancelled``.
    """

    __slots__ = ("_cancelled", "_step", "attempt", "live", "run_attempt", "task_id", "workflow_id")

    def __init__(
        self, workflow_id: str, task_id: str, step: Any, attempt: int, run_attempt: int,
        live: LiveRun | None, cancelled: Callable[[], bool],
    ) -> None:
        self.workflow_id = workflow_id
        self.task_id = task_id
        self._step = step
        self.attempt = attempt
        self.run_attempt = run_attempt
        self.live = live  # the run this task belongs to, as an observer follows it
        self._cancelled = cancelled

    @property
    def step(self) -> str:
        """The step's dotted name, ``pkg.mod.fn`` (a string: a step given as one names itself)."""
        if isinstance(self._step, str):
            return self._step
        from dotflow.naming import step_name

        return step_name(self._step)

    def __repr__(self) -> str:
        return (f"TaskContext(workflow_id={self.workflow_id!r}, task_id={self.task_id!r}, step={self.step!r}, "
                f"attempt={self.attempt}, run_attempt={self.run_attempt})")

    def progress(self, done: float, total: float | None = None, message: str | None = None) -> None:
        """Report how far the step got: ``done`` of ``total`` (numbers; total may be unknown),
        with an optional short ``message`` (cut at 200 characters)."""
        from dotflow.errors import UsageError

        for name, value in (("done", done), ("total", total)):
            if value is None and name == "total":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
                raise UsageError(f"current_task().progress({name}={value!r}): {name} must be a number")
        if message is not None:
            message = str(message)[:MESSAGE_MAX]
        if self.live is not None:
            self.live.set_progress(self.task_id, done, total, message)

    def metadata(self, **values: Any) -> None:
        """Attach ``values`` (JSON: strings, numbers, booleans, lists, objects) to the task; they
        go with its next report, the secrets the process knows masked. Past 16 KiB of JSON in all,
        the call is ignored with a warning (a step never fails for its metadata)."""
        from dotflow.errors import UsageError

        try:
            json.dumps(values, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise UsageError(f"current_task().metadata(): the values must be JSON ({exc})") from None
        if self.live is not None and not self.live.add_metadata(self.task_id, values):
            import logging

            logging.getLogger("dotflow").warning(
                "ID %s - task %s: metadata past %d bytes of JSON was not kept", self.workflow_id, self.task_id,
                METADATA_MAX,
            )

    def cancel_requested(self) -> bool:
        """Whether the run, or this task, was asked to stop (a backend's cancel, ``Manager.cancel``)."""
        return self._cancelled()


def enter(context: TaskContext) -> Any:
    """Make ``context`` the current task of this thread; returns the token ``leave`` takes."""
    return _current.set(context)


def leave(token: Any) -> None:
    _current.reset(token)
