"""The Python API: ResolvedProfile, as_dict's documented shape, config() and workflow options."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

import dotflow.profiles
from dotflow.config import Config
from dotflow.errors import ConfigError
from dotflow.profiles import KEYS, Setting, resolve
from dotflow.profiles.schema import flag_of

TABLE = [
    "server.provider",
    "server.base_url",
    "server.user_token",
    "server.timeout",
    "server.flush_timeout",
    "server.signal_flush_timeout",
    "server.retries",
    "server.backoff_max",
    "server.max_connections",
    "server.queue_size",
    "server.create_workflow",
    "server.protocol",
    "server.heartbeat_interval",
    "server.log_buffer",
    "storage.provider",
    "storage.path",
    "storage.bucket",
    "storage.prefix",
    "storage.region",
    "storage.endpoint_url",
    "storage.project",
    "workflow.id",
    "workflow.name",
    "workflow.mode",
    "workflow.keep_going",
    "workflow.resume",
    "workflow.on_input_change",
    "workflow.executor",
    "workflow.max_workers",
    "notify.provider",
    "notify.token",
    "notify.chat_id",
    "notify.base_url",
    "notify.webhook_url",
    "notify.urls",
    "notify.notification_type",
    "notify.show_result",
    "log.provider",
    "log.level",
    "log.output",
    "log.path",
    "log.format",
    "log.dsn",
    "tracer.provider",
    "tracer.service_name",
    "tracer.dsn",
    "metrics.provider",
    "metrics.service_name",
]


def test_api_all_is_sorted_and_complete():
    """__all__ is sorted and every name in it exists."""
    assert dotflow.profiles.__all__ == sorted(dotflow.profiles.__all__)
    for name in dotflow.profiles.__all__:
        assert hasattr(dotflow.profiles, name)


def test_api_keys_follow_the_table():
    """KEYS holds the documented keys, in table order, with their defaults."""
    assert [key.dotted for key in KEYS] == TABLE
    defaults = {key.dotted: key.default for key in KEYS}
    assert defaults["server.timeout"] == 15.0 and defaults["server.flush_timeout"] == 10.0
    assert defaults["server.retries"] == 5 and defaults["server.backoff_max"] == 30.0
    assert defaults["server.signal_flush_timeout"] == 5.0
    assert defaults["server.max_connections"] == 4 and defaults["server.queue_size"] == 10_000
    assert defaults["storage.prefix"] == "dotflow/" and defaults["storage.path"] == ".output"
    assert [key.dotted for key in KEYS if key.secret] == [
        "server.user_token", "notify.token", "notify.webhook_url", "notify.urls", "log.dsn", "tracer.dsn"
    ]


def test_api_settings_every_key_in_table_order(make):
    """rp.settings holds every key, in table order, as Setting objects."""
    rp = make()
    assert list(rp.settings) == TABLE
    assert all(isinstance(setting, Setting) for setting in rp.settings.values())
    assert rp.settings["server.user_token"].secret is True


def test_api_as_dict_documented_shape(make, setup, managed_env):
    """as_dict() is the `profile show --json` object: profile, selected_by, files, settings."""
    path = setup.write_project("[workflow]\nx_a = 1\nmode = 'parallel'\n")
    data = make(env=managed_env).as_dict()
    assert list(data) == ["profile", "selected_by", "files", "settings"]
    assert data["profile"] == "managed" and data["selected_by"] == "env:WORKFLOW_ID"
    assert data["files"] == [str(path)]
    assert list(data["settings"]) == TABLE
    assert data["settings"]["server.provider"] == {"value": "api", "source": "profile:managed"}
    assert data["settings"]["server.base_url"] == {
        "value": "https://example.com/api/v1",
        "source": "env:SERVER_BASE_URL",
    }
    assert data["settings"]["server.user_token"] == {"value": "***", "source": "env:SERVER_USER_TOKEN", "secret": True}
    assert data["settings"]["workflow.mode"] == {"value": "parallel", "source": f"file:{path}:3"}
    assert data["settings"]["storage.path"] == {"value": ".output", "source": "default"}
    assert data["settings"]["storage.bucket"] == {"value": None, "source": "default"}
    json.dumps(data)


def test_api_unset_secret_is_null(make):
    """An unset token is null, not '***'."""
    assert make().as_dict()["settings"]["server.user_token"]["value"] is None


def test_api_getitem_and_source(make):
    """rp[key] is the value and rp.source(key) is its source."""
    rp = make(env={"DOTFLOW_SERVER_RETRIES": "2"})
    assert rp["server.retries"] == 2 and rp.source("server.retries") == "env:DOTFLOW_SERVER_RETRIES"


def test_api_workflow_options(make):
    """workflow_options() returns mode, keep_going, resume, on_input_change, executor and max_workers."""
    rp = make(overrides={"workflow.keep_going": True, "workflow.resume": "yes"})
    assert rp.workflow_options() == {
        "mode": "sequential",
        "keep_going": True,
        "resume": True,
        "on_input_change": "reuse",
        "executor": "thread",
        "max_workers": None,
    }
    rp = make(overrides={"workflow.executor": "process", "workflow.max_workers": "3"})
    assert (rp.workflow_options()["executor"], rp.workflow_options()["max_workers"]) == ("process", 3)


@pytest.mark.parametrize(
    ("dotted", "flag"),
    [
        ("storage.provider", "--storage"),
        ("storage.path", "--path"),
        ("workflow.mode", "--mode"),
        ("workflow.id", "--workflow-id"),
        ("workflow.keep_going", "--keep-going"),
        ("workflow.resume", "--resume"),
        ("workflow.executor", "--executor"),
        ("workflow.max_workers", "--max-workers"),
        ("server.base_url", "--server-base-url"),
        ("server.flush_timeout", "--server-flush-timeout"),
    ],
)
def test_api_override_sources_name_the_flag(dotted, flag):
    """Each override's source is flag:--<flag> from the documented table."""
    assert flag_of(dotted) == flag


