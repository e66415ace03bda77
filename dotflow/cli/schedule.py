"""``dotflow schedule``: build the workflow as ``dotflow start`` does, then run it at each cron time
until ``--max-runs`` or a signal, one line per run."""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli.common import (
    CALLBACK,
    CONFIG,
    EXIT_FAILED,
    INITIAL_CONTEXT,
    PATH,
    PROFILE,
    STEP,
    STORAGE,
    WORKFLOW,
    WORKFLOW_ID,
    setup_logging,
    with_run_flags,
)
from dotflow.cli.start import prepare_run
from dotflow.cli.streams import echo
from dotflow.errors import DotflowError, UsageError
from dotflow.redact import describe

if TYPE_CHECKING:
    from dotflow.execution.manager import Manager
    from dotflow.providers.scheduler_cron import SchedulerCron
    from dotflow.workflow import DotFlow

logger = logging.getLogger("dotflow")

# How long runs still going on their own threads (--overlap parallel) get to end after a signal.
PARALLEL_GRACE = 5.0


@with_run_flags(resume="Skip the tasks an unfinished earlier run completed; after a completed run, start afresh.")
def schedule(
    step: Optional[str] = STEP,
    workflow: Optional[str] = WORKFLOW,
    cron: str = typer.Option(
        ..., "--cron", help="When to run, as cron: '*/5 * * * *'; a 6th field counts seconds ('* * * * * *')."
    ),
    overlap: str = typer.Option(
        "skip", "--overlap", help="A run due while the last one goes on: skip it, queue it (at most one), or parallel."
    ),
    max_runs: Optional[int] = typer.Option(None, "--max-runs", help="End after this many runs (default: never)."),
    callback: Optional[str] = CALLBACK,
    initial_context: Optional[str] = INITIAL_CONTEXT,
    profile: Optional[str] = PROFILE,
    config: Optional[str] = CONFIG,
    storage: Optional[str] = STORAGE,
    path: Optional[str] = PATH,
    workflow_id: Optional[str] = WORKFLOW_ID,
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No per-transition log lines: warnings, errors and one line per run."
    ),
    **run_flags: Any,
) -> int:
    """Run a workflow at each time of a cron expression: one --step, or a --workflow factory."""
    from dotflow.providers.scheduler_cron import _ALIASES, OVERLAPS, SchedulerCron

    if overlap not in OVERLAPS and overlap not in _ALIASES:
        raise UsageError(f"--overlap {overlap!r} is not supported; use one of: {', '.join(OVERLAPS)}")
    if max_runs is not None and max_runs < 1:
        raise UsageError(f"--max-runs {max_runs} must be 1 or more; leave it out to run until stopped")
    scheduler = SchedulerCron(cron, overlap, max_runs=max_runs)  # a bad --cron fails here, before any import
    setup_logging(quiet)
    resolved, flow = prepare_run(
        step, workflow, callback, initial_context, profile, config,
        storage=storage, path=path, workflow_id=workflow_id, **run_flags,
    )
    fixed = resolved["workflow.id"]
    if scheduler.overlap == "parallel" and fixed is not None:
        raise UsageError(
            f"--overlap parallel runs each overlapping run as a new workflow, but the workflow id is fixed to "
            f"{fixed!r} (from {resolved.source('workflow.id')}); use --overlap skip or queue"
        )
    return _Schedule(flow, resolved.workflow_options(), scheduler).run_all()


