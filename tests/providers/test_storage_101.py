"""Checkpoints written by dotflow 1.0.1 stay readable after an upgrade (file, S3 and GCS).

The fixtures are the bytes 1.0.1 wrote, copied from real 1.0.1 runs (StorageFile,
StorageS3 against moto, StorageGCS against the emulator): a JSON array of JSON-encoded
strings, ``<path>/tasks/<wf>-<task_id>.json`` for files and ``<prefix><wf>-<task_id>`` for
buckets, the input fingerprint under ``<wf>-_input_fp``, a file's ttl in ``<name>.meta`` and a
bucket's ``post(fingerprint=)`` in ``<key>.fingerprint``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest
from engine_support import stored

from dotflow import Config, Context, DotFlow, TypeStatus, action
from dotflow.abc.storage import Storage
from dotflow.providers import StorageFile

WF = "3f2a7f0e-0000-4000-8000-000000000001"
FP_101 = "bab8e165016b9e9afecb2009351f146d2b1d4e9df427f621eb9d7eca0328f0e9"

# 1.0.1's StorageFile(path=root): everything under root/tasks/
FILE_101: dict[str, bytes] = {
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ1.json": b'["{\\"v\\": 1}"]',  # a step returned {"v": 1}
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ2.json": b"[]",  # a step returned [1, 2, 3]: 1.0.1 lost it
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ3.json": b'["null"]',  # a step returned None
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ4.json": b'["\\"h\\\\u00e9llo\\""]',  # "héllo"
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ5.json": b'["1", "{\\"b\\": 1}"]',  # a class step: two methods
    f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ6.json": b'["null"]',  # a failed step
    f"{WF}-_input_fp": b'["\\"' + FP_101.encode() + b'\\""]',
    "ttlkey.json": b'["{\\"t\\": 1}"]',  # post(ttl=100, fingerprint="fp1")
    "ttlkey.json.meta": b'{"fingerprint": "fp1", "expires_at": 4102444800.0}',
    "expired.json": b'["\\"stale\\""]',
    "expired.json.meta": b'{"expires_at": 1.0}',
    "3f2a7f0e-0000-4000-8000-00000000000f-01M8SKFJ33S0FQTYVGW41SPQJ1.json": b'["\\"other workflow\\""]',
}


def _key(task: int) -> str:
    return f"{WF}-01M8SKFJ33S0FQTYVGW41SPQJ{task}"


WF_KEYS = sorted([_key(n) for n in range(1, 7)] + [f"{WF}-_input_fp"])


def _plant(root: Path, files: dict[str, bytes]) -> Path:
    folder = root / "tasks"
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture
def planted(tmp_path: Path) -> tuple[StorageFile, Path]:
    """A StorageFile on a folder holding 1.0.1's files."""
    return StorageFile(tmp_path), _plant(tmp_path, FILE_101)


def test_file_values_read_as_1_0_1_read_them(planted: tuple[StorageFile, Path]) -> None:
    """``get`` of a 1.0.1 task key gives the value 1.0.1 gave: a dict, None, text, a class step's Contexts."""
    storage, _ = planted
    assert storage.get(_key(1)).storage == {"v": 1}
    assert storage.get(_key(1) + ".json").storage == {"v": 1}  # 1.0.1's own key for it
    assert storage.get(_key(2)).storage is None
    assert storage.get(_key(3)).storage is None
    assert storage.get(_key(4)).storage == "héllo"
    assert storage.get(_key(5)).storage == [Context(1), Context({"b": 1})]
    assert storage.get(f"{WF}-_input_fp").storage == FP_101


def test_file_exists_follows_1_0_1_resume_rule(planted: tuple[StorageFile, Path]) -> None:
    """A 1.0.1 value exists; its null (a failed step or a None result, which 1.0.1 re-ran) and its [] do not."""
    storage, _ = planted
    assert [storage.exists(_key(n)) for n in range(1, 7)] == [True, False, False, True, True, False]


def test_file_ttl_in_meta_is_honoured(planted: tuple[StorageFile, Path]) -> None:
    """A 1.0.1 entry whose ``.meta`` expiry passed reads as missing and is not listed; a future one reads."""
    storage, _ = planted
    assert storage.get("ttlkey").storage == {"t": 1}
    assert storage.get("expired").storage is None and storage.exists("expired") is False
    assert storage.get("ttlkey.json.meta").storage is None  # a sidecar, not a key
    assert storage.list_keys("") == sorted(WF_KEYS + ["3f2a7f0e-0000-4000-8000-00000000000f-01M8SKFJ33S0FQTYVGW41SPQJ1",
                                                      "ttlkey"])


def test_file_keys_are_listed_and_cleared(planted: tuple[StorageFile, Path]) -> None:
    """list_keys sees a workflow's 1.0.1 files (fingerprint included); clear removes exactly them, ``.meta`` too."""
    storage, folder = planted
    assert storage.list_keys(f"{WF}-") == WF_KEYS
    storage.clear(WF)
    assert storage.list_keys(f"{WF}-") == []
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["ttlkey.json", "ttlkey.json.meta", "expired.json", "expired.json.meta",
         "3f2a7f0e-0000-4000-8000-00000000000f-01M8SKFJ33S0FQTYVGW41SPQJ1.json"]
    )
    assert storage.delete_prefix("ttl") == 1 and not (folder / "ttlkey.json.meta").exists()


