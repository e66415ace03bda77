"""Every error form of profiles.md: one line, with the place and what to do."""

from __future__ import annotations

import pytest

from dotflow.errors import ConfigError, DotflowError


def error_of(make, *args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        make(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_error_is_a_dotflow_error():
    """ConfigError belongs to the DotflowError tree."""
    assert issubclass(ConfigError, DotflowError)


def test_error_unknown_key_did_you_mean_with_line(make, setup):
    """An unknown key gives file:line and a did-you-mean, exactly as documented."""
    text = "[server]\ntimeout = 1\n\n\n\n\nbase_ulr = 'http://x'\n"
    message = error_of(make, text)
    assert message == (
        f"{setup.project / 'dotflow.toml'}:7: unknown key 'server.base_ulr'; did you mean 'server.base_url'?"
    )


def test_error_unknown_key_in_profile(make, setup):
    """An unknown key in a profile table names the full path and suggests the right one."""
    message = error_of(make, "[profiles.prod.storage]\nbuckt = 'b'\n")
    assert message == (
        f"{setup.project / 'dotflow.toml'}:2: unknown key 'profiles.prod.storage.buckt'; "
        "did you mean 'profiles.prod.storage.bucket'?"
    )


def test_error_unknown_key_even_in_unselected_profile(make):
    """A typo in a profile that is not selected is still an error (the file is checked whole)."""
    assert "unknown key 'profiles.other.workflow.mdoe'" in error_of(make, "[profiles.other.workflow]\nmdoe = 'x'\n")


def test_error_unknown_table(make, setup):
    """An unknown table gives its line and a did-you-mean."""
    message = error_of(make, "\n[sever]\ntimeout = 1\n")
    assert message == f"{setup.project / 'dotflow.toml'}:2: unknown table 'sever'; did you mean 'server'?"


def test_error_unknown_table_in_profile(make):
    """An unknown table inside a profile suggests the right profile table."""
    assert "did you mean 'profiles.dev.storage'?" in error_of(make, "[profiles.dev.storag]\npath = 'x'\n")


def test_error_unknown_key_in_inline_table_has_its_line(make, setup):
    """Keys of an inline table get a line too."""
    message = error_of(make, "x_note = 1\nserver = { timeout = 1, retires = 2 }\n")
    assert message.startswith(f"{setup.project / 'dotflow.toml'}:2: unknown key 'server.retires'")


def test_error_unknown_dotted_key(make, setup):
    """A dotted key at the top level is reported at its line."""
    message = error_of(make, "\n\nserver.timeot = 3\n")
    assert message.startswith(f"{setup.project / 'dotflow.toml'}:3: unknown key 'server.timeot'")


def test_error_x_keys_are_ignored(make):
    """Keys that begin with x_ are ignored at every level."""
    rp = make("x_owner = 'me'\n[x_tbl]\na = 1\n[server]\nx_why = 'slow'\n[profiles.x_draft.server]\nzzz = 1\n")
    assert rp.name == "default"


def test_error_section_not_a_table(make):
    """A section written as a plain value is an error."""
    assert "'server' must be a table" in error_of(make, "server = 3\n")


def test_error_bad_value_in_file_names_place(make, setup):
    """A bad value in a file names file:line [table] key and the problem."""
    message = error_of(make, "[server]\n\ntimeout = -1\n")
    assert message == f"{setup.project / 'dotflow.toml'}:3 [server] timeout: -1.0 must be a number greater than 0"


def test_error_bad_type_in_file(make):
    """A value of the wrong TOML type is an error."""
    assert "[workflow] keep_going: 'sure' is not a bool" in error_of(make, "[workflow]\nkeep_going = 'sure'\n")
    assert "[server] retries: 1.5 is not an integer" in error_of(make, "[server]\nretries = 1.5\n")
    assert "[workflow] keep_going: 2 is not a bool" in error_of(make, "[workflow]\nkeep_going = 2\n")


def test_a_bool_written_as_1_or_0_in_a_file_is_read_as_the_message_says(make):
    """The error's own words (true/false, 1/0, ...) hold for a TOML integer too."""
    assert make("[workflow]\nkeep_going = 1\nresume = 0\n")["workflow.keep_going"] is True
    assert make("[workflow]\nresume = 0\n")["workflow.resume"] is False


def test_error_bad_bool_from_env_names_variable(make):
    """A bad bool from the environment names the variable and the accepted words."""
    message = error_of(make, env={"DOTFLOW_WORKFLOW_RESUME": "maybe"})
    assert message == "DOTFLOW_WORKFLOW_RESUME: 'maybe' is not a bool (true/false, 1/0, yes/no, on/off)"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DOTFLOW_SERVER_TIMEOUT", "fast", "DOTFLOW_SERVER_TIMEOUT: 'fast' is not a number"),
        ("DOTFLOW_SERVER_TIMEOUT", "0", "DOTFLOW_SERVER_TIMEOUT: 0.0 must be a number greater than 0"),
        ("DOTFLOW_SERVER_RETRIES", "-1", "DOTFLOW_SERVER_RETRIES: -1 must be an integer >= 0"),
        ("DOTFLOW_SERVER_FLUSH_TIMEOUT", "nan", "DOTFLOW_SERVER_FLUSH_TIMEOUT: nan must be a number >= 0"),
        # a duration past an hour is a mistake, and 1e10 overflowed the waits it fed: every report was lost
        ("DOTFLOW_SERVER_FLUSH_TIMEOUT", "1e10",
         "DOTFLOW_SERVER_FLUSH_TIMEOUT: 10000000000.0 must be a number from 0 to 3600 (seconds)"),
        ("DOTFLOW_SERVER_SIGNAL_FLUSH_TIMEOUT", "3601",
         "DOTFLOW_SERVER_SIGNAL_FLUSH_TIMEOUT: 3601.0 must be a number from 0 to 3600 (seconds)"),
        ("DOTFLOW_SERVER_TIMEOUT", "1e10",
         "DOTFLOW_SERVER_TIMEOUT: 10000000000.0 must be a number greater than 0 and at most 3600 (seconds)"),
        ("DOTFLOW_SERVER_BACKOFF_MAX", "inf", "DOTFLOW_SERVER_BACKOFF_MAX: inf must be a number greater than 0"),
        ("DOTFLOW_SERVER_CREATE_WORKFLOW", "sometimes",
         "DOTFLOW_SERVER_CREATE_WORKFLOW: 'sometimes' is not one of auto, always, never"),
        ("SERVER_BASE_URL", "ftp://x", "SERVER_BASE_URL: 'ftp://x' must start with http:// or https://"),
        ("DOTFLOW_WORKFLOW_MODE", "turbo", "DOTFLOW_WORKFLOW_MODE: 'turbo' is not one of sequential, background"),
        ("DOTFLOW_STORAGE_PROVIDER", "nfs", "'nfs' is not one of memory, default, file, s3, gcs or pkg.module:Class"),
        ("DOTFLOW_SERVER_PROVIDER", "pkg:", "'pkg:' is not an import string; write it as pkg.module:Class"),
        # Python's int() and float() read "1_000" as 1000: a setting is written the plain way
        ("DOTFLOW_SERVER_FLUSH_TIMEOUT", "1_000", "DOTFLOW_SERVER_FLUSH_TIMEOUT: '1_000' is not a number"),
        ("DOTFLOW_SERVER_RETRIES", "1_0", "DOTFLOW_SERVER_RETRIES: '1_0' is not an integer"),
        # and digits of other scripts ("١٢" is 12): only ASCII digits are a number here
        ("DOTFLOW_SERVER_RETRIES", "\u0661\u0662", "DOTFLOW_SERVER_RETRIES: '\u0661\u0662' is not an integer"),
        ("DOTFLOW_SERVER_TIMEOUT", "\uff15", "DOTFLOW_SERVER_TIMEOUT: '\uff15' is not a number"),
        ("DOTFLOW_NOTIFY_PROVIDER", "slack", "'slack' is not one of none, telegram, discord, apprise"),
        ("DOTFLOW_LOG_LEVEL", "LOUD", "DOTFLOW_LOG_LEVEL: 'LOUD' is not one of DEBUG, INFO, WARNING, ERROR"),
        ("DOTFLOW_NOTIFY_NOTIFICATION_TYPE", "Broken", "'Broken' is not one of Not started, In progress"),
    ],
)
def test_error_bad_env_value(make, variable, value, expected):
    """A bad environment value is an error that names the variable."""
    assert expected in error_of(make, env={variable: value})


