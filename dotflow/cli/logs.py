"""``dotflow logs``: print the log file that ``LogDefault(output="file")`` writes, as 1.x did."""

from __future__ import annotations

import errno
import os
import sys
from typing import BinaryIO, Optional

import typer

from dotflow.cli import streams
from dotflow.cli.common import EXIT_FAILED
from dotflow.cli.streams import echo
from dotflow.fileio import NotRegularFileError, open_regular

_CHUNK = 1 << 16


def logs(
    path: Optional[str] = typer.Option(
        None, "--path", help="The log file (default: log.path of the selected profile, .output/flow.log)."
    ),
    profile: Optional[str] = typer.Option(None, "--profile", help="Profile whose log.path to read."),
    config: Optional[str] = typer.Option(None, "--config", help="Path of the dotflow.toml to use."),
) -> int:
    """Print the log file of the runs (written when [log] output is "file")."""
    if path is None:
        from dotflow.profiles import resolve

        path = str(resolve(profile, config_path=config, sections=("log",))["log.path"])  # all it reads
    try:
        fd = open_regular(path)  # a FIFO at the path would block for ever
    except FileNotFoundError:
        echo(
            f"error: no log file at {path}; runs write one with [log] output = \"file\" (or LogDefault(output="
            "\"file\")), or give its place with --path",
            err=True,
        )
        return EXIT_FAILED
    except IsADirectoryError:
        echo(f"error: {path} is a folder; give the log file with --path", err=True)
        return EXIT_FAILED
    except NotRegularFileError as exc:
        echo(f"error: {path} is {exc.kind}, not a log file; give the log file with --path", err=True)
        return EXIT_FAILED
    except OSError as exc:  # unreadable: permissions, a broken disk
        echo(f"error: cannot read the log file {path}: {exc.strerror or exc}", err=True)
        return EXIT_FAILED
    with os.fdopen(fd, "rb") as file:
        return _copy(file, path)


def _copy(file: BinaryIO, path: str) -> int:
    """Copy the log to stdout, telling a file that cannot be read from a stdout that cannot be written."""
    try:
        sys.stdout.flush()
        out = sys.stdout.buffer
    except (AttributeError, OSError, ValueError) as exc:
        return _unwritable(exc)
    while True:
        try:
            chunk = file.read(_CHUNK)
        except OSError as exc:
            echo(f"error: cannot read the log file {path}: {exc.strerror or exc}", err=True)
            return EXIT_FAILED
        try:
            if not chunk:
                out.flush()
                return 0
            out.write(chunk)
        except (OSError, ValueError) as exc:
            return _unwritable(exc)


def _unwritable(exc: BaseException) -> int:
    streams.recover("stdout", exc, warn=False)
    if getattr(exc, "errno", None) == errno.EPIPE:
        return 0  # the reader took what it wanted (`dotflow logs | head`)
    echo(f"error: cannot write the log to stdout: {streams.describe_failure(exc)}", err=True)
    return EXIT_FAILED
