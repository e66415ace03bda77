"""Secrets (server.user_token, and user:pass@ in URLs) never show as ***-less text anywhere."""

from __future__ import annotations

import json
import logging

import pytest

from dotflow.errors import ConfigError

TOKEN = "tok-D1st1nct-9f7c2e"
URL = f"https://alice:{TOKEN}@api.example.com/v1"


def test_secret_masked_in_as_dict(make):
    """as_dict() shows *** for the token and masks URL credentials."""
    rp = make(env={"SERVER_USER_TOKEN": TOKEN, "SERVER_BASE_URL": URL})
    data = rp.as_dict()
    assert TOKEN not in json.dumps(data)
    assert data["settings"]["server.user_token"] == {"value": "***", "source": "env:SERVER_USER_TOKEN", "secret": True}
    assert data["settings"]["server.base_url"]["value"] == "https://***@api.example.com/v1"


def test_secret_shown_when_asked(make):
    """as_dict(show_secrets=True) shows the real values."""
    rp = make(env={"SERVER_USER_TOKEN": TOKEN, "SERVER_BASE_URL": URL})
    data = rp.as_dict(show_secrets=True)
    assert data["settings"]["server.user_token"]["value"] == TOKEN
    assert data["settings"]["server.base_url"]["value"] == URL


def test_secret_never_in_repr(make):
    """repr() of the profile, its settings and each Setting hides the token."""
    rp = make(env={"SERVER_USER_TOKEN": TOKEN, "SERVER_BASE_URL": URL})
    assert rp["server.user_token"] == TOKEN
    for text in (repr(rp), repr(rp.settings), str(rp.settings["server.user_token"]), repr(rp.as_dict())):
        assert TOKEN not in text


def test_secret_never_in_errors(make, setup):
    """Errors about a bad token or a bad URL with credentials mask them."""
    for env in (
        {"SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_PROVIDER": "bogus"},
        {"SERVER_BASE_URL": f"ftp://bob:{TOKEN}@h.example"},
        {"DOTFLOW_STORAGE_ENDPOINT_URL": f"s3://u:{TOKEN}@h"},
        {"WORKFLOW_ID": "w", "SERVER_USER_TOKEN": TOKEN},
        {"SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_RETRIES": "x"},
    ):
        with pytest.raises(ConfigError) as info:
            make(env=env)
        assert TOKEN not in str(info.value)
        assert TOKEN not in repr(info.value)


def test_secret_bad_token_is_masked_in_error(make):
    """A whitespace-only token is reported as '***'."""
    with pytest.raises(ConfigError, match=r"^SERVER_USER_TOKEN: '\*\*\*' is empty; set it to the token"):
        make(env={"SERVER_USER_TOKEN": "  "})


def test_secret_never_in_logs(make, setup, caplog):
    """The override warning and every other log line never carry the token."""
    setup.write_project(f"[server]\nuser_token = '{TOKEN}-file'\nbase_url = '{URL}'\n")
    with caplog.at_level(logging.DEBUG):
        rp = setup.resolve(env={"DOTFLOW_SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_BASE_URL": URL, "DOTFLOW_X": TOKEN})
    assert rp.warnings
    assert TOKEN not in caplog.text
    assert all(TOKEN not in warning for warning in rp.warnings)


def test_secret_never_in_config_error(make):
    """A config() error (api without a URL) does not carry the token."""
    rp = make(env={"SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_PROVIDER": "api"})
    with pytest.raises(ConfigError) as info:
        rp.config()
    assert "server.base_url is not set" in str(info.value)
    assert TOKEN not in str(info.value)


def test_secret_in_file_interpolation_error(make, setup):
    """An unset-variable error in a file with a token written in it names only the variable."""
    setup.write_project(f"[server]\nuser_token = '{TOKEN}'\nbase_url = '$NOPE'\n")
    with pytest.raises(ConfigError) as info:
        setup.resolve()
    assert "variable NOPE is not set" in str(info.value) and TOKEN not in str(info.value)


def test_secret_literal_dollar_in_token_error_hides_token(make, setup):
    """A bad '$' inside a token written in a file is reported by position, not by value."""
    setup.write_project(f"[server]\nuser_token = '{TOKEN}$'\n")
    with pytest.raises(ConfigError) as info:
        setup.resolve()
    assert "write '$$' for a literal '$'" in str(info.value) and TOKEN not in str(info.value)


def test_secret_schemeless_credentials_masked_in_error(make):
    """'user:pass@host' without a scheme is masked in the bad-URL error too."""
    with pytest.raises(ConfigError) as info:
        make(env={"SERVER_BASE_URL": f"bob:{TOKEN}@h.example"})
    assert "'***@h.example' must start with http:// or https://" in str(info.value) and TOKEN not in str(info.value)


def test_url_password_holding_a_slash_is_masked(tmp_path) -> None:
    """A base_url whose password holds an unencoded '/' is refused, and the error hides the password whole."""
    from dotflow.profiles import resolve

    env = {"SERVER_BASE_URL": "https://u:se/cr3t@h.test/api", "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    with pytest.raises(ConfigError) as info:
        resolve(env=env, cwd=tmp_path)
    assert "cr3t" not in str(info.value) and "se/" not in str(info.value) and "is not a valid URL" in str(info.value)
