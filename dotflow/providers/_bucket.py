"""BucketStorage: what the object-store providers (S3, GCS) share: names, codec and errors."""

from __future__ import annotations

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError
from dotflow.providers._codec import decode, encode, safe_name
from dotflow.redact import describe


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

    def post(self, key: str, context: Context) -> None:
        data = encode(context)
        try:
            self._write(self._name(key), data)
        except Exception as exc:
            raise DotflowError(
                f"{type(self).__name__}: cannot write {self._where(key)}: {describe(exc)}; "
                "check that the bucket exists and the credentials may write to it"
            ) from exc

    def get(self, key: str) -> Context:
        try:
            data = self._read(self._name(key))
        except Exception as exc:
            if self._is_missing(exc):
                return Context()
            raise DotflowError(
                f"{type(self).__name__}: cannot read {self._where(key)}: {describe(exc)}; "
                "check that the bucket exists and the credentials may read it"
            ) from exc
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"{type(self).__name__}: {self._where(key)} is not valid JSON ({exc}); "
                "delete the object to run that step again"
            ) from None

    def exists(self, key: str) -> bool:
        try:
            return self._exists(self._name(key))
        except Exception as exc:
            if self._is_missing(exc):
                return False
            raise DotflowError(
                f"{type(self).__name__}: cannot check {self._where(key)}: {describe(exc)}; "
                "check that the bucket exists and the credentials may read it"
            ) from exc

    def delete(self, key: str) -> None:
        try:
            self._delete(self._name(key))
        except Exception as exc:
            if self._is_missing(exc):
                return
            raise DotflowError(
                f"{type(self).__name__}: cannot delete {self._where(key)}: {describe(exc)}; "
                "check that the bucket exists and the credentials may delete from it"
            ) from exc

    def __repr__(self) -> str:
        return f"{type(self).__name__}(bucket={self.bucket!r}, prefix={self.prefix!r})"
