"""Sends due deliveries: one dispatcher per app across workers and nodes, by lease.

Every process runs the loop; only the one holding the ``_webhookLease`` row
sends, and it renews the lease each round (another takes over when it lapses).
Each delivery is also claimed before its send (``outbox.claim``), so even two
holders for a moment do not both send it. A send that fails is tried again on
Svix's schedule; after the last failure the delivery is ``failed`` and the
webhook is switched off (``on_exhausted``).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from keelbase.core.dates import now_string
from keelbase.core.ids import random_string
from keelbase.services.webhooks import outbox, signing, ssrf
from keelbase.store.base import Row, Store

if TYPE_CHECKING:  # imported on the first delivery: a fresh server sends none
    import httpx

log = logging.getLogger("keelbase.webhooks")

# Seconds before each attempt (Svix): at once, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h.
SCHEDULE = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)
SEND_TIMEOUT = 10.0
LEASE_SECONDS = 15.0
IDLE_POLL = 1.0
BATCH = 32
CONCURRENCY = 8
SNIPPET = 1024
PRUNE_EVERY = 3600.0  # seconds between forgetting old settled messages

Exhausted = Callable[[str, str], Awaitable[None]]  # (webhook id, url)


class Dispatcher:
    def __init__(
        self,
        store: Store,
        on_exhausted: Exhausted,
        *,
        retry_scale: float = 1.0,
        allow_private: Callable[[], bool] = lambda: False,
        prune: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.prune = prune
        self.send_timeout = SEND_TIMEOUT
        self._pruned = time.monotonic()
        self.store = store
        self.on_exhausted = on_exhausted
        self.retry_scale = retry_scale
        self.allow_private = allow_private
        self.holder = random_string(20)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._slots = asyncio.Semaphore(CONCURRENCY)

    def start(self) -> None:
        if self._task is None:
            # Made anew for each start: an asyncio primitive belongs to the loop it first
            # waited in, and an app may be started again on another loop.
            self._wake = asyncio.Event()
            self._slots = asyncio.Semaphore(CONCURRENCY)
            self._task = asyncio.create_task(self._loop(), name="keelbase-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            with contextlib.suppress(Exception):
                await outbox.release_lease(self.store, self.holder)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def wake(self) -> None:
        """A delivery was committed on this node: look now rather than at the next poll."""
        self._wake.set()

    def delay(self, attempts_made: int) -> float:
        """Seconds to wait after ``attempts_made`` failed attempts (fewer than 8)."""
        return SCHEDULE[attempts_made] * self.retry_scale

    async def _loop(self) -> None:
        while True:
            try:
                wait = await self._round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("webhook dispatcher round failed")
                wait = IDLE_POLL
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(wait, 0.005))

    async def _round(self) -> float:
        """Send what is due if this process holds the lease; seconds until the next look.

        An idle app only reads (nothing is due): the lease is written only when
        there is something to send.
        """
        if self.prune is not None and time.monotonic() - self._pruned > PRUNE_EVERY:
            self._pruned = time.monotonic()
            await self.prune()
        upcoming = await outbox.next_due(self.store)
        if upcoming is not None and upcoming <= outbox.now_ms():
            if not await outbox.take_lease(self.store, self.holder, LEASE_SECONDS):
                return IDLE_POLL  # another process sends
            await self.run_due()
            upcoming = await outbox.next_due(self.store)
        if upcoming is None:
            return IDLE_POLL
        return min(IDLE_POLL, max(0.0, upcoming / 1000 - time.time()))

    async def run_due(self) -> int:
        """Send every due delivery (in batches); how many were sent."""
        sent = 0
        while True:
            if sent and not await outbox.take_lease(self.store, self.holder, LEASE_SECONDS):
                return sent  # renewed between batches; lost, another process goes on
            rows = await outbox.due(self.store, BATCH)
            claimed = []
            for row in rows:
                hold = int((self.send_timeout + LEASE_SECONDS) * 1000)
                if await outbox.claim(self.store, row["id"], int(row["nextAt"]), hold):
                    claimed.append(row)
            if not claimed:
                return sent
            await asyncio.gather(*(self._send(row) for row in claimed))
            sent += len(claimed)

    async def _send(self, row: Row) -> None:
        if self._client is None:  # httpx takes a while to load: off the event loop, once
            await asyncio.to_thread(importlib.import_module, "httpx")
        import httpx

        async with self._slots:
            attempt = int(row["attempts"]) + 1
            body = str(row["payload"]).encode()
            started = time.monotonic()
            status, snippet, error = 0, "", ""
            try:
                target = await ssrf.resolve(str(row["url"]), self.allow_private())
                status, snippet = await self._post(target, row, body)
            except ssrf.Refused as refused:
                error = f"refused: {refused}"
            except (httpx.TimeoutException, TimeoutError):
                error = f"timed out after {self.send_timeout:g} s"
            except (httpx.HTTPError, OSError) as failure:
                error = f"{type(failure).__name__}: {failure}"[:SNIPPET]
            except Exception as failure:  # anything else still counts as a failed attempt
                log.exception("webhook delivery %s: unexpected failure", row["id"])
                error = f"{type(failure).__name__}: {failure}"[:SNIPPET]
            duration = int((time.monotonic() - started) * 1000)
            await self._record(row, attempt, status, duration, snippet, error)

    async def _post(self, target: ssrf.Target, row: Row, body: bytes) -> tuple[int, str]:
        if self._client is None:
            import httpx

            self._client = httpx.AsyncClient(timeout=self.send_timeout, follow_redirects=False)
        headers = signing.headers(str(row["secret"]), str(row["id"]), int(time.time()), body)
        headers["host"] = target.host_header
        headers["user-agent"] = "Keelbase-Webhooks"
        extensions: dict[str, Any] = {}
        if target.sni_hostname:
            extensions["sni_hostname"] = target.sni_hostname
        client = self._client

        async def exchange() -> tuple[int, bytes]:
            # Only the first 1 KB of the answer is read: a huge answer costs nothing.
            async with client.stream(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            ) as response:
                kept = b""
                async for part in response.aiter_bytes():
                    kept += part
                    if len(kept) >= SNIPPET:
                        break
                return response.status_code, kept[:SNIPPET]

        # httpx's timeout is per read; this bounds the whole exchange (a slow drip too).
        status, kept = await asyncio.wait_for(exchange(), self.send_timeout)
        return status, kept.decode("utf-8", "replace")

    async def _record(
        self, row: Row, attempt: int, status: int, duration: int, snippet: str, error: str
    ) -> None:
        ok = 200 <= status < 300 and not error
        if not ok and not error:
            error = f"answered {status}"
        now = now_string()
        exhausted = not ok and attempt >= len(SCHEDULE)
        state = "delivered" if ok else ("failed" if exhausted else "pending")
        next_at = outbox.now_ms() + int(self.delay(attempt) * 1000) if state == "pending" else 0
        async with self.store.transaction() as conn:
            await conn.execute(
                outbox.INSERT_ATTEMPT,
                outbox.attempt_params(
                    random_string(15), str(row["id"]), attempt, status, duration,
                    snippet, error, now,
                ),
            )  # fmt: skip
            await conn.execute(
                'UPDATE "_webhookDeliveries" SET "state" = :state, "attempts" = :attempts, '
                '"nextAt" = :next, "updated" = :now WHERE "id" = :id',
                {"state": state, "attempts": attempt, "next": next_at, "now": now, "id": row["id"]},
            )
            if exhausted:
                await conn.execute(
                    'UPDATE "_webhooks" SET "active" = 0, "updated" = :now WHERE "id" = :id',
                    {"now": now, "id": row["webhookId"]},
                )
        if ok:
            log.info("webhook delivery %s sent (attempt %d)", row["id"], attempt)
        else:
            log.info("webhook delivery %s attempt %d failed: %s", row["id"], attempt, error)
        if exhausted:
            log.warning("webhook %s disabled: delivery %s failed", row["webhookId"], row["id"])
            try:
                await self.on_exhausted(str(row["webhookId"]), str(row["url"]))
            except Exception:
                log.exception(
                    "could not tell superusers that webhook %s was disabled", row["webhookId"]
                )
