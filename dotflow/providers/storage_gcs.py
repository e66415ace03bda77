"""StorageGCS: one JSON object per result in a Google Cloud Storage bucket."""

from __future__ import annotations

from typing import Any

from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers._bucket import BucketStorage
from dotflow.redact import describe


def _is_not_found(exc: BaseException) -> bool:
    # google.api_core's NotFound has ``code == 404``; reading the attribute keeps
    # google.api_core out of the import path when a client is injected.
    return getattr(exc, "code", None) == 404


class StorageGCS(BucketStorage):
    """Writes ``gs://<bucket>/<prefix><key>.json``. ``get`` of a missing object returns an
    empty Context, and no key can name an object outside ``prefix``.

    ``client`` is a ready ``google.cloud.storage.Client``; without it one is built for
    ``project`` with Google's default credentials (or ``STORAGE_EMULATOR_HOST``).

    GCS answers 404 both for a missing object and a missing bucket, so a missing bucket
    reads as empty too; the first ``post`` then fails with a DotflowError naming it.
    """

    scheme = "gs"

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
                    f"StorageGCS(bucket={bucket!r}): cannot build a storage client ({describe(exc)}); "
                    "set up Google credentials (GOOGLE_APPLICATION_CREDENTIALS) or pass client="
                ) from exc
        self.client = client
        self._bucket = client.bucket(bucket)

    def _write(self, name: str, data: bytes) -> None:
        self._bucket.blob(name).upload_from_string(data, content_type="application/json")

    def _read(self, name: str) -> bytes:
        return self._bucket.blob(name).download_as_bytes()

    def _exists(self, name: str) -> bool:
        return bool(self._bucket.blob(name).exists())

    def _delete(self, name: str) -> None:
        self._bucket.blob(name).delete()  # NotFound for a missing object: _is_missing

    def _is_missing(self, exc: BaseException) -> bool:
        return _is_not_found(exc)
