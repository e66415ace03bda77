"""The ``dotflow`` command line: a thin typer app over the library."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    from dotflow.cli.app import run

    run()
