"""StorageDefault: results kept in memory for the life of the process."""

from __future__ import annotations

from dotflow.abc.storage import Storage
from dotflow.context import Context


class StorageDefault(Storage):
    """In-memory storage. Fast, and gone when the process ends."""

    def __init__(self) -> None:
        self._data: dict[str, Context] = {}

    def post(self, key: str, context: Context) -> None:
        self._data[key] = context

    def get(self, key: str) -> Context:
        found = self._data.get(key)
        return found if found is not None else Context()

    def exists(self, key: str) -> bool:
        return key in self._data

    def delete(self, key: str) -> None:
        self._data.pop(key, None)

    def __repr__(self) -> str:
        return "StorageDefault()"
