"""The Storage contract as checks: each ``check_*`` takes a Storage and asserts one behaviour.

``StorageContract`` runs them as tests. Mix it into a ``unittest.TestCase``, or subclass it in a
pytest ``Test*`` class, and return a fresh storage from ``make_storage()``::

    class TestMyStorage(StorageContract, unittest.TestCase):
        def make_storage(self):
            return MyStorage()

Every check uses its own keys, so all of them may run against one storage (``check_all``).
"""

from __future__ import annotations

import time
import unittest
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

_TTL = 1  # seconds: the shortest ttl 1.x's int seconds can say
_PAST_TTL = 1.1  # how long after the last ttl write the expiry is checked


def check_round_trip(storage: Storage) -> None:
    """Every JSON-able value posted under a key is what ``get`` returns for it, type included."""
    for name, value in ROUND_TRIP_VALUES.items():
        storage.post(f"round-trip-{name}", Context(value))
    for name, value in ROUND_TRIP_VALUES.items():
        got = storage.get(f"round-trip-{name}")
        assert isinstance(got, Context), f"get() returned {got!r}, not a Context"
        assert got.storage == value, f"{name}: posted {value!r}, got back {got.storage!r}"
        assert type(got.storage) is type(value), f"{name}: posted a {type(value).__name__}, got {got.storage!r}"


def check_post_get(storage: Storage) -> None:
    """A posted dict comes back from ``get``; ``post`` takes ``fingerprint=`` as 1.x's does."""
    storage.post("post-get-1", Context({"v": 1}))
    assert storage.get("post-get-1").storage == {"v": 1}
    storage.post("post-get-2", Context({"v": 2}), fingerprint="fp-2")
    assert storage.get("post-get-2").storage == {"v": 2}


def check_missing_key_is_empty(storage: Storage) -> None:
    """``get`` of a key never posted returns an empty Context, not an error."""
    got = storage.get("never-posted-key")
    assert isinstance(got, Context), f"get() of a missing key returned {got!r}, not a Context"
    assert got.storage is None, f"get() of a missing key holds {got.storage!r}"
    assert got == Context()


def check_overwrite_replaces(storage: Storage) -> None:
    """A second ``post`` under the same key replaces the first value entirely (no appending)."""
    storage.post("overwrite", Context({"old": 1, "kept": False}))
    storage.post("overwrite", Context([2]))
    got = storage.get("overwrite").storage
    assert got == [2], f"after posting {{'old': ...}} then [2], get() gave {got!r}"


def check_hostile_keys_are_distinct(storage: Storage, keys: Iterable[str] = HOSTILE_KEYS) -> None:
    """Hostile keys each round-trip their own value, so no two share one object."""
    keys = list(keys)
    for index, key in enumerate(keys):
        storage.post(key, Context({"index": index, "key": key}))
    for index, key in enumerate(keys):
        got = storage.get(key).storage
        assert got == {"index": index, "key": key}, f"key {key!r} read back {got!r}"


def check_names_stay_under_prefix(
    storage: Storage,
    list_names: Callable[[], Iterable[str]],
    prefix: str,
    keys: Iterable[str] = HOSTILE_KEYS,
) -> None:
    """After posting hostile keys, every stored name (from ``list_names()``, the store's own
    listing of file or object names) is ``prefix`` plus one flat ``*.json`` name."""
    keys = list(keys)
    for key in keys:
        storage.post(key, Context(key))
    names = list(list_names())
    assert len(names) >= len(keys), f"{len(keys)} keys posted, but only these names stored: {names}"
    for name in names:
        assert name.startswith(prefix), f"{name!r} is outside {prefix!r}"
        rest = name[len(prefix):]
        assert rest.endswith(".json"), f"{name!r} is not a .json name"
        assert "/" not in rest and "\\" not in rest, f"{name!r} has a path separator after the prefix"
        assert rest not in (".json", "..json") and not rest.startswith("."), f"{name!r} is a hidden or dot name"


