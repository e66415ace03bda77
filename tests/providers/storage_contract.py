"""The Storage contract as plain functions: each takes a Storage and asserts one behaviour.

Provider test files call these, so every storage is held to the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import SimpleNamespace
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context

# Values a step may return, each of which must come back from storage unchanged.
ROUND_TRIP_VALUES: dict[str, Any] = {
    "dict": {"a": 1, "b": "two"},
    "list": [1, 2, 3],
    "str": "text with ünïcode and \"quotes\"",
    "int": 42,
    "float": 1.5,
    "bool": True,
    "none": None,
    "empty-list": [],
    "nested": {"rows": [{"id": 1, "tags": ["x", "y"]}, {"id": 2, "tags": []}], "meta": {"n": None}},
}

# Keys that would leave the prefix, or collide, if used as object or file names as-is.
HOSTILE_KEYS: tuple[str, ...] = (
    "../../etc/passwd",
    "a/b",
    "..",
    ".",
    "",
    "/abs",
    "a\\b",
    "a%2Fb",
    "wf id with spaces-1",
)


def check_round_trip(storage: Storage) -> None:
    """Every JSON-able value posted under a key is what ``get`` returns for it."""
    for name, value in ROUND_TRIP_VALUES.items():
        storage.post(f"round-trip-{name}", Context(value))
    for name, value in ROUND_TRIP_VALUES.items():
        got = storage.get(f"round-trip-{name}")
        assert isinstance(got, Context), name
        assert got.storage == value, name
        assert type(got.storage) is type(value), name


def check_missing_key_is_empty(storage: Storage) -> None:
    """``get`` of a key never posted returns an empty Context, not an error."""
    got = storage.get("never-posted-key")
    assert isinstance(got, Context)
    assert got.storage is None
    assert got == Context()


def check_overwrite_replaces(storage: Storage) -> None:
    """A second ``post`` under the same key replaces the first value entirely."""
    storage.post("overwrite", Context({"old": 1, "kept": False}))
    storage.post("overwrite", Context([2]))
    assert storage.get("overwrite").storage == [2]


def check_hostile_keys_are_distinct(storage: Storage, keys: Iterable[str] = HOSTILE_KEYS) -> None:
    """Hostile keys each round-trip their own value, so no two share one object."""
    keys = list(keys)
    for index, key in enumerate(keys):
        storage.post(key, Context({"index": index, "key": key}))
    for index, key in enumerate(keys):
        assert storage.get(key).storage == {"index": index, "key": key}, key


def check_names_stay_under_prefix(
    storage: Storage,
    list_names: Callable[[], Iterable[str]],
    prefix: str,
    keys: Iterable[str] = HOSTILE_KEYS,
) -> None:
    """After posting hostile keys, every stored name is ``prefix`` plus one flat ``*.json`` name."""
    keys = list(keys)
    for key in keys:
        storage.post(key, Context(key))
    names = list(list_names())
    assert len(names) >= len(keys), names
    for name in names:
        assert name.startswith(prefix), name
        rest = name[len(prefix):]
        assert rest.endswith(".json"), name
        assert "/" not in rest and "\\" not in rest, name
        assert rest not in (".json", "..json") and not rest.startswith("."), name


def check_key_format(storage: Storage) -> None:
    """``key(task)`` is ``<workflow_id>-<task_id>``."""
    task = SimpleNamespace(workflow_id="wf-1", task_id=3)
    assert storage.key(task) == "wf-1-3"


def check_exists_and_delete(storage: Storage) -> None:
    """``exists`` tells a stored key (even one holding None) from a missing one; ``delete`` removes it,
    and deleting a missing key is a no-op."""
    assert storage.exists("exists-missing") is False
    storage.post("exists-none", Context(None))
    storage.post("exists-value", Context({"v": 1}))
    assert storage.exists("exists-none") is True
    assert storage.exists("exists-value") is True
    storage.delete("exists-none")
    storage.delete("exists-value")
    storage.delete("exists-missing")
    assert storage.exists("exists-none") is False
    assert storage.exists("exists-value") is False
    assert storage.get("exists-value") == Context()


def check_all(
    storage: Storage, list_names: Callable[[], Iterable[str]] | None = None, prefix: str = ""
) -> None:
    """Run every contract check; the prefix check only when ``list_names`` is given."""
    check_round_trip(storage)
    check_missing_key_is_empty(storage)
    check_overwrite_replaces(storage)
    check_hostile_keys_are_distinct(storage)
    check_key_format(storage)
    check_exists_and_delete(storage)
    if list_names is not None:
        check_names_stay_under_prefix(storage, list_names, prefix)
