"""What the commands show: ``dotflow start``'s summary, its JSON form, the tracebacks of ``-v`` and the
live view; ``dotflow schedule``'s run lines; ``profile show``'s table; ``checkpoints list``'s lines.

The live view uses rich, imported only when it is shown (a terminal, ``--no-progress`` not given),
so the start-up of every other command stays free of it.
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

from dotflow.cli.streams import echo
from dotflow.naming import step_name
from dotflow.redact import one_line
from dotflow.text import failure_reason, user_frame
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.task import Task
    from dotflow.workflow import DotFlow

_JSON_MESSAGE = 4000  # characters of an error message in --output json


def profile_table(data: dict[str, Any], auto_means: str | None = None) -> list[str]:
    """``dotflow profile show``: the profile, its files, and a row per key with its value and
    source (``data`` is ``ResolvedProfile.as_dict``); ``auto_means`` is what an ``auto`` server
    provider turned into."""
    rows = [(key, _display(entry["value"]), entry["source"]) for key, entry in data["settings"].items()]
    if auto_means is not None:
        rows[0] = (rows[0][0], f"auto (= {auto_means})", rows[0][2])
    key_width = max(len(row[0]) for row in rows)
    value_width = min(max(len(row[1]) for row in rows), 48)
    lines = [
        f"profile:     {data['profile']} (selected by {data['selected_by']})",
        f"files:       {', '.join(data['files']) or '(none)'}",
        "",
        f"{'key'.ljust(key_width)}  {'value'.ljust(value_width)}  source",
    ]
    lines += [f"{key.ljust(key_width)}  {value.ljust(value_width)}  {source}" for key, value, source in rows]
    return lines


def _display(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def checkpoint_lines(found: dict[str, Any], storage: str, wanted: str | None, missing_folder: str = "") -> list[str]:
    """``dotflow checkpoints list``: by workflow, its stored task ids (``found`` as ``--json`` has it)."""
    if not found:
        where = f" for workflow {wanted!r}" if wanted else ""
        return [f"no checkpoints{where} in {storage}{missing_folder}"]
    lines = []
    for workflow, entry in found.items():
        inputs = "; inputs fingerprinted" if entry["inputs"] else ""
        lines.append(f"workflow {workflow}: {len(entry['tasks'])} task(s){inputs}")
        lines += [f"  {task}" for task in entry["tasks"]]
    return lines


def run_line(number: int, flow: DotFlow, ok: bool, elapsed: float, note: str = "") -> str:
    """``dotflow schedule``'s line per run: its outcome, time, and what stopped it (``note``, or
    the first task that did not complete)."""
    if not ok and not note:
        failed = [task for task in flow.result_task() if task.status != "Completed"]
        if failed:
            task = failed[0]
            reason = failure_reason(task.errors) if task.status == "Failed" else ""
            note = f"{task.task_id} {step_name(task.step)}: {reason or task.status}"
    outcome = "Completed" if ok else "Failed"
    return f"run {number}: workflow {flow.workflow_id} {outcome} in {elapsed:.3f}s" + (f": {note}" if note else "")


def workflow_ok(flow: DotFlow) -> bool:
    tasks = flow.result_task()
    return bool(tasks) and all(task.status is TypeStatus.COMPLETED for task in tasks)


def workflow_outcome(flow: DotFlow) -> str:
    """Completed, Failed, or Cancelled (a run whose cancel was requested and did not complete)."""
    if workflow_ok(flow):
        return TypeStatus.COMPLETED
    manager = flow.manager
    if manager is not None and manager.status is TypeStatus.CANCELLED:
        return TypeStatus.CANCELLED
    return TypeStatus.FAILED


def summary(flow: DotFlow, elapsed: float) -> list[str]:
    """The summary lines: the workflow's outcome, a row per task (status, attempts, duration, and
    for a failure its error and the user's own frame), and where the results are stored."""
    rows = [_row(task) for task in flow.result_task()]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(6)]
    lines = [f"workflow {flow.workflow_id}: {workflow_outcome(flow)} in {elapsed:.3f}s"]
    lines += ["  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.append(f"results: {_stored_where(flow)}")
    return lines


def as_json(flow: DotFlow, elapsed: float) -> dict[str, Any]:
    """The run as one JSON-safe object, for orchestrators and CI (``--output json``)."""
    tasks = []
    for task in flow.result_task():
        error = None
        if task.status is TypeStatus.FAILED and task.errors:
            last = task.errors[-1]
            # one line, credentials masked and URL queries dropped, as in the summary (but not cut short)
            message = one_line(last.message, _JSON_MESSAGE)
            error = {"exception": last.exception, "message": message, "where": user_frame(last.traceback)}
        tasks.append({
            "id": task.task_id,
            "step": step_name(task.step),
            "status": task.status,
            "attempts": _attempts(task),
            "duration": None if task.resumed else task.duration,  # a resumed task did not run
            "resumed": task.resumed,
            # when the restored result was made (ISO 8601, local time), as the summary shows it
            "checkpoint_time": task.current_context.time.isoformat() if task.resumed else None,
            "error": error,
            "reason": task.reason,  # why a Cancelled or Skipped task ended so; null otherwise
        })
    stored = _stored(flow)
    return {
        "workflow_id": flow.workflow_id,
        "status": workflow_outcome(flow),
        "duration": round(elapsed, 6),
        # where the results are kept (the storage, as its repr), or null when nowhere but in memory,
        # which the note says (a program tests the value, a person reads the note)
        "results": stored,
        "results_note": None if stored is not None else _IN_MEMORY,
        "tasks": tasks,
    }


def tracebacks(flow: DotFlow) -> list[str]:
    """The full traceback of each failed task's last attempt (``-v``)."""
    lines: list[str] = []
    for task in flow.result_task():
        if task.status is TypeStatus.FAILED and task.errors and task.errors[-1].traceback:
            lines.append(f"--- {step_name(task.step)} [{task.task_id}], attempt {task.errors[-1].attempt}:")
            lines.extend(task.errors[-1].traceback.rstrip("\n").splitlines())
    return lines


def _row(task: Task) -> tuple[str, str, str, str, str, str]:
    status = task.status
    if task.resumed:
        status = f"resumed (checkpoint of {task.current_context.time.isoformat(sep=' ', timespec='seconds')})"
    attempts = _attempts(task)
    error = task.reason or ""
    if task.status is TypeStatus.FAILED:
        error = _reason(task)
        where = user_frame(task.errors[-1].traceback) if task.errors else ""
        if where:
            error = f"{error} (at {where})"
    return (
        task.task_id,
        step_name(task.step),
        status,
        f"{attempts} attempt{'s' if attempts != 1 else ''}" if attempts else "-",
        "-" if task.duration is None or task.resumed else f"{task.duration:.3f}s",
        error,
    )


def _attempts(task: Task) -> int:
    if task.resumed or task.start_time is None:
        return 0
    return len(task.errors) if task.status is TypeStatus.FAILED and task.errors else task.retry_count + 1


def _reason(task: Task) -> str:
    return failure_reason(task.errors)


_IN_MEMORY = "kept in memory only (StorageDefault); pick a storage to keep them: --storage file"


def _stored(flow: DotFlow) -> str | None:
    """The storage that keeps the results (its repr), or None when they are in memory only."""
    from dotflow.providers.storage_default import StorageDefault

    storage = flow.config.storage
    return None if type(storage) is StorageDefault else repr(storage)


def _stored_where(flow: DotFlow) -> str:
    stored = _stored(flow)
    return _IN_MEMORY if stored is None else f"stored in {stored}"


class LiveView:
    """A table of the tasks, refreshed while the run goes (pending, running with elapsed time,
    retrying, done, failed, resumed), that gives way to the summary. Does nothing when off."""

    def __init__(self, flow: DotFlow, enabled: bool) -> None:
        self._flow = flow
        self._enabled = enabled
        self._live: Any = None

    @property
    def enabled(self) -> bool:
        """Whether the table is shown (``wanted``, as the command decided); when it is, the log
        lines it replaces are turned down (``dotflow start``)."""
        return self._enabled

    @staticmethod
    def wanted(no_progress: bool, quiet: bool, output: str) -> bool:
        """Shown on a terminal that can redraw, unless asked for plain output."""
        # rich draws nothing on a dumb terminal, and the log lines it replaces would be gone too
        dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
        return not no_progress and not quiet and output == "text" and _on_terminal(sys.stdout) and not dumb

    def __enter__(self) -> LiveView:
        if self._enabled:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(
                get_renderable=self._table, console=Console(), refresh_per_second=8, transient=True,
                redirect_stdout=True, redirect_stderr=True,
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._live is not None:
            self._live.__exit__(*exc_info)
            self._live = None

    def _table(self) -> Any:
        from rich.table import Table

        table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
        for column in ("", "step", "task", "status", "time", "attempts"):
            table.add_column(column)
        now = time.time()
        for task in self._flow.result_task():
            state, style = _state(task)
            started, finished = task.start_time, task.finish_time
            elapsed = "" if started is None else f"{(finished or now) - started:.1f}s"
            attempts = str(_attempts(task) or "")
            table.add_row(f"[{style}]{_MARKS[state]}[/]", step_name(task.step), task.task_id,
                          f"[{style}]{state}[/]", elapsed, attempts)
        return table


def _on_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):  # None, closed, or no descriptor: no terminal to draw on
        return False


_MARKS = {"pending": "·", "running": "▶", "retrying": "↻", "done": "✓", "failed": "✗", "resumed": "↺",
          "cancelled": "⊘", "skipped": "↷"}


def _state(task: Task) -> tuple[str, str]:
    status = task.status
    if status is TypeStatus.COMPLETED:
        return ("resumed", "cyan") if task.resumed else ("done", "green")
    if status is TypeStatus.FAILED:
        return "failed", "red"
    if status is TypeStatus.CANCELLED:
        return "cancelled", "magenta"
    if status is TypeStatus.SKIPPED:
        return "skipped", "dim"
    if status is TypeStatus.RETRY:
        return "retrying", "yellow"
    if status is TypeStatus.IN_PROGRESS:
        return "running", "blue"
    return "pending", "dim"


def echo_lines(lines: list[str], err: bool = False) -> None:
    for line in lines:
        echo(line, err=err)
