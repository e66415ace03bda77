"""dotflow.testing: the public StorageContract passes good storages and catches broken ones."""

from __future__ import annotations

import subprocess
import sys
import unittest
from collections.abc import Iterable
from typing import Any

import pytest

import dotflow.testing
from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.providers import StorageDefault
from dotflow.testing import StorageContract


def _run(storage_class: Any, supports_ttl: bool = False, names: Iterable[str] | None = None) -> dict[str, set[str]]:
    """Run StorageContract as unittest would, on fresh ``storage_class()`` instances; the outcome by test name."""
    attributes: dict[str, Any] = {"make_storage": lambda self: storage_class(), "supports_ttl": supports_ttl}
    if names is not None:
        attributes["stored_names"] = lambda self: list(names)
    case = type("Case", (StorageContract, unittest.TestCase), attributes)
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)

    def named(items: Iterable[Any]) -> set[str]:
        return {item[0]._testMethodName for item in items}

    return {
        "run": {name for name in dir(case) if name.startswith("test_")},
        "failed": named(result.failures),
        "errors": named(result.errors),
        "skipped": named(result.skipped),
    }


def test_public_names_are_sorted_and_complete() -> None:
    """``dotflow.testing.__all__`` is sorted and names every check, StorageContract and the value tables."""
    assert dotflow.testing.__all__ == sorted(dotflow.testing.__all__)
    public = {name for name in vars(dotflow.testing.storage_contract) if name.startswith("check_")}
    assert public <= set(dotflow.testing.__all__)
    assert {"StorageContract", "HOSTILE_KEYS", "ROUND_TRIP_VALUES", "CHECKS"} <= set(dotflow.testing.__all__)


def test_1x_import_path_still_works() -> None:
    """``from dotflow.testing.storage_contract import StorageContract`` (1.x's module path) is the same class."""
    from dotflow.testing.storage_contract import StorageContract as by_module

    assert by_module is StorageContract


def test_unittest_form_passes_the_default_storage() -> None:
    """Mixed into a unittest.TestCase, the contract passes StorageDefault, TTL included, in about 1.1 s."""
    outcome = _run(StorageDefault, supports_ttl=True)
    assert outcome["failed"] == outcome["errors"] == set()
    assert outcome["skipped"] == {"test_stored_names_stay_under_prefix"}  # memory has no names
    assert len(outcome["run"]) == 14


def test_contract_does_not_import_pytest() -> None:
    """Importing dotflow.testing loads no pytest, so unittest-only projects can use it."""
    code = "import sys, dotflow.testing; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_make_storage_must_be_overridden() -> None:
    """Without make_storage the tests error with a message saying to override it."""

    class Forgot(StorageContract):
        pass

    with pytest.raises(NotImplementedError, match="override make_storage"):
        Forgot().storage


def test_supports_ttl_false_skips_only_the_ttl_test() -> None:
    """``supports_ttl = False`` skips test_ttl and nothing else (besides the names test)."""
    outcome = _run(StorageDefault)
    assert outcome["skipped"] == {"test_ttl", "test_stored_names_stay_under_prefix"}
    assert outcome["failed"] == outcome["errors"] == set()


# --- broken storages, each caught by the tests named ----------------------------------------------


class Appending(StorageDefault):
    """1.0.1's StorageFile habit: a second post appends."""

    def post(self, key: str, context: Context, ttl: Any = None, fingerprint: Any = None) -> None:
        if self.exists(key):
            context = Context([self.get(key), context])
        super().post(key, context, ttl, fingerprint)


class DropsLists(StorageDefault):
    """1.0.1's list bug: a plain list comes back empty."""

    def get(self, key: str) -> Context:
        found = super().get(key)
        return Context([]) if isinstance(found.storage, list) and found.storage else found


class NoneIsMissing(StorageDefault):
    """Uses the Storage default exists: a stored None reads as missing."""

    def exists(self, key: str) -> bool:
        return self.get(key).storage is not None


