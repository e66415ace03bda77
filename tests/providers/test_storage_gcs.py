"""StorageGCS against gcp-storage-emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
import storage_contract

from dotflow.context import Context
from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers.storage_gcs import StorageGCS


@pytest.fixture
def storage(gcs_client: Any, gcs_bucket: str) -> StorageGCS:
    """A StorageGCS on a fresh bucket, with the emulator client injected."""
    return StorageGCS(gcs_bucket, client=gcs_client)


def _names(gcs_client: Any, bucket: str) -> list[str]:
    return [blob.name for blob in gcs_client.list_blobs(bucket)]


def test_round_trip_of_every_json_value(storage: StorageGCS) -> None:
    """dict, list, str, int, float, bool, None and nested values come back unchanged."""
    storage_contract.check_round_trip(storage)


def test_missing_key_returns_empty_context(storage: StorageGCS) -> None:
    """``get`` of a key never posted returns an empty Context instead of raising NotFound."""
    storage_contract.check_missing_key_is_empty(storage)


def test_overwrite_replaces_value(storage: StorageGCS) -> None:
    """Posting twice under one key keeps only the second value."""
    storage_contract.check_overwrite_replaces(storage)


def test_hostile_keys_do_not_collide(storage: StorageGCS) -> None:
    """Keys like ``../../etc/passwd``, ``a/b`` and ``a%2Fb`` each keep their own value."""
    storage_contract.check_hostile_keys_are_distinct(storage)


def test_exists_and_delete(storage: StorageGCS) -> None:
    """``exists`` sees a stored None result, ``delete`` removes the object, and deleting a missing one is a no-op."""
    storage_contract.check_exists_and_delete(storage)


def test_key_is_workflow_dash_task(storage: StorageGCS) -> None:
    """``key(task)`` is ``<workflow_id>-<task_id>``."""
    storage_contract.check_key_format(storage)


def test_hostile_keys_stay_under_prefix(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """Every object a hostile key writes is ``dotflow/<flat name>.json``, with no ``/`` after the prefix."""
    storage_contract.check_names_stay_under_prefix(storage, lambda: _names(gcs_client, gcs_bucket), "dotflow/")


def test_custom_prefix_is_used_verbatim(gcs_client: Any, gcs_bucket: str) -> None:
    """With ``prefix="runs/2024/"`` the object for key ``wf-1`` is ``runs/2024/wf-1.json``."""
    storage = StorageGCS(gcs_bucket, prefix="runs/2024/", client=gcs_client)
    storage.post("wf-1", Context({"ok": True}))
    assert _names(gcs_client, gcs_bucket) == ["runs/2024/wf-1.json"]
    assert storage.get("wf-1").storage == {"ok": True}


def test_stored_object_is_json_document(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """The object body is ``{"storage": <value>}`` with content type application/json."""
    storage.post("doc", Context([1, "two"]))
    blob = gcs_client.bucket(gcs_bucket).get_blob("dotflow/doc.json")
    assert blob is not None and blob.content_type == "application/json"
    assert json.loads(blob.download_as_bytes()) == {"storage": [1, "two"]}


def test_builds_client_from_emulator_env(
    monkeypatch: pytest.MonkeyPatch, gcs_endpoint: str, gcs_client: Any, gcs_bucket: str
) -> None:
    """Without ``client=``, a google.cloud.storage Client is built for ``project`` and honours STORAGE_EMULATOR_HOST."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_endpoint)
    storage = StorageGCS(gcs_bucket, project="dotflow-test")
    assert storage.client.project == "dotflow-test"
    storage.post("built", Context({"via": "emulator"}))
    assert _names(gcs_client, gcs_bucket) == ["dotflow/built.json"]
    assert StorageGCS(gcs_bucket, client=gcs_client).get("built").storage == {"via": "emulator"}


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without google-cloud-storage the constructor raises MissingExtraError whose message is the pip line."""
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    with pytest.raises(MissingExtraError) as caught:
        StorageGCS("bucket")
    assert str(caught.value) == "StorageGCS needs google-cloud-storage: pip install 'dotflow[gcs]'"
    assert isinstance(caught.value, DotflowError)


def test_injected_client_needs_no_sdk(monkeypatch: pytest.MonkeyPatch, gcs_client: Any) -> None:
    """With ``client=`` given, google.cloud.storage is never imported, so it need not be installed."""
    monkeypatch.setitem(sys.modules, "google.cloud.storage", None)
    assert StorageGCS("bucket", client=gcs_client).bucket == "bucket"


def test_import_does_not_load_sdk() -> None:
    """Importing the module loads no SDK; google.cloud.storage is imported only by the constructor."""
    code = "import sys, dotflow.providers.storage_gcs; print('google.cloud.storage' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_missing_bucket_on_post_raises_one_line_error(gcs_client: Any) -> None:
    """Writing to a bucket that does not exist raises DotflowError naming bucket and key, on one line."""
    storage = StorageGCS("no-such-bucket-dotflow", client=gcs_client)
    with pytest.raises(DotflowError) as caught:
        storage.post("wf-1", Context(1))
    message = str(caught.value)
    assert "gs://no-such-bucket-dotflow/dotflow/wf-1.json" in message
    assert "\n" not in message


def test_corrupt_object_raises_dotflow_error(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """An object that is not JSON raises DotflowError telling to delete it, not a bare ValueError."""
    gcs_client.bucket(gcs_bucket).blob("dotflow/bad.json").upload_from_string(b"{not json")
    with pytest.raises(DotflowError, match="not valid JSON.*delete the object"):
        storage.get("bad")


def test_repr_shows_bucket_and_prefix(gcs_client: Any) -> None:
    """``repr`` names the bucket and prefix, and nothing from the client."""
    assert repr(StorageGCS("b", prefix="p/", client=gcs_client)) == "StorageGCS(bucket='b', prefix='p/')"
