"""StorageS3: one JSON object per result in an S3 (or S3-compatible) bucket."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from dotflow.errors import MissingExtraError, StorageError
from dotflow.providers._bucket import ANY, BucketError, BucketStorage, Conflict
from dotflow.redact import describe

# Error codes that mean "no object under this key". S3 says NoSuchKey; some
# S3-compatible stores answer a bare 404 instead.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# A conditional put that lost: the object changed (412), or a concurrent conditional write
# to it was in flight (409)
_CONFLICT_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_BATCH = 1000  # keys per DeleteObjects request, S3's limit


def _error_code(exc: BaseException) -> str | None:
    # botocore's ClientError carries the service's answer in ``response``; reading it
    # here keeps botocore out of the import path when a client is injected.
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None


class StorageS3(BucketStorage):
    """Writes ``s3://<bucket>/<prefix><key>.json``. ``get`` of a missing object returns an
    empty Context, and no key can name an object outside ``prefix``.

    ``client`` is a ready boto3 S3 client; without it one is built from ``region`` and
    ``endpoint_url`` with boto3's usual credential chain.

    ``atomic_swap`` is a conditional PUT (``If-Match`` the ETag read, or ``If-None-Match: *``
    when there was no object), so it holds against every other writer; a store that ignores
    those headers makes it a plain read-then-write. ``list_keys`` asks each object of its
    listing for its metadata (one HEAD per key), to leave out the expired ones.
    """

    scheme = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "dotflow/",
        region: str | None = None,
        endpoint_url: str | None = None,
        *,
        client: Any = None,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.region = region
        self.endpoint_url = endpoint_url
        if client is None:
            try:
                import boto3
            except ImportError as exc:
                raise MissingExtraError("StorageS3 needs boto3: pip install 'dotflow[s3]'") from exc
            try:
                client = boto3.client("s3", region_name=region, endpoint_url=endpoint_url)
            except Exception as exc:
                raise StorageError(
                    f"StorageS3(bucket={bucket!r}): cannot build an S3 client ({describe(exc)}); "
                    "check region and endpoint_url, or pass client="
                ) from exc
        self.client = client

    def _write(self, name: str, data: bytes, metadata: dict[str, str], version: Any = ANY) -> None:
        request: dict[str, Any] = {"Bucket": self.bucket, "Key": name, "Body": data, "ContentType": "application/json"}
        if metadata:
            request["Metadata"] = metadata
        if version is None:
            request["IfNoneMatch"] = "*"
        elif version is not ANY:
            request["IfMatch"] = version
        try:
            self.client.put_object(**request)
        except Exception as exc:
            code = _error_code(exc)
            # If-Match on an object deleted since it was read answers NoSuchKey: a lost race too
            if version is not ANY and (code in _CONFLICT_CODES or (version is not None and code in _MISSING_CODES)):
                raise Conflict(code) from exc
            raise

    def _read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()

    def _read_versioned(self, name: str) -> tuple[bytes, Any]:
        answer = self.client.get_object(Bucket=self.bucket, Key=name)
        return answer["Body"].read(), answer["ETag"]

    def _head(self, name: str) -> Mapping[str, str]:
        # HEAD reads no body. It cannot tell a missing bucket from a missing key (both are a
        # bare 404), so a wrong bucket reads as "nothing stored" and the first post names it.
        return self.client.head_object(Bucket=self.bucket, Key=name).get("Metadata") or {}

    def _delete(self, name: str, bucket_known: bool = False) -> bool:
        # S3 answers 204 for a missing key too, so ask first. HEAD answers a bare 404 for a
        # missing bucket as for a missing key; the DELETE then names a missing bucket
        # (NoSuchBucket), unless an earlier call already reached the bucket.
        try:
            self.client.head_object(Bucket=self.bucket, Key=name)
        except Exception as exc:
            if not self._is_missing(exc):
                raise
            if not bucket_known:
                self.client.delete_object(Bucket=self.bucket, Key=name)
            return False
        self.client.delete_object(Bucket=self.bucket, Key=name)
        return True

    def _delete_many(self, names: list[str]) -> None:
        for start in range(0, len(names), _BATCH):
            batch = [{"Key": name} for name in names[start : start + _BATCH]]
            answer = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = answer.get("Errors") or []
            if errors:
                first = errors[0]
                raise BucketError(
                    f"{len(errors)} of {len(batch)} objects not deleted, e.g. {first.get('Key')!r}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )

    def _list(self, start: str) -> Iterator[tuple[str, None]]:
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                yield item["Key"], None  # a listing shows no metadata

    def _is_missing(self, exc: BaseException) -> bool:
        return _error_code(exc) in _MISSING_CODES