def test_api_override_source_recorded(make):
    """An override's Setting carries its flag source."""
    rp = make(overrides={"workflow.id": "w-1", "server.retries": 0})
    assert rp.settings["workflow.id"].source == "flag:--workflow-id"
    assert rp.settings["server.retries"].source == "flag:--server-retries" and rp["server.retries"] == 0


def test_api_resolve_by_name_is_flag(make):
    """resolve('prod') selects prod as a flag would."""
    rp = make("[profiles.prod]\n", profile="prod")
    assert (rp.name, rp.selected_by) == ("prod", "flag")


def test_api_plain_defaults_config(make):
    """With no file and no variable, config() is the in-memory storage and the no-op server."""
    from dotflow.providers.server_default import ServerDefault
    from dotflow.providers.storage_default import StorageDefault

    config = make().config()
    assert isinstance(config, Config)
    assert isinstance(config.storage, StorageDefault) and isinstance(config.server, ServerDefault)


def test_api_config_file_storage(make, setup):
    """storage.provider=file builds StorageFile at storage.path."""
    from dotflow.providers.storage_file import StorageFile

    config = make(env={"DOTFLOW_STORAGE_PROVIDER": "file", "DOTFLOW_STORAGE_PATH": str(setup.root / "out")}).config()
    assert isinstance(config.storage, StorageFile) and str(config.storage.path) == str(setup.root / "out")


def test_api_config_auto_server_is_api_with_url_and_token(make):
    """auto becomes ServerAPI when base_url and user_token are both set, with the tuning values."""
    from dotflow.providers.server_api import ServerAPI

    rp = make(
        env={"SERVER_BASE_URL": "http://127.0.0.1:9/api", "SERVER_USER_TOKEN": "t", "DOTFLOW_SERVER_RETRIES": "0"}
    )
    assert rp["server.provider"] == "auto"
    server = rp.config().server
    assert isinstance(server, ServerAPI)
    assert server.options.retries == 0


def test_api_config_auto_server_is_none_with_url_only(make):
    """auto stays the no-op server when the token is missing."""
    from dotflow.providers.server_default import ServerDefault

    assert isinstance(make(env={"SERVER_BASE_URL": "http://127.0.0.1:9"}).config().server, ServerDefault)


def test_api_config_api_needs_url(make):
    """provider=api without base_url is a ConfigError naming the key and variables."""
    rp = make(env={"DOTFLOW_SERVER_PROVIDER": "api", "SERVER_USER_TOKEN": "t"})
    with pytest.raises(ConfigError, match="server.base_url is not set; set DOTFLOW_SERVER_BASE_URL or SERVER_BASE_URL"):
        rp.config()


