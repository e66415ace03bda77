"""The typer app: registers the command groups and turns every failure into one line and an exit code."""

from __future__ import annotations

import sys

import click
import typer

from dotflow.errors import DotflowError

EXIT_USAGE = 2

app = typer.Typer(
    name="dotflow",
    help="Run dotflow pipelines, and inspect the runner profiles they resolve.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from dotflow import __version__

        typer.echo(f"dotflow {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Run dotflow pipelines, and inspect the runner profiles they resolve."""


def _register() -> None:
    from dotflow.cli import start

    app.command("start")(start.start)
    try:
        from dotflow.cli import profile
    except ImportError:  # the profile commands are optional until their module lands
        return
    app.add_typer(profile.app, name="profile")


def fail(message: str, code: int = EXIT_USAGE) -> typer.Exit:
    """Print ``error: <message>`` as one line on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def run(argv: list[str] | None = None) -> None:
    """Run the CLI: exit 2 with one line on a usage or configuration error, never a traceback."""
    _register()
    try:
        code = app(args=argv, standalone_mode=False, prog_name="dotflow")
    except click.exceptions.NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help() if exc.ctx else "", err=True)
        sys.exit(EXIT_USAGE)
    except click.UsageError as exc:
        hint = f" (see 'dotflow {exc.ctx.info_name} --help')" if exc.ctx and exc.ctx.parent else " (see 'dotflow --help')"
        typer.echo(f"error: {exc.format_message()}{hint}", err=True)
        sys.exit(EXIT_USAGE)
    except click.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except DotflowError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(code if isinstance(code, int) else 0)