def test_file_delete_removes_the_1_0_1_file(planted: tuple[StorageFile, Path]) -> None:
    """delete of a key held only by 1.0.1 returns True and removes that file; a second delete returns False."""
    storage, folder = planted
    assert storage.delete(_key(1)) is True
    assert not (folder / f"{_key(1)}.json").exists() and storage.get(_key(1)).storage is None
    assert storage.delete(_key(1)) is False


def test_file_writes_go_to_our_format_only(planted: tuple[StorageFile, Path]) -> None:
    """A post over a 1.0.1 key writes ``<path>/<key>.json`` (which then wins) and leaves tasks/ alone;
    atomic_swap compares with the 1.0.1 value; delete removes both files."""
    storage, folder = planted
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert storage.atomic_swap(_key(4), "héllo", {"new": True}) is True
    assert storage.get(_key(4)).storage == {"new": True}
    storage.post(_key(1), Context([1, 2]))
    assert storage.get(_key(1)).storage == [1, 2]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert stored((folder.parent / f"{_key(1)}.json").read_text()) == {"storage": [1, 2]}
    assert storage.list_keys(_key(1)) == [_key(1)]
    assert storage.delete(_key(1)) is True
    assert storage.get(_key(1)).storage is None and not (folder / f"{_key(1)}.json").exists()


def test_file_1_0_1_lookup_never_leaves_tasks(tmp_path: Path) -> None:
    """Only plain keys are looked up in tasks/: ``../secret`` cannot read a 1.0.1-looking file beside it."""
    _plant(tmp_path, {})
    (tmp_path / "secret").write_bytes(b'["\\"secret\\""]')
    (tmp_path / "tasks" / "a%2Fb").write_bytes(b'["1"]')
    storage = StorageFile(tmp_path)
    assert storage.get("../secret").storage is None and storage.exists("../secret") is False
    assert storage.get("a/b").storage is None and storage.delete("../secret") is False
    assert (tmp_path / "secret").exists()


def test_file_that_is_not_1_0_1_format_reads_as_missing(tmp_path: Path) -> None:
    """A tasks/ file that is not a JSON array reads as nothing stored, as 1.0.1 read it."""
    _plant(tmp_path, {"wf-1.json": b"not json", "wf-2.json": b'{"a": 1}'})
    storage = StorageFile(tmp_path)
    assert storage.get("wf-1").storage is None and storage.get("wf-2").storage is None
    assert storage.exists("wf-1") is False


@action
def fresh_step() -> str:
    return "ran"


def test_the_1_0_1_fingerprint_does_not_count_as_changed_inputs(planted: tuple[StorageFile, Path]) -> None:
    """A resume over 1.0.1's checkpoints with ``on_input_change="raise"`` does not raise: 1.0.1's fingerprint
    (another hash, under ``<wf>-_input_fp``) is not compared, and is left as it was."""
    storage, folder = planted
    workflow = DotFlow(config=Config(storage=storage), workflow_id=WF)
    workflow.task.add(fresh_step)
    workflow.start(resume=True, on_input_change="raise")
    assert workflow.result_task()[0].status is TypeStatus.COMPLETED
    assert workflow.result_storage() == ["ran"]
    assert (folder / f"{WF}-_input_fp").read_bytes() == FILE_101[f"{WF}-_input_fp"]


# --- S3 and GCS -----------------------------------------------------------------------------------

WF2 = "3f2a7f0e-0000-4000-8000-000000000002"
FP2_101 = "f941396140911b25bb57bb73145aa6b5fc9c7954a7511fada4baac97bf9ad6d0"

# 1.0.1's StorageS3 / StorageGCS with prefix "dotflow/" (the same bytes from both)
BUCKET_101: dict[str, bytes] = {
    f"dotflow/{WF2}-01M8SKM7KT02ZMP040KKRP65NF": b'["{\\"v\\": 1}"]',
    f"dotflow/{WF2}-01M8SKM7KT02ZMP040KKRP65NG": b"[]",
    f"dotflow/{WF2}-01M8SKM7KT02ZMP040KKRP65NH": b'["null"]',
    f"dotflow/{WF2}-01M8SKM7KT02ZMP040KKRP65NJ": b'["1", "{\\"b\\": 1}"]',
    f"dotflow/{WF2}-_input_fp": b'["\\"' + FP2_101.encode() + b'\\""]',
    "dotflow/fpkey": b'["{\\"t\\": 1}"]',  # post(ttl=100, fingerprint="fp1"): 1.0.1 ignored the ttl
    "dotflow/fpkey.fingerprint": b'["fp1"]',
}


