"""Counters: PocketBase's refilling window, fixed windows, bounded memory, and Redis."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from keelbase.adapters.counters import Counters, MemoryCounters

REDIS_URL = os.environ.get("KEELBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    import redis

    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture(params=["memory", "hub", "redis"])
async def counters(request: pytest.FixtureRequest) -> AsyncIterator[Counters]:
    if request.param == "memory":
        yield MemoryCounters()
        return
    if request.param == "hub":
        from keelbase.adapters.counters.hub import HubCounters
        from tests.adapters.hub.running import connected, running_hub

        async with running_hub() as server:
            client = await connected(server)
            yield HubCounters(client, "test")
            await client.close()
        return
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    from keelbase.adapters.counters.redis import RedisCounters

    store = RedisCounters(REDIS_URL, f"keelbase:test:{uuid.uuid4().hex}:")
    yield store
    await store.close()


@pytest.mark.anyio
async def test_consume_refills_after_the_interval(counters: Counters) -> None:
    assert [await counters.consume("k", 2, 1) for _ in range(3)] == [True, True, False]
    assert await counters.consume("other", 2, 1)
    await asyncio.sleep(1.1)
    assert await counters.consume("k", 2, 1)


@pytest.mark.anyio
async def test_hits_count_in_a_window_and_reset(counters: Counters) -> None:
    assert [await counters.hit("h", 1) for _ in range(3)] == [1, 2, 3]
    assert await counters.count("h") == 3
    assert await counters.count("nothing") == 0
    await counters.reset("h")
    assert await counters.count("h") == 0
    await counters.hit("h", 1)
    await asyncio.sleep(2.1)
    assert await counters.count("h") == 0


@pytest.mark.anyio
async def test_memory_stays_bounded() -> None:
    counters = MemoryCounters(max_keys=1000)
    for n in range(5000):
        await counters.consume(f"ip{n}", 5, 60)
        await counters.hit(f"id{n}", 60)
    assert len(counters) <= 1000
    # the newest keys are kept: a client still being counted is not forgotten
    assert await counters.count("id4999") == 1


@pytest.mark.anyio
async def test_memory_sweep_drops_passed_windows() -> None:
    counters = MemoryCounters()
    await counters.consume("a", 1, 1)
    await counters.hit("b", 1)
    counters.sweep(now=int(time.time()) + 5)
    assert len(counters) == 0
