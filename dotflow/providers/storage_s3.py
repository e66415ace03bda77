"""StorageS3: one JSON object per result in an S3 (or S3-compatible) bucket."""

from __future__ import annotations

import re
from typing import Any

from dotflow.abc.storage import Storage
from dotflow.context import Context
from dotflow.errors import DotflowError, MissingExtraError
from dotflow.providers._codec import decode, encode, safe_name

# Error codes that mean "no object under this key". S3 says NoSuchKey; some
# S3-compatible stores answer a bare 404 instead.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


_QUERY = re.compile(r"(https?://[^\s?\"']*)\?[^\s\"']*")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``exc`` as one short line; URL query strings are dropped, since they can carry keys."""
    text = _QUERY.sub(r"\1", " ".join(str(exc).split())) or "no detail"
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"{type(exc).__name__}: {text}"


def _error_code(exc: BaseException) -> str | None:
    # botocore's ClientError carries the service's answer in ``response``; reading it
    # here keeps botocore out of the import path when a client is injected.
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None


class StorageS3(Storage):
    """Writes ``s3://<bucket>/<prefix><key>.json``. ``get`` of a missing object returns an
    empty Context, and no key can name an object outside ``prefix``.

    ``client`` is a ready boto3 S3 client; without it one is built from ``region`` and
    ``endpoint_url`` with boto3's usual credential chain.
    """

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
                    f"StorageS3(bucket={bucket!r}): cannot build an S3 client ({_one_line(exc)}); "
                    "check region and endpoint_url, or pass client="
                ) from exc
        self.client = client

    def _name(self, key: str) -> str:
        return f"{self.prefix}{safe_name(key)}.json"

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)} (key {key!r})"

    def post(self, key: str, context: Context) -> None:
        data = encode(context)
        try:
            self.client.put_object(
                Bucket=self.bucket, Key=self._name(key), Body=data, ContentType="application/json"
            )
        except Exception as exc:
            raise DotflowError(
                f"StorageS3: cannot write {self._where(key)}: {_one_line(exc)}; "
                "check that the bucket exists and the credentials may write to it"
            ) from exc

    def get(self, key: str) -> Context:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._name(key))
            data = response["Body"].read()
        except Exception as exc:
            if _error_code(exc) in _MISSING_CODES:
                return Context()
            raise DotflowError(
                f"StorageS3: cannot read {self._where(key)}: {_one_line(exc)}; "
                "check that the bucket exists and the credentials may read it"
            ) from exc
        try:
            return decode(data)
        except ValueError as exc:
            raise DotflowError(
                f"StorageS3: {self._where(key)} is not valid JSON ({exc}); "
                "delete the object to run that step again"
            ) from None

    def __repr__(self) -> str:
        return f"StorageS3(bucket={self.bucket!r}, prefix={self.prefix!r})"
