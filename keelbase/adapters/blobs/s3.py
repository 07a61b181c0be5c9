"""Blobs in S3-compatible storage (AWS, MinIO, R2, moto...), through boto3 on worker threads.

Uploads use boto3's managed multipart transfer and downloads read the body in
chunks, so large files stream in both directions.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, BinaryIO

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import ClientError

from keelbase.adapters.blobs.base import CHUNK, BlobInfo, BlobNotFound, check_key


@dataclass(frozen=True)
class S3Options:
    bucket: str
    region: str
    endpoint: str
    access_key: str
    secret: str
    force_path_style: bool = False


def _missing(error: ClientError) -> bool:
    code = str(error.response.get("Error", {}).get("Code", ""))
    return code in ("404", "NoSuchKey", "NotFound")


class S3BlobStore:
    def __init__(self, options: S3Options) -> None:
        self.bucket = options.bucket
        self.client: Any = boto3.client(
            "s3",
            region_name=options.region or None,
            endpoint_url=options.endpoint or None,
            aws_access_key_id=options.access_key or None,
            aws_secret_access_key=options.secret or None,
            config=BotoConfig(
                s3={"addressing_style": "path" if options.force_path_style else "auto"},
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    async def put(self, key: str, source: BinaryIO) -> int:
        check_key(key)
        start = source.tell()
        size = source.seek(0, 2) - start
        source.seek(start)
        # boto3 closes the file when done, so measure before
        await asyncio.to_thread(self.client.upload_fileobj, source, self.bucket, key)
        return int(size)

    async def info(self, key: str) -> BlobInfo:
        check_key(key)
        try:
            head = await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(key) from error
            raise
        return BlobInfo(int(head["ContentLength"]), head["LastModified"].timestamp())

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        check_key(key)
        extra: dict[str, str] = {}
        if start or end is not None:
            extra["Range"] = f"bytes={start}-{'' if end is None else end}"
        try:
            response = await asyncio.to_thread(
                self.client.get_object, Bucket=self.bucket, Key=key, **extra
            )
        except ClientError as error:
            if _missing(error):
                raise BlobNotFound(key) from error
            raise
        body = response["Body"]
        try:
            while chunk := await asyncio.to_thread(body.read, CHUNK):
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        check_key(key)
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=key)

    async def delete_prefix(self, prefix: str) -> None:
        check_key(prefix)
        await asyncio.to_thread(self._delete_prefix, prefix.rstrip("/") + "/")

    def _delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})

    async def list_blobs(self, prefix: str = "") -> list[tuple[str, BlobInfo]]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[tuple[str, BlobInfo]]:
        found: list[tuple[str, BlobInfo]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for item in page.get("Contents", []):
                info = BlobInfo(int(item["Size"]), item["LastModified"].timestamp())
                found.append((str(item["Key"]), info))
        return sorted(found)

    async def ping(self) -> None:
        """Raise when the bucket cannot be reached with these settings."""
        await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)

    async def close(self) -> None:
        await asyncio.to_thread(self.client.close)
