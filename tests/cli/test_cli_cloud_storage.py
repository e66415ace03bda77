"""`dotflow start` with S3 and GCS storage chosen by environment variables alone, against moto's
server and the GCS emulator on 127.0.0.1: results land in the bucket, and a second process resumes."""

from __future__ import annotations

from typing import Any

import pytest


def _twice(run_cli, env: dict[str, str], workflow_id: str):
    args = ("start", "--step", "steps.ok", "--initial-context", "[1, 2]", "--workflow-id", workflow_id, "--resume")
    return run_cli(*args, env=env), run_cli(*args, env=env)


def _assert_resumed(first, second) -> None:
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "ok got [1, 2]" in first.stdout
    assert "ok got" not in second.stdout and "resumed from the checkpoint" in second.stderr


def test_s3_storage_from_env_resumes_across_processes(run_cli, moto_endpoint: str, s3_client: Any, s3_bucket: str):
    """DOTFLOW_STORAGE_PROVIDER=s3 with a bucket and endpoint: the checkpoint is an object in
    the bucket, and the second process skips the step."""
    env = {
        "DOTFLOW_STORAGE_PROVIDER": "s3",
        "DOTFLOW_STORAGE_BUCKET": s3_bucket,
        "DOTFLOW_STORAGE_ENDPOINT_URL": moto_endpoint,
        "DOTFLOW_STORAGE_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    first, second = _twice(run_cli, env, "wf-s3")
    _assert_resumed(first, second)
    names = [o["Key"] for o in s3_client.list_objects_v2(Bucket=s3_bucket).get("Contents", [])]
    assert any(name.startswith("dotflow/wf-s3-0-") for name in names)


def test_gcs_storage_from_env_resumes_across_processes(
    run_cli, gcs_endpoint: str, gcs_client: Any, gcs_bucket: str
):
    """DOTFLOW_STORAGE_PROVIDER=gcs against the emulator (STORAGE_EMULATOR_HOST): the checkpoint
    is a blob in the bucket, and the second process skips the step."""
    env = {
        "DOTFLOW_STORAGE_PROVIDER": "gcs",
        "DOTFLOW_STORAGE_BUCKET": gcs_bucket,
        "DOTFLOW_STORAGE_PROJECT": "dotflow-test",
        "STORAGE_EMULATOR_HOST": gcs_endpoint,
    }
    first, second = _twice(run_cli, env, "wf-gcs")
    _assert_resumed(first, second)
    names = [blob.name for blob in gcs_client.list_blobs(gcs_bucket)]
    assert any(name.startswith("dotflow/wf-gcs-0-") for name in names)


def test_s3_without_a_bucket_is_a_config_error(run_cli):
    """DOTFLOW_STORAGE_PROVIDER=s3 with no bucket: exit 2 naming the variable to set."""
    result = run_cli("start", "--step", "steps.ok", env={"DOTFLOW_STORAGE_PROVIDER": "s3"})
    assert result.returncode == 2
    assert "DOTFLOW_STORAGE_BUCKET" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize("provider", ["s3", "gcs"])
def test_cloud_storage_pip_line_when_the_sdk_is_missing(run_cli, project, provider: str):
    """Without the SDK, choosing s3 or gcs fails with one line giving the pip install command."""
    blocker = project / "sitecustomize.py"  # runs at start-up in the child: hide the SDK
    blocker.write_text(
        "import sys\nsys.modules['boto3'] = None\nsys.modules['google.cloud.storage'] = None\n"
    )
    env = {"DOTFLOW_STORAGE_PROVIDER": provider, "DOTFLOW_STORAGE_BUCKET": "b", "PYTHONPATH": str(project)}
    result = run_cli("start", "--step", "steps.ok", env=env)
    assert result.returncode == 2, result.stderr
    assert f"pip install 'dotflow[{provider}]'" in result.stderr
