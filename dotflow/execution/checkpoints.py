"""Checkpoint policy: the inputs' fingerprint, and what a run does with earlier checkpoints (resume, input change)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Sequence

from dotflow.context import Context
from dotflow.errors import DotflowError, InputChangedError, StorageError
from dotflow.lazy import LazyPattern

if TYPE_CHECKING:
    from dotflow.abc.storage import Storage
    from dotflow.task import Task

# a repr that shows a memory address, different in every process: the fingerprint ignores it
_ADDRESS = LazyPattern(r"\bat 0x[0-9A-Fa-f]+")
_MIXED = "mixed:"  # the recorded inputs of checkpoints made from more than one set of inputs
_WARNED: set[str] = set()  # warnings given once per process


def prepare(
    storage: Storage, workflow_id: str, tasks: Sequence[Task], current: str, resume: bool, on_input_change: str
) -> bool:
    """Keep the checkpoints true to one run and its inputs (``current``, their fingerprint);
    return whether to resume.

    Every run records its input fingerprint beside the checkpoints. A run that does not
    resume drops the earlier checkpoints first, so a later resume never mixes two runs'
    results. A resuming run whose inputs changed keeps the checkpoints (``reuse``, with a
    warning; what they record then says they came from other inputs, or from several), drops
    them (``reset``) or stops before anything changes (``raise``).
    """
    with _storage_errors(storage):
        return _prepare(storage, workflow_id, tasks, current, resume, on_input_change)


def _prepare(
    storage: Storage, workflow_id: str, tasks: Sequence[Task], current: str, resume: bool, on_input_change: str
) -> bool:
    key = f"{workflow_id}-inputs"
    stored = storage.get(key).storage
    if resume and stored is not None and stored != current:
        if on_input_change == "raise":
            raise InputChangedError(
                f"workflow {workflow_id}: the tasks' inputs changed since the stored checkpoints; "
                "pass on_input_change='reset' (--on-input-change reset) to run everything again, or 'reuse' to "
                "keep the checkpoints"
            )
        if on_input_change == "reset":
            resume = False
        else:
            logging.getLogger("dotflow").warning(
                "ID %s - the tasks' inputs changed since the stored checkpoints, which are reused "
                "(on_input_change='reuse'); pass 'reset' to run everything again",
                workflow_id,
            )
    if not resume and stored is not None:  # no fingerprint, no earlier run: nothing to drop
        for task in tasks:
            storage.delete(storage.key(task))
    if stored != current:
        if not resume or stored is None:
            storage.post(key, Context(current))
        elif not all(storage.exists(storage.key(task)) for task in tasks):
            # reuse, and some tasks run again with these inputs beside checkpoints made from the
            # others: neither fingerprint is true of the set, so no later inputs match it (a
            # resume warns, 'raise' stops, 'reset' starts afresh) until a run rebuilds it whole
            storage.post(key, Context(f"{_MIXED}{current}"))
        # else every checkpoint is reused as it is: they keep the inputs they were made from
    return resume


@contextmanager
def _storage_errors(storage: Storage) -> Iterator[None]:
    """A storage that fails while the checkpoints are prepared (a plugin's ``get`` raising OSError,
    a bucket SDK's own error) is a StorageError naming it: the run has not started, and the CLI
    says so in one line. dotflow's own errors pass as they are."""
    try:
        yield
    except DotflowError:
        raise
    except Exception as exc:
        from dotflow.redact import describe

        raise StorageError(
            f"{type(storage).__name__} failed while the run read and wrote its checkpoints, before any task "
            f"ran: {describe(exc)}; check that the storage is reachable (dotflow profile check --ping)"
        ) from exc


def warn_unfindable(workflow_id: str) -> None:
    """Say, once per process (a schedule's every copy would repeat it), that a run resumes under
    an id generated for it, so that no earlier checkpoint can be found."""
    if "generated id" in _WARNED:
        return
    _WARNED.add("generated id")
    logging.getLogger("dotflow").warning(
        "ID %s - resume is on but this workflow's id was generated for this run, so no earlier "
        "checkpoint can be found; give a fixed id (DotFlow(workflow_id=...), --workflow-id, "
        "[workflow] id, DOTFLOW_WORKFLOW_ID)",
        workflow_id,
    )


def fingerprint(tasks: Sequence[Task]) -> str:
    """A hash of the tasks' inputs: every task's id and initial context (``DotFlow.fingerprint``)."""
    import json

    inputs = [[task.task_id, canonical(task.given_context)] for task in tasks]
    return _sha256()(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _sha256() -> Any:
    """SHA-256 from CPython's built-in module when there is one (the same digests): loading
    hashlib's OpenSSL binding costs ~2 ms, as much as a whole small run."""
    try:
        from _sha2 import sha256  # type: ignore[import-not-found]  # Python 3.12+
    except ImportError:
        try:
            from _sha256 import sha256  # type: ignore[import-not-found,no-redef]  # 3.10, 3.11
        except ImportError:
            from hashlib import sha256
    return sha256


def canonical(value: Any) -> Any:
    """``value`` as JSON-able data that is the same in every process: the input of the fingerprint.

    JSON values stay as they are (so fingerprints of plain inputs match those stored by
    earlier versions); sets become lists sorted by their items' canonical JSON; other objects
    become ``"<module.QualName>:<repr>"``, or just the type when the repr holds an address.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Context):
        return canonical(value.storage)
    if isinstance(value, dict):
        return {_canonical_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        import json

        items = [canonical(v) for v in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    kind = type(value)
    name = f"{kind.__module__}.{kind.__qualname__}"
    text = repr(value)
    return name if _ADDRESS.search(text) else f"{name}:{text}"


def _canonical_key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if key is None or isinstance(key, (int, float, bool)):
        return str(key)  # as earlier versions did, so stored fingerprints still match
    import json

    return json.dumps(canonical(key), sort_keys=True)
