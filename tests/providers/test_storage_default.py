"""StorageDefault: results kept in memory."""

from __future__ import annotations

import threading
import time

import pytest

from dotflow import Config, Context, DotFlow, action
from dotflow.abc.storage import Storage
from dotflow.errors import UsageError
from dotflow.providers import StorageDefault
from dotflow.testing import StorageContract


class TestContract(StorageContract):
    """StorageDefault meets dotflow.testing.StorageContract."""

    def make_storage(self) -> Storage:
        return StorageDefault()


def test_is_the_config_default() -> None:
    """``Config()`` without storage uses a StorageDefault, a Storage."""
    storage = Config().storage
    assert isinstance(storage, StorageDefault)
    assert isinstance(storage, Storage)


def test_instances_do_not_share_data() -> None:
    """Two StorageDefault instances keep separate results."""
    a, b = StorageDefault(), StorageDefault()
    a.post("k", Context(1))
    assert b.get("k").storage is None
    assert a.get("k").storage == 1


def test_keeps_the_posted_context_itself() -> None:
    """``get`` returns the very Context that was posted, as 1.x does (no copy)."""
    storage = StorageDefault()
    context = Context({"rows": [1]})
    storage.post("k", context)
    assert storage.get("k") is context


def test_expired_entries_are_dropped_by_a_later_post(monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries whose ttl passed are removed from memory by the next post even if never read."""
    storage = StorageDefault()
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    for n in range(50):
        storage.post(f"old-{n}", Context(n), ttl=1)
    clock[0] += 5
    storage.post("new", Context("x"))
    assert list(storage._data) == ["new"] and not storage._expires


def test_bad_ttl_is_a_usage_error() -> None:
    """A negative, boolean or non-number ttl raises UsageError naming it, and stores nothing."""
    storage = StorageDefault()
    for ttl in (-1, True, "5", float("nan")):
        with pytest.raises(UsageError, match="ttl="):
            storage.post("k", Context(1), ttl=ttl)  # type: ignore[arg-type]
    assert storage.exists("k") is False


def test_empty_prefix_is_refused() -> None:
    """``delete_prefix("")`` raises UsageError instead of deleting everything."""
    storage = StorageDefault()
    storage.post("k", Context(1))
    with pytest.raises(UsageError, match="non-empty prefix"):
        storage.delete_prefix("")
    assert storage.get("k").storage == 1


def test_atomic_swap_is_atomic_between_threads() -> None:
    """Eight threads incrementing one counter with atomic_swap lose no increment."""
    storage = StorageDefault()
    storage.post("counter", Context(0))

    def bump() -> None:
        for _ in range(200):
            while True:
                current = storage.get("counter").storage
                if storage.atomic_swap("counter", current, current + 1):
                    break

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert storage.get("counter").storage == 1600


@action
def step() -> dict[str, list[int]]:
    return {"rows": [1, 2]}


def test_keeps_each_task_result_under_its_key() -> None:
    """After a run, ``get(key(task))`` returns that task's result."""
    storage = StorageDefault()
    workflow = DotFlow(config=Config(storage=storage), workflow_id="mem")
    workflow.task.add(step)
    workflow.start()
    task = workflow.result_task()[0]
    assert storage.key(task) == f"mem-{task.task_id}"
    assert storage.get(storage.key(task)).storage == {"rows": [1, 2]}
