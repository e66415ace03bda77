"""The run flags of `dotflow start` and `dotflow schedule` come from dotflow.settings: one per run
option, with its spelling, short form and help, after --workflow-id, in the key table's order."""

from __future__ import annotations

from typing import Any

import pytest

from dotflow.settings import OPTIONS

SCHEDULE_RESUME = "Skip the tasks an unfinished earlier run completed; after a completed run, start afresh."


def _command(name: str) -> Any:
    import typer
    import typer.main

    from dotflow.cli import schedule, start

    app = typer.Typer()
    app.command(name)(start.start if name == "start" else schedule.schedule)
    return typer.main.get_command(app)


@pytest.mark.parametrize("name", ["start", "schedule"])
def test_every_run_option_is_a_flag_with_its_help(name: str) -> None:
    """Each option is ``--name`` (with ``--no-name`` for a bool, ``-m`` for mode), unset by default, with
    the option's help; schedule says what --resume means across its runs."""
    params = {param.name: param for param in _command(name).params}
    for option in OPTIONS:
        param = params[option.name]
        assert param.opts == [option.flag, *([option.short] if option.short else [])]
        assert param.secondary_opts == (["--no-" + option.flag[2:]] if option.type is bool else [])
        assert param.default is None
        wanted = SCHEDULE_RESUME if (name, option.name) == ("schedule", "resume") else option.help
        assert param.help == wanted


@pytest.mark.parametrize("name", ["start", "schedule"])
def test_the_run_flags_follow_workflow_id_in_table_order(name: str) -> None:
    """--help lists --storage, --path and --workflow-id, then the run options in the key table's order."""
    order = [param.name for param in _command(name).params]
    at = order.index("workflow_id")
    assert order[at - 2 : at + 1 + len(OPTIONS)] == ["storage", "path", "workflow_id", *(o.name for o in OPTIONS)]

