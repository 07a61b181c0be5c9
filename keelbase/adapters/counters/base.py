"""The counters interface: two kinds of windows, both keyed by a string.

``consume`` is PocketBase's rate-limit window: ``limit`` requests, and the
allowance refills once ``interval`` seconds passed since the last allowed
request. ``hit`` counts events in a window that starts at the first event
(failed sign-ins). Times are whole seconds, as in PocketBase.
"""

from __future__ import annotations

from typing import Protocol


class Counters(Protocol):
    async def consume(self, key: str, limit: int, interval: int) -> bool:
        """Take one request from ``key``'s allowance; ``False`` when none is left."""
        ...

    async def hit(self, key: str, window: int) -> int:
        """Count one event for ``key``; the count within the current window."""
        ...

    async def count(self, key: str) -> int:
        """The events counted for ``key`` in its current window (0 once it passed)."""
        ...

    async def reset(self, key: str) -> None:
        """Forget ``key``'s events."""
        ...

    async def close(self) -> None: ...
