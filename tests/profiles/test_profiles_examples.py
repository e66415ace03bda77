"""Every sample in examples/profiles/ resolves, given the variables its comment asks for."""

from __future__ import annotations

from pathlib import Path

import pytest

from dotflow.errors import ConfigError
from dotflow.profiles import resolve

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"


def run(tmp_path: Path, name: str | None, profile: str | None = None, **env: str):
    base = {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), **env}
    config_path = EXAMPLES / name if name else None
    return resolve(profile, config_path=config_path, env=base, cwd=tmp_path)


def test_examples_every_sample_is_covered():
    """Each sample file has a test below (a new sample needs one)."""
    assert sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in (".toml", ".env")) == [
        "container.env",
        "local.toml",
        "managed.toml",
        "team.toml",
    ]


def test_examples_local(tmp_path):
    """local.toml: file storage in .output next to it, sequential, resume on under a fixed id, no server."""
    rp = run(tmp_path, "local.toml")
    assert (rp.name, rp["storage.provider"], rp["workflow.resume"]) == ("default", "file", True)
    assert rp["storage.path"] == str(EXAMPLES / ".output")
    assert type(rp.config().server).__name__ == "ServerDefault"


def test_examples_local_resume_can_work(tmp_path):
    """local.toml promises resume, so it fixes workflow.id and resolves with no warning."""
    rp = run(tmp_path, "local.toml")
    assert rp["workflow.id"] and rp.warnings == []


def test_examples_team_dev_without_token(tmp_path):
    """team.toml selects dev by default_profile; with no DEV_TOKEN the token stays unset."""
    rp = run(tmp_path, "team.toml")
    assert (rp.name, rp.selected_by) == ("dev", "file:default_profile")
    assert rp["server.user_token"] is None and type(rp.config().server).__name__ == "ServerDefault"


def test_examples_team_dev_with_token(tmp_path):
    """team.toml dev with DEV_TOKEN reports to the local server."""
    rp = run(tmp_path, "team.toml", DEV_TOKEN="dev-t")
    assert rp["server.base_url"] == "http://localhost:8000/api/v1" and rp["server.user_token"] == "dev-t"


def test_examples_team_staging(tmp_path):
    """team.toml staging runs in parallel with STAGING_TOKEN, and says how to fix it when unset."""
    assert run(tmp_path, "team.toml", "staging", STAGING_TOKEN="s")["workflow.mode"] == "parallel"
    with pytest.raises(ConfigError, match="STAGING_TOKEN is not set: export STAGING_TOKEN"):
        run(tmp_path, "team.toml", "staging")


def test_examples_team_prod(tmp_path):
    """team.toml prod: S3 bucket from DATA_BUCKET, float timeout from a string, keep_going on."""
    rp = run(tmp_path, "team.toml", "prod", DATA_BUCKET="acme", PROD_TOKEN="p")
    assert (rp["storage.provider"], rp["storage.bucket"], rp["storage.region"]) == ("s3", "acme", "eu-west-1")
    assert rp["server.timeout"] == 15.0 and rp["workflow.keep_going"] is True


def test_examples_container_env(tmp_path):
    """container.env alone (no file) sets storage, mode, keep_going and an api server."""
    env = {}
    for line in (EXAMPLES / "container.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    rp = run(tmp_path, None, **env)
    assert rp.files == [] and rp.warnings == []
    assert (rp["storage.path"], rp["workflow.mode"], rp["workflow.keep_going"]) == ("/data/dotflow", "parallel", True)
    assert rp["workflow.id"] is None and rp["server.retries"] == 8
    assert type(rp.config().server).__name__ == "ServerAPI"


def test_examples_managed(tmp_path):
    """managed.toml with the runner's variables: managed profile, S3 under the workflow id."""
    rp = run(
        tmp_path,
        "managed.toml",
        SERVER_BASE_URL="https://example.com/api/v1",
        SERVER_USER_TOKEN="t",
        WORKFLOW_ID="wf-42",
        RESULTS_BUCKET="runs",
    )
    assert (rp.name, rp.selected_by, rp["server.provider"]) == ("managed", "env:WORKFLOW_ID", "api")
    assert (rp["storage.bucket"], rp["storage.prefix"], rp["workflow.id"]) == ("runs", "managed/wf-42/", "wf-42")


def test_examples_managed_missing_server_variables(tmp_path):
    """managed.toml with only WORKFLOW_ID fails naming every missing variable."""
    with pytest.raises(ConfigError, match="SERVER_BASE_URL.*SERVER_USER_TOKEN.*--profile default"):
        run(tmp_path, "managed.toml", WORKFLOW_ID="wf-42", RESULTS_BUCKET="runs")