@pytest.mark.parametrize("provider", ["s3", "gcs"])
def test_api_config_bucket_required(make, provider):
    """s3 and gcs need storage.bucket; the error names the key and DOTFLOW_STORAGE_BUCKET."""
    rp = make(env={"DOTFLOW_STORAGE_PROVIDER": provider})
    with pytest.raises(ConfigError, match=r"storage\.bucket is not set.*DOTFLOW_STORAGE_BUCKET"):
        rp.config()


def test_api_config_s3(make):
    """storage.provider=s3 builds StorageS3 with bucket, prefix, region and endpoint."""
    pytest.importorskip("boto3")
    rp = make(
        env={
            "DOTFLOW_STORAGE_PROVIDER": "s3",
            "DOTFLOW_STORAGE_BUCKET": "b",
            "DOTFLOW_STORAGE_REGION": "us-east-1",
            "DOTFLOW_STORAGE_ENDPOINT_URL": "http://127.0.0.1:9",
            "DOTFLOW_STORAGE_PREFIX": "runs/",
        }
    )
    storage = rp.config().storage
    assert (storage.bucket, storage.prefix, storage.region, storage.endpoint_url) == (
        "b",
        "runs/",
        "us-east-1",
        "http://127.0.0.1:9",
    )


@pytest.fixture
def plugins(tmp_path, monkeypatch):
    """A package `profplug` on sys.path holding good and bad provider classes."""
    package = tmp_path / "plugins" / "profplug"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "prov.py").write_text(
        textwrap.dedent(
            """\
            from dotflow.providers.storage_default import StorageDefault
            from dotflow.providers.server_default import ServerDefault

            class MyStorage(StorageDefault):
                pass

            class MyServer(ServerDefault):
                pass

            class NotAStorage:
                pass

            class Broken(StorageDefault):
                def __init__(self):
                    raise RuntimeError("no\\nway")

            def make_storage():
                return 42
            """
        )
    )
    (package / "boom.py").write_text("raise ValueError('import exploded')\n")
    monkeypatch.syspath_prepend(str(tmp_path / "plugins"))
    yield "profplug"
    for name in [m for m in sys.modules if m.startswith("profplug")]:
        del sys.modules[name]


def test_api_config_plugin_classes(make, plugins):
    """pkg.mod:Class providers are imported and instantiated with no arguments."""
    rp = make(
        env={"DOTFLOW_STORAGE_PROVIDER": "profplug.prov:MyStorage", "DOTFLOW_SERVER_PROVIDER": "profplug.prov:MyServer"}
    )
    config = rp.config()
    assert type(config.storage).__name__ == "MyStorage" and type(config.server).__name__ == "MyServer"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("profplug.nope:X", "storage.provider 'profplug.nope:X': cannot import 'profplug.nope': ModuleNotFoundError"),
        (
            "profplug.boom:X",
            "storage.provider 'profplug.boom:X': importing 'profplug.boom' raised ValueError: import exploded",
        ),
        (
            "profplug.prov:Missing",
            "storage.provider 'profplug.prov:Missing': 'profplug.prov' has no attribute 'Missing'",
        ),
        ("profplug.prov:NotAStorage", "NotAStorage is not a subclass of dotflow.abc.storage.Storage"),
        ("profplug.prov:Broken", "storage.provider 'profplug.prov:Broken': Broken() raised RuntimeError: no way"),
        ("profplug.prov:make_storage", "make_storage is not a class (it is a function); name a subclass of"),
    ],
)
def test_api_config_plugin_failures(make, plugins, spec, expected):
    """Each way a plugin can fail has its own one-line ConfigError."""
    rp = make(env={"DOTFLOW_STORAGE_PROVIDER": spec})
    with pytest.raises(ConfigError) as info:
        rp.config()
    assert expected in str(info.value) and "\n" not in str(info.value)


def test_api_plugin_string_checked_before_import():
    """A malformed import string is refused before anything is imported."""
    from dotflow.abc.storage import Storage
    from dotflow.profiles.build import plugin

    for spec in ("os.system", "a b:C", "pkg.mod:", ":C", "pkg..mod:C", "1pkg:C"):
        with pytest.raises(ConfigError, match="is not an import string"):
            plugin("storage.provider", spec, Storage)


