"""StorageDefault: results kept in memory."""

from __future__ import annotations

import storage_contract

from dotflow import Config, Context, DotFlow, action
from dotflow.abc.storage import Storage
from dotflow.providers import StorageDefault


def test_contract() -> None:
    """StorageDefault meets the whole Storage contract."""
    storage_contract.check_all(StorageDefault())


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
