"""``dotflow logs``: print the log file that ``LogDefault(output="file")`` writes, as 1.x did."""

from __future__ import annotations

import shutil
import sys
from typing import Optional

import typer

from dotflow.cli.common import EXIT_FAILED
from dotflow.cli.streams import echo

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

        path = str(resolve(profile, config_path=config)["log.path"])
    try:
        with open(path, "rb") as file:
            sys.stdout.flush()
            shutil.copyfileobj(file, sys.stdout.buffer, _CHUNK)
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
    except OSError as exc:  # unreadable: permissions, a broken disk
        echo(f"error: cannot read the log file {path}: {exc.strerror or exc}", err=True)
        return EXIT_FAILED
    return 0