def check_key_format(storage: Storage) -> None:
    """``key(task)`` is ``<workflow_id>-<task_id>``."""
    task = SimpleNamespace(workflow_id="wf-1", task_id=3)
    assert storage.key(task) == "wf-1-3", f"key(task) gave {storage.key(task)!r}"


def check_exists_and_delete(storage: Storage) -> None:
    """``exists`` tells a stored key (even one holding None) from a missing one; ``delete`` removes it,
    and deleting a missing key is a no-op."""
    assert storage.exists("exists-missing") is False
    storage.post("exists-none", Context(None))
    storage.post("exists-value", Context({"v": 1}))
    assert storage.exists("exists-none") is True, "a stored None result must count: resume skips that step"
    assert storage.exists("exists-value") is True
    storage.delete("exists-none")
    storage.delete("exists-value")
    storage.delete("exists-missing")
    assert storage.exists("exists-none") is False
    assert storage.exists("exists-value") is False
    assert storage.get("exists-value") == Context()


def check_delete_reports_presence(storage: Storage) -> None:
    """``delete`` returns True when the key was there (and then it is gone), False when it was not."""
    storage.post("delete-1", Context("a"))
    assert storage.delete("delete-1") is True
    assert storage.get("delete-1").storage is None
    assert storage.delete("delete-1") is False
    assert storage.delete("delete-never") is False


def check_delete_prefix(storage: Storage) -> None:
    """``delete_prefix`` removes exactly the keys starting with the prefix and returns how many."""
    for key in ("dp-1-a", "dp-1-b", "dp-10-x", "dp-2-c"):
        storage.post(key, Context(key))
    assert storage.delete_prefix("dp-1-") == 2
    assert storage.get("dp-1-a").storage is None and storage.get("dp-1-b").storage is None
    assert storage.get("dp-10-x").storage == "dp-10-x", "dp-10-x does not start with 'dp-1-'"
    assert storage.get("dp-2-c").storage == "dp-2-c"
    assert storage.delete_prefix("dp-1-") == 0


def check_list_keys(storage: Storage, keys: Iterable[str] = HOSTILE_KEYS) -> None:
    """``list_keys`` gives back the keys starting with a prefix, exactly as they were posted."""
    for key in ("lk-1-a", "lk-1-b", "lk-2-c", "lk-10-d"):
        storage.post(key, Context(key))
    got = sorted(storage.list_keys("lk-1-"))
    assert got == ["lk-1-a", "lk-1-b"], f"list_keys('lk-1-') gave {got}"
    keys = list(keys)
    for key in keys:
        storage.post(key, Context(key))
    everything = set(storage.list_keys(""))
    missing = [key for key in keys if key not in everything]
    assert not missing, f"list_keys('') left out {missing}"
    assert {"lk-1-a", "lk-1-b", "lk-2-c", "lk-10-d"} <= everything


def check_atomic_swap(storage: Storage) -> None:
    """``atomic_swap`` stores ``new`` only when the stored value equals ``expected`` (None for a
    missing key), and says whether it did."""
    storage.post("swap-1", Context("old"))
    assert storage.atomic_swap("swap-1", "other", "new") is False
    assert storage.get("swap-1").storage == "old", "a failed swap must leave the value alone"
    assert storage.atomic_swap("swap-1", "old", "new") is True
    assert storage.get("swap-1").storage == "new"
    assert storage.atomic_swap("swap-1", "old", "newer") is False, "the value is 'new' now"
    assert storage.atomic_swap("swap-1", "new", Context({"n": [1, 2]})) is True, "new may be a Context"
    assert storage.get("swap-1").storage == {"n": [1, 2]}
    assert storage.atomic_swap("swap-1", {"n": [1, 2]}, [3]) is True, "expected compares by value"
    assert storage.get("swap-1").storage == [3]
    assert storage.atomic_swap("swap-missing", "anything", "x") is False
    assert storage.get("swap-missing").storage is None
    assert storage.atomic_swap("swap-missing", None, "created") is True, "a missing key's value is None"
    assert storage.get("swap-missing").storage == "created"


