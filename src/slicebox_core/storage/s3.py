"""Objects in an S3-compatible bucket (AWS, MinIO, moto): ``<prefix>/<key>``.

Uploads use boto3's managed transfer (multipart for large files, streamed from the spooled
temporary file); reads stream the object body. Backend errors are translated here once:
a missing object is :class:`NotFound`, anything else propagates as ``OSError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from ..config import S3StorageConfig
from ..errors import NotFound
from .base import check_key


class S3Storage:
    def __init__(self, config: S3StorageConfig, *, spool_dir: Path) -> None:
        import boto3

        self.bucket = config.bucket
        self.prefix = config.prefix.strip("/")
        self._client: Any = boto3.client(
            "s3",
            region_name=config.region,
            endpoint_url=config.endpoint_url or None,
        )
        if config.create_bucket:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except Exception:
                self._client.create_bucket(Bucket=self.bucket)
        self._spool = spool_dir
        self._spool.mkdir(parents=True, exist_ok=True)

    @property
    def spool_dir(self) -> Path:
        return self._spool

    def _object(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put_file(self, key: str, path: Path) -> None:
        self._client.upload_file(str(path), self.bucket, self._object(key))
        os.unlink(path)

    def sync(self) -> None:
        """Uploads are durable once ``put_file`` returns."""

    def open(self, key: str) -> BinaryIO:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self._object(key))
        except self._client.exceptions.NoSuchKey:
            raise NotFound(f"File not found: {key}") from None
        return response["Body"]  # type: ignore[no-any-return,unused-ignore]

    def size(self, key: str) -> int:
        try:
            head = self._client.head_object(Bucket=self.bucket, Key=self._object(key))
        except self._client.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound(f"File not found: {key}") from None
            raise
        return int(head["ContentLength"])

    def local_path(self, key: str) -> Path | None:
        return None

    def delete(self, key: str) -> None:
        self._client.delete_object(Bucket=self.bucket, Key=self._object(key))

    def keys(self) -> Iterator[str]:
        paginator = self._client.get_paginator("list_objects_v2")
        prefix = f"{self.prefix}/" if self.prefix else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                yield obj["Key"][len(prefix) :]
