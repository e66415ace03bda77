"""StorageS3: one JSON object per result in an S3 (or S3-compatible) bucket."""

from __future__ import annotations

from typing import Any

from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers._bucket import BucketStorage
from dotflow.redact import describe

# Error codes that mean "no object under this key". S3 says NoSuchKey; some
# S3-compatible stores answer a bare 404 instead.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


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
                raise DotflowError(
                    f"StorageS3(bucket={bucket!r}): cannot build an S3 client ({describe(exc)}); "
                    "check region and endpoint_url, or pass client="
                ) from exc
        self.client = client

    def _write(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=name, Body=data, ContentType="application/json")

    def _read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=name)["Body"].read()

    def _exists(self, name: str) -> bool:
        # HEAD reads no body. It cannot tell a missing bucket from a missing key (both are a
        # bare 404), so a wrong bucket reads as "nothing stored" and the first post names it.
        self.client.head_object(Bucket=self.bucket, Key=name)
        return True

    def _delete(self, name: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=name)  # S3 answers 204 for a missing key too

    def _is_missing(self, exc: BaseException) -> bool:
        return _error_code(exc) in _MISSING_CODES
