"""Blobs in a folder of the data directory (the default)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from keelbase.adapters.blobs.base import CHUNK, BlobInfo, BlobNotFound, check_key


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root not in path.parents:
            raise ValueError(f"blob key {key!r} leaves the store")
        return path

    async def put(self, key: str, source: BinaryIO) -> int:
        path = self._path(key)
        return await asyncio.to_thread(self._write, path, source)

    @staticmethod
    def _write(path: Path, source: BinaryIO) -> int:
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_name(path.name + ".part")
        size = 0
        try:
            with open(temp, "wb") as out:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
                    size += len(chunk)
            os.replace(temp, path)
        except BaseException:
            # a write cut short (the disk full) must not leave its part behind for good
            temp.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()  # only if this file was its first
            raise
        return size

    async def info(self, key: str) -> BlobInfo:
        path = self._path(key)
        try:
            stat = await asyncio.to_thread(path.stat)
        except FileNotFoundError as error:
            raise BlobNotFound(key) from error
        return BlobInfo(stat.st_size, stat.st_mtime)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        path = self._path(key)
        try:
            handle = await asyncio.to_thread(open, path, "rb")
        except FileNotFoundError as error:
            raise BlobNotFound(key) from error
        try:
            await asyncio.to_thread(handle.seek, start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                size = CHUNK if remaining is None else min(CHUNK, remaining)
                chunk = await asyncio.to_thread(handle.read, size)
                if not chunk:
                    break
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._remove, path)

    async def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        await asyncio.to_thread(self._remove, path)

    def _remove(self, path: Path) -> None:
        """Remove a file or folder, then the folders it leaves empty (never the root)."""
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        parent = path.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    async def list_blobs(self, prefix: str = "") -> list[tuple[str, BlobInfo]]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[tuple[str, BlobInfo]]:
        found: list[tuple[str, BlobInfo]] = []
        if not self.root.is_dir():
            return found
        for path in self.root.rglob("*"):
            key = path.relative_to(self.root).as_posix()
            if not key.startswith(prefix) or path.name.endswith(".part"):
                continue
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while listing
            if path.is_file():
                found.append((key, BlobInfo(stat.st_size, stat.st_mtime)))
        return sorted(found)

    async def close(self) -> None:
        """Nothing to release."""
