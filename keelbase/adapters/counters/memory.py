"""Counters in this process: dictionaries with a bound on their size.

Entries whose window passed are swept every few thousand operations, and if
an attack spreads over more keys than ``max_keys`` the oldest half goes.
Forgetting a key early only ever lets a client start afresh, never blocks one.
"""

from __future__ import annotations

import time

SWEEP_EVERY = 4096
MAX_KEYS = 200_000


class MemoryCounters:
    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        # key -> [available, last allowed (unix seconds), interval]
        self._windows: dict[str, list[int]] = {}
        # key -> [count, window end (unix seconds)]
        self._hits: dict[str, list[int]] = {}
        self._ops = 0

    def __len__(self) -> int:
        return len(self._windows) + len(self._hits)

    def _tick(self) -> None:
        self._ops += 1
        if self._ops >= SWEEP_EVERY or len(self) > self.max_keys:
            self._ops = 0
            self.sweep()

    def sweep(self, now: int | None = None) -> None:
        now = int(time.time()) if now is None else now
        self._windows = {k: v for k, v in self._windows.items() if now - v[1] < v[2]}
        self._hits = {k: v for k, v in self._hits.items() if v[1] > now}
        for table in (self._windows, self._hits):
            if len(table) > self.max_keys // 2:
                for key in list(table)[: len(table) // 2]:
                    del table[key]

    async def consume(self, key: str, limit: int, interval: int) -> bool:
        self._tick()
        now = int(time.time())
        window = self._windows.get(key)
        if window is None:
            window = self._windows[key] = [limit, 0, interval]
        window[2] = interval
        if now - window[1] >= interval:
            window[0] = limit
        if window[0] > 0:
            window[0] -= 1
            window[1] = now
            return True
        return False

    async def hit(self, key: str, window: int) -> int:
        self._tick()
        now = int(time.time())
        entry = self._hits.get(key)
        if entry is None or entry[1] <= now:
            entry = self._hits[key] = [0, now + window]
        entry[0] += 1
        return entry[0]

    async def count(self, key: str) -> int:
        entry = self._hits.get(key)
        if entry is None or entry[1] <= int(time.time()):
            return 0
        return entry[0]

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)
        self._windows.pop(key, None)

    def clear(self) -> None:
        self._windows.clear()
        self._hits.clear()

    async def close(self) -> None:
        self.clear()
