"""The health figures: requests, success rate and latency of the last 5 minutes, hour and day.

A request observer counts each answer into this process's pending rows (a few
list increments, no I/O); every few seconds, and before each answer, the
pending counts are added to the minute and hour buckets of the bucket store:
this process's memory, or Redis, where every node and worker adds to the same
buckets so that any of them answers with the cluster's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from keelbase.adapters.figures import Batch, Buckets
from keelbase.core import figures
from keelbase.core.request_outcome import RequestOutcome

log = logging.getLogger("keelbase.metrics")

FLUSH_SECONDS = 2.0
MINUTE_TTL = 2 * 3600  # minute buckets serve the 5 minute and 1 hour windows
HOUR_TTL = 26 * 3600  # hour buckets serve the 24 hour window
# Pending counts a store that is down cannot take are kept this long, then dropped.
KEEP_PENDING_MINUTES = 60


class HealthFigures:
    """Counts every request into time buckets; answers the windows' figures."""

    def __init__(self, buckets: Buckets) -> None:
        self.buckets = buckets
        # (minute, method, route) → counters since the last flush
        self._pending: dict[tuple[int, str, str], list[int]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._flush_lock: asyncio.Lock | None = None

    # The observer: the request path ------------------------------------------

    def request_started(self, method: str) -> None:
        return None

    def request_finished(self, outcome: RequestOutcome) -> None:
        key = (int(outcome.started // 60), figures.method_label(outcome.method), outcome.route)
        row = self._pending.get(key)
        if row is None:
            row = self._pending[key] = figures.new_row()
        row[figures.REQUESTS] += 1
        if outcome.status >= 500:
            row[figures.ERRORS] += 1
        row[figures.latency_slot(outcome.duration)] += 1

    # Off the request path ----------------------------------------------------

    def start(self) -> None:
        self._flush_lock = asyncio.Lock()  # of this event loop (an app may be started again)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_loop(), name="keelbase-figures")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
            self._flusher = None
        with contextlib.suppress(Exception):
            await self.flush()

    async def _flush_loop(self) -> None:
        failing = False  # a Redis that is away is said once, not every flush
        while True:
            await asyncio.sleep(FLUSH_SECONDS)
            try:
                await self.flush()
            except Exception as error:
                if not failing:
                    log.warning("adding the health figures to their buckets failed: %s", error)
                failing = True
            else:
                if failing:
                    log.warning("the health figures reach their buckets again")
                failing = False

    async def flush(self) -> None:
        """Add the pending counts to the minute and hour buckets (kept for a retry on failure)."""
        if self._flush_lock is None:
            self._flush_lock = asyncio.Lock()
        async with self._flush_lock:
            pending, self._pending = self._pending, {}
            if not pending:
                return
            by_key: dict[str, dict[str, int]] = {}
            for (minute, method, route), row in pending.items():
                series = f"{method} {figures.route_label(route)}"
                for name, count in figures.fields_of(series, row).items():
                    for key in (f"m:{minute}", f"h:{minute // 60}"):
                        fields = by_key.setdefault(key, {})
                        fields[name] = fields.get(name, 0) + count
            batch: Batch = [
                (key, fields, MINUTE_TTL if key.startswith("m:") else HOUR_TTL)
                for key, fields in by_key.items()
            ]
            try:
                await self.buckets.add(batch)
            except Exception:
                self._keep(pending)
                raise

    def _keep(self, pending: dict[tuple[int, str, str], list[int]]) -> None:
        """Put counts that could not be stored back, dropping those too old to matter."""
        oldest = int(time.time() // 60) - KEEP_PENDING_MINUTES
        for key, row in pending.items():
            if key[0] < oldest:
                continue
            mine = self._pending.get(key)
            if mine is None:
                self._pending[key] = row
            else:
                for slot, count in enumerate(row):
                    mine[slot] += count

    async def windows(self, now: float | None = None) -> dict[str, Any]:
        """Figures of the last 5 minutes, hour and 24 hours, overall and per route."""
        await self.flush()
        minute = int((time.time() if now is None else now) // 60)
        keys: list[str] = []
        spans: list[tuple[str, int, int]] = []
        for name, unit, count in figures.WINDOWS:
            last = minute if unit == "m" else minute // 60
            spans.append((name, len(keys), len(keys) + count))
            keys.extend(f"{unit}:{last - back}" for back in range(count))
        buckets = await self.buckets.read(keys)
        return {name: figures.summarise(buckets[start:end]) for name, start, end in spans}
