"""The environment layer: names, conversion, empty values and the override warning."""

from __future__ import annotations

import logging

import pytest

from dotflow.errors import ConfigError
from dotflow.profiles.schema import KEYS


@pytest.mark.parametrize("word", ["true", "1", "yes", "on", "TRUE", " On "])
def test_env_bool_true_words(make, word):
    """true, 1, yes and on (any case) are True."""
    assert make(env={"DOTFLOW_WORKFLOW_KEEP_GOING": word})["workflow.keep_going"] is True


@pytest.mark.parametrize("word", ["false", "0", "no", "off", "False"])
def test_env_bool_false_words(make, word):
    """false, 0, no and off (any case) are False."""
    rp = make(project="[workflow]\nresume = true\n", env={"DOTFLOW_WORKFLOW_RESUME": word})
    assert rp["workflow.resume"] is False


def test_env_every_key_has_a_variable(make):
    """Every key of the table is set by DOTFLOW_<SECTION>_<KEY>."""
    values = {
        "server.provider": "none",
        "server.base_url": "https://h.example",
        "server.user_token": "t",
        "server.timeout": "1.5",
        "server.flush_timeout": "0",
        "server.retries": "0",
        "server.backoff_max": "2",
        "server.signal_flush_timeout": "1",
        "server.max_connections": "2",
        "server.queue_size": "100",
        "server.create_workflow": "never",
        "server.protocol": "2",
        "server.heartbeat_interval": "5",
        "server.log_buffer": "500",
        "storage.provider": "s3",
        "storage.path": "p",
        "storage.bucket": "b",
        "storage.prefix": "runs/",
        "storage.region": "r",
        "storage.endpoint_url": "http://127.0.0.1:9000",
        "storage.project": "g",
        "workflow.id": "i",
        "workflow.name": "n",
        "workflow.mode": "parallel",
        "workflow.keep_going": "1",
        "workflow.resume": "0",
        "workflow.on_input_change": "reset",
        "workflow.executor": "tcp://127.0.0.1:8786",
        "workflow.max_workers": "3",
        "notify.provider": "none",
        "notify.token": "t",
        "notify.chat_id": "42",
        "notify.base_url": "http://127.0.0.1:9",
        "notify.webhook_url": "https://discord.test/api/webhooks/1/x",
        "notify.urls": "json://127.0.0.1:9/",
        "notify.notification_type": "Failed",
        "notify.show_result": "yes",
        "log.provider": "default",
        "log.level": "WARNING",
        "log.output": "logger",
        "log.path": "log/flow.log",
        "log.format": "json",
        "log.dsn": "https://k@sentry.test/1",
        "tracer.provider": "none",
        "tracer.service_name": "svc",
        "tracer.dsn": "https://k@sentry.test/2",
        "metrics.provider": "none",
        "metrics.service_name": "svc",
    }
    env = {key.env: values[key.dotted] for key in KEYS}
    rp = make(env=env)
    for key in KEYS:
        assert rp.settings[key.dotted].source == f"env:{key.env}"
    assert rp["server.timeout"] == 1.5 and rp["server.retries"] == 0 and rp["workflow.keep_going"] is True


def test_env_empty_prefix_is_still_unset(make):
    """An empty variable counts as unset, even where '' would be a valid value."""
    rp = make(env={"DOTFLOW_STORAGE_PREFIX": ""})
    assert rp["storage.prefix"] == "dotflow/" and rp.settings["storage.prefix"].source == "default"


def test_env_managed_names(make):
    """SERVER_BASE_URL, SERVER_USER_TOKEN and WORKFLOW_ID set their keys."""
    rp = make(
        profile="default",
        env={"SERVER_BASE_URL": "https://h.example/api", "SERVER_USER_TOKEN": "t", "WORKFLOW_ID": "w"},
    )
    assert rp["server.base_url"] == "https://h.example/api"
    assert rp.settings["server.user_token"].source == "env:SERVER_USER_TOKEN"
    assert rp["workflow.id"] == "w"


def test_env_empty_dotflow_spelling_falls_back_to_managed_name(make):
    """An empty DOTFLOW_WORKFLOW_ID counts as unset, so WORKFLOW_ID is used."""
    rp = make(profile="default", env={"DOTFLOW_WORKFLOW_ID": "", "WORKFLOW_ID": "w"})
    assert rp.settings["workflow.id"].source == "env:WORKFLOW_ID"


