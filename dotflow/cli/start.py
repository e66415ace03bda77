"""``dotflow start``: resolve the profile, build the workflow from --step or --workflow, run it, and
show what happened (the live view on a terminal, then the summary, or one JSON object)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Optional

import typer

from dotflow.cli import streams
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
    add_import_paths,
    parse_json_flag,
    report_failed_quietly,
    setup_logging,
    with_run_flags,
)
from dotflow.cli.streams import echo
from dotflow.errors import DotflowError, UsageError
from dotflow.interrupts import RunInterrupted
from dotflow.redact import describe
from dotflow.settings import OPTIONS
from dotflow.types import TypeStatus

if TYPE_CHECKING:
    from dotflow.cli.output import LiveView
    from dotflow.execution.manager import Manager
    from dotflow.profiles import ResolvedProfile
    from dotflow.workflow import DotFlow

OUTPUTS = ("text", "json")


@with_run_flags()
def start(
    step: Optional[str] = STEP,
    workflow: Optional[str] = WORKFLOW,
    callback: Optional[str] = CALLBACK,
    initial_context: Optional[str] = INITIAL_CONTEXT,
    profile: Optional[str] = PROFILE,
    config: Optional[str] = CONFIG,
    storage: Optional[str] = STORAGE,
    path: Optional[str] = PATH,
    workflow_id: Optional[str] = WORKFLOW_ID,
    output: str = typer.Option("text", "--output", help="text (the summary) or json (one object, for machines)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live view on a terminal: plain lines."),
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="-v: the full traceback of each failure; -vv: DEBUG logs."
    ),
    quiet: bool = typer.Option(
        False, "--quiet", "-q", help="No per-transition log lines: warnings, errors and the summary."
    ),
    **run_flags: Any,
) -> int:
    """Run a workflow: one --step, or a --workflow factory."""
    if output not in OUTPUTS:
        raise UsageError(f"--output {output!r}; use one of: {', '.join(OUTPUTS)}")
    setup_logging(quiet, verbose)
    from dotflow import interrupts


    # from the first line, a signal ends the command as it would during the run (the backend hears
    # Failed, the exit code is 128 + n), and with --output json stdout is kept for the JSON alone
    with interrupts.command_signals(sigint=True), _stdout_to_stderr(output == "json"):
        resolved, flow = prepare_run(
            step, workflow, callback, initial_context, profile, config,
            storage=storage, path=path, workflow_id=workflow_id, **run_flags,
        )

    from dotflow.cli.output import LiveView, as_json, echo_lines, summary, tracebacks, workflow_ok

    live = LiveView(flow, LiveView.wanted(no_progress, quiet, output))
    elapsed, interrupted = _run(resolved, flow, live, output == "json")
    if output == "json":
        echo(json.dumps(as_json(flow, elapsed)))
    else:
        echo_lines(summary(flow, elapsed))
        if verbose:
            echo_lines(tracebacks(flow), err=True)
    if interrupted is not None:
        flushed = "; pending reports were flushed" if flow.reporter.remote else ""
        echo(f"error: interrupted by a signal{flushed}", err=True)
        interrupts.end_process(interrupts.exit_code_of(interrupted))
    if workflow_ok(flow):
        return 0
    manager = flow.manager
    if manager is not None and manager.status is TypeStatus.CANCELLED:
        return interrupts.EXIT_CANCELLED
    return EXIT_FAILED


def _run(resolved: ResolvedProfile, flow: DotFlow, live: Any, json_output: bool) -> tuple[float, BaseException | None]:
    """Run ``flow`` under the command's signals and wait for its reports: the workflow's time (the
    delivery of its reports is not part of it) and the signal's exception when one interrupted it."""
    from dotflow import interrupts

    begin = time.perf_counter()
    interrupted: BaseException | None = None
    manager: Manager | None = None
    try:
        # a cancelled run whose stubborn step outlives the grace ends the command (exit 3)
        with interrupts.command_signals(), interrupts.cancel_ends_process(), live, _quiet_transitions(live), \
                _stdout_to_stderr(json_output):
            manager = flow.start(**resolved.workflow_options())
            manager.wait()
    except AssertionError as exc:
        echo(f"error: a step's assertion failed: {exc or 'AssertionError'}", err=True)
    except (KeyboardInterrupt, RunInterrupted) as exc:
        interrupted = exc
        if manager is not None:  # the signal may land between start() returning and wait()
            manager.interrupt(exc)
    except SystemExit as exc:  # the workflow's own code (an on_failure callback) called sys.exit()
        echo(f"error: the workflow's code called sys.exit({exc.code!r}); the summary shows where it ended",
             err=True)
    except DotflowError as exc:  # the run could not start (storage unreachable, inputs changed, ...)
        report_failed_quietly(resolved, flow, exc)
        raise
    finally:
        elapsed = time.perf_counter() - begin
        # the one wait for delivery: the tasks never waited on the network; a signal during it
        # shortens it to signal_flush_timeout and ends the command with its code
        signum = interrupts.flush_reports([flow.reporter], signalled=interrupted is not None)
        if signum is not None and interrupted is None:
            interrupted = interrupts.cause_of(signum)
    return elapsed, interrupted


