"""The protocol of a bucket store: add counts to named hashes, read them back."""

from __future__ import annotations

from typing import Protocol

# (bucket key, {field: increment}, seconds the bucket lives after its last write)
Batch = list[tuple[str, dict[str, int], int]]


class Buckets(Protocol):
    async def add(self, batch: Batch) -> None:
        """Add every increment of ``batch`` to its bucket, atomically per field."""

    async def read(self, keys: list[str]) -> list[dict[str, int]]:
        """The buckets named ``keys``, in order (empty for those that do not exist)."""

    async def ping(self) -> bool:
        """Whether the store answers now."""

    async def close(self) -> None: ...