def test_env_override_of_profile_file_value_warns_with_variable_only(make, setup, caplog):
    """An env var over a profile's file value warns once, naming the variable, never the value."""
    setup.write_project("[profiles.prod.storage]\nprovider = 's3'\nbucket = 'file-bucket'\n")
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        rp = setup.resolve("prod", env={"DOTFLOW_STORAGE_BUCKET": "env-bucket-value"})
    assert rp["storage.bucket"] == "env-bucket-value"
    assert rp.warnings == [
        f"DOTFLOW_STORAGE_BUCKET overrides storage.bucket set in {setup.project / 'dotflow.toml'}:3 (profile 'prod')"
    ]
    assert "env-bucket-value" not in caplog.text and "file-bucket" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.name == "dotflow"] == rp.warnings


def test_env_override_of_default_does_not_warn(make):
    """An env var replacing a default is the normal case and gives no warning."""
    assert make(env={"DOTFLOW_WORKFLOW_MODE": "parallel"}).warnings == []


def test_env_flag_override_of_file_value_does_not_warn(make):
    """A flag replacing a file value is explicit and gives no warning."""
    rp = make(project="[workflow]\nmode = 'parallel'\n", overrides={"workflow.mode": "background"})
    assert rp.warnings == []


def test_env_values_are_stripped_for_numbers(make):
    """Numbers and bools from variables may carry surrounding spaces."""
    rp = make(env={"DOTFLOW_SERVER_RETRIES": " 3 ", "DOTFLOW_SERVER_TIMEOUT": "2.5\n"})
    assert rp["server.retries"] == 3 and rp["server.timeout"] == 2.5


def test_env_unknown_variable_is_logged_even_when_resolution_fails(make, caplog):
    """A misspelt variable's warning is logged before the error it probably caused."""
    with caplog.at_level(logging.WARNING, logger="dotflow"), pytest.raises(ConfigError, match="SERVER_BASE_URL"):
        make(env={"WORKFLOW_ID": "w", "SERVER_USER_TOKEN": "t", "DOTFLOW_SERVER_BASE_ULR": "https://h.example"})
    assert "did you mean DOTFLOW_SERVER_BASE_URL?" in caplog.text


def test_env_dotflow_variable_interpolated_by_a_file_in_use_is_not_warned(make):
    """A DOTFLOW_* variable that a table in use interpolates is the user's own: no warning."""
    rp = make(
        "[server]\nbase_url = '${DOTFLOW_BASE_URL:-http://localhost:8000}'\n",
        env={"DOTFLOW_BASE_URL": "http://dev.example/api"},
    )
    assert rp["server.base_url"] == "http://dev.example/api"
    assert not [w for w in rp.warnings if "DOTFLOW_BASE_URL" in w]


def test_env_dotflow_variable_in_an_unused_default_word_is_not_warned(make):
    """A DOTFLOW_* variable named only in an unneeded ${A:-${DOTFLOW_B}} default is not warned."""
    rp = make(
        "[workflow]\nname = '${NAME:-${DOTFLOW_NAME_FALLBACK}}'\n", env={"NAME": "n", "DOTFLOW_NAME_FALLBACK": "f"}
    )
    assert rp["workflow.name"] == "n" and rp.warnings == []


def test_env_dotflow_variable_interpolated_only_by_an_unselected_profile_still_warns(make):
    """Interpolation in a profile that is not selected does not excuse an unknown DOTFLOW_* variable."""
    rp = make("[profiles.other.workflow]\nname = '${DOTFLOW_MY_LABEL}'\n", env={"DOTFLOW_MY_LABEL": "x"})
    assert len(rp.warnings) == 1 and rp.warnings[0].startswith("DOTFLOW_MY_LABEL is not a dotflow setting")


def test_a_warning_is_logged_once_per_process(tmp_path, caplog):
    """Resolving twice with the same misspelt variable logs its warning once, but both results carry it."""
    import logging

    from dotflow.profiles import resolve

    env = {"DOTFLOW_SERVER_TIMOUT": "3", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with caplog.at_level(logging.WARNING, logger="dotflow"):
        first = resolve(env=env, cwd=tmp_path)
        second = resolve(env=env, cwd=tmp_path)
    assert first.warnings == second.warnings and len(first.warnings) == 1
    assert sum("DOTFLOW_SERVER_TIMOUT" in r.getMessage() for r in caplog.records) == 1