# The profile key each run flag of `start` and `schedule` overrides: the storage's and the id's,
# then every run option's (dotflow.settings), whose text the key converts and checks.
_FLAG_KEYS = {
    "storage": "storage.provider",
    "path": "storage.path",
    "workflow_id": "workflow.id",
    **{option.name: option.key for option in OPTIONS},
}


def prepare_run(
    step: str | None,
    workflow: str | None,
    callback: str | None,
    initial_context: str | None,
    profile: str | None,
    config: str | None,
    **flags: Any,
) -> tuple[ResolvedProfile, DotFlow]:
    """What ``start`` and ``schedule`` do before a run: check the --step/--workflow options, resolve
    the profile with ``flags`` (``mode=``, ``storage=``... as in ``_FLAG_KEYS``) on top, put the
    project on ``sys.path`` and build the workflow. When that fails, a managed backend is told."""
    if (step is None) == (workflow is None):
        raise UsageError("give exactly one of --step pkg.mod.fn or --workflow pkg.mod:factory")
    if workflow is not None and (callback is not None or initial_context is not None):
        raise UsageError("--callback and --initial-context go with --step; a --workflow factory sets its own")
    from dotflow.profiles import resolve
    from dotflow.profiles.managed import check_flow

    try:
        resolved = resolve(profile, config_path=config, overrides={_FLAG_KEYS[name]: v for name, v in flags.items()})
    except DotflowError as exc:  # a broken dotflow.toml: a backend waiting on WORKFLOW_ID still hears
        report_failed_quietly(None, problem=exc, profile=profile)
        raise
    add_import_paths(resolved)
    flow = None
    try:
        _check_storage_path(resolved)
        context = parse_json_flag(initial_context, "--initial-context")
        flow = build_flow(resolved, step, workflow, callback, context)
        check_flow(resolved, flow)
        _warn_unused_storage_flags(workflow, flow, flags)
    except (DotflowError, KeyboardInterrupt, RunInterrupted) as exc:  # a signal while the steps import or a
        # factory builds: the backend's row ends too
        report_failed_quietly(resolved, flow, exc)
        raise
    return resolved, flow


def _check_storage_path(resolved: ResolvedProfile) -> None:
    """A file storage's folder that cannot be one (``--path /dev/null``, a path too long) stops the
    command before the workflow is built, whose tasks are announced ("Not started") as they are added."""
    if resolved["storage.provider"] == "file":
        from dotflow.providers.storage_file import StorageFile

        StorageFile(resolved["storage.path"]).check()


def _warn_unused_storage_flags(workflow: str | None, flow: DotFlow, flags: dict[str, Any]) -> None:
    """--storage and --path choose the profile's storage, which a factory passing its own Config
    does not use: say so, rather than run with another storage than the flags asked for."""
    given = [f"--{name}" for name in ("storage", "path") if flags.get(name) is not None]
    if workflow is not None and given and flow.own_config:
        logging.getLogger("dotflow").warning(
            "%s not used: --workflow %r passes its own Config, whose storage is %s; leave config out of "
            "its DotFlow() to take the profile and the flags, or drop %s",
            " and ".join(given), workflow, type(flow.config.storage).__name__, " and ".join(given),
        )


