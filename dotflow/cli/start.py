"""``dotflow start``: resolve the profile, build the workflow from --step or --workflow, run it, summarise."""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import time
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli.app import setup_logging
from dotflow.errors import DotflowError, UsageError
from dotflow.redact import describe

if TYPE_CHECKING:
    from dotflow.execution.manager import Manager
    from dotflow.profiles import ResolvedProfile
    from dotflow.workflow import DotFlow

EXIT_FAILED = 1


def start(
    step: Optional[str] = typer.Option(None, "--step", "-s", help="One step to run: pkg.mod.fn or pkg.mod:fn."),
    workflow: Optional[str] = typer.Option(
        None, "--workflow", "-w", help="pkg.mod:factory, a callable returning a ready DotFlow (multi-step pipelines)."
    ),
    callback: Optional[str] = typer.Option(None, "--callback", "-c", help="With --step: called as callback(task=...)."),
    initial_context: Optional[str] = typer.Option(
        None, "--initial-context", "-i", help="With --step: the initial context, as JSON or a plain string."
    ),
    profile: Optional[str] = typer.Option(None, "--profile", help="Profile to run with (see 'dotflow profile list')."),
    config: Optional[str] = typer.Option(None, "--config", help="Path of the dotflow.toml to use."),
    mode: Optional[str] = typer.Option(
        None, "--mode", "-m", help="sequential, background, parallel or sequential_group."
    ),
    storage: Optional[str] = typer.Option(None, "--storage", "-o", help="memory, file, s3, gcs or pkg.mod:Class."),
    path: Optional[str] = typer.Option(None, "--path", "-p", help="Folder of the file storage."),
    workflow_id: Optional[str] = typer.Option(None, "--workflow-id", help="Run under this fixed workflow id."),
    keep_going: Optional[bool] = typer.Option(
        None, "--keep-going/--no-keep-going", help="Run the remaining tasks after a failure."
    ),
    resume: Optional[bool] = typer.Option(
        None, "--resume/--no-resume", help="Skip tasks whose result is already stored."
    ),
    executor: Optional[str] = typer.Option(
        None, "--executor", help="Where steps run: thread, process, dask or a Dask scheduler tcp://host:8786."
    ),
    max_workers: Optional[str] = typer.Option(
        None, "--max-workers", help="Steps run at once (threads or processes); default: the CPU count."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No per-transition log lines; only the summary."),
) -> int:
    """Run a workflow: one --step, or a --workflow factory."""
    if (step is None) == (workflow is None):
        raise UsageError("give exactly one of --step pkg.mod.fn or --workflow pkg.mod:factory")
    if workflow is not None and (callback is not None or initial_context is not None):
        raise UsageError("--callback and --initial-context go with --step; a --workflow factory sets its own")
    setup_logging(quiet)
    cwd = os.getcwd()
    if cwd not in sys.path:
        sys.path.insert(0, cwd)

    from dotflow.profiles import resolve
    from dotflow.workflow import use_profile

    overrides = {
        "workflow.mode": mode,
        "storage.provider": storage,
        "storage.path": path,
        "workflow.id": workflow_id,
        "workflow.keep_going": keep_going,
        "workflow.resume": resume,
        "workflow.executor": executor,
        "workflow.max_workers": max_workers,  # a string: the profile key converts and checks it, as for env values
    }
    resolved = resolve(profile, config_path=config, overrides=overrides)
    begin = time.perf_counter()
    with use_profile(resolved):
        try:
            flow = _build(step, workflow, callback, initial_context)
            _check_reporting(resolved, flow)
        except DotflowError:
            _report_failed_start(resolved)
            raise
    from dotflow.execution.step import RunInterrupted

    previous = signal.signal(signal.SIGTERM, _terminate)
    interrupted: BaseException | None = None
    manager: Manager | None = None
    try:
        manager = flow.start(**resolved.workflow_options())
        manager.wait()
    except AssertionError as exc:
        typer.echo(f"error: a step's assertion failed: {exc or 'AssertionError'}", err=True)
    except (KeyboardInterrupt, RunInterrupted) as exc:
        interrupted = exc
        if manager is not None:  # the signal may land between start() returning and wait()
            manager.interrupt(exc)
    except SystemExit as exc:  # the workflow's own code (an on_failure callback) called sys.exit()
        typer.echo(f"error: the workflow's code called sys.exit({exc.code!r}); the summary shows where it ended",
                   err=True)
    except DotflowError:  # the run could not start (storage unreachable, inputs changed, ...)
        _report_failed_start(resolved, flow)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        # the one wait for delivery: the tasks never waited on the network
        flow._reporter.flush(flow._reporter.signal_flush_timeout if interrupted is not None else None)
    ok = _summarise(flow, time.perf_counter() - begin)
    if interrupted is not None:
        code = interrupted.code if isinstance(interrupted, SystemExit) else 130
        typer.echo("error: interrupted by a signal; pending reports were flushed", err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        # steps may still run on worker threads; waiting for them is what the signal asked not to do
        os._exit(code if isinstance(code, int) else 1)
    return 0 if ok else EXIT_FAILED


def _build(step: str | None, workflow: str | None, callback: str | None, initial_context: str | None) -> DotFlow:
    from dotflow.imports import import_string
    from dotflow.workflow import DotFlow

    if step is not None:
        flow = DotFlow()
        flow.task.add(
            step=step,
            callback=import_string(callback, label="--callback") if callback else None,
            initial_context=_parse_context(initial_context),
        )
        return flow
    assert workflow is not None
    factory = import_string(workflow, label="--workflow", colon=True, forms="'package.module:factory'")
    if not callable(factory):
        raise UsageError(f"--workflow {workflow!r} is not callable; point it at a function that returns a DotFlow")
    try:
        flow = factory()
    except DotflowError:
        raise
    except SystemExit as exc:
        raise UsageError(
            f"--workflow {workflow!r} called sys.exit({exc.code!r}) instead of returning a DotFlow"
        ) from None
    except Exception as exc:
        raise UsageError(f"--workflow {workflow!r} raised {describe(exc)}") from None
    if not isinstance(flow, DotFlow):
        raise UsageError(f"--workflow {workflow!r} returned {type(flow).__name__}, not a DotFlow")
    if not flow.task.count():
        raise UsageError(f"--workflow {workflow!r} returned a DotFlow with no tasks; add steps with flow.task.add()")
    return flow


def _check_reporting(resolved: ResolvedProfile, flow: DotFlow) -> None:
    """A --workflow factory that passes its own Config or id keeps them (explicit arguments
    win); say so when that stops the reports from reaching the profile's server or
    workflow, and refuse it under the managed profile, whose backend waits on that id."""
    from dotflow.providers.server_default import ServerDefault

    wanted = resolved["workflow.id"]
    if wanted is not None and flow.workflow_id != wanted:
        message = (
            f"the --workflow factory set workflow_id={flow.workflow_id!r}, but the profile's workflow.id is "
            f"{wanted!r} (from {resolved.source('workflow.id')}); drop workflow_id= from the factory"
        )
        if resolved.name == "managed":
            raise UsageError(message)
        logging.getLogger("dotflow").warning(message)
    if resolved.server_provider != "none" and isinstance(flow.config.server, ServerDefault):
        message = (
            f"profile {resolved.name!r} reports to a server, but the --workflow factory passed its own Config "
            "without one, so no status would be reported; build DotFlow() without config= to use the profile's server"
        )
        if resolved.name == "managed":
            raise UsageError(message)
        logging.getLogger("dotflow").warning(message)


def _report_failed_start(resolved: ResolvedProfile, flow: DotFlow | None = None) -> None:
    """When a run under a backend's workflow id (managed mode) cannot even start, tell the
    backend Failed, so its row does not wait forever. Best effort: the error that stopped
    the start is what the user sees."""
    if resolved["workflow.id"] is None or resolved.server_provider == "none":
        return
    from dotflow.core.types.status import TypeStatus
    from dotflow.workflow import DotFlow, use_profile

    try:
        if flow is None:
            with use_profile(resolved):
                flow = DotFlow()  # the profile's server and id, no tasks
        flow._reporter.workflow_status(TypeStatus.FAILED)
        flow.flush()
    except Exception:  # the start already failed for a reason the user will read
        pass


def _parse_context(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _terminate(signum: int, frame: Any) -> None:
    # unwinds through start(), which reports the unfinished tasks Failed, then the flush below;
    # a RunInterrupted, unlike a step's own sys.exit(), interrupts the run
    from dotflow.execution.step import RunInterrupted

    raise RunInterrupted(128 + signum)


def _summarise(flow: DotFlow, elapsed: float) -> bool:
    from dotflow.core.types.status import TypeStatus
    from dotflow.task import step_name

    tasks = flow.result_task()
    ok = bool(tasks) and all(task.status is TypeStatus.COMPLETED for task in tasks)
    rows = [
        (task.task_id, step_name(task.step), task.status, _seconds(task.duration), _last_error(task))
        for task in tasks
    ]
    widths = [max((len(row[i]) for row in rows), default=0) for i in range(5)]
    typer.echo(f"workflow {flow.workflow_id}: {'Completed' if ok else 'Failed'} in {elapsed:.3f}s")
    for row in rows:
        typer.echo("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return ok


def _last_error(task: Any) -> str:
    from dotflow.task import failure_reason

    return failure_reason(task.errors) if task.status == "Failed" else ""


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}s"
