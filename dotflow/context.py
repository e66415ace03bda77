"""Context: the value a step receives and returns, with where and when it came from."""

from __future__ import annotations

from datetime import datetime
from time import time as _now
from typing import Any


class Context:
    """Wraps a step's input or output.

    ``Context(Context(x))`` copies the inner Context rather than nesting it. As in dotflow 1.x,
    ``task_id`` must be a str (or None; ``""`` when not given) and ``workflow_id`` a str or a
    UUID (or None), else ``TypeError``; a UUID is kept as its string, since workflow ids are
    strings here.
    """

    __slots__ = ("storage", "_task_id", "_workflow_id", "_ts")

    storage: Any
    _task_id: str | None
    _workflow_id: str | None
    _ts: float

    def __init__(self, storage: Any = None, task_id: Any = "", workflow_id: Any = None) -> None:
        if isinstance(storage, Context):
            inner = storage
            storage = inner.storage
            task_id = inner.task_id if task_id is None or task_id == "" else task_id
            workflow_id = inner.workflow_id if workflow_id is None else workflow_id
        self.storage = storage
        # checked inline: a Context is made for every result, and the properties cost a call each
        self._task_id = task_id if task_id is None or type(task_id) is str else _task_id(task_id)
        self._workflow_id = (
            workflow_id if workflow_id is None or type(workflow_id) is str else _workflow_id(workflow_id)
        )
        self._ts = _now()

    @property
    def task_id(self) -> str | None:
        """The task that made this Context (None for an input)."""
        return self._task_id

    @task_id.setter
    def task_id(self, value: Any) -> None:
        self._task_id = value if value is None else _task_id(value)

    @property
    def workflow_id(self) -> str | None:
        """The workflow of that task."""
        return self._workflow_id

    @workflow_id.setter
    def workflow_id(self, value: Any) -> None:
        self._workflow_id = value if value is None else _workflow_id(value)

    @property
    def time(self) -> datetime:
        """When this Context was made."""
        return datetime.fromtimestamp(self._ts)

    @property
    def timestamp(self) -> float:
        """``time`` in seconds since the epoch. Settable, as 1.x's ``time`` was: a result read back
        from a storage takes the time it was made, which is what a resumed task shows."""
        return self._ts

    @timestamp.setter
    def timestamp(self, value: float) -> None:
        self._ts = float(value)

    def __repr__(self) -> str:
        return f"Context(storage={self.storage!r}, task_id={self.task_id!r}, workflow_id={self.workflow_id!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Context):
            return NotImplemented
        return (self.storage, self.task_id, self.workflow_id) == (other.storage, other.task_id, other.workflow_id)

    __hash__ = None  # type: ignore[assignment]


def _task_id(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"task_id must be a str, got {type(value).__name__}: {value!r}")
    return value


def _workflow_id(value: Any) -> str:
    from uuid import UUID

    if isinstance(value, UUID):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"workflow_id must be a str or a UUID, got {type(value).__name__}: {value!r}")
    return value


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def to_jsonable(value: Any, lost: set[str] | None = None) -> Any:
    """A JSON-safe copy of ``value``: Contexts become their storage, tuples and sets lists, bytes
    and unknown objects their ``str``. ``lost`` (when given) collects the names of the types that
    did not survive as themselves, so a storage can say what a resumed run will get back."""
    # Exact-type checks first: reports copy results of megabytes on the task's thread, and
    # plain dicts, lists and scalars are nearly all of them.
    kind = type(value)
    if kind in _JSON_SCALARS:
        return value
    if kind is dict:
        if lost is not None and any(type(k) is not str for k in value):
            lost.add("non-str dict key")
        return {
            (k if type(k) is str else str(k)): (v if type(v) in _JSON_SCALARS else to_jsonable(v, lost))
            for k, v in value.items()
        }
    if kind is list:
        return [v if type(v) in _JSON_SCALARS else to_jsonable(v, lost) for v in value]
    return _convert(value, lost)


def _convert(value: Any, lost: set[str] | None) -> Any:
    """``to_jsonable`` for everything but plain scalars, dicts and lists (subclasses included)."""
    if isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, Context):
        return to_jsonable(value.storage, lost)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v, lost) for k, v in value.items()}
    if lost is not None and not isinstance(value, list):
        lost.add(type(value).__name__)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, lost) for v in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)
