"""StorageS3 against moto's S3 server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import storage_contract

from dotflow.context import Context
from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers.storage_s3 import StorageS3


@pytest.fixture
def storage(s3_client: Any, s3_bucket: str) -> StorageS3:
    """A StorageS3 on a fresh bucket, with the moto client injected."""
    return StorageS3(s3_bucket, client=s3_client)


def _names(s3_client: Any, bucket: str) -> list[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_round_trip_of_every_json_value(storage: StorageS3) -> None:
    """dict, list, str, int, float, bool, None and nested values come back unchanged."""
    storage_contract.check_round_trip(storage)


def test_missing_key_returns_empty_context(storage: StorageS3) -> None:
    """``get`` of a key never posted returns an empty Context instead of raising NoSuchKey."""
    storage_contract.check_missing_key_is_empty(storage)


def test_overwrite_replaces_value(storage: StorageS3) -> None:
    """Posting twice under one key keeps only the second value."""
    storage_contract.check_overwrite_replaces(storage)


def test_hostile_keys_do_not_collide(storage: StorageS3) -> None:
    """Keys like ``../../etc/passwd``, ``a/b`` and ``a%2Fb`` each keep their own value."""
    storage_contract.check_hostile_keys_are_distinct(storage)


def test_exists_and_delete(storage: StorageS3) -> None:
    """``exists`` sees a stored None result, ``delete`` removes the object, and deleting a missing one is a no-op."""
    storage_contract.check_exists_and_delete(storage)


def test_key_is_workflow_dash_task(storage: StorageS3) -> None:
    """``key(task)`` is ``<workflow_id>-<task_id>``."""
    storage_contract.check_key_format(storage)


def test_hostile_keys_stay_under_prefix(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """Every object a hostile key writes is ``dotflow/<flat name>.json``, with no ``/`` after the prefix."""
    storage_contract.check_names_stay_under_prefix(storage, lambda: _names(s3_client, s3_bucket), "dotflow/")


def test_custom_prefix_is_used_verbatim(s3_client: Any, s3_bucket: str) -> None:
    """With ``prefix="runs/2024/"`` the object for key ``wf-1`` is ``runs/2024/wf-1.json``."""
    storage = StorageS3(s3_bucket, prefix="runs/2024/", client=s3_client)
    storage.post("wf-1", Context({"ok": True}))
    assert _names(s3_client, s3_bucket) == ["runs/2024/wf-1.json"]
    assert storage.get("wf-1").storage == {"ok": True}


def test_stored_object_is_json_document(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """The object body is ``{"storage": <value>}`` with content type application/json."""
    storage.post("doc", Context([1, "two"]))
    obj = s3_client.get_object(Bucket=s3_bucket, Key="dotflow/doc.json")
    assert obj["ContentType"] == "application/json"
    assert json.loads(obj["Body"].read()) == {"storage": [1, "two"]}


def test_builds_client_from_endpoint_url(
    monkeypatch: pytest.MonkeyPatch, moto_endpoint: str, s3_client: Any, s3_bucket: str, tmp_path: Any
) -> None:
    """Without ``client=``, boto3 is built from ``region`` and ``endpoint_url`` and reaches that server."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    storage = StorageS3(s3_bucket, region="us-east-1", endpoint_url=moto_endpoint)
    storage.post("built", Context({"via": "endpoint_url"}))
    assert _names(s3_client, s3_bucket) == ["dotflow/built.json"]
    assert StorageS3(s3_bucket, client=s3_client).get("built").storage == {"via": "endpoint_url"}


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without boto3 the constructor raises MissingExtraError whose message is the pip line."""
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(MissingExtraError) as caught:
        StorageS3("bucket")
    assert str(caught.value) == "StorageS3 needs boto3: pip install 'dotflow[s3]'"
    assert isinstance(caught.value, DotflowError)


def test_injected_client_needs_no_boto3(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``client=`` given, boto3 is never imported, so it need not be installed."""
    monkeypatch.setitem(sys.modules, "boto3", None)
    assert StorageS3("bucket", client=object()).bucket == "bucket"


def test_import_does_not_load_boto3() -> None:
    """Importing the module loads no SDK; boto3 is imported only by the constructor."""
    code = "import sys, dotflow.providers.storage_s3; print('boto3' in sys.modules, 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_missing_bucket_on_get_raises_one_line_error(s3_client: Any) -> None:
    """Reading from a bucket that does not exist raises DotflowError naming bucket and key, on one line."""
    storage = StorageS3("no-such-bucket-dotflow", client=s3_client)
    with pytest.raises(DotflowError) as caught:
        storage.get("wf-1")
    message = str(caught.value)
    assert "no-such-bucket-dotflow" in message and "wf-1" in message and "NoSuchBucket" in message
    assert "\n" not in message and "testing" not in message


def test_missing_bucket_on_post_raises_one_line_error(s3_client: Any) -> None:
    """Writing to a bucket that does not exist raises DotflowError naming bucket and key, on one line."""
    storage = StorageS3("no-such-bucket-dotflow", client=s3_client)
    with pytest.raises(DotflowError) as caught:
        storage.post("wf-1", Context(1))
    message = str(caught.value)
    assert "s3://no-such-bucket-dotflow/dotflow/wf-1.json" in message
    assert "\n" not in message and "testing" not in message


def test_delete_in_a_missing_bucket_raises_one_line_error(s3_client: Any) -> None:
    """Deleting from a bucket that does not exist raises DotflowError naming the object, on one line."""
    storage = StorageS3("no-such-bucket-dotflow", client=s3_client)
    with pytest.raises(DotflowError) as caught:
        storage.delete("wf-1")
    message = str(caught.value)
    assert "s3://no-such-bucket-dotflow/dotflow/wf-1.json" in message and "NoSuchBucket" in message
    assert "\n" not in message and "testing" not in message


def test_corrupt_object_raises_dotflow_error(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """An object that is not JSON raises DotflowError telling to delete it, not a bare ValueError."""
    s3_client.put_object(Bucket=s3_bucket, Key="dotflow/bad.json", Body=b"{not json")
    with pytest.raises(DotflowError, match="not valid JSON.*delete the object"):
        storage.get("bad")


def test_repr_shows_bucket_and_prefix(s3_client: Any) -> None:
    """``repr`` names the bucket and prefix, and nothing from the client."""
    assert repr(StorageS3("b", prefix="p/", client=s3_client)) == "StorageS3(bucket='b', prefix='p/')"
