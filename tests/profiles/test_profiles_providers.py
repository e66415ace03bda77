"""The [notify], [log], [tracer] and [metrics] tables: what they build, what they require, what they hide."""

from __future__ import annotations

import sys

import pytest

from dotflow.errors import ConfigError
from dotflow.providers import LogDefault, MetricsDefault, NotifyDefault, TracerDefault


def test_no_table_builds_the_defaults(make):
    """Without the tables, the Config has no notifications, tracing or metrics, and logs to the dotflow logger."""
    config = make().config()
    assert type(config.notify) is NotifyDefault and type(config.tracer) is TracerDefault
    assert type(config.metrics) is MetricsDefault
    assert isinstance(config.log, LogDefault) and config.log.output == "logger"


def test_the_log_table_configures_log_default(make, setup):
    """[log] level, output, path and format reach LogDefault; a relative path is next to the file."""
    make("[log]\nlevel = 'WARNING'\noutput = 'file'\npath = 'logs/run.log'\nformat = 'json'\n")
    log = setup.resolve().config().log
    assert isinstance(log, LogDefault)
    assert (log.level, log.output, log.format) == ("WARNING", "file", "json")
    assert log.path == str(setup.project / "logs" / "run.log")
    assert (setup.project / "logs").is_dir()


def test_environment_variables_override_the_tables(make):
    """DOTFLOW_LOG_FORMAT and friends override the file, as for every other key."""
    rp = make("[log]\nformat = 'simple'\n", env={"DOTFLOW_LOG_FORMAT": "json", "DOTFLOW_LOG_OUTPUT": "console"})
    assert rp.source("log.format") == "env:DOTFLOW_LOG_FORMAT"
    assert rp.config().log.format == "json"


@pytest.mark.parametrize(
    ("table", "missing"),
    [
        ("[notify]\nprovider = 'telegram'\nchat_id = '42'\n", "notify.token (DOTFLOW_NOTIFY_TOKEN)"),
        ("[notify]\nprovider = 'telegram'\n", "notify.token (DOTFLOW_NOTIFY_TOKEN), notify.chat_id"),
        ("[notify]\nprovider = 'discord'\n", "notify.webhook_url (DOTFLOW_NOTIFY_WEBHOOK_URL)"),
        ("[notify]\nprovider = 'apprise'\n", "notify.urls (DOTFLOW_NOTIFY_URLS)"),
    ],
)
def test_a_notifier_without_its_keys_is_one_error(make, table, missing):
    """Choosing a notifier without the keys it needs is one ConfigError naming each key and its variable."""
    with pytest.raises(ConfigError) as info:
        make(table).config()
    assert missing in str(info.value) and "from file:" in str(info.value)


@pytest.mark.parametrize(
    ("table", "ending"),
    [
        ("[notify]\nprovider = 'telegram'\nchat_id = '42'\n", "notify.token (DOTFLOW_NOTIFY_TOKEN) is not set"),
        ("[notify]\nprovider = 'telegram'\n",
         "notify.token (DOTFLOW_NOTIFY_TOKEN), notify.chat_id (DOTFLOW_NOTIFY_CHAT_ID) are not set"),
    ],
)
def test_a_notifier_missing_keys_error_agrees_in_number(make, table, ending):
    """One missing key 'is not set', two 'are not set'."""
    with pytest.raises(ConfigError) as info:
        make(table).config()
    assert str(info.value).endswith(ending)


def test_secrets_of_the_tables_are_masked(make):
    """notify.token, notify.webhook_url, notify.urls and the dsns show as *** in profile show's data."""
    rp = make(env={"DOTFLOW_NOTIFY_TOKEN": "bot-secret-123", "DOTFLOW_NOTIFY_URLS": "slack://a/b/c",
                   "DOTFLOW_LOG_DSN": "https://k@o.ingest.sentry.io/1"})
    shown = rp.as_dict()["settings"]
    for key in ("notify.token", "notify.urls", "log.dsn"):
        assert shown[key] == {"value": "***", "source": f"env:DOTFLOW_{key.replace('.', '_').upper()}", "secret": True}
    assert "bot-secret-123" not in repr(rp.settings)


def test_a_project_provider_class_is_built_from_its_import_string(make, setup, monkeypatch):
    """provider = "pkg.mod:Class" builds the project's own Notify (or Log, Tracer, Metrics) class."""
    (setup.project / "my_notify.py").write_text(
        "from dotflow.abc.notify import Notify\n\n"
        "class Mine(Notify):\n    def hook_status_task(self, task):\n        pass\n"
    )
    monkeypatch.syspath_prepend(str(setup.project))
    sys.modules.pop("my_notify", None)
    config = make("[notify]\nprovider = 'my_notify:Mine'\n").config()
    assert type(config.notify).__name__ == "Mine"


def test_a_provider_string_of_the_wrong_contract_is_refused(make, setup, monkeypatch):
    """A class that is not a Notify named as the notifier is a one-line ConfigError."""
    (setup.project / "not_notify.py").write_text("class Other:\n    pass\n")
    monkeypatch.syspath_prepend(str(setup.project))
    sys.modules.pop("not_notify", None)
    with pytest.raises(ConfigError, match="is not a subclass of dotflow.abc.notify.Notify"):
        make("[notify]\nprovider = 'not_notify:Other'\n").config()


