"""``dotflow profile list|show|check|init`` through the real console script, and in-process."""

from __future__ import annotations

import json
import re

import pytest

from dotflow.cli.app import run
from dotflow.profiles import KEYS

TOKEN = "tok-77aa-PROFILE-SECRET"

PROJECT_FILE = """\
default_profile = "dev"

[storage]
provider = "file"
path = "out"

[profiles.dev.workflow]
mode = "parallel"

[profiles.prod.server]
base_url = "https://api.example.com/v1"
user_token = "${PROD_TOKEN}"
"""


@pytest.fixture
def with_file(project):
    (project / "dotflow.toml").write_text(PROJECT_FILE)
    return project / "dotflow.toml"


def _no_secret(result) -> None:
    assert TOKEN not in result.stdout and TOKEN not in result.stderr


def test_list_marks_the_selected_profile(run_cli, with_file):
    """`profile list` names every profile with where it is defined, and marks the selected one."""
    result = run_cli("profile", "list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.match(r"\* dev\s+.*dotflow\.toml:7", line) for line in lines)
    assert any(re.match(r"  prod\s+.*dotflow\.toml:10", line) for line in lines)
    assert any(re.match(r"  managed\s+built-in", line) for line in lines)
    assert "selected: dev (by file:default_profile)" in result.stdout


def test_show_table_gives_value_and_source(run_cli, with_file):
    """`profile show` prints an aligned table with each key's value and source."""
    result = run_cli("profile", "show", env={"DOTFLOW_STORAGE_PATH": "elsewhere"})
    assert result.returncode == 0, result.stderr
    assert re.search(r"workflow\.mode\s+parallel\s+file:.*dotflow\.toml:8", result.stdout)
    assert re.search(r"storage\.path\s+elsewhere\s+env:DOTFLOW_STORAGE_PATH", result.stdout)
    assert re.search(r"storage\.prefix\s+dotflow/\s+default", result.stdout)


def test_show_json_has_the_documented_shape(run_cli, with_file):
    """`profile show --json` prints one object with profile, selected_by, files and every key."""
    result = run_cli("profile", "show", "prod", "--json", env={"PROD_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"profile", "selected_by", "files", "settings"}
    assert data["profile"] == "prod" and data["selected_by"] == "argument"
    assert data["files"] == [str(with_file)]
    assert list(data["settings"]) == [key.dotted for key in KEYS]
    token = data["settings"]["server.user_token"]
    assert token == {"value": "***", "source": f"file:{with_file}:12", "secret": True}
    assert data["settings"]["storage.bucket"] == {"value": None, "source": "default"}
    _no_secret(result)


def test_show_secrets_reveals_the_token_only_when_asked(run_cli, with_file):
    """--show-secrets prints the token; without it, no output holds it."""
    shown = run_cli("profile", "show", "prod", "--show-secrets", env={"PROD_TOKEN": TOKEN})
    assert TOKEN in shown.stdout
    hidden = run_cli("profile", "show", "prod", env={"PROD_TOKEN": TOKEN})
    _no_secret(hidden)


def test_unknown_profile_lists_known_ones(run_cli, with_file):
    """An unknown profile name: exit 2, one line listing the profiles that exist."""
    result = run_cli("profile", "show", "prdo")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "default, dev, managed, prod" in result.stderr and "did you mean 'prod'" in result.stderr


def test_unset_variable_is_reported_with_file_and_line(run_cli, with_file):
    """A profile using an unset variable: exit 2 naming file:line, table, key and variable."""
    result = run_cli("profile", "check", "prod")
    assert result.returncode == 2
    assert f"{with_file}:12 [profiles.prod.server] user_token: variable PROD_TOKEN is not set" in result.stderr


def test_unknown_key_gets_did_you_mean(run_cli, project):
    """A misspelt key: exit 2 with file:line and a did-you-mean."""
    (project / "dotflow.toml").write_text('[server]\nbase_ulr = "http://x"\n')
    result = run_cli("profile", "check")
    assert result.returncode == 2
    assert "dotflow.toml:2: unknown key 'server.base_ulr'; did you mean 'server.base_url'?" in result.stderr


def test_toml_syntax_error_has_line_and_column(run_cli, project):
    """Broken TOML: exit 2 with file, line and column, no traceback."""
    (project / "dotflow.toml").write_text("[server]\ntimeout = = 3\n")
    result = run_cli("profile", "show")
    assert result.returncode == 2
    assert re.search(r"dotflow\.toml:2:\d+: invalid TOML", result.stderr)
    assert "Traceback" not in result.stderr


def test_check_valid_profile_exits_0(run_cli, with_file):
    """`profile check` on a valid profile builds its providers and exits 0."""
    result = run_cli("profile", "check")
    assert result.returncode == 0, result.stderr
    assert "profile 'dev' is valid" in result.stdout and "StorageFile" in result.stdout


def test_check_ping_ok(run_cli, with_file, httpserver):
    """`check --ping` against a server that accepts the token exits 0."""
    httpserver.expect_request("/api/workflows", headers={"X-User-Token": TOKEN}).respond_with_json([])
    env = {"SERVER_BASE_URL": httpserver.url_for("/api"), "SERVER_USER_TOKEN": TOKEN}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "token was accepted" in result.stdout
    _no_secret(result)


def test_check_ping_refused_token_exits_3(run_cli, with_file, httpserver):
    """`check --ping` when the server answers 401 exits 3 and says the token was refused."""
    httpserver.expect_request("/api/workflows").respond_with_data("no", status=401)
    env = {"SERVER_BASE_URL": httpserver.url_for("/api"), "SERVER_USER_TOKEN": TOKEN}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 3
    assert "refused the token" in result.stderr
    _no_secret(result)


def test_check_ping_unreachable_exits_3_differently(run_cli, with_file):
    """`check --ping` when nothing listens exits 3 and says the server could not be reached."""
    env = {"SERVER_BASE_URL": "http://127.0.0.1:9/api", "SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_TIMEOUT": "2"}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 3
    assert "could not reach the server" in result.stderr
    _no_secret(result)


def test_check_ping_against_a_trickling_server_ends_at_its_timeout(run_cli, with_file):
    """`check --ping` against a server that sends headers and then a byte a second ends within the
    server timeout (was: past 60 s, each read's timeout being met) and exits 3."""
    import time

    from fault_server import FaultServer

    with FaultServer("trickle") as backend:
        env = {"SERVER_BASE_URL": backend.url, "SERVER_USER_TOKEN": TOKEN, "DOTFLOW_SERVER_TIMEOUT": "2"}
        started = time.monotonic()
        result = run_cli("profile", "check", "--ping", env=env, timeout=30)
        elapsed = time.monotonic() - started
    assert result.returncode == 3 and "could not reach the server" in result.stderr, result.stderr
    assert elapsed < 10
    _no_secret(result)


def test_check_ping_without_a_server_still_probes_the_storage(run_cli, with_file, project):
    """`check --ping` on a profile with no server but a file storage: the storage is written, read
    back and cleaned up, the missing server is said (with what to set), and the exit is 0."""
    result = run_cli("profile", "check", "--ping")
    assert result.returncode == 0, result.stderr
    assert "server: none to ping (set server.base_url and server.user_token" in result.stdout
    assert "storage reached: StorageFile" in result.stdout
    assert not list(project.rglob("dotflow-ping-*"))  # the probe entry is gone


def test_check_ping_an_unwritable_storage_exits_3(run_cli, project):
    """A file storage whose path is a file cannot be written: exit 3, one line naming the folder."""
    (project / "taken").write_text("not a folder")
    result = run_cli("profile", "check", "--ping", env={"DOTFLOW_STORAGE_PROVIDER": "file",
                                                         "DOTFLOW_STORAGE_PATH": "taken"})
    assert result.returncode == 3, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: storage: could not write the probe entry") and "taken" in line
    assert "Traceback" not in result.stderr


AWS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def test_check_ping_writes_to_an_s3_bucket(run_cli, moto_endpoint, s3_bucket, s3_client):
    """Against moto's S3 server: a bucket that exists is written, read and cleaned; one that does
    not is exit 3, naming it."""
    env = {"DOTFLOW_STORAGE_PROVIDER": "s3", "DOTFLOW_STORAGE_BUCKET": s3_bucket,
           "DOTFLOW_STORAGE_ENDPOINT_URL": moto_endpoint, **AWS}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "storage reached: StorageS3" in result.stdout
    assert s3_client.list_objects_v2(Bucket=s3_bucket).get("KeyCount") == 0
    missing = run_cli("profile", "check", "--ping", env={**env, "DOTFLOW_STORAGE_BUCKET": "no-such-bucket-here"})
    assert missing.returncode == 3, missing.stderr
    assert "could not write the probe entry" in missing.stderr and "no-such-bucket-here" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_check_ping_checks_a_discord_webhook_without_posting(run_cli, httpserver):
    """A Discord webhook is checked with a GET of its URL (which sends nothing): a known one exits 0,
    an unknown one (404) exits 3; the webhook's secret part is never printed."""
    secret = "w3bh00k-t0k3n"
    httpserver.expect_request(f"/api/webhooks/1/{secret}", method="GET").respond_with_json({"id": "1"})
    httpserver.expect_request(f"/api/webhooks/2/{secret}", method="GET").respond_with_json(
        {"message": "Unknown Webhook", "code": 10015}, status=404)
    env = {"DOTFLOW_NOTIFY_PROVIDER": "discord",
           "DOTFLOW_NOTIFY_WEBHOOK_URL": httpserver.url_for(f"/api/webhooks/1/{secret}")}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "notify reached: Discord accepted the secret (HTTP 200); no message was sent" in result.stdout
    gone = run_cli("profile", "check", "--ping", env={**env, "DOTFLOW_NOTIFY_WEBHOOK_URL":
                                                      httpserver.url_for(f"/api/webhooks/2/{secret}")})
    assert gone.returncode == 3
    assert "Discord refused the notifier's secret (HTTP 404); check notify.token or notify.webhook_url" in gone.stderr
    assert all(request.method == "GET" for request, _ in httpserver.log)
    assert secret not in result.stdout + result.stderr + gone.stdout + gone.stderr


def test_check_ping_reaches_the_telegram_server_the_profile_names(run_cli, httpserver):
    """notify.base_url (DOTFLOW_NOTIFY_BASE_URL) points Telegram at another Bot API server, for
    the run and for --ping: the getMe check goes there, and the token is never printed."""
    token = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"
    httpserver.expect_request(f"/bot{token}/getMe", method="GET").respond_with_json({"ok": True, "result": {}})
    env = {"DOTFLOW_NOTIFY_PROVIDER": "telegram", "DOTFLOW_NOTIFY_TOKEN": token, "DOTFLOW_NOTIFY_CHAT_ID": "42",
           "DOTFLOW_NOTIFY_BASE_URL": httpserver.url_for("")}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "notify reached: Telegram accepted the secret" in result.stdout
    assert [request.path for request, _ in httpserver.log] == [f"/bot{token}/getMe"]
    assert token not in result.stdout + result.stderr


def test_init_writes_a_file_that_resolves_and_never_overwrites(run_cli, project):
    """`profile init` writes a starter dotflow.toml that resolves, and refuses to overwrite it."""
    first = run_cli("profile", "init")
    assert first.returncode == 0, first.stderr
    written = (project / "dotflow.toml").read_text()
    assert written.startswith("# dotflow.toml")
    assert run_cli("profile", "check").returncode == 0
    (project / "dotflow.toml").write_text(written + "# mine\n")
    second = run_cli("profile", "init")
    assert second.returncode == 2 and "already exists" in second.stderr
    assert (project / "dotflow.toml").read_text().endswith("# mine\n")


def test_start_flags_override_the_file(run_cli, with_file, project):
    """`start --storage file --path DIR --mode sequential` override the profile's values."""
    result = run_cli(
        "start", "--step", "steps.ok", "--path", "flagged", "--mode", "sequential", "--workflow-id", "wf-flag"
    )
    assert result.returncode == 0, result.stderr
    stored = sorted(path.name for path in (project / "flagged").glob("*.json"))
    assert len(stored) == 2 and stored[0].startswith("wf-flag-0-") and stored[1] == "wf-flag-inputs.json"


def test_start_resume_flag_skips_completed_steps(run_cli, with_file, project):
    """`start --resume --workflow-id X` twice: the second run takes the step from the checkpoint."""
    args = ("start", "--step", "steps.ok", "--workflow-id", "wf-res", "--resume", "--initial-context", "1")
    first = run_cli(*args)
    second = run_cli(*args)
    assert first.returncode == second.returncode == 0
    assert "ok got 1" in first.stdout and "ok got" not in second.stdout
    assert "resumed from the checkpoint" in second.stderr


def test_in_process_show_json(capsys, with_file, monkeypatch):
    """The same entry point in-process: `profile show --json` prints the selected profile."""
    monkeypatch.chdir(with_file.parent)
    for name in ("WORKFLOW_ID", "DOTFLOW_PROFILE", "DOTFLOW_CONFIG", "SERVER_BASE_URL", "SERVER_USER_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(with_file.parent / "xdg"))
    with pytest.raises(SystemExit) as exit_info:
        run(["profile", "show", "--json"])
    assert exit_info.value.code == 0
    assert json.loads(capsys.readouterr().out)["profile"] == "dev"


def test_in_process_usage_error_exits_2(capsys):
    """In-process, an unknown subcommand exits 2 with one error line."""
    with pytest.raises(SystemExit) as exit_info:
        run(["profile", "nonsense"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_init_template_server_block_reads_the_users_own_variable(run_cli, project):
    """The starter's [server] block, uncommented, takes its URL from DEV_BASE_URL and warns about nothing."""
    assert run_cli("profile", "init").returncode == 0
    path = project / "dotflow.toml"
    text = path.read_text()
    for line in ("[server]", "base_url", "user_token"):
        text = re.sub(rf"^# ({re.escape(line)})", r"\1", text, flags=re.MULTILINE)
    path.write_text(text)
    env = {"DEV_BASE_URL": "http://dev.example/api/v1", "DEV_TOKEN": TOKEN}
    result = run_cli("profile", "show", "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["settings"]["server.base_url"]["value"] == "http://dev.example/api/v1"
    assert result.stderr == ""


def test_check_env_rescues_a_file_value_with_an_unset_variable(run_cli, project):
    """DOTFLOW_SERVER_USER_TOKEN over a file's ${DEV_TOKEN} (unset) makes `profile check` pass."""
    (project / "dotflow.toml").write_text(
        '[server]\nbase_url = "http://localhost:8000/api/v1"\nuser_token = "${DEV_TOKEN}"\n'
    )
    result = run_cli("profile", "check", env={"DOTFLOW_SERVER_USER_TOKEN": TOKEN})
    assert result.returncode == 0, result.stderr
    assert "DEV_TOKEN" not in result.stderr
    _no_secret(result)


def test_list_still_lists_when_the_selected_profile_is_unknown(run_cli, with_file):
    """`DOTFLOW_PROFILE=typo profile list` prints every profile, then warns of the selection error: exit 0."""
    result = run_cli("profile", "list", env={"DOTFLOW_PROFILE": "typo"})
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines() if line.strip()]
    assert names == ["default", "managed", "dev", "prod"]
    assert "*" not in result.stdout
    assert result.stderr.count("\n") == 1 and "unknown profile 'typo' (from DOTFLOW_PROFILE)" in result.stderr


def test_list_still_lists_when_managed_is_incomplete(run_cli, with_file):
    """`WORKFLOW_ID=abc profile list` marks managed, then warns of what it is missing: exit 0 (it listed)."""
    result = run_cli("profile", "list", env={"WORKFLOW_ID": "abc"})
    assert result.returncode == 0
    assert re.search(r"^\* managed\s+built-in", result.stdout, re.MULTILINE)
    assert "selected: managed (by env:WORKFLOW_ID)" in result.stdout
    assert "SERVER_BASE_URL" in result.stderr and "SERVER_USER_TOKEN" in result.stderr


def test_show_says_a_positional_name_selected_the_profile(run_cli, with_file):
    """`profile show prod` says the argument selected it, `--profile prod` the flag (the argument
    was reported as the flag)."""
    by_argument = run_cli("profile", "show", "prod", env={"PROD_TOKEN": TOKEN})
    assert by_argument.stdout.splitlines()[0] == "profile:     prod (selected by argument)", by_argument.stdout
    by_flag = run_cli("profile", "show", "--profile", "prod", env={"PROD_TOKEN": TOKEN})
    assert by_flag.stdout.splitlines()[0] == "profile:     prod (selected by flag)", by_flag.stdout


def test_show_unknown_positional_name_is_not_blamed_on_profile_flag(run_cli, with_file):
    """`profile show nope` does not claim the name came from --profile."""
    result = run_cli("profile", "show", "nope")
    assert result.returncode == 2
    assert "(from the command line or profile=)" in result.stderr and "--profile)" not in result.stderr


def test_start_empty_workflow_id_is_an_error_naming_the_flag(run_cli, with_file):
    """`start --workflow-id ''` is an error naming the flag, like `--path ''`."""
    for flag in ("--workflow-id", "--path"):
        result = run_cli("start", "--step", "steps.ok", flag, "")
        assert result.returncode == 2, flag
        assert result.stderr.startswith(f"error: {flag}: the value is empty"), result.stderr


def test_start_relative_path_from_a_parent_file_is_next_to_that_file(run_cli, project):
    """Run from a subfolder: a file's relative storage.path lands next to the file, not in the cwd."""
    (project.parent / "dotflow.toml").write_text('[storage]\nprovider = "file"\npath = "out"\n')
    result = run_cli("start", "--step", "steps.ok", "--workflow-id", "wf-rel")
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (project.parent / "out").glob("wf-rel*.json"))
    assert not (project / "out").exists()


def test_check_ping_reachable_405_exits_0_with_a_note(run_cli, with_file, httpserver):
    """`check --ping` when the server answers 405 exits 0 and notes that the token could not be checked."""
    httpserver.expect_request("/api/workflows").respond_with_data("no", status=405)
    env = {"SERVER_BASE_URL": httpserver.url_for("/api"), "SERVER_USER_TOKEN": TOKEN}
    result = run_cli("profile", "check", "--ping", env=env)
    assert result.returncode == 0, result.stderr
    assert "server reached (HTTP 405: the server answered; the token could not be checked" in result.stdout
    _no_secret(result)


def test_check_refuses_a_workflow_id_that_start_would_refuse(run_cli, project):
    """A workflow.id with a control character fails `profile check` too, naming the variable."""
    result = run_cli("profile", "check", env={"DOTFLOW_WORKFLOW_ID": "a\tb"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: DOTFLOW_WORKFLOW_ID: 'a\\tb' contains the control character")


@pytest.mark.parametrize("password", ["pa'ss-Wd42x", 'pa"ss-Wd42x', "pa%20ss-Wd42x"])
def test_no_output_shows_a_base_url_password_whatever_it_holds(run_cli, project, httpserver, password):
    """A base_url password holding quotes or an encoded space is masked in `profile show`, `--json`,
    `profile check` (its repr of ServerAPI) and `check --ping`."""
    base = httpserver.url_for("/api").replace("http://", f"http://bob:{password}@")
    httpserver.expect_request("/api/workflows").respond_with_data("", 200)
    env = {"SERVER_BASE_URL": base, "SERVER_USER_TOKEN": TOKEN}
    for args in (("profile", "show"), ("profile", "show", "--json"), ("profile", "check"),
                 ("profile", "check", "--ping")):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        output = result.stdout + result.stderr
        assert password not in output and "bob" not in output and "***@" in output, (args, output)
        _no_secret(result)


def test_a_token_inside_base_url_is_masked_in_every_profile_output(run_cli, project):
    """A token that also sits in base_url's path shows as *** in `profile show`, `--json` and `check`."""
    env = {"SERVER_BASE_URL": f"https://api.example.com/{TOKEN}/v1", "SERVER_USER_TOKEN": TOKEN}
    for args in (("profile", "show"), ("profile", "show", "--json"), ("profile", "check")):
        result = run_cli(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert "https://api.example.com/***/v1" in result.stdout, (args, result.stdout)
        _no_secret(result)


@pytest.mark.parametrize("url", ["https://bob:pa ss-Wd42x@api.example.com/v1",
                                 "https://bob:pa'ss-Wd42x@api .example/v1",
                                 f"https://api.example.com/{TOKEN}/v1?x=1"])
def test_an_invalid_base_url_is_never_echoed_with_its_secrets(run_cli, project, url):
    """An invalid base_url's error (exit 2, one line) shows at most its masked origin: no password, no token."""
    result = run_cli("profile", "show", env={"SERVER_BASE_URL": url, "SERVER_USER_TOKEN": TOKEN})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Wd42x" not in result.stderr and "bob" not in result.stderr
    _no_secret(result)


def test_profile_commands_take_the_profile_flag_too(run_cli, with_file):
    """`profile show --profile prod` and `profile check --profile prod` work like the NAME argument."""
    for args in (("profile", "show", "--profile", "prod"), ("profile", "check", "--profile", "prod")):
        result = run_cli(*args, env={"PROD_TOKEN": TOKEN})
        assert result.returncode == 0, (args, result.stderr)
        assert "prod" in result.stdout
    result = run_cli("profile", "show", "dev", "--profile", "prod", env={"PROD_TOKEN": TOKEN})
    assert result.returncode == 2 and "give the profile once" in result.stderr


def test_check_ping_without_a_token_says_what_is_missing(run_cli, project):
    """`check --ping` with base_url but no token exits 2 naming the token, not telling to set base_url."""
    result = run_cli("profile", "check", "--ping", env={"SERVER_BASE_URL": "https://api.example.com/v1"})
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and "set server.user_token (DOTFLOW_SERVER_USER_TOKEN)" in error
    assert "server.base_url" not in error
    assert "no status will be reported" in result.stderr  # the warning said so first


def test_check_imports_a_project_provider_as_start_does(run_cli, project):
    """A provider class in the project folder is found by `profile check` run from a subfolder."""
    (project / "dotflow.toml").write_text("[storage]\nprovider = 'mystore:Store'\n")
    (project / "mystore.py").write_text(
        "from dotflow.abc.storage import Storage\nfrom dotflow.context import Context\n\n"
        "class Store(Storage):\n    def post(self, key, context):\n        pass\n\n"
        "    def get(self, key):\n        return Context()\n"
    )
    sub = project / "sub"
    sub.mkdir()
    import subprocess

    from cli_support import clean_env, dotflow_exe

    result = subprocess.run([dotflow_exe(), "profile", "check"], cwd=sub, env=clean_env(project),
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Store" in result.stdout


def test_check_names_every_provider_the_profile_chose(run_cli, project):
    """`profile check` lists storage and server, and the notifier, log, tracer or metrics
    provider the profile chose (their secrets masked); the defaults are left out."""
    (project / "dotflow.toml").write_text(
        '[notify]\nprovider = "discord"\nwebhook_url = "https://discord.com/api/webhooks/1/abcdefgh"\n'
        '[log]\noutput = "file"\n'
    )
    result = run_cli("profile", "check")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("profile 'default' is valid: storage StorageDefault(), server ServerDefault(), notify ")
    assert "NotifyDiscord(webhook_url='https://discord.com/api/webhooks/***'" in line and "abcdefgh" not in line
    assert "log LogDefault(" in line and "tracer" not in line and "metrics" not in line
