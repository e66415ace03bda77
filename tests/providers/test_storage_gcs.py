"""StorageGCS against gcp-storage-emulator over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from engine_support import stored

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers.storage_gcs import StorageGCS
from dotflow.testing import StorageContract


@pytest.fixture
def storage(gcs_client: Any, gcs_bucket: str) -> StorageGCS:
    """A StorageGCS on a fresh bucket, with the emulator client injected."""
    return StorageGCS(gcs_bucket, client=gcs_client)


def _names(gcs_client: Any, bucket: str) -> list[str]:
    return [blob.name for blob in gcs_client.list_blobs(bucket)]


class TestContract(StorageContract):
    """StorageGCS meets dotflow.testing.StorageContract on the emulator; each object is ``dotflow/<flat>.json``."""

    stored_prefix = "dotflow/"

    @pytest.fixture(autouse=True)
    def _bucket(self, gcs_client: Any, gcs_bucket: str) -> None:
        self.client, self.bucket = gcs_client, gcs_bucket

    def make_storage(self) -> Storage:
        return StorageGCS(self.bucket, client=self.client)

    def stored_names(self) -> list[str]:
        return _names(self.client, self.bucket)


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
    assert stored(blob.download_as_bytes()) == {"storage": [1, "two"]}


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


# --- ttl, atomic_swap, prefixes ------------------------------------------------------------------


def test_ttl_goes_in_the_document_and_the_metadata(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """``post(ttl=)`` writes ``expires_at`` in the body and in the blob's ``dotflow-expires-at`` metadata;
    a post without ttl has neither."""
    storage.post("t", Context("v"), ttl=60, fingerprint="fp")
    blob = gcs_client.bucket(gcs_bucket).get_blob("dotflow/t.json")
    body = json.loads(blob.download_as_bytes())
    assert float(blob.metadata["dotflow-expires-at"]) == body["expires_at"]
    assert body["storage"] == "v" and body["fingerprint"] == "fp"
    storage.post("t", Context("w"))
    blob = gcs_client.bucket(gcs_bucket).get_blob("dotflow/t.json")
    assert not blob.metadata and stored(blob.download_as_bytes()) == {"storage": "w"}


def test_expired_blob_reads_as_missing(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """A blob whose expiry passed is missing for get, exists, list_keys and atomic_swap, but delete removes it."""
    blob = gcs_client.bucket(gcs_bucket).blob("dotflow/old.json")
    blob.metadata = {"dotflow-expires-at": "1.0"}
    blob.upload_from_string(b'{"expires_at": 1.0, "storage": "stale"}')
    assert storage.get("old").storage is None and storage.exists("old") is False
    assert storage.list_keys("") == []
    assert storage.atomic_swap("old", "stale", "x") is False
    assert storage.delete("old") is True and _names(gcs_client, gcs_bucket) == []


def _spy_uploads(monkeypatch: pytest.MonkeyPatch, fail: bool = False) -> list[Any]:
    """Record the ``if_generation_match`` of every upload; with ``fail``, answer conditional ones with 412."""
    from google.api_core.exceptions import PreconditionFailed
    from google.cloud.storage import Blob

    seen: list[Any] = []
    real = Blob.upload_from_string

    def upload(self: Any, data: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("if_generation_match"))
        if fail and "if_generation_match" in kwargs:
            raise PreconditionFailed("conditionNotMet")
        return real(self, data, *args, **kwargs)

    monkeypatch.setattr(Blob, "upload_from_string", upload)
    return seen


def test_atomic_swap_uploads_on_the_generation_it_read(
    storage: StorageGCS, gcs_client: Any, gcs_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A swap uploads with ``if_generation_match``: the generation it read, or 0 when there was no blob.
    (The emulator ignores the precondition; real GCS enforces it.)"""
    storage.post("k", Context("old"))
    generation = gcs_client.bucket(gcs_bucket).get_blob("dotflow/k.json").generation
    seen = _spy_uploads(monkeypatch)
    assert storage.atomic_swap("k", "old", "new") is True
    assert storage.atomic_swap("fresh", None, "created") is True
    storage.post("plain", Context(1))
    assert seen == [generation, 0, None]
    assert storage.get("k").storage == "new" and storage.get("fresh").storage == "created"


def test_atomic_swap_is_false_when_the_generation_changed(storage: StorageGCS, monkeypatch: pytest.MonkeyPatch) -> None:
    """GCS's 412 answer to the conditional upload (another writer came first) makes the swap return False."""
    storage.post("k", Context("old"))
    _spy_uploads(monkeypatch, fail=True)
    assert storage.atomic_swap("k", "old", "new") is False
    assert storage.get("k").storage == "old"


def test_list_and_delete_prefix_stay_in_their_prefix(storage: StorageGCS, gcs_client: Any, gcs_bucket: str) -> None:
    """Blobs of a nested prefix (``dotflow/sub/``) or outside ``dotflow/`` are neither listed nor deleted."""
    bucket = gcs_client.bucket(gcs_bucket)
    for name in ("dotflow/sub/wf-1.json", "other/wf-1.json", "dotflow-wf-1.json"):
        bucket.blob(name).upload_from_string(b'{"storage": 1}')
    storage.post("wf-1", Context(2))
    assert storage.list_keys("") == ["wf-1"]
    assert storage.delete_prefix("wf-") == 1
    assert sorted(_names(gcs_client, gcs_bucket)) == ["dotflow-wf-1.json", "dotflow/sub/wf-1.json", "other/wf-1.json"]


def test_empty_prefix_is_refused(storage: StorageGCS) -> None:
    """``delete_prefix("")`` raises UsageError instead of emptying the prefix."""
    from dotflow.errors import UsageError

    storage.post("k", Context(1))
    with pytest.raises(UsageError, match="non-empty prefix"):
        storage.delete_prefix("")
    assert storage.get("k").storage == 1