def test_error_all_env_problems_at_once(make):
    """Several bad variables are reported together in one line."""
    message = error_of(make, env={"DOTFLOW_WORKFLOW_RESUME": "x", "DOTFLOW_SERVER_RETRIES": "y"})
    assert "DOTFLOW_WORKFLOW_RESUME" in message and "DOTFLOW_SERVER_RETRIES" in message


def test_error_toml_syntax_with_line_and_column(make, setup):
    """A TOML syntax error is reported as path:line:col: message."""
    message = error_of(make, "[server]\ntimeout = 1\nretries = = 2\n")
    assert message.startswith(f"{setup.project / 'dotflow.toml'}:3:11: invalid TOML: ")
    assert "(at line" not in message


def test_error_toml_syntax_at_end_of_document(make, setup):
    """An error at the end of the document still gets a line and column."""
    message = error_of(make, '[server]\nbase_url = "http://x')
    assert message.startswith(f"{setup.project / 'dotflow.toml'}:2:")


def test_error_invalid_utf8(setup):
    """A file that is not UTF-8 is an error with line and column."""
    (setup.project / "dotflow.toml").write_bytes(b"[server]\nx_a = '\xff'\n")
    with pytest.raises(ConfigError, match=r"dotflow\.toml:2:8: the file is not valid UTF-8"):
        setup.resolve()


