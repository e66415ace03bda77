"""ServerAPI's settings are defined once, in ``options``: the constructor, ``ServerOptions``, a copy made
in another process and the docs' tables all agree with those definitions."""

from __future__ import annotations

import inspect
import pickle
from pathlib import Path

import pytest

from dotflow.providers.server_api import ServerAPI
from dotflow.providers.server_api.options import OPTIONS, ServerOptions

ROOT = Path(__file__).resolve().parent.parent.parent
WITH_DEFAULT = [option for option in OPTIONS if option.default is not None]


def test_the_constructor_takes_each_setting_with_its_defined_default() -> None:
    """``ServerAPI(...)``'s parameters are the settings in order, then ``session`` and ``token_source``; each
    default is the setting's."""
    parameters = inspect.signature(ServerAPI).parameters
    assert list(parameters) == [option.name for option in OPTIONS] + ["session", "token_source"]
    for option in OPTIONS:
        expected = inspect.Parameter.empty if option.default is None else option.default
        assert parameters[option.name].default == expected


def test_the_constructor_keeps_its_public_signature() -> None:
    """base_url, user_token and timeout may be positional, the rest are keyword-only, with 2.0's defaults."""
    assert str(inspect.signature(ServerAPI)) == (
        "(base_url: 'str', user_token: 'str', timeout: 'float' = 15.0, *, flush_timeout: 'float' = 10.0, "
        "signal_flush_timeout: 'float' = 5.0, retries: 'int' = 5, backoff_max: 'float' = 30.0, "
        "max_connections: 'int' = 4, queue_size: 'int' = 10000, create_workflow: 'str' = 'auto', "
            "protocol: 'str | int' = 'auto', heartbeat_interval: 'float' = 15.0, log_buffer: 'int' = 50000, "
        "session: 'requests.Session | None' = None, "
        "token_source: 'str | None' = None) -> 'None'"
    )


def test_server_options_has_a_field_per_setting_with_its_default() -> None:
    """``ServerOptions`` follows the settings' order and takes each default from its definition."""
    assert ServerOptions._fields == tuple(option.name for option in OPTIONS)
    assert ServerOptions._field_defaults == {option.name: option.default for option in WITH_DEFAULT}


def test_a_copy_in_another_process_keeps_every_setting() -> None:
    """A pickled ServerAPI comes back with the same options, none of them reset to a default."""
    values = {"timeout": 3.0, "flush_timeout": 1.0, "signal_flush_timeout": 2.0, "retries": 1, "backoff_max": 4.0,
              "max_connections": 2, "queue_size": 7, "create_workflow": "always", "protocol": "2",
              "heartbeat_interval": 5.0, "log_buffer": 50}
    api = ServerAPI("https://example.com/api", "token", **values)
    copy = pickle.loads(pickle.dumps(api))
    assert copy.options == api.options and copy.options._asdict() == {
        "base_url": "https://example.com/api", "user_token": "token", **values}


def _shown(default: object) -> str:
    """A default as the docs' tables write it: a number plainly, a word as code."""
    return f"{default:g}" if isinstance(default, (int, float)) else f"`{default}`"


@pytest.mark.parametrize("page", ["README.md", "docs/reliability.md"])
def test_the_reliability_table_gives_each_setting_its_default_and_meaning(page: str) -> None:
    """Each row of the ``[server]`` settings table is the setting's name, default and ``doc``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    for option in WITH_DEFAULT:
        assert f"| `{option.name}` | {_shown(option.default)} | {option.doc} |" in text


def test_the_profile_keys_table_gives_each_setting_its_default_and_variable() -> None:
    """docs/profiles.md lists each ``server.<name>`` key with its default, and the runner's variable where one is."""
    rows = {
        line.split("|")[1].strip(): line
        for line in (ROOT / "docs" / "profiles.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `server.")
    }
    for option in OPTIONS:
        row = rows[f"`server.{option.name}`"]
        default = "" if option.default is None else _shown(option.default)
        assert row.split("|")[2].strip() == default
        if option.env is not None:
            assert f"`{option.env}`" in row
