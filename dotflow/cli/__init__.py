"""The ``dotflow`` command line: a thin typer app over the library."""

from __future__ import annotations


def main() -> None:
    """Console-script entry point."""
    import gc

    # importing typer, its click and the command's modules makes some 18,000 objects and no garbage:
    # a collection while they load is wasted work (run() freezes them and turns collection back on)
    gc.disable()
    from dotflow.cli.app import run

    run(console=True)
