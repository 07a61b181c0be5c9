"""Buckets in this process's memory: the figures of this process alone."""

from __future__ import annotations

import time

from keelbase.adapters.figures.base import Batch


class MemoryBuckets:
    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, dict[str, int]]] = {}

    async def add(self, batch: Batch) -> None:
        now = time.time()
        for key, increments, ttl in batch:
            _expires, fields = self._buckets.get(key, (0.0, {}))
            for name, count in increments.items():
                fields[name] = fields.get(name, 0) + count
            self._buckets[key] = (now + ttl, fields)
        for key in [k for k, (expires, _) in self._buckets.items() if expires < now]:
            del self._buckets[key]

    async def read(self, keys: list[str]) -> list[dict[str, int]]:
        now = time.time()
        out = []
        for key in keys:
            expires, fields = self._buckets.get(key, (0.0, {}))
            out.append(dict(fields) if expires >= now else {})
        return out

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        return None