class PostGetOnly(Storage):
    """A 1.x-era custom storage: post and get, nothing optional."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # 1.x's Storage took and ignored any arguments
        self.data: dict[str, Any] = {}

    def post(self, key: str, context: Context, ttl: Any = None, fingerprint: Any = None) -> None:
        self.data[key] = context.storage

    def get(self, key: str) -> Context:
        return Context(self.data.get(key))

    def exists(self, key: str) -> bool:
        return key in self.data


class IgnoresTtl(StorageDefault):
    def post(self, key: str, context: Context, ttl: Any = None, fingerprint: Any = None) -> None:
        super().post(key, context)

    def atomic_swap(self, key: str, expected: Any, new: Any, ttl: Any = None, fingerprint: Any = None) -> bool:
        return super().atomic_swap(key, expected, new)


class SwapsBlindly(StorageDefault):
    def atomic_swap(self, key: str, expected: Any, new: Any, ttl: Any = None, fingerprint: Any = None) -> bool:
        self.post(key, new if isinstance(new, Context) else Context(new), ttl, fingerprint)
        return True


class MiscountsPrefix(StorageDefault):
    def delete_prefix(self, prefix: str) -> int:
        super().delete_prefix(prefix)
        return 0


class ListsEverything(StorageDefault):
    def list_keys(self, prefix: str) -> list[str]:
        return super().list_keys("")


class DeleteSaysTrue(StorageDefault):
    def delete(self, key: str) -> bool:
        super().delete(key)
        return True


class OldKey(StorageDefault):
    """1.0.1's StorageFile key: ``<wf>-<task>.json``."""

    def key(self, task: Any) -> str:
        return f"{task.workflow_id}-{task.task_id}.json"


@pytest.mark.parametrize(
    "storage_class, caught",
    [
        (Appending, {"test_overwrite_replaces"}),
        (DropsLists, {"test_every_json_value_round_trips", "test_overwrite_replaces", "test_atomic_swap"}),
        (NoneIsMissing, {"test_exists_tells_stored_none_from_missing"}),
        (SwapsBlindly, {"test_atomic_swap"}),
        (MiscountsPrefix, {"test_delete_prefix_returns_count"}),
        (ListsEverything, {"test_list_keys_filters_by_prefix"}),
        (DeleteSaysTrue, {"test_delete_returns_true_when_present"}),
        (OldKey, {"test_key_is_workflow_dash_task"}),
    ],
    ids=lambda value: value.__name__ if isinstance(value, type) else "",
)
def test_contract_catches(storage_class: Any, caught: set[str]) -> None:
    """Each broken storage fails exactly the contract tests for what it breaks, and passes the rest."""
    outcome = _run(storage_class)
    assert outcome["failed"] == caught
    assert outcome["errors"] == set()


def test_optional_methods_of_a_1x_storage_error_clearly() -> None:
    """A post/get-only storage passes the core tests; the optional methods' tests error naming what to implement."""
    outcome = _run(PostGetOnly)
    assert outcome["errors"] == {
        "test_delete_prefix_returns_count",
        "test_list_keys_filters_by_prefix",
        "test_atomic_swap",
        "test_clear_delegates_to_delete_prefix",
    }
    # its own exists() and the Storage default delete (posting an empty Context) disagree: caught too
    assert outcome["failed"] == {"test_delete_returns_true_when_present", "test_exists_tells_stored_none_from_missing"}
    with pytest.raises(NotImplementedError, match="PostGetOnly does not implement Storage.list_keys"):
        PostGetOnly().list_keys("")


def test_contract_catches_an_ignored_ttl() -> None:
    """A storage that ignores ttl fails test_ttl (it waits the 1.1 s to see it)."""
    outcome = _run(IgnoresTtl, supports_ttl=True)
    assert outcome["failed"] == {"test_ttl"}


def test_contract_catches_names_outside_the_prefix() -> None:
    """stored_names() that show a nested or hidden name fail test_stored_names_stay_under_prefix."""
    for names in (["a.json", "sub/b.json"], [".hidden.json"], ["plain"]):
        outcome = _run(StorageDefault, names=names * 20)
        assert outcome["failed"] == {"test_stored_names_stay_under_prefix"}, names


class TestPytestForm(StorageContract):
    """The contract as a plain pytest class: storage made on first use, after autouse fixtures."""

    @pytest.fixture(autouse=True)
    def _made_by_a_fixture(self) -> None:
        self.made = StorageDefault()

    def make_storage(self) -> Storage:
        return self.made

    supports_ttl = False
