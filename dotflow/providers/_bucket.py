"""BucketStorage: what the object-store providers (S3, GCS) share: names, codec and errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError
from dotflow.providers._codec import decode, encode, safe_name
from dotflow.redact import describe

_RAISE: Any = object()


class BucketStorage(Storage):
    """One JSON object per key at ``<prefix><safe key>.json`` in a bucket.

    Subclasses give the URL scheme and five primitives: write bytes, read bytes, tell whether
    an object exists, delete one, and tell whether an SDK error means "no such object".
    """

    scheme = ""
    bucket: str
    prefix: str

    def _write(self, name: str, data: bytes) -> None:
        raise NotImplementedError

    def _read(self, name: str) -> bytes:
        raise NotImplementedError

    def _exists(self, name: str) -> bool:
        raise NotImplementedError

    def _delete(self, name: str) -> None:
        """Delete the object; a missing one may raise an error ``_is_missing`` recognises."""
        raise NotImplementedError

    def _is_missing(self, exc: BaseException) -> bool:
        raise NotImplementedError

    def _name(self, key: str) -> str:
        return f"{self.prefix}{safe_name(key)}.json"

    def _where(self, key: str) -> str:
        return f"{self.scheme}://{self.bucket}/{self._name(key)} (key {key!r})"

    def _call(self, verb: str, may: str, key: str, action: Callable[[str], Any], missing: Any = _RAISE) -> Any:
        """``action(object name)``, with an SDK failure turned into one DotflowError line;
        a "no such object" answer gives ``missing`` instead, when one is given."""
        try:
            return action(self._name(key))
        except Exception as exc:
            if missing is not _RAISE and self._is_missing(exc):
                return missing
            raise DotflowError(
                f"{type(self).__name__}: cannot {verb} {self._where(key)}: {describe(exc)}; "
                f"check that the bucket exists and the credentials may {may}"
            ) from exc

    def post(self, key: str, context: Context) -> None:
        data = encode(context)
        self._call("write", "write to it", key, lambda name: self._write(name, data))

    def get(self, key: str) -> Context:
        data = self._call("read", "read it", key, self._read, missing=None)
        if data is None:
            return Context()
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"{type(self).__name__}: {self._where(key)} is not valid JSON ({exc}); "
                "delete the object to run that step again"
            ) from None

    def exists(self, key: str) -> bool:
        return bool(self._call("check", "read it", key, self._exists, missing=False))

    def delete(self, key: str) -> None:
        self._call("delete", "delete from it", key, self._delete, missing=None)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bucket={self.bucket!r}, prefix={self.prefix!r})"
