"""StorageGCS: one JSON object per result in a Google Cloud Storage bucket."""

from __future__ import annotations

import re
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers._codec import decode, encode, safe_name

_QUERY = re.compile(r"(https?://[^\s?\"']*)\?[^\s\"']*")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``exc`` as one short line; URL query strings are dropped, since they can carry keys."""
    text = _QUERY.sub(r"\1", " ".join(str(exc).split())) or "no detail"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}"


def _is_not_found(exc: BaseException) -> bool:
    # google.api_core's NotFound has ``code == 404``; reading the attribute keeps
    # google.api_core out of the import path when a client is injected.
    return getattr(exc, "code", None) == 404


class StorageGCS(Storage):
    """Writes ``gs://<bucket>/<prefix><key>.json``. ``get`` of a missing object returns an
    empty Context, and no key can name an object outside ``prefix``.

    ``client`` is a ready ``google.cloud.storage.Client``; without it one is built for
    ``project`` with Google's default credentials (or ``STORAGE_EMULATOR_HOST``).

    GCS answers 404 both for a missing object and a missing bucket, so a missing bucket
    reads as empty too; the first ``post`` then fails with a DotflowError naming it.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "dotflow/",
        project: str | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.project = project
        if client is None:
            try:
                # ``import a.b.c`` (not ``from a.b import c``) so a blocked or missing
                # submodule is always seen, even when ``google.cloud`` is already loaded.
                import google.cloud.storage as gcs
            except ImportError as exc:
                raise MissingExtraError(
                    "StorageGCS needs google-cloud-storage: pip install 'dotflow[gcs]'"
                ) from exc
            try:
                client = gcs.Client(project=project)
            except Exception as exc:
                raise DotflowError(
                    f"StorageGCS(bucket={bucket!r}): cannot build a storage client ({_one_line(exc)}); "
                    "set up Google credentials (GOOGLE_APPLICATION_CREDENTIALS) or pass client="
                ) from exc
        self.client = client
        self._bucket = client.bucket(bucket)

    def _name(self, key: str) -> str:
        return f"{self.prefix}{safe_name(key)}.json"

    def _where(self, key: str) -> str:
        return f"gs://{self.bucket}/{self._name(key)} (key {key!r})"

    def post(self, key: str, context: Context) -> None:
        data = encode(context)
        try:
            self._bucket.blob(self._name(key)).upload_from_string(data, content_type="application/json")
        except Exception as exc:
            raise DotflowError(
                f"StorageGCS: cannot write {self._where(key)}: {_one_line(exc)}; "
                "check that the bucket exists and the credentials may write to it"
            ) from exc

    def get(self, key: str) -> Context:
        try:
            data = self._bucket.blob(self._name(key)).download_as_bytes()
        except Exception as exc:
            if _is_not_found(exc):
                return Context()
            raise DotflowError(
                f"StorageGCS: cannot read {self._where(key)}: {_one_line(exc)}; "
                "check that the bucket exists and the credentials may read it"
            ) from exc
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"StorageGCS: {self._where(key)} is not valid JSON ({exc}); "
                "delete the object to run that step again"
            ) from None

    def __repr__(self) -> str:
        return f"StorageGCS(bucket={self.bucket!r}, prefix={self.prefix!r})"
