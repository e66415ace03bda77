"""StorageS3 against moto's S3 server over real HTTP on 127.0.0.1."""

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
from dotflow.providers.storage_s3 import StorageS3
from dotflow.testing import StorageContract

FAKE_AWS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}  # as conftest's: moto takes any


@pytest.fixture
def storage(s3_client: Any, s3_bucket: str) -> StorageS3:
    """A StorageS3 on a fresh bucket, with the moto client injected."""
    return StorageS3(s3_bucket, client=s3_client)


def _names(s3_client: Any, bucket: str) -> list[str]:
    pages = s3_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


class TestContract(StorageContract):
    """StorageS3 meets dotflow.testing.StorageContract over moto's server; each object is ``dotflow/<flat>.json``."""

    stored_prefix = "dotflow/"

    @pytest.fixture(autouse=True)
    def _bucket(self, s3_client: Any, s3_bucket: str) -> None:
        self.client, self.bucket = s3_client, s3_bucket

    def make_storage(self) -> Storage:
        return StorageS3(self.bucket, client=self.client)

    def stored_names(self) -> list[str]:
        return _names(self.client, self.bucket)


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
    assert stored(obj["Body"].read()) == {"storage": [1, "two"]}


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


# --- ttl, atomic_swap, prefixes ------------------------------------------------------------------


def test_ttl_goes_in_the_document_and_the_metadata(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """``post(ttl=)`` writes ``expires_at`` in the body and in the ``dotflow-expires-at`` metadata HEAD reads;
    a post without ttl has neither."""
    storage.post("t", Context("v"), ttl=60, fingerprint="fp")
    answer = s3_client.get_object(Bucket=s3_bucket, Key="dotflow/t.json")
    body = json.loads(answer["Body"].read())
    assert float(answer["Metadata"]["dotflow-expires-at"]) == body["expires_at"]
    assert body["storage"] == "v" and body["fingerprint"] == "fp"
    storage.post("t", Context("w"))
    answer = s3_client.get_object(Bucket=s3_bucket, Key="dotflow/t.json")
    assert answer["Metadata"] == {} and stored(answer["Body"].read()) == {"storage": "w"}


def test_expired_object_reads_as_missing(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """An object whose expiry passed is missing for get, exists, list_keys and atomic_swap, but delete removes it."""
    s3_client.put_object(
        Bucket=s3_bucket, Key="dotflow/old.json", Body=b'{"expires_at": 1.0, "storage": "stale"}',
        Metadata={"dotflow-expires-at": "1.0"},
    )
    assert storage.get("old").storage is None and storage.exists("old") is False
    assert storage.list_keys("") == []
    assert storage.atomic_swap("old", "stale", "x") is False
    assert storage.delete("old") is True and _names(s3_client, s3_bucket) == []


def _two_clients(moto_endpoint: str) -> tuple[Any, Any]:
    """Two separate boto3 clients on the moto server: ours, and another writer's."""
    import boto3

    session = boto3.session.Session(region_name="us-east-1", **FAKE_AWS)
    return session.client("s3", endpoint_url=moto_endpoint), session.client("s3", endpoint_url=moto_endpoint)


def _race(s3_client: Any, competitor: Any, bucket: str, key: str, body: bytes) -> list[str]:
    """Make ``competitor`` write ``key`` just before the next conditional PutObject of ``s3_client``."""
    sent: list[str] = []

    def before_put(params: Any, **_: Any) -> None:
        headers = params.get("headers", {})
        if "If-Match" in headers or "If-None-Match" in headers:
            sent.append("If-Match" if "If-Match" in headers else "If-None-Match")
            competitor.put_object(Bucket=bucket, Key=key, Body=body)

    s3_client.meta.events.register("before-call.s3.PutObject", before_put)
    return sent


def test_atomic_swap_loses_to_a_write_after_its_read(moto_endpoint: str, s3_bucket: str) -> None:
    """Another writer changing the object between the swap's read and write makes the swap return False
    (If-Match on the ETag), and the other value stays."""
    ours, competitor = _two_clients(moto_endpoint)
    storage = StorageS3(s3_bucket, client=ours)
    storage.post("k", Context("old"))
    sent = _race(ours, competitor, s3_bucket, "dotflow/k.json", b'{"storage": "theirs"}')
    assert storage.atomic_swap("k", "old", "mine") is False
    assert sent == ["If-Match"]
    assert storage.get("k").storage == "theirs"


def test_atomic_swap_of_a_missing_key_loses_to_a_creator(moto_endpoint: str, s3_bucket: str) -> None:
    """A swap from None (no object) writes with If-None-Match: *, so an object created meanwhile wins."""
    ours, competitor = _two_clients(moto_endpoint)
    storage = StorageS3(s3_bucket, client=ours)
    sent = _race(ours, competitor, s3_bucket, "dotflow/new.json", b'{"storage": "first"}')
    assert storage.atomic_swap("new", None, "mine") is False
    assert sent == ["If-None-Match"]
    assert storage.get("new").storage == "first"


def test_atomic_swap_of_a_deleted_object_is_false(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """An object deleted between the swap's read and write (If-Match answers NoSuchKey) makes the swap False."""
    storage.post("gone", Context("old"))

    def delete_first(params: Any, **_: Any) -> None:
        if "If-Match" in params.get("headers", {}):
            s3_client.meta.events.unregister("before-call.s3.PutObject", delete_first)
            s3_client.delete_object(Bucket=s3_bucket, Key="dotflow/gone.json")

    s3_client.meta.events.register("before-call.s3.PutObject", delete_first)
    try:
        assert storage.atomic_swap("gone", "old", "new") is False
    finally:
        s3_client.meta.events.unregister("before-call.s3.PutObject", delete_first)
    assert storage.exists("gone") is False


def test_list_and_delete_prefix_stay_in_their_prefix(storage: StorageS3, s3_client: Any, s3_bucket: str) -> None:
    """Objects of a nested prefix (``dotflow/sub/``) or outside ``dotflow/`` are neither listed nor deleted."""
    for name in ("dotflow/sub/wf-1.json", "other/wf-1.json", "dotflow-wf-1.json"):
        s3_client.put_object(Bucket=s3_bucket, Key=name, Body=b'{"storage": 1}')
    storage.post("wf-1", Context(2))
    assert storage.list_keys("") == ["wf-1"]
    assert storage.delete_prefix("wf-") == 1
    assert sorted(_names(s3_client, s3_bucket)) == ["dotflow-wf-1.json", "dotflow/sub/wf-1.json", "other/wf-1.json"]


def test_empty_prefix_is_refused(storage: StorageS3) -> None:
    """``delete_prefix("")`` raises UsageError instead of emptying the prefix."""
    from dotflow.errors import UsageError

    storage.post("k", Context(1))
    with pytest.raises(UsageError, match="non-empty prefix"):
        storage.delete_prefix("")
    assert storage.get("k").storage == 1


def test_list_in_a_missing_bucket_raises_one_line_error(s3_client: Any) -> None:
    """list_keys and delete_prefix on a bucket that does not exist raise one DotflowError line naming it."""
    storage = StorageS3("no-such-bucket-dotflow", client=s3_client)
    for call in (lambda: storage.list_keys("wf-"), lambda: storage.delete_prefix("wf-")):
        with pytest.raises(DotflowError) as caught:
            call()
        message = str(caught.value)
        assert "s3://no-such-bucket-dotflow/dotflow/wf-" in message and "NoSuchBucket" in message
        assert "\n" not in message