def check_clear(storage: Storage) -> None:
    """``clear(workflow_id)`` removes the keys starting with ``<workflow_id>-`` and no others."""
    storage.post("wf-A-task-1", Context("a"))
    storage.post("wf-A-task-2", Context("b"))
    storage.post("wf-B-task-1", Context("c"))
    storage.post("wf-A", Context("no dash after the id"))
    storage.clear("wf-A")
    assert storage.get("wf-A-task-1").storage is None and storage.get("wf-A-task-2").storage is None
    assert storage.get("wf-B-task-1").storage == "c"
    assert storage.get("wf-A").storage == "no dash after the id"


def check_ttl(storage: Storage, sleep: Callable[[float], None] = time.sleep) -> None:
    """An entry posted with ``ttl`` reads as missing once it expires (``get``, ``exists``,
    ``list_keys`` and ``atomic_swap``); a swap without ttl drops the old entry's ttl, and a
    swap with one applies it. Takes about 1.1 s: every entry lives ``ttl=1`` second."""
    started = time.monotonic()
    storage.post("ttl-expires", Context("x"), ttl=_TTL)
    if time.monotonic() - started < 0.5:  # on a very slow store it may have expired already
        assert storage.get("ttl-expires").storage == "x", "an entry with ttl=1 is there at first"
        assert storage.exists("ttl-expires") is True
        assert "ttl-expires" in set(storage.list_keys("ttl-"))
    storage.post("ttl-inherited", Context("old"), ttl=_TTL)
    assert storage.atomic_swap("ttl-inherited", "old", "new") is True
    storage.post("ttl-applied", Context("old"))
    assert storage.atomic_swap("ttl-applied", "old", "new", ttl=_TTL) is True
    written = time.monotonic()
    storage.post("ttl-none", Context("kept"))
    sleep(max(0.0, written + _PAST_TTL - time.monotonic()))
    assert storage.get("ttl-expires").storage is None, "an entry with ttl=1 must be gone after 1.1 s"
    assert storage.exists("ttl-expires") is False, "exists() of an expired entry must be False"
    listed = set(storage.list_keys("ttl-"))
    assert "ttl-expires" not in listed, f"list_keys() must leave out expired entries: {sorted(listed)}"
    assert storage.get("ttl-applied").storage is None, "atomic_swap(ttl=1) must give the new entry that ttl"
    assert storage.get("ttl-inherited").storage == "new", "atomic_swap without ttl must drop the old entry's ttl"
    assert storage.get("ttl-none").storage == "kept"
    assert {"ttl-inherited", "ttl-none"} <= listed
    assert storage.atomic_swap("ttl-expires", None, "again") is True, "an expired entry's value is None"
    assert storage.get("ttl-expires").storage == "again"


def check_all(
    storage: Storage,
    list_names: Callable[[], Iterable[str]] | None = None,
    prefix: str = "",
    ttl: bool = True,
) -> None:
    """Run every check; the prefix check only when ``list_names`` is given, TTL when ``ttl``."""
    for check in CHECKS:
        check(storage)
    if list_names is not None:
        check_names_stay_under_prefix(storage, list_names, prefix)
    if ttl:
        check_ttl(storage)


# every check that needs nothing but the storage (so not the prefix check), and none that sleeps
CHECKS: tuple[Callable[[Storage], None], ...] = (
    check_post_get,
    check_round_trip,
    check_missing_key_is_empty,
    check_overwrite_replaces,
    check_hostile_keys_are_distinct,
    check_key_format,
    check_exists_and_delete,
    check_delete_reports_presence,
    check_delete_prefix,
    check_list_keys,
    check_atomic_swap,
    check_clear,
)


