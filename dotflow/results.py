"""The JSON-safe result of a task (``Task.result()``): context values, ISO times, and the size cap
that keeps a report within a server's limit."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dotflow.context import to_jsonable

if TYPE_CHECKING:
    from dotflow.context import Context

CONTEXT_KEYS = ("initial_context", "current_context", "previous_context")
# What a context too deeply nested to copy becomes in a result: the task's report (its status
# above all) must still go, so the value is replaced, never the report lost.
TOO_DEEP = "<not encoded: nested too deep>"


def context_value(context: Context | None) -> Any:
    """The JSON-safe value of a context, None when there is none; ``TOO_DEEP`` for a value nested
    past Python's recursion limit (a list in a list 5,000 times), which cannot be copied."""
    if context is None:
        return None
    try:
        return to_jsonable(context.storage)
    except RecursionError:
        return TOO_DEEP


def iso(ts: float | None) -> str | None:
    """An epoch timestamp as ISO 8601 local time, None for None."""
    return None if ts is None else datetime.fromtimestamp(ts).isoformat()


def cap(data: dict[str, Any], limit: int) -> dict[str, Any]:
    """``data`` trimmed until ``json.dumps(data)`` is at most ``limit`` characters (see Task.result).

    Each value is serialized once and the dict's size is summed from the pieces, so a 3 MB
    context costs one ``json.dumps`` of it, not one per trimming step (this runs on the task's
    thread whenever a server asks for the report).
    """
    sizes = {key: _item_size(key, value) for key, value in data.items()}
    total = _dict_size(sizes)
    if total <= limit:
        return data

    def put(key: str, value: Any) -> int:
        data[key] = value
        sizes[key] = _item_size(key, value)
        return _dict_size(sizes)

    for key in sorted(CONTEXT_KEYS, key=lambda k: -sizes[k]):
        if data[key] is None:
            continue
        # the note gives the size of the value's JSON; its key's share of the item is known
        value_size = sizes[key] - len(json.dumps(key)) - 2
        if put(key, f"<truncated: {value_size} bytes>") <= limit:
            return data
    if data["errors"]:
        last = dict(data["errors"][-1], traceback=None)
        last["message"] = str(last["message"])[:200]
        put("errors", [last])
        if put("error", last) <= limit:
            return data
        put("errors", [])
        if put("error", {"exception": last["exception"], "message": last["message"][:50]}) <= limit:
            return data
    for key in ("error", "errors", *CONTEXT_KEYS, "group_name", "created_at", "started_at", "finished_at",
                "duration", "retry_count", "id", "workflow_id", "status", "task_id"):
        del data[key]
        del sizes[key]
        if _dict_size(sizes) <= limit:
            return data
    return data


def _item_size(key: str, value: Any) -> int:
    """Characters ``"key": value`` takes inside ``json.dumps`` of a dict (default separators)."""
    return len(json.dumps(key)) + 2 + len(json.dumps(value))


def _dict_size(sizes: dict[str, int]) -> int:
    """Characters of ``json.dumps`` of a dict whose items take ``sizes``: braces and ", " between items."""
    return 2 + sum(sizes.values()) + 2 * max(len(sizes) - 1, 0)


class Schema:
    """A result (``task.result()``, ``flow.result()``) read by attribute, as 1.x's serializers were
    (``Task.schema()``, ``TaskBuilder.schema()``): each key is an attribute, a list of results a list
    of Schemas; ``model_dump()`` gives the dict back and ``model_dump_json()`` its JSON."""

    __slots__ = ("_data",)

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # _data before it is set (copy, pickle)
            raise AttributeError(name)
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(f"{name!r}; a result schema has {', '.join(self._data)}") from None
        if isinstance(value, list) and value and all(isinstance(item, dict) for item in value):
            return [Schema(item) for item in value]
        return value

    def model_dump(self) -> dict[str, Any]:
        """The result as a JSON-safe dict."""
        return json.loads(json.dumps(self._data))

    def model_dump_json(self) -> str:
        """The result as JSON."""
        return json.dumps(self._data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and other.model_dump() == self.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Schema({self._data!r})"