@pytest.mark.parametrize("spec", ["os:abort", "sys:exit", "builtins:breakpoint", "os:getcwd", "json:dumps"])
def test_a_provider_string_naming_a_function_is_refused_before_it_runs(make, spec):
    """A provider string naming any callable but a contract class is refused, and nothing is called:
    'os:abort' must not kill the process, 'sys:exit' must not make a broken profile "pass"."""
    with pytest.raises(ConfigError, match="is not a class"):
        make(f"[storage]\nprovider = '{spec}'\n").config()


@pytest.mark.parametrize(
    ("body", "shown"),
    [("import sys\nsys.exit(7)\n", "called sys.exit(7)"), ("raise KeyboardInterrupt\n", "raised KeyboardInterrupt"),
     ("raise BaseException('odd')\n", "raised BaseException: odd"), ("raise ValueError('bad')\n", "ValueError: bad")],
)
def test_a_provider_module_that_exits_or_raises_at_import_is_one_error(make, setup, monkeypatch, body, shown):
    """A provider module that calls sys.exit(), raises KeyboardInterrupt or a BaseException while
    imported is a one-line ConfigError, never an exit, an "interrupted" or a traceback."""
    (setup.project / "hostile_mod.py").write_text(body)
    monkeypatch.syspath_prepend(str(setup.project))
    sys.modules.pop("hostile_mod", None)
    with pytest.raises(ConfigError) as info:
        make("[notify]\nprovider = 'hostile_mod:Anything'\n").config()
    assert shown in str(info.value) and "\n" not in str(info.value)


def test_a_provider_class_whose_constructor_exits_is_one_error(make, setup, monkeypatch):
    """sys.exit() inside a provider class's __init__ is a ConfigError naming the class."""
    (setup.project / "exiting_cls.py").write_text(
        "import sys\nfrom dotflow.abc.notify import Notify\n\n"
        "class Quits(Notify):\n    def __init__(self):\n        sys.exit(3)\n\n"
        "    def hook_status_task(self, task):\n        pass\n"
    )
    monkeypatch.syspath_prepend(str(setup.project))
    sys.modules.pop("exiting_cls", None)
    with pytest.raises(ConfigError, match=r"Quits\(\) raised SystemExit: 3"):
        make("[notify]\nprovider = 'exiting_cls:Quits'\n").config()


@pytest.mark.parametrize(("env", "lacking"), [({"SERVER_BASE_URL": "https://api.test/v1"}, "SERVER_USER_TOKEN"),
                                             ({"SERVER_USER_TOKEN": "tok-123456"}, "SERVER_BASE_URL")])
def test_half_a_server_is_warned_about(make, caplog, env, lacking):
    """base_url without a token (or the reverse) resolves to no server, with one warning saying which is missing."""
    rp = make(env=env)
    assert rp.server_provider == "none"
    (warning,) = [w for w in rp.warnings if "no status will be reported" in w]
    assert f"set {lacking}" in warning and "tok-123456" not in warning


def test_a_profile_and_python_take_the_same_notification_types(make):
    """notification_type in a profile takes what NotifyDiscord(notification_type=...) takes, and
    a bad one is refused naming the same list."""
    from dotflow.providers import NotifyDiscord

    url = "https://discord.com/api/webhooks/1/abcdefgh"
    rp = make(f"[notify]\nprovider = 'discord'\nwebhook_url = '{url}'\nnotification_type = 'Paused'\n")
    assert rp.config().notify.notification_type == "Paused"
    with pytest.raises(ConfigError) as from_profile:
        make(env={"DOTFLOW_NOTIFY_NOTIFICATION_TYPE": "Done"})
    with pytest.raises(Exception) as from_python:
        NotifyDiscord(url, notification_type="Done")
    for status in ("'Not started'", "'In progress'", "'Completed'", "'Paused'", "'Retry'", "'Failed'"):
        assert status in str(from_python.value)
        assert status.strip("'") in str(from_profile.value)


def test_an_unset_variable_in_a_key_the_chosen_provider_does_not_read_does_no_harm(make):
    """A shared [notify] table with a Telegram token from an unset variable: a profile using
    Discord (or no notifier) resolves; one using Telegram is refused, naming the variable."""
    table = (
        "[notify]\ntoken = '${TG_TOKEN}'\nchat_id = '42'\n"
        "[profiles.discord.notify]\nprovider = 'discord'\nwebhook_url = 'https://discord.com/api/webhooks/1/abcdefgh'\n"
        "[profiles.telegram.notify]\nprovider = 'telegram'\n"
    )
    assert type(make(table, profile="discord").config().notify).__name__ == "NotifyDiscord"
    assert make(table, profile="default").config().is_default("notify")  # no notifier: nothing reads the token
    with pytest.raises(ConfigError, match="TG_TOKEN"):
        make(table, profile="telegram")
