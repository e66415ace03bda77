"""StorageGCS: one JSON object per result in a Google Cloud Storage bucket."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dotflow.errors import MissingExtraError, StorageError
from dotflow.providers._bucket import ANY, BucketStorage, Conflict
from dotflow.redact import describe


def _is_not_found(exc: BaseException) -> bool:
    # google.api_core's NotFound has ``code == 404``; reading the attribute keeps
    # google.api_core out of the import path when a client is injected.
    return getattr(exc, "code", None) == 404


def _is_precondition_failed(exc: BaseException) -> bool:
    return getattr(exc, "code", None) == 412


class StorageGCS(BucketStorage):
    """Writes ``gs://<bucket>/<prefix><key>.json``. ``get`` of a missing object returns an
    empty Context, and no key can name an object outside ``prefix``.

    ``client`` is a ready ``google.cloud.storage.Client``; without it one is built for
    ``project`` with Google's default credentials (or ``STORAGE_EMULATOR_HOST``).

    GCS answers 404 both for a missing object and a missing bucket, so a missing bucket
    reads as empty too; the first ``post`` then fails with a StorageError naming it.

    ``atomic_swap`` reads the object's generation, downloads that generation and uploads with
    ``if_generation_match`` (0 when there was no object), so it holds against every other
    writer. (The gcp-storage-emulator used in dotflow's tests ignores those preconditions;
    there a swap is a plain read-then-write.)
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
                raise StorageError(
                    f"StorageGCS(bucket={bucket!r}): cannot build a storage client ({describe(exc)}); "
                    "set up Google credentials (GOOGLE_APPLICATION_CREDENTIALS) or pass client="
                ) from exc
        self.client = client
        self._bucket = client.bucket(bucket)

    def _write(self, name: str, data: bytes, metadata: dict[str, str], version: Any = ANY) -> None:
        blob = self._bucket.blob(name)
        if metadata:
            blob.metadata = metadata
        condition: dict[str, Any] = {}
        if version is not ANY:
            condition["if_generation_match"] = 0 if version is None else version  # 0: "no live object"
        try:
            blob.upload_from_string(data, content_type="application/json", **condition)
        except Exception as exc:
            if condition and _is_precondition_failed(exc):
                raise Conflict("generation changed") from exc
            raise

    def _read(self, name: str) -> bytes:
        return self._bucket.blob(name).download_as_bytes()

    def _read_versioned(self, name: str) -> tuple[bytes, Any] | None:
        blob = self._bucket.get_blob(name)
        if blob is None:
            return None
        generation = blob.generation  # read first: a download may reset the blob's properties
        try:  # exactly the generation just seen, so the bytes and the token agree
            return blob.download_as_bytes(if_generation_match=generation), generation
        except Exception as exc:
            if _is_precondition_failed(exc):
                raise Conflict("generation changed") from exc
            raise

    def _head(self, name: str) -> Mapping[str, str] | None:
        blob = self._bucket.get_blob(name)
        return None if blob is None else (blob.metadata or {})

    def _delete(self, name: str, bucket_known: bool = False) -> bool:
        self._bucket.blob(name).delete()  # NotFound for a missing object: _is_missing
        return True

    def _delete_many(self, names: list[str]) -> None:
        for name in names:
            try:
                self._bucket.blob(name).delete()
            except Exception as exc:
                if not _is_not_found(exc):  # gone already: what was wanted
                    raise

    def _list(self, start: str) -> Iterator[tuple[str, Mapping[str, str]]]:
        for blob in self.client.list_blobs(self._bucket, prefix=start):
            yield blob.name, blob.metadata or {}  # a listing carries each object's metadata

    def _is_missing(self, exc: BaseException) -> bool:
        return _is_not_found(exc)
