"""The interface every blob store implements.

Keys look like ``COLLECTION_ID/RECORD_ID/FILENAME`` (or a backup's name,
which may start with ``@`` as PocketBase's automatic backups do); ``check_key``
refuses anything else (``..``, absolute paths, backslashes), so no caller can
reach outside the store. Reads and writes stream in chunks: no file is ever held
whole in memory.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import BinaryIO, Protocol

CHUNK = 256 * 1024
_PART = re.compile(r"^[A-Za-z0-9_@][A-Za-z0-9_.\-]*$")


class BlobNotFound(Exception):
    """No blob under that key."""


@dataclass(frozen=True)
class BlobInfo:
    size: int
    modified: float  # unix time


def check_key(key: str) -> str:
    parts = key.split("/")
    if not parts or any(not _PART.match(p) or p in (".", "..") for p in parts):
        raise ValueError(f"invalid blob key {key!r}")
    return key


class BlobStore(Protocol):
    async def put(self, key: str, source: BinaryIO) -> int:
        """Store ``source`` (read from its current position) under ``key``; its size."""
        ...

    async def info(self, key: str) -> BlobInfo: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """The bytes ``start`` to ``end`` (inclusive) in chunks; raises ``BlobNotFound``."""
        ...

    async def delete(self, key: str) -> None:
        """Remove one blob; a missing one is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every blob under ``prefix/``."""
        ...

    async def list_blobs(self, prefix: str = "") -> list[tuple[str, BlobInfo]]:
        """Every blob whose key starts with ``prefix`` (plain text, not a folder), with its info."""
        ...

    async def close(self) -> None: ...