class _Schedule:
    """The runs of one ``dotflow schedule``: each run's line, the counts, and the signals."""

    def __init__(self, flow: DotFlow, options: dict[str, Any], scheduler: SchedulerCron) -> None:
        self.flow = flow
        self.options = options
        self.scheduler = scheduler
        self.lock = threading.Lock()
        self.busy = threading.Lock()  # held while a run uses ``flow``; an overlapping run uses a copy
        self.runs = 0
        self.failed = 0
        self.last_ok = False  # --resume picks up an unfinished run; after a completed one, start afresh
        self.going = 0
        self.signal: int | None = None  # a signal that came between runs (or with --overlap parallel)
        # the run going in the main thread (skip and queue run there): what a signal interrupts
        self.current: tuple[int, DotFlow, float] | None = None
        self.manager: Manager | None = None
        # the runs going on threads of their own (--overlap parallel): what a signal cuts off
        self.others: dict[int, DotFlow] = {}

    def run_all(self) -> int:
        from dotflow import interrupts
        from dotflow.interrupts import RunInterrupted

        logger.info(
            "ID %s - scheduled with cron %r (overlap %s%s); stop with Ctrl-C or SIGTERM",
            self.flow.workflow_id,
            self.scheduler.cron,
            self.scheduler.overlap,
            f", {self.scheduler.max_runs} runs" if self.scheduler.max_runs else "",
        )
        interrupted: BaseException | None = None
        try:
            # a signal during a run in this thread unwinds it, as in dotflow start; between runs
            # (or with only --overlap parallel runs going) it just ends the schedule
            with interrupts.command_signals(lambda: self.current is not None, self._between_runs, sigint=True):
                self.scheduler.start(self.run_once)
        except (KeyboardInterrupt, RunInterrupted) as exc:
            interrupted = exc
        if interrupted is not None:
            self._end_interrupted(interrupted)
        if self.signal is not None:
            return self._end_after_signal(self.signal)
        completed = self.runs - self.failed
        echo(f"schedule ended after {_runs(self.runs)}: {completed} completed, {self.failed} failed")
        return EXIT_FAILED if self.failed else 0

    def run_once(self) -> None:
        """One run, called by the scheduler at each due time (in the main thread, or on a
        thread of its own with --overlap parallel)."""
        from dotflow.interrupts import RunInterrupted
        from dotflow.providers.scheduler_cron import copy_workflow
        from dotflow.types import TypeStatus

        own = self.busy.acquire(blocking=False)
        main = threading.current_thread() is threading.main_thread()
        with self.lock:
            self.runs += 1
            self.going += 1
            number = self.runs
        began = time.perf_counter()
        ok, note, interrupted = False, "", False
        try:
            flow = self.flow if own else copy_workflow(self.flow)
            if main:
                self.current = (number, flow, began)
            else:
                with self.lock:
                    self.others[number] = flow
            options = dict(self.options)
            if own and self.last_ok:
                options["resume"] = False
            try:
                manager = flow.start(**options)
                if main:
                    self.manager = manager
                manager.wait()
                ok = manager.status is TypeStatus.COMPLETED
            except AssertionError as exc:
                note = f"a step's assertion failed: {exc or 'AssertionError'}"
            except SystemExit as exc:
                if isinstance(exc, RunInterrupted):
                    raise
                note = f"the workflow's code called sys.exit({exc.code!r})"
            except DotflowError as exc:  # the run could not start: storage unreachable, inputs changed...
                note = str(exc)
            except Exception as exc:  # an on_success/on_failure callback raised
                note = f"the workflow's code raised {describe(exc)}"
            elapsed = time.perf_counter() - began  # the run's time: delivering its reports is not part of it
            flow.flush()
            self._line(number, flow, ok, elapsed, note)
        except BaseException:  # a signal: _end_interrupted still needs the run in self.current
            interrupted = True
            raise
        finally:
            if main and not interrupted:
                self.current, self.manager = None, None
            with self.lock:
                self.others.pop(number, None)
                self.going -= 1
                self.failed += 0 if ok else 1
                if own:
                    self.last_ok = ok
            if own:
                self.busy.release()

    def _between_runs(self, signum: int) -> None:
        self.signal = signum
        self.scheduler.stop(timeout=0)

    def _line(self, number: int, flow: DotFlow, ok: bool, elapsed: float, note: str = "") -> None:
        from dotflow.cli.output import run_line

        echo(run_line(number, flow, ok, elapsed, note))

    def _end_interrupted(self, exc: BaseException) -> None:
        """A signal came during a run in this thread: that run's tasks are Failed (the Manager
        did it, or it is done here), its reports are flushed, and the process ends now."""
        from dotflow import interrupts

        current, manager = self.current, self.manager
        flushed = ""
        if current is not None:
            number, flow, began = current
            if manager is not None:  # the signal may land between start() returning and wait()
                manager.interrupt(exc)
            elapsed = time.perf_counter() - began
            interrupts.flush_reports([flow.reporter], signalled=True)
            flushed = "; pending reports were flushed" if flow.reporter.remote else ""
            self._line(number, flow, False, elapsed, "interrupted by a signal")
        echo(f"error: interrupted by a signal{flushed}", err=True)
        interrupts.end_process(interrupts.exit_code_of(exc))

    def _end_after_signal(self, signum: int) -> int:
        from dotflow import interrupts
        from dotflow.execution.run import abandon
        from dotflow.interrupts import RunInterrupted

        name = signal.Signals(signum).name
        if self.going:  # --overlap parallel: runs on their own threads get a bounded grace
            if self.scheduler.join(PARALLEL_GRACE):
                echo(f"schedule stopped by {name} after {_runs(self.runs)}; the runs still going ended")
                return 0
            with self.lock:
                going, others = self.going, list(self.others.values())
            # as a signal does to the run in the main thread: what did not end is Failed, and said so
            message = f"interrupted by {name}"
            runs = []
            for flow in others:
                manager = flow.manager
                if manager is not None and not manager.finished:
                    runs.append(manager)
                else:  # the signal came before this run's start() made its Manager
                    abandon(flow.reporter, flow.task.queue, RunInterrupted(128 + signum), message=message)
            interrupts.interrupt(runs, message)
            interrupts.flush_reports([flow.reporter for flow in others], signalled=True)
            echo(f"error: schedule stopped by {name}; {_runs(going)} still going after {PARALLEL_GRACE:g}s "
                 "were cut off and reported Failed", err=True)
            interrupts.end_process(interrupts.signal_exit_code(signum))
        echo(f"schedule stopped by {name} after {_runs(self.runs)}")
        return 0


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"
