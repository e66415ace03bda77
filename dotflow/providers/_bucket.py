"""BucketStorage: what the object-store providers (S3, GCS) share: names, codec, 1.0.1 objects and errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import StorageError
from dotflow.providers._codec import (
    EXPIRES_METADATA,
    Entry,
    check_prefix,
    decode_entry,
    decode_legacy,
    encode,
    expired_metadata,
    expiry,
    is_flat,
    key_of,
    safe_name,
)
from dotflow.redact import describe

_RAISE: Any = object()
ANY: Any = object()  # a write with no precondition
_FINGERPRINT = ".fingerprint"  # 1.0.1's sidecar object of a post(fingerprint=...)


class Conflict(Exception):
    """A conditional write or read found the object changed (raised by the primitives)."""


class BucketError(Exception):
    """A store's answer that reports a failure without raising (e.g. a partial batch delete)."""


class BucketStorage(Storage):
    """One JSON object per key at ``<prefix><safe key>.json`` in a bucket.

    Subclasses give the URL scheme and these primitives over full object names:

    - ``_write(name, data, metadata, version)``: write; ``version`` is ``ANY`` (always),
      ``None`` (only if absent) or a token from ``_read_versioned`` (only if unchanged),
      raising ``Conflict`` when the condition fails;
    - ``_read(name)`` and ``_read_versioned(name) -> (bytes, token)`` (or None when missing);
    - ``_head(name)``: the object's metadata (a dict), or None when missing;
    - ``_delete(name, bucket_known) -> bool`` (whether it was there) and ``_delete_many(names)``;
    - ``_list(start) -> (name, metadata or None when the listing does not show it)``;
    - ``_is_missing(exc)``: whether an SDK error means "no such object".

    An entry with a ``ttl`` carries its expiry in the document and, so that ``exists`` and
    ``list_keys`` need not download it, in the object metadata ``dotflow-expires-at``.

    Objects written by dotflow 1.0.1 (``<prefix><key>``, no ``.json``, a JSON array of JSON
    strings; its fingerprints in ``<prefix><key>.fingerprint``) are read when a key has no
    object of ours, listed, and removed by ``delete``, ``delete_prefix`` and ``clear``.
    """

    scheme = ""
    bucket: str
    prefix: str

    def _write(self, name: str, data: bytes, metadata: dict[str, str], version: Any = ANY) -> None:
        raise NotImplementedError

    def _read(self, name: str) -> bytes:
        raise NotImplementedError

    def _read_versioned(self, name: str) -> tuple[bytes, Any] | None:
        raise NotImplementedError

    def _head(self, name: str) -> Mapping[str, str] | None:
        raise NotImplementedError

    def _delete(self, name: str, bucket_known: bool = False) -> bool:
        """Delete one object; whether it was there. ``bucket_known``: the bucket was reached already."""
        raise NotImplementedError

    def _delete_many(self, names: list[str]) -> None:
        raise NotImplementedError

    def _list(self, start: str) -> Iterable[tuple[str, Mapping[str, str] | None]]:
        raise NotImplementedError

    def _is_missing(self, exc: BaseException) -> bool:
        raise NotImplementedError

    # --- names ----------------------------------------------------------------------------------

    def _name(self, key: str) -> str:
        return f"{self.prefix}{safe_name(key)}.json"

    def _legacy_name(self, key: str) -> str | None:
        """Where 1.0.1 kept ``key`` (its keys were object names as they were), if it could have.
        Its ``.fingerprint`` sidecars are not keys, as in 1.0.1's ``list_keys``."""
        return f"{self.prefix}{key}" if is_flat(key) and not key.endswith(_FINGERPRINT) else None

    def _where(self, name: str, key: str | None = None) -> str:
        url = f"{self.scheme}://{self.bucket}/{name}"
        return url if key is None else f"{url} (key {key!r})"

    def _call(
        self,
        verb: str,
        may: str,
        name: str,
        action: Callable[[str], Any],
        key: str | None = None,
        missing: Any = _RAISE,
    ) -> Any:
        """``action(name)``, with an SDK failure turned into one StorageError line; a "no such
        object" answer gives ``missing`` instead, when one is given."""
        try:
            return action(name)
        except Conflict:
            raise
        except Exception as exc:
            if missing is not _RAISE and self._is_missing(exc):
                return missing
            raise StorageError(
                f"{type(self).__name__}: cannot {verb} {self._where(name, key)}: {describe(exc)}; "
                f"check that the bucket exists and the credentials may {may}"
            ) from exc

    # --- the contract -------------------------------------------------------------------------

    def post(self, key: str, context: Context, ttl: int | float | None = None, fingerprint: str | None = None) -> None:
        expires_at = expiry(ttl)
        data = encode(context, expires_at, fingerprint, stored_as=key)
        metadata = _metadata(expires_at)
        self._call("write", "write to it", self._name(key), lambda name: self._write(name, data, metadata), key)

    def get(self, key: str) -> Context:
        found = self._load(key)
        return found if found is not None else Context()

    def exists(self, key: str) -> bool:
        metadata = self._call("check", "read it", self._name(key), self._head, key, missing=None)
        if metadata is not None:
            return not expired_metadata(metadata)
        legacy = self._load_legacy(key)
        # 1.0.1 stored "null" for a failed task as for a step that returned None, and ran
        # both again; so a null there does not count as a stored result
        return legacy is not None and legacy.storage is not None

    def delete(self, key: str) -> bool:
        found = bool(self._call("delete", "delete from it", self._name(key), self._delete, key, missing=False))
        legacy = self._legacy_name(key)
        if legacy is not None and self._call("delete", "delete from it", legacy, self._drop, key, missing=False):
            self._call("delete", "delete from it", legacy + _FINGERPRINT, self._drop, key, missing=False)
            found = True
        return found

    def delete_prefix(self, prefix: str) -> int:
        check_prefix(prefix, type(self).__name__)
        found = self._scan(prefix)
        names = [name for objects in found.values() for name, _, _ in objects]
        if names:
            self._call("delete", "delete from it", self.prefix + safe_name(prefix), lambda _: self._delete_many(names))
        return sum(1 for objects in found.values() if any(kind != _FINGERPRINT for _, kind, _ in objects))

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(key for key, objects in self._scan(prefix).items() if self._live(objects))

    def atomic_swap(
        self,
        key: str,
        expected: Any,
        new: Any,
        ttl: int | float | None = None,
        fingerprint: str | None = None,
    ) -> bool:
        expires_at = expiry(ttl)
        payload = new if isinstance(new, Context) else Context(new)
        name = self._name(key)
        try:
            found = self._call("read", "read it", name, self._read_versioned, key, missing=None)
            if found is not None:
                data, version = found
                entry = self._decode(name, key, data)
                current = None if entry.expired() else entry.context.storage
            else:
                version = None  # nothing of ours yet: the write must find nothing there either
                legacy = self._load_legacy(key)
                current = legacy.storage if legacy is not None else None
            if current != expected:
                return False
            data = encode(payload, expires_at, fingerprint, stored_as=key)
            metadata = _metadata(expires_at)
            self._call("write", "write to it", name, lambda n: self._write(n, data, metadata, version), key)
        except Conflict:  # another writer changed the object after we read it
            return False
        return True

    # --- helpers --------------------------------------------------------------------------------

    def _drop(self, name: str) -> bool:
        return self._delete(name, bucket_known=True)

    def _load(self, key: str) -> Context | None:
        """The live Context under ``key`` (ours, else 1.0.1's), or None."""
        name = self._name(key)
        data = self._call("read", "read it", name, self._read, key, missing=None)
        if data is None:
            return self._load_legacy(key)
        entry = self._decode(name, key, data)
        return None if entry.expired() else entry.context

    def _load_legacy(self, key: str) -> Context | None:
        legacy = self._legacy_name(key)
        if legacy is None:
            return None
        data = self._call("read", "read it", legacy, self._read, key, missing=None)
        return None if data is None else decode_legacy(data)

    def _decode(self, name: str, key: str, data: bytes) -> Entry:
        try:
            return decode_entry(data)
        except ValueError as exc:
            raise StorageError(
                f"{type(self).__name__}: {self._where(name, key)} is not valid JSON ({exc}); "
                "delete the object to run that step again"
            ) from None

    def _scan(self, prefix: str) -> dict[str, list[tuple[str, str, Mapping[str, str] | None]]]:
        """Every object under ``prefix`` that holds a key: ``key -> [(name, kind, metadata)]``,
        kind ``.json`` (ours), ``""`` (1.0.1's) or ``.fingerprint`` (1.0.1's sidecar)."""
        start = self.prefix + (safe_name(prefix) if prefix else "")
        found: dict[str, list[tuple[str, str, Mapping[str, str] | None]]] = {}
        for name, metadata in self._call("list", "list it", start, lambda s: list(self._list(s))):
            rest = name[len(self.prefix):]
            if not name.startswith(self.prefix) or "/" in rest:
                continue  # another prefix's objects, e.g. a storage with prefix "<ours>sub/"
            key: str | None
            if rest.endswith(".json") and (key := key_of(rest[: -len(".json")])) is not None:
                kind = ".json"
            elif rest.endswith(_FINGERPRINT) and is_flat(rest[: -len(_FINGERPRINT)]):
                key, kind = rest[: -len(_FINGERPRINT)], _FINGERPRINT
            elif is_flat(rest):
                key, kind = rest, ""
            else:
                continue
            if key.startswith(prefix):
                found.setdefault(key, []).append((name, kind, metadata))
        return found

    def _live(self, objects: list[tuple[str, str, Mapping[str, str] | None]]) -> bool:
        """Whether a key with these objects reads as present: our object decides when there is one."""
        for name, kind, metadata in objects:
            if kind == ".json":
                if metadata is None:  # the listing does not show metadata: ask the object
                    metadata = self._call("check", "read it", name, self._head, missing=None)
                    if metadata is None:
                        return False  # deleted since the listing
                return not expired_metadata(metadata)
        return any(kind == "" for _, kind, _ in objects)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bucket={self.bucket!r}, prefix={self.prefix!r})"


def _metadata(expires_at: float | None) -> dict[str, str]:
    return {} if expires_at is None else {EXPIRES_METADATA: repr(expires_at)}