def build_flow(
    resolved: ResolvedProfile, step: str | None, workflow: str | None, callback: str | None, context: Any
) -> DotFlow:
    """The workflow of ``--step`` (one task, under ``resolved``) or of a ``--workflow`` factory, whose
    own ``DotFlow()`` sees ``resolved`` too. Every way the user's code can go wrong is one line."""
    from dotflow.imports import import_string
    from dotflow.profiles.active import use_profile
    from dotflow.workflow import DotFlow

    if step is not None:
        flow = DotFlow(profile=resolved)
        flow.task.add(
            step=step,
            callback=import_string(callback, label="--callback") if callback else None,
            initial_context=context,
        )
        return flow
    assert workflow is not None
    factory = import_string(
        workflow, label="--workflow", forms="'package.module:factory' or 'package.module.factory'"
    )
    if not callable(factory):
        raise UsageError(f"--workflow {workflow!r} is not callable; point it at a function that returns a DotFlow")
    try:
        with use_profile(resolved):
            flow = factory()
    except (DotflowError, RunInterrupted):  # RunInterrupted: SIGTERM while the factory works
        raise
    except SystemExit as exc:
        raise UsageError(
            f"--workflow {workflow!r} called sys.exit({exc.code!r}) instead of returning a DotFlow"
        ) from None
    except KeyboardInterrupt:  # Ctrl-C while the factory works: an interruption, as anywhere else
        raise
    except BaseException as exc:  # noqa: BLE001 - GeneratorExit & co. are the factory's bug, not a crash
        raise UsageError(f"--workflow {workflow!r} raised {describe(exc)}") from None
    if not isinstance(flow, DotFlow):
        raise UsageError(f"--workflow {workflow!r} returned {type(flow).__name__}, not a DotFlow")
    if not flow.task.count():
        raise UsageError(f"--workflow {workflow!r} returned a DotFlow with no tasks; add steps with flow.task.add()")
    return flow


class _quiet_transitions:
    """While the live view shows the statuses, the log shows only what went wrong (unless -vv
    asked for DEBUG lines: those stay)."""

    def __init__(self, live: LiveView) -> None:
        self._on = live.enabled
        self._level = logging.NOTSET

    def __enter__(self) -> None:
        if self._on:
            logger = logging.getLogger("dotflow")
            self._level = logger.level
            if self._level == logging.INFO:
                logger.setLevel(logging.WARNING)

    def __exit__(self, *exc_info: Any) -> None:
        if self._on:
            logging.getLogger("dotflow").setLevel(self._level)


class _stdout_to_stderr:
    """With --output json stdout holds the one JSON object: what the steps print goes to stderr
    meanwhile, from worker processes too (the file descriptor moves, not only ``sys.stdout``)."""

    def __init__(self, on: bool) -> None:
        self._on = on
        self._stdout: Any = None
        self._fd: int | None = None
        self._saved_fd: int | None = None

    def __enter__(self) -> None:
        if not self._on:
            return
        self._stdout = sys.stdout
        try:
            self._stdout.flush()
        except (OSError, ValueError) as exc:  # a stdout that cannot be written is the command's to settle
            streams.recover("stdout", exc)
            self._stdout = sys.stdout
        try:
            self._fd, target = self._stdout.fileno(), sys.stderr.fileno()
            self._saved_fd = os.dup(self._fd)
            os.dup2(target, self._fd)
        except (AttributeError, OSError, ValueError):  # no real descriptor (in-process capture)
            self._fd = self._saved_fd = None
        sys.stdout = sys.stderr

    def __exit__(self, *exc_info: Any) -> None:
        if not self._on:
            return
        sys.stdout = self._stdout
        if self._fd is not None and self._saved_fd is not None:
            try:
                self._stdout.flush()  # what was buffered meanwhile belongs to stderr too
            except (OSError, ValueError):  # stderr cannot take it either: drained into /dev/null, not into the JSON
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, self._fd)
                os.close(null)
                try:
                    self._stdout.flush()
                except (OSError, ValueError):
                    pass
            os.dup2(self._saved_fd, self._fd)
            os.close(self._saved_fd)
