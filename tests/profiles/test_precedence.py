"""One test per precedence pair: default < built-in profile < user file < project file base
< project profile < environment < flag."""

from __future__ import annotations

import pytest

from dotflow.errors import ConfigError


def test_precedence_builtin_profile_over_default(make, managed_env):
    """The managed profile's server.provider=api beats the default auto."""
    rp = make(env=managed_env)
    assert rp["server.provider"] == "api"
    assert rp.settings["server.provider"].source == "profile:managed"


def test_precedence_default_when_nothing_set(make):
    """With no file and no variable, every key has its default and source 'default'."""
    rp = make()
    assert rp["server.provider"] == "auto"
    assert rp["server.timeout"] == 15.0
    assert all(setting.source == "default" for setting in rp.settings.values())


def test_precedence_user_file_over_builtin_profile(make, setup, managed_env):
    """A user file's base table beats the built-in managed profile."""
    rp = make(user='[server]\nprovider = "none"\n', env=managed_env)
    assert rp.name == "managed"
    assert rp["server.provider"] == "none"
    assert rp.settings["server.provider"].source == f"file:{setup.xdg / 'dotflow' / 'dotflow.toml'}:2"


def test_precedence_user_profile_over_user_base(make):
    """Within the user file, the selected profile's table beats the base table."""
    rp = make(user="[server]\ntimeout = 1\n[profiles.dev.server]\ntimeout = 2\n", profile="dev")
    assert rp["server.timeout"] == 2.0


def test_precedence_project_base_over_user_file(make, setup):
    """The project file's base table beats the user file."""
    rp = make(project="[server]\ntimeout = 7\n", user="[server]\ntimeout = 3\n")
    assert rp["server.timeout"] == 7.0
    assert rp.settings["server.timeout"].source == f"file:{setup.project / 'dotflow.toml'}:2"


def test_precedence_project_base_over_user_profile(make):
    """The whole user file (even its profile tables) sits below the project file's base tables."""
    rp = make(
        project="[server]\ntimeout = 7\n[profiles.dev]\n",
        user="[profiles.dev.server]\ntimeout = 3\n",
        profile="dev",
    )
    assert rp["server.timeout"] == 7.0


def test_precedence_project_profile_over_project_base(make, setup):
    """The selected profile's table beats the project file's base table."""
    rp = make(
        project="[workflow]\nmode = 'sequential'\n\n[profiles.fast.workflow]\nmode = 'parallel'\n", profile="fast"
    )
    assert rp["workflow.mode"] == "parallel"
    assert rp.settings["workflow.mode"].source == f"file:{setup.project / 'dotflow.toml'}:5"


def test_precedence_env_over_project_profile(make):
    """An environment variable beats the selected profile's file value."""
    rp = make(
        project="[profiles.fast.workflow]\nmode = 'parallel'\n",
        profile="fast",
        env={"DOTFLOW_WORKFLOW_MODE": "background"},
    )
    assert rp["workflow.mode"] == "background"
    assert rp.settings["workflow.mode"].source == "env:DOTFLOW_WORKFLOW_MODE"


def test_precedence_env_over_builtin_profile(make, managed_env):
    """DOTFLOW_SERVER_PROVIDER beats the managed profile's provider."""
    rp = make(env={**managed_env, "DOTFLOW_SERVER_PROVIDER": "none"})
    assert rp["server.provider"] == "none"


def test_precedence_flag_over_env(make):
    """An override (a CLI flag) beats the environment."""
    rp = make(env={"DOTFLOW_WORKFLOW_MODE": "background"}, overrides={"workflow.mode": "parallel"})
    assert rp["workflow.mode"] == "parallel"
    assert rp.settings["workflow.mode"].source == "flag:--mode"


def test_precedence_flag_over_everything(make):
    """An override beats file, profile and environment at once."""
    rp = make(
        project="[storage]\npath = 'a'\n[profiles.p.storage]\npath = 'b'\n",
        user="[storage]\npath = 'u'\n",
        profile="p",
        env={"DOTFLOW_STORAGE_PATH": "c"},
        overrides={"storage.path": "d"},
    )
    assert rp["storage.path"] == "d"
    assert rp.settings["storage.path"].source == "flag:--path"


def test_precedence_none_override_is_ignored(make):
    """An override whose value is None leaves the lower layers' value."""
    rp = make(env={"DOTFLOW_WORKFLOW_MODE": "background"}, overrides={"workflow.mode": None})
    assert rp["workflow.mode"] == "background"


def test_precedence_dotflow_spelling_over_managed_spelling(make):
    """DOTFLOW_SERVER_BASE_URL wins over SERVER_BASE_URL when both are set."""
    rp = make(env={"SERVER_BASE_URL": "https://a.example", "DOTFLOW_SERVER_BASE_URL": "https://b.example"})
    assert rp["server.base_url"] == "https://b.example"
    assert rp.settings["server.base_url"].source == "env:DOTFLOW_SERVER_BASE_URL"


def test_precedence_order_is_written_once():
    """The layer order is one tuple, lowest precedence first."""
    from dotflow.profiles.precedence import LAYERS

    assert [label for label, _ in LAYERS] == [
        "default",
        "built-in profile",
        "user file",
        "project file",
        "environment",
        "flags",
    ]


def test_precedence_env_rescues_an_unset_file_variable(make):
    """An env value over a file value whose variable is unset wins; the file's error is dropped."""
    rp = make("[server]\nuser_token = '${DEV_TOKEN}'\n", env={"DOTFLOW_SERVER_USER_TOKEN": "abc"})
    assert rp["server.user_token"] == "abc" and rp.source("server.user_token") == "env:DOTFLOW_SERVER_USER_TOKEN"


def test_precedence_managed_alias_rescues_an_unset_file_variable(make):
    """SERVER_USER_TOKEN (the managed spelling) rescues a file value too."""
    rp = make("[profiles.dev.server]\nuser_token = '${DEV_TOKEN}'\n", profile="dev", env={"SERVER_USER_TOKEN": "t"})
    assert rp["server.user_token"] == "t"


def test_precedence_flag_rescues_a_bad_file_value(make):
    """A flag over a file value that does not convert wins; the conversion error is dropped."""
    rp = make("[workflow]\nmode = 'warp'\n", overrides={"workflow.mode": "parallel"})
    assert rp["workflow.mode"] == "parallel"


def test_precedence_flag_rescues_a_bad_env_value(make):
    """A flag over a bad environment value wins; the variable's error is dropped."""
    rp = make(env={"DOTFLOW_WORKFLOW_MODE": "warp"}, overrides={"workflow.mode": "parallel"})
    assert rp["workflow.mode"] == "parallel"


def test_precedence_project_file_rescues_a_user_file_value(make):
    """A project-file value over a user-file value with an unset variable wins."""
    rp = make("[storage]\nbucket = 'b'\n", user="[storage]\nbucket = '${USER_BUCKET}'\n")
    assert rp["storage.bucket"] == "b"


def test_precedence_profile_table_rescues_a_base_table_value(make):
    """A selected profile's value over a broken base-table value wins."""
    rp = make("[server]\ntimeout = 'soon'\n[profiles.dev.server]\ntimeout = 3\n", profile="dev")
    assert rp["server.timeout"] == 3.0


def test_precedence_broken_value_not_overridden_is_still_an_error(make):
    """A broken file value that nothing overrides is still reported."""
    with pytest.raises(ConfigError, match="variable DEV_TOKEN is not set"):
        make("[server]\nuser_token = '${DEV_TOKEN}'\n", env={"DOTFLOW_SERVER_TIMEOUT": "3"})