class StorageContract:
    """Tests every Storage must pass, for a unittest.TestCase or a pytest class to inherit.

    Override ``make_storage()`` to return a fresh, empty storage for each test. Set
    ``supports_ttl = False`` to skip the TTL test (it sleeps about 1.1 s). Override
    ``stored_names()`` to return the store's own file or object names (and set
    ``stored_prefix``) to also check that no key can name something outside that prefix.

    ``self.storage`` is made by ``setUp`` (unittest) or on first use (pytest, after the
    class's fixtures ran, so ``make_storage`` may use what an autouse fixture set on ``self``).
    """

    supports_ttl: bool = True
    stored_prefix: str = ""

    def make_storage(self) -> Storage:
        raise NotImplementedError(f"{type(self).__name__}: override make_storage() to return a fresh Storage")

    def stored_names(self) -> Iterable[str] | None:
        """The store's own names for what it holds (file or object names), or None to skip that test."""
        return None

    @property
    def storage(self) -> Storage:
        made = self.__dict__.get("_contract_storage")
        if made is None:
            made = self.__dict__["_contract_storage"] = self.make_storage()
        return made

    @storage.setter
    def storage(self, value: Storage) -> None:
        self.__dict__["_contract_storage"] = value

    def setUp(self) -> None:
        self.storage = self.make_storage()

    # --- the tests of dotflow 1.x's StorageContract ---------------------------------------------

    def test_post_get_roundtrip(self) -> None:
        """A posted value comes back from get."""
        check_post_get(self.storage)

    def test_get_missing_key_returns_empty_context(self) -> None:
        """get of a key never posted returns an empty Context."""
        check_missing_key_is_empty(self.storage)

    def test_delete_returns_true_when_present(self) -> None:
        """delete returns True for a stored key, and the key is gone; False for a missing one."""
        check_delete_reports_presence(self.storage)

    def test_delete_prefix_returns_count(self) -> None:
        """delete_prefix removes only the keys with that prefix and returns their number."""
        check_delete_prefix(self.storage)

    def test_list_keys_filters_by_prefix(self) -> None:
        """list_keys returns the keys with that prefix, as posted (hostile keys included)."""
        check_list_keys(self.storage)

    def test_atomic_swap(self) -> None:
        """atomic_swap stores the new value only when the stored one equals expected."""
        check_atomic_swap(self.storage)

    def test_ttl(self) -> None:
        """An entry expires after its ttl, and atomic_swap drops or applies a ttl (about 1.1 s)."""
        if not self.supports_ttl:
            raise unittest.SkipTest("this storage does not support ttl (supports_ttl = False)")
        check_ttl(self.storage)

    def test_clear_delegates_to_delete_prefix(self) -> None:
        """clear(workflow_id) removes that workflow's keys only."""
        check_clear(self.storage)

    # --- dotflow's stricter rules -----------------------------------------------------------------

    def test_every_json_value_round_trips(self) -> None:
        """dicts, lists, strings, numbers, booleans, None and nested values come back unchanged."""
        check_round_trip(self.storage)

    def test_overwrite_replaces(self) -> None:
        """A second post under a key replaces the first value."""
        check_overwrite_replaces(self.storage)

    def test_hostile_keys_are_distinct(self) -> None:
        """Keys like ../../etc/passwd, a/b and a%2Fb each keep their own value."""
        check_hostile_keys_are_distinct(self.storage)

    def test_stored_names_stay_under_prefix(self) -> None:
        """No key makes the store write outside its prefix (needs stored_names())."""
        if type(self).stored_names is StorageContract.stored_names:
            raise unittest.SkipTest("stored_names() is not overridden")
        check_names_stay_under_prefix(self.storage, lambda: self.stored_names() or (), self.stored_prefix)

    def test_key_is_workflow_dash_task(self) -> None:
        """key(task) is <workflow_id>-<task_id>."""
        check_key_format(self.storage)

    def test_exists_tells_stored_none_from_missing(self) -> None:
        """exists is True for a stored None, False after delete and for a missing key."""
        check_exists_and_delete(self.storage)
