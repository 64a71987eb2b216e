"""The anchor store on S3: a bucket with Object Lock in compliance mode.

An object is created with `If-None-Match: *`, so S3 itself refuses a second
object under a key (a rival run, a replay); the bucket's default retention (the
template's `AnchorRetentionDays`, compliance mode) then keeps every version of it
from being deleted or overwritten until the retention ends, by anyone, the
account's root user included.

Object Lock protects versions, not keys: anyone allowed to put objects can put a
newer version over a key, or a delete marker on it, though never remove the
version first written. So an anchor is read as its key's *oldest* version, and
the keys are listed from their versions (a delete marker hides none).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import ClientError

from formrelay.audit.anchor_store import AnchorStore

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_ALREADY_THERE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class S3AnchorStore(AnchorStore):
    """Anchor objects in an S3 bucket."""

    def __init__(self, bucket: str, s3: S3Client | None = None) -> None:
        self.bucket = bucket
        self._s3 = s3

    @property
    def s3(self) -> S3Client:
        """The S3 client, built on first use."""
        if self._s3 is None:
            self._s3 = boto3.client("s3")
        return self._s3

    def _create(self, key: str, body: bytes) -> bool:
        try:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                IfNoneMatch="*",
                ContentType="application/json",
                ChecksumAlgorithm="SHA256",  # Object Lock puts must carry a checksum
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _ALREADY_THERE:
                return False
            raise
        return True

    def _get(self, key: str) -> bytes | None:
        versions = [v for v in self._versions(key) if v["Key"] == key]
        if not versions:
            return None
        first = versions[-1]  # S3 lists a key's versions newest first
        answer = self.s3.get_object(Bucket=self.bucket, Key=key, VersionId=first["VersionId"])
        return answer["Body"].read()

    def _keys(self, prefix: str) -> list[str]:
        return sorted({version["Key"] for version in self._versions(prefix)})

    def _versions(self, prefix: str) -> list[Any]:
        found: list[Any] = []
        for page in self.s3.get_paginator("list_object_versions").paginate(
            Bucket=self.bucket, Prefix=prefix
        ):
            found += page.get("Versions", [])
        return found
