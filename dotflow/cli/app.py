"""The typer app: registers the command groups and turns every failure into one line and an exit code."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from dotflow.cli import streams
from dotflow.cli.common import EXIT_FAILED, EXIT_USAGE
from dotflow.cli.streams import echo
from dotflow.errors import DotflowError
from dotflow.interrupts import RunInterrupted, interruption_message

app = typer.Typer(
    name="dotflow",
    help="Run dotflow pipelines, and inspect the runner profiles they resolve.",
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from dotflow import __version__

        echo(f"dotflow {__version__}")
        raise typer.Exit()


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", "-v", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Run dotflow pipelines, and inspect the runner profiles they resolve."""
    if ctx.invoked_subcommand is None:  # plain `dotflow`: the help, exit 0, as 1.x printed its description
        echo(ctx.get_help())
        raise typer.Exit()


# command -> (module, attribute, kind): a command is a function, a group is a typer app of its own
_COMMANDS = {
    "start": ("start", "start", "command"),
    "schedule": ("schedule", "schedule", "command"),
    "logs": ("logs", "logs", "command"),
    "profile": ("profile", "app", "group"),
    "checkpoints": ("checkpoints", "app", "group"),
    "backend": ("backend", "app", "group"),
}


def _register(argv: list[str] | None = None) -> None:
    """Register the commands: only the one invoked when ``argv`` names one (``dotflow start`` does
    not pay for importing the others), every one for the help, completion or an unknown name."""
    from importlib import import_module

    args = sys.argv[1:] if argv is None else argv
    invoked = next((arg for arg in args if not arg.startswith("-")), None)
    completing = any(name.startswith("_DOTFLOW_COMPLETE") for name in os.environ)
    names = [invoked] if invoked in _COMMANDS and not completing else list(_COMMANDS)
    for name in names:
        module_name, attribute, kind = _COMMANDS[name]
        target = getattr(import_module(f"dotflow.cli.{module_name}"), attribute)
        if kind == "command":
            app.command(name)(target)
        else:
            app.add_typer(target, name=name)


def _is_usage_error(exc: Exception) -> bool:
    # typer raises click's UsageError, from click itself or from the copy newer typers
    # vendor; both carry format_message() and an int exit_code
    return callable(getattr(exc, "format_message", None)) and isinstance(getattr(exc, "exit_code", None), int)


def _help_hint(exc: Any) -> str:
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "dotflow"
    return f" (see '{command} --help')"


def run(argv: list[str] | None = None, *, console: bool = False) -> None:
    """Run the CLI: exit 2 with one line on a usage or configuration error, never a traceback.

    A standard stream that is closed or cannot be written never stops a command (``streams``): what
    was meant for it is dropped, and the exit code is the command's own. ``console`` is for the
    console script alone, whose process ends with the command (``_freeze_start_up``)."""
    streams.reopen_closed()
    _register(argv)
    if console:
        _freeze_start_up()
    code = _invoke(argv)
    streams.settle()
    sys.exit(code)


def _freeze_start_up() -> None:
    """Hide what start-up made from the garbage collector, and turn collection back on for the command.

    Typer, its click, the standard library and dotflow's modules make long-lived objects and no
    garbage, yet the interpreter's exit collected them all, several times over: about a tenth of a
    short command's whole process. Frozen, they are skipped. Only the console script's process does
    this (an in-process caller keeps its collector as it was); the workflow's own objects, made
    after, are collected and finalized as usual."""
    import gc

    gc.freeze()
    gc.enable()


def _invoke(argv: list[str] | None) -> int:
    try:
        code = app(args=argv, standalone_mode=False, prog_name="dotflow")
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        echo("error: interrupted", err=True)
        return 130
    except RunInterrupted as exc:  # SIGTERM before the run started (while the steps imported, say)
        echo(f"error: {interruption_message(exc)}", err=True)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except DotflowError as exc:
        echo(f"error: {exc}", err=True)
        return EXIT_USAGE
    except Exception as exc:
        if streams.write_failure(exc):  # what typer itself prints (--help) could not be written
            streams.settle()
            echo(f"error: cannot write the output: {streams.describe_failure(exc)}", err=True)
            return EXIT_FAILED
        if not _is_usage_error(exc):
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":
            echo(exc.format_message())  # type: ignore[attr-defined]
        else:
            echo(f"error: {exc.format_message()}{_help_hint(exc)}", err=True)  # type: ignore[attr-defined]
        return EXIT_USAGE
    if code == 130:  # typer turns a Ctrl-C it catches into exit code 130 (older ones raise Abort)
        echo("error: interrupted", err=True)
    return code if isinstance(code, int) else 0