def _bkey(suffix: str) -> str:
    return f"{WF2}-01M8SKM7KT02ZMP040KKRP65N{suffix}"


WF2_KEYS = sorted([_bkey(s) for s in "FGHJ"] + [f"{WF2}-_input_fp"])


class Bucket(NamedTuple):
    storage: Storage
    names: Callable[[], list[str]]


@pytest.fixture(params=["s3", "gcs"])
def bucket(request: pytest.FixtureRequest) -> Iterator[Bucket]:
    """A StorageS3 or StorageGCS on a fresh bucket holding 1.0.1's objects."""
    if request.param == "s3":
        from dotflow.providers import StorageS3

        client, name = request.getfixturevalue("s3_client"), request.getfixturevalue("s3_bucket")
        for key, data in BUCKET_101.items():
            client.put_object(Bucket=name, Key=key, Body=data, ContentType="application/json")

        def s3_names() -> list[str]:
            return sorted(item["Key"] for item in client.list_objects_v2(Bucket=name).get("Contents", []))

        yield Bucket(StorageS3(name, client=client), s3_names)
    else:
        from dotflow.providers import StorageGCS

        client, name = request.getfixturevalue("gcs_client"), request.getfixturevalue("gcs_bucket")
        for key, data in BUCKET_101.items():
            client.bucket(name).blob(key).upload_from_string(data, content_type="application/json")

        def gcs_names() -> list[str]:
            return sorted(blob.name for blob in client.list_blobs(name))

        yield Bucket(StorageGCS(name, client=client), gcs_names)


def test_bucket_values_read_as_1_0_1_read_them(bucket: Bucket) -> None:
    """``get`` of a 1.0.1 key gives 1.0.1's value; exists follows 1.0.1's resume rule (null and [] do not count)."""
    storage = bucket.storage
    assert storage.get(_bkey("F")).storage == {"v": 1}
    assert storage.get(_bkey("G")).storage is None
    assert storage.get(_bkey("H")).storage is None
    assert storage.get(_bkey("J")).storage == [Context(1), Context({"b": 1})]
    assert storage.get(f"{WF2}-_input_fp").storage == FP2_101
    assert [storage.exists(_bkey(s)) for s in "FGHJ"] == [True, False, False, True]
    assert storage.exists("fpkey") is True and storage.exists("fpkey.fingerprint") is False


def test_bucket_keys_are_listed_without_sidecars(bucket: Bucket) -> None:
    """list_keys sees 1.0.1's objects under their keys and hides ``.fingerprint`` sidecars."""
    assert bucket.storage.list_keys(f"{WF2}-") == WF2_KEYS
    assert bucket.storage.list_keys("") == sorted(WF2_KEYS + ["fpkey"])


def test_bucket_clear_and_delete_remove_1_0_1_objects(bucket: Bucket) -> None:
    """clear removes a workflow's 1.0.1 objects, fingerprint included; delete removes an object and its sidecar."""
    storage = bucket.storage
    storage.clear(WF2)
    assert bucket.names() == ["dotflow/fpkey", "dotflow/fpkey.fingerprint"]
    assert storage.delete("fpkey") is True
    assert bucket.names() == []
    assert storage.delete("fpkey") is False


def test_bucket_delete_prefix_counts_keys_not_sidecars(bucket: Bucket) -> None:
    """delete_prefix counts a 1.0.1 object and its ``.fingerprint`` as one key, and removes both."""
    assert bucket.storage.delete_prefix("fp") == 1
    assert "dotflow/fpkey.fingerprint" not in bucket.names()


def test_bucket_writes_go_to_our_format_only(bucket: Bucket) -> None:
    """A post or swap over a 1.0.1 key writes ``<key>.json`` (which then wins) and leaves 1.0.1's object;
    delete then removes both."""
    storage = bucket.storage
    assert storage.atomic_swap(_bkey("F"), {"v": 1}, {"v": 2}) is True
    assert storage.atomic_swap(_bkey("J"), "not the value", 0) is False
    storage.post("fpkey", Context("ours"))
    assert storage.get(_bkey("F")).storage == {"v": 2} and storage.get("fpkey").storage == "ours"
    names = bucket.names()
    assert set(BUCKET_101) <= set(names)
    assert sorted(set(names) - set(BUCKET_101)) == sorted([f"dotflow/{_bkey('F')}.json", "dotflow/fpkey.json"])
    assert storage.list_keys("fp") == ["fpkey"]
    assert storage.delete(_bkey("F")) is True
    assert storage.get(_bkey("F")).storage is None
    assert f"dotflow/{_bkey('F')}" not in bucket.names()


def test_bucket_1_0_1_lookup_needs_a_plain_key(bucket: Bucket, request: pytest.FixtureRequest) -> None:
    """Keys that are not plain names (``a/b``, ``../x``) are never looked up as 1.0.1 objects."""
    storage = bucket.storage
    assert storage.get(f"../{_bkey('F')}").storage is None
    assert storage.get(f"x/../{_bkey('F')}").storage is None
    assert storage.exists(f"./{_bkey('F')}") is False
