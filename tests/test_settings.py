"""dotflow.settings: each run option is defined once, and the profile, DotFlow.start and RunSettings read it."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from dotflow import Config, DotFlow
from dotflow.errors import UsageError
from dotflow.settings import OPTIONS, RUN_DEFAULTS, UNSET, Option, RunSettings, is_unset, profile_or

NAMES = ["mode", "keep_going", "resume", "on_input_change", "executor", "max_workers"]


def test_the_options_are_the_run_options_in_table_order() -> None:
    """OPTIONS lists the six run options in the order of the profile's key table."""
    assert [option.name for option in OPTIONS] == NAMES
    assert all(getattr(RunSettings, option.name) is option for option in OPTIONS)


def test_each_profile_key_is_the_options_own() -> None:
    """The profile's workflow.<option> key has the option's type, default, check and variable, and the
    variable follows the DOTFLOW_<SECTION>_<KEY> rule of every other key."""
    from dotflow.profiles.schema import BY_NAME, flag_of

    for option in OPTIONS:
        key = BY_NAME[option.key]
        assert (key.section, key.name, key.type, key.default, key.check) == (
            "workflow", option.name, option.type, option.default, option.check)
        assert key.env == option.env == f"DOTFLOW_WORKFLOW_{option.name.upper()}"
        assert flag_of(option.key) == option.flag == "--" + option.name.replace("_", "-")


def test_workflow_options_gives_every_option_by_name(tmp_path: Any) -> None:
    """A resolved profile's workflow_options() has one entry per option, read from its key."""
    from dotflow.profiles import resolve

    resolved = resolve(env={}, cwd=tmp_path, overrides={"workflow.max_workers": "3"})
    assert list(resolved.workflow_options()) == NAMES
    assert resolved.workflow_options()["max_workers"] == 3


def test_start_takes_every_option_unset_by_default() -> None:
    """DotFlow.start has a parameter for every option, left unset by default, so the run default decides."""
    parameters = inspect.signature(DotFlow.start).parameters
    assert all(is_unset(parameters[name].default) for name in NAMES)
    assert list(parameters) == ["self", "mode", "keep_going", "on_success", "on_failure", "resume", "on_input_change",
                                "fingerprint", "max_workers", "executor"]


def test_start_signature_shows_each_option_default() -> None:
    """DotFlow.start's signature names each option's real default, where help() and the API page
    show it: profile_or('sequential') for mode, and so on (it showed UNSET for every one)."""
    parameters = inspect.signature(DotFlow.start).parameters
    for option in OPTIONS:
        assert repr(parameters[option.name].default) == f"profile_or({option.default!r})", option.name


def test_profile_or_counts_as_not_given() -> None:
    """A profile_or(...) argument, whatever default it names, takes the run default, as UNSET does."""
    profile = {**RUN_DEFAULTS, "mode": "parallel", "keep_going": True}
    settings = RunSettings.from_arguments(profile, mode=profile_or("background"), keep_going=UNSET)
    assert (settings.mode, settings.keep_going) == ("parallel", True)
    assert repr(UNSET) == "UNSET" and is_unset(UNSET) and not is_unset(None)


def test_run_defaults_are_the_option_defaults() -> None:
    """RUN_DEFAULTS is a RunSettings of each option's default."""
    assert dict(RUN_DEFAULTS) == {option.name: option.default for option in OPTIONS}
    assert RUN_DEFAULTS == RunSettings()


def test_from_arguments_takes_unset_ones_from_the_defaults() -> None:
    """An UNSET argument (and executor=None) takes the defaults' value; a given one wins, None included
    where None is a value (max_workers: the CPU count)."""
    profile = {**RUN_DEFAULTS, "mode": "parallel", "executor": "process", "max_workers": 4, "keep_going": True}
    settings = RunSettings.from_arguments(profile, mode=UNSET, executor=None, max_workers=None, keep_going=0)
    assert (settings.mode, settings.executor, settings.max_workers, settings.keep_going) == (
        "parallel", "process", None, False)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"mode": "fast"}, "unknown mode 'fast'; use one of: sequential, background, parallel, sequential_group"),
        ({"on_input_change": "keep"}, "on_input_change='keep'; use one of: reuse, reset, raise"),
        ({"executor": "proc"}, "executor='proc' is not one of thread, process, dask"),
        ({"executor": 3}, "executor=3 is not thread, process, dask"),
        ({"max_workers": 0}, "max_workers=0 is not a positive integer"),
        ({"max_workers": True}, "max_workers=True is not a positive integer"),
    ],
)
def test_a_bad_argument_is_start_s_usage_error(arguments: dict[str, Any], message: str) -> None:
    """RunSettings and start() refuse a bad value with the same one-line UsageError."""
    with pytest.raises(UsageError) as built:
        RunSettings.from_arguments(RUN_DEFAULTS, **arguments)
    with pytest.raises(UsageError) as started:
        DotFlow(config=Config()).start(**arguments)
    assert str(built.value) == str(started.value)
    assert str(built.value).startswith(message)


def test_an_unknown_option_is_a_type_error() -> None:
    """A misspelt option fails as a misspelt keyword argument does."""
    with pytest.raises(TypeError, match="'max_worker'"):
        RunSettings(max_worker=2)
    with pytest.raises(TypeError, match="'max_worker'"):
        RunSettings.from_arguments(RUN_DEFAULTS, max_worker=2)


def test_run_settings_are_an_immutable_mapping() -> None:
    """A RunSettings reads as attributes and as a mapping, equals a dict of the same values, and cannot change."""
    settings = RunSettings(mode="parallel", resume=1)
    assert (settings.mode, settings["resume"], len(settings)) == ("parallel", True, len(NAMES))
    assert settings == {**RUN_DEFAULTS, "mode": "parallel", "resume": True}
    with pytest.raises(KeyError):
        settings["fingerprint"]
    with pytest.raises(AttributeError):
        settings.mode = "background"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del settings.mode
    assert repr(settings).startswith("RunSettings(mode='parallel', keep_going=False, resume=True,")


def test_every_option_is_in_the_docs() -> None:
    """The profile page's key table has a row for each run option, and the CLI page names its flag."""
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    keys, cli = (docs / "profiles.md").read_text(encoding="utf-8"), (docs / "cli.md").read_text(encoding="utf-8")
    assert [option.key for option in OPTIONS if f"| `{option.key}` |" not in keys] == []
    assert [option.flag for option in OPTIONS if f"`{option.flag}`" not in cli] == []


def test_an_option_describes_itself() -> None:
    """Each option has a doc and a help, and a short flag only where the CLI has one (-m)."""
    assert all(isinstance(option, Option) and option.doc and option.help.endswith(".") for option in OPTIONS)
    assert {option.name: option.short for option in OPTIONS if option.short} == {"mode": "-m"}