def test_api_config_from_profile(make, setup):
    """Config.from_profile(name, **options) is resolve(name, **options).config()."""
    from dotflow.providers.storage_file import StorageFile

    setup.write_project("[profiles.disk.storage]\nprovider = 'file'\npath = 'data'\n")
    config = Config.from_profile("disk", env=setup.env(), cwd=setup.project)
    assert isinstance(config.storage, StorageFile)


def test_api_import_is_cheap_and_reads_nothing():
    """import dotflow.profiles imports no TOML parser, platformdirs, difflib, requests or provider
    (only ServerAPI's settings, which the schema shares)."""
    code = (
        "import sys, dotflow.profiles\n"
        "shared = ('dotflow.providers', 'dotflow.providers.server_api', 'dotflow.providers.server_api.options')\n"
        "heavy = [m for m in ('tomllib', 'tomli', 'platformdirs', 'difflib', 'logging', 'requests')"
        " if m in sys.modules]\n"
        "heavy += [m for m in sys.modules if m.startswith('dotflow.providers') and m not in shared]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_api_resolve_defaults_to_os_environ_and_cwd(setup, monkeypatch):
    """Without env= and cwd=, resolve reads os.environ and the current folder."""
    setup.write_project("[workflow]\nname = 'here'\n")
    monkeypatch.chdir(setup.project)
    rp = resolve(config_path=setup.project / "dotflow.toml")
    assert rp["workflow.name"] == "here"


def test_api_resume_without_fixed_id_warns_when_the_run_starts(make, caplog, tmp_path, monkeypatch):
    """workflow.resume with no workflow.id: the profile is fine (a --workflow factory may give its
    own id), and the first run of a workflow whose id was generated warns that it cannot find
    earlier checkpoints; its second run (which can) and a workflow with a fixed id do not."""
    import logging

    import dotflow.execution.checkpoints
    from dotflow import DotFlow, action

    monkeypatch.setattr(dotflow.execution.checkpoints, "_WARNED", set())  # once per process: this test must see its own

    rp = make(f"[storage]\nprovider = 'file'\npath = '{tmp_path}'\n[workflow]\nresume = true\n")
    assert rp.warnings == []

    @action
    def step():
        return 1

    with caplog.at_level(logging.WARNING, logger="dotflow"):
        generated = DotFlow(profile=rp)
        generated.task.add(step=step)
        generated.start()
        generated.start()  # the same object again: the first run's checkpoints are there to find
        fixed = DotFlow(profile=rp, workflow_id="mine")
        fixed.task.add(step=step)
        fixed.start()
    warned = [r.getMessage() for r in caplog.records if "generated for this run" in r.getMessage()]
    assert len(warned) == 1 and generated.workflow_id in warned[0] and "--workflow-id" in warned[0]


def test_api_a_folder_for_memory_storage_warns(make):
    """storage.path set (a flag, a variable, a file) while the storage is memory: one warning that
    names where the path came from and how to use it; with file storage, none."""
    rp = make(env={"DOTFLOW_STORAGE_PATH": "here"})
    assert len(rp.warnings) == 1
    assert "storage.path is set (from env:DOTFLOW_STORAGE_PATH)" in rp.warnings[0]
    assert "storage.provider to 'file'" in rp.warnings[0]
    assert make(env={"DOTFLOW_STORAGE_PATH": "here", "DOTFLOW_STORAGE_PROVIDER": "file"}).warnings == []


def test_api_resume_with_memory_storage_warns(make):
    """workflow.resume with memory storage warns even with a fixed id."""
    rp = make(env={"DOTFLOW_WORKFLOW_RESUME": "on", "DOTFLOW_WORKFLOW_ID": "w"})
    assert len(rp.warnings) == 1 and "storage.provider is 'memory'" in rp.warnings[0]


def test_api_resume_with_id_and_file_storage_does_not_warn(make):
    """workflow.resume with a fixed id and file storage is the working setup: no warning."""
    rp = make("[storage]\nprovider = 'file'\n[workflow]\nresume = true\nid = 'w'\n")
    assert rp.warnings == []


def test_api_relative_storage_path_from_a_file_is_relative_to_that_file(make, setup):
    """A relative storage.path in the project file resolves against the file's folder, from any subfolder."""
    sub = setup.project / "src" / "pkg"
    sub.mkdir(parents=True)
    rp = make("[storage]\nprovider = 'file'\npath = 'out/../results'\n", cwd=sub)
    assert rp["storage.path"] == str(setup.project / "results")
    assert str(rp.config().storage.path) == str(setup.project / "results")  # type: ignore[attr-defined]


def test_api_relative_storage_path_from_the_user_file_is_relative_to_it(make, setup):
    """A relative storage.path in the user file resolves against the user config folder."""
    rp = make(user="[storage]\npath = 'out'\n")
    assert rp["storage.path"] == str(setup.xdg / "dotflow" / "out")


def test_api_absolute_storage_path_from_a_file_is_kept(make, setup):
    """An absolute storage.path in a file is used as written."""
    rp = make(f"[storage]\npath = '{setup.root / 'abs'}'\n")
    assert rp["storage.path"] == str(setup.root / "abs")


def test_api_relative_storage_path_from_env_or_flag_stays_relative(make):
    """A relative storage.path from the environment or a flag stays relative to the current folder."""
    assert make("[storage]\npath = 'f'\n", env={"DOTFLOW_STORAGE_PATH": "e"})["storage.path"] == "e"
    assert make("[storage]\npath = 'f'\n", overrides={"storage.path": "g"})["storage.path"] == "g"


DEV_WITH_UNSET_TOKEN = """
default_profile = "dev"

[profiles.dev.server]
base_url = "http://localhost:8000/api/v1"
user_token = "${DEV_TOKEN}"

[profiles.dev.storage]
provider = "file"
path = "out"
"""


def test_api_sections_leave_out_what_the_caller_does_not_read(setup):
    """resolve(sections=("storage", "workflow")) resolves a profile whose server token variable is
    unset: the storage is read, the unreadable token stays at the layer below (unset), and no
    warning speaks of the server. Without sections the same profile is the one ConfigError."""
    setup.write_project(DEV_WITH_UNSET_TOKEN)
    resolved = setup.resolve(sections=("storage", "workflow"))
    assert resolved.sections == ("storage", "workflow")
    assert resolved["storage.provider"] == "file" and resolved["storage.path"] == str(setup.project / "out")
    assert resolved["server.user_token"] is None
    assert not [warning for warning in resolved.warnings if "server" in warning]
    with pytest.raises(ConfigError, match=r"user_token: variable DEV_TOKEN is not set"):
        setup.resolve()


def test_api_sections_keep_their_own_checks(setup):
    """A mistake inside a section asked for is still the ConfigError."""
    setup.write_project(DEV_WITH_UNSET_TOKEN + '\n[profiles.dev.workflow]\nmode = "nope"\n')
    with pytest.raises(ConfigError, match=r"\[profiles.dev.workflow\] mode"):
        setup.resolve(sections=("storage", "workflow"))


def test_api_sections_leave_out_the_managed_server_requirements(setup):
    """Under WORKFLOW_ID alone (the managed profile, no server variables) the storage and workflow
    resolve; the server keys it requires are required only when the server is asked for."""
    resolved = setup.resolve(env={"WORKFLOW_ID": "wf-1"}, sections=("storage", "workflow"))
    assert resolved.name == "managed" and resolved["workflow.id"] == "wf-1"
    with pytest.raises(ConfigError, match="needs server.base_url"):
        setup.resolve(env={"WORKFLOW_ID": "wf-1"})


def test_api_a_profile_resolved_for_some_sections_builds_no_config(setup):
    """config() on a profile resolved for some sections is a UsageError: its other values were not
    checked. An unknown section name is a UsageError listing the sections."""
    from dotflow.errors import UsageError

    with pytest.raises(UsageError, match="resolved for its storage tables only"):
        setup.resolve(sections=("storage",)).config()
    with pytest.raises(UsageError, match="no section is named 'strage'; use some of: server, storage"):
        setup.resolve(sections=("strage",))


def test_a_refused_token_from_the_file_is_traced_to_its_line(make, setup, caplog):
    """A token written ``${DEV_TOKEN}`` in dotflow.toml and refused with 401: the warning sends the reader to
    that file line, not to SERVER_USER_TOKEN, which the user never set."""
    import logging

    from fault_server import FaultServer

    with FaultServer("unauthorized") as backend:
        project = f"[server]\nbase_url = '{backend.url}'\nuser_token = '${{DEV_TOKEN}}'\nflush_timeout = 5\n"
        server = make(project, env={"DEV_TOKEN": "tok-from-the-shell"}).config().server
        caplog.set_level(logging.WARNING, logger="dotflow.server")
        server.update_workflow(workflow="wf-1", status="In progress")
        server.flush()
    (refused,) = [r.getMessage() for r in caplog.records if "was rejected with HTTP 401" in r.getMessage()]
    assert f"check server.user_token (from file:{setup.project / 'dotflow.toml'}:3)" in refused, refused
    assert "SERVER_USER_TOKEN" not in refused and "tok-from-the-shell" not in refused


def test_a_refused_token_from_a_variable_names_that_variable(make, caplog):
    """The same refusal for a token from DOTFLOW_SERVER_USER_TOKEN names that variable."""
    import logging

    from fault_server import FaultServer

    with FaultServer("unauthorized") as backend:
        env = {"DOTFLOW_SERVER_BASE_URL": backend.url, "DOTFLOW_SERVER_USER_TOKEN": "tok-x1y2z3"}
        server = make(env=env).config().server
        caplog.set_level(logging.WARNING, logger="dotflow.server")
        server.update_workflow(workflow="wf-1", status="In progress")
        server.flush()
    (refused,) = [r.getMessage() for r in caplog.records if "was rejected with HTTP 401" in r.getMessage()]
    assert "the token was refused: check DOTFLOW_SERVER_USER_TOKEN;" in refused, refused


def _run_two_tasks(flow):
    from dotflow import action

    @action
    def step():
        return 1

    flow.task.add(step=step)
    flow.task.add(step=step)
    flow.start()
    flow.flush()


def test_create_workflow_always_announces_a_fixed_id(make):
    """A profile with a fixed workflow.id (a developer's backend, not a managed runner's) and
    server.create_workflow = "always": POST /workflows goes first, then the tasks (was: never sent,
    so the backend got tasks of a workflow it was never told about)."""
    from fault_server import FaultServer

    from dotflow import DotFlow

    with FaultServer("nodelay") as backend:
        project = (f"[workflow]\nid = 'nightly-7'\n[server]\nbase_url = '{backend.url}'\n"
                   "user_token = 'tok-abc123'\ncreate_workflow = 'always'\n")
        resolved = make(project)
        assert resolved["server.create_workflow"] == "always"
        _run_two_tasks(DotFlow(profile=resolved))
        requests = [(r.method, r.route) for r in backend.requests()]
    assert backend.created_workflows() == ["nightly-7"] and requests[0] == ("POST", "workflows")
    assert sorted(backend.final_statuses("nightly-7").values()) == ["Completed", "Completed"]


@pytest.mark.parametrize(("value", "fixed", "posted"), [("auto", False, True), ("auto", True, False),
                                                        ("never", False, False), ("always", True, True)])
def test_create_workflow_from_the_environment(make, value, fixed, posted):
    """DOTFLOW_SERVER_CREATE_WORKFLOW: auto posts only for a generated id (today's rule), never posts
    for none, always for every one; the tasks are reported either way."""
    from fault_server import FaultServer

    from dotflow import DotFlow

    with FaultServer("nodelay") as backend:
        env = {"DOTFLOW_SERVER_BASE_URL": backend.url, "DOTFLOW_SERVER_USER_TOKEN": "tok-abc123",
               "DOTFLOW_SERVER_CREATE_WORKFLOW": value}
        if fixed:
            env["DOTFLOW_WORKFLOW_ID"] = "fixed-1"
        resolved = make(env=env)
        assert resolved.source("server.create_workflow") == "env:DOTFLOW_SERVER_CREATE_WORKFLOW"
        flow = DotFlow(profile=resolved)
        _run_two_tasks(flow)
    assert backend.created_workflows() == ([flow.workflow_id] if posted else [])
    assert len(backend.final_statuses(flow.workflow_id)) == 2


def test_create_workflow_is_a_serverapi_keyword():
    """ServerAPI(create_workflow=...) takes the same three values, and says which on a bad one."""
    from dotflow.providers.server_api import ServerAPI

    assert ServerAPI("https://api.test/v1", "tok-abc123", create_workflow="always").should_create_workflow(False)
    assert not ServerAPI("https://api.test/v1", "tok-abc123", create_workflow="never").should_create_workflow(True)
    assert ServerAPI("https://api.test/v1", "tok-abc123").should_create_workflow(True)
    with pytest.raises(ConfigError, match="create_workflow 'sometimes' is not one of auto, always, never"):
        ServerAPI("https://api.test/v1", "tok-abc123", create_workflow="sometimes")
