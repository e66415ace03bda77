"""dotflow 1.0.1's documented API, in the shapes its reference and guides give: each test states
one thing a 1.x program does that must work here as it did there."""

from __future__ import annotations

import pytest


def test_utils_is_a_package_with_1x_modules_and_every_name() -> None:
    """``dotflow.utils.basic_functions.basic_callback`` (1.x's reference) and the other 1.x modules
    import, and the package still has each name it had."""
    import dotflow.utils as utils
    from dotflow.utils.basic_functions import basic_callback, basic_function
    from dotflow.utils.error_handler import message_error, traceback_error
    from dotflow.utils.tools import hostname, read_file, write_file

    assert (utils.basic_callback, utils.basic_function) == (basic_callback, basic_function)
    assert (utils.message_error, utils.traceback_error) == (message_error, traceback_error)
    assert (utils.hostname, utils.read_file, utils.write_file) == (hostname, read_file, write_file)
    assert basic_callback(task=None) is None and basic_function() is None
    try:
        raise ValueError("boom")
    except ValueError as exc:
        error = exc
    assert message_error(error) == "boom" and traceback_error(error).endswith("ValueError: boom")


def test_utils_tools_round_trips_json(tmp_path: pytest.TempPathFactory) -> None:
    """write_file writes JSON (appending with mode="a"), read_file reads it back, or the text, or None."""
    from dotflow.utils.tools import read_file, write_file

    path = tmp_path / "out.json"  # type: ignore[operator]
    assert read_file(path) is None
    write_file(path, {"a": 1})
    assert read_file(path) == {"a": 1}
    write_file(path, "more", mode="a")
    assert read_file(path) == '{"a": 1}"more"'
