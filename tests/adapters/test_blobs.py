"""Both blob stores behave the same: put, info, ranged read, delete, prefix delete, bad keys."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from keelbase.adapters.blobs import BlobNotFound, BlobStore
from keelbase.adapters.blobs.local import LocalBlobStore
from keelbase.adapters.blobs.s3 import S3BlobStore, S3Options

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "storage")
    endpoint = request.getfixturevalue("s3_server")
    bucket = request.getfixturevalue("bucket")
    return S3BlobStore(
        S3Options(bucket, "us-east-1", endpoint, "test", "test", force_path_style=True)
    )


async def collect(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


async def test_round_trip(store: BlobStore) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB, several chunks
    assert await store.put("c1/r1/a.bin", io.BytesIO(data)) == len(data)
    assert (await store.info("c1/r1/a.bin")).size == len(data)
    assert await collect(store, "c1/r1/a.bin") == data
    assert await collect(store, "c1/r1/a.bin", 10, 19) == data[10:20]
    await store.put("c1/r1/thumbs_a.bin/1x1_a.bin", io.BytesIO(b"t"))
    await store.put("c1/r2/b.bin", io.BytesIO(b"b"))
    await store.delete("c1/r1/a.bin")
    with pytest.raises(BlobNotFound):
        await store.info("c1/r1/a.bin")
    await store.delete("c1/r1/a.bin")  # deleting twice is fine
    await store.delete_prefix("c1/r1")
    with pytest.raises(BlobNotFound):
        await store.info("c1/r1/thumbs_a.bin/1x1_a.bin")
    assert (await store.info("c1/r2/b.bin")).size == 1
    await store.close()


@pytest.mark.parametrize(
    "key", ["../x", "a/../../x", "/etc/passwd", "a\\b", "a//b", ".hidden/x", "a/./b"]
)
async def test_keys_outside_the_store_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await store.put(key, io.BytesIO(b"x"))


async def test_list_blobs_by_prefix(store: BlobStore) -> None:
    await store.put("@auto_b.zip", io.BytesIO(b"12"))
    await store.put("a.zip", io.BytesIO(b"1"))
    await store.put("c1/r1/x.txt", io.BytesIO(b"123"))
    listed = await store.list_blobs()
    assert [(key, info.size) for key, info in listed] == [
        ("@auto_b.zip", 2),
        ("a.zip", 1),
        ("c1/r1/x.txt", 3),
    ]
    assert [key for key, _ in await store.list_blobs("@auto_")] == ["@auto_b.zip"]
    await store.close()