def test_error_unknown_override_key(make):
    """An override for no known key is an error with a did-you-mean."""
    assert "unknown setting 'workflow.mdoe'; did you mean 'workflow.mode'?" in error_of(
        make, overrides={"workflow.mdoe": "parallel"}
    )


def test_error_bad_override_names_flag(make):
    """A bad override value is reported against its flag."""
    assert error_of(make, overrides={"workflow.mode": "warp"}).startswith("--mode: 'warp' is not one of")


def test_error_default_profile_must_be_string(make):
    """default_profile must be a string."""
    assert "default_profile must be a string" in error_of(make, "default_profile = 3\n")


def test_error_managed_missing_lists_every_variable(make):
    """One error lists every missing managed variable and says how to opt out."""
    message = error_of(make, env={"WORKFLOW_ID": "w", "SERVER_BASE_URL": "https://x.example"})
    assert message == (
        "profile 'managed' (selected by env:WORKFLOW_ID) needs server.user_token (set SERVER_USER_TOKEN); "
        "set it, or pass --profile default to opt out"
    )


def test_error_managed_missing_several_says_them(make):
    """With more than one missing variable the advice is plural; with one it is singular (above)."""
    message = error_of(make, env={"WORKFLOW_ID": "w"})
    assert message == (
        "profile 'managed' (selected by env:WORKFLOW_ID) needs server.base_url (set SERVER_BASE_URL), "
        "server.user_token (set SERVER_USER_TOKEN); set them, or pass --profile default to opt out"
    )


def test_error_unknown_env_variable_is_a_warning(make, caplog):
    """An unknown DOTFLOW_* variable warns with a did-you-mean (and logs it), it is no error."""
    rp = make(env={"DOTFLOW_SERVER_TIMOUT": "3", "DOTFLOW_PROFILE": "", "DOTFLOW_CONFIG": ""})
    assert rp.warnings == [
        "DOTFLOW_SERVER_TIMOUT is not a dotflow setting and is ignored; did you mean DOTFLOW_SERVER_TIMEOUT?"
    ]
    assert rp.warnings[0] in caplog.text


def test_error_known_control_variables_do_not_warn(make, setup):
    """DOTFLOW_PROFILE and DOTFLOW_CONFIG are known and never warned about."""
    (setup.root / "c.toml").write_text("[profiles.p]\n")
    rp = make(env={"DOTFLOW_PROFILE": "p", "DOTFLOW_CONFIG": str(setup.root / "c.toml")})
    assert rp.warnings == []


@pytest.mark.parametrize(
    ("dotted", "flag"),
    [("workflow.id", "--workflow-id"), ("storage.path", "--path"), ("workflow.mode", "--mode")],
)
def test_error_empty_override_names_the_flag(make, dotted, flag):
    """An explicitly empty flag value is an error naming the flag, whatever the key."""
    message = error_of(make, overrides={dotted: ""})
    assert message.startswith(f"{flag}: the value is empty")


def test_error_modes_come_from_type_execution():
    """The allowed workflow.mode values are TypeExecution.ALL itself, not a copy."""
    from dotflow import settings
    from dotflow.core.types.execution import TypeExecution

    assert settings.MODES is TypeExecution.ALL
