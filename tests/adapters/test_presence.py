"""Presence stores: joins and updates, removal once, refresh, and expiry swept exactly once."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from keelbase.adapters.presence import MemoryPresence, PresenceStore
from tests.adapters.test_counters import REDIS_URL, redis_available

Make = Callable[[], PresenceStore]


@pytest.fixture(params=["memory", "hub", "redis"])
async def make(request: pytest.FixtureRequest) -> AsyncIterator[Make]:
    """Makes stores that share their data (two nodes of one app)."""
    if request.param == "memory":
        shared = MemoryPresence()
        yield lambda: shared
        return
    if request.param == "hub":
        from keelbase.adapters.hub import HubClient
        from keelbase.adapters.presence.hub import HubPresence
        from tests.adapters.hub.running import running_hub

        async with running_hub() as server:
            clients: list[HubClient] = []
            # each store its own connection, as each worker has; started before the test uses it
            for _ in range(2):
                clients.append(HubClient(server.path))
                await clients[-1].start()
            stores = iter([HubPresence(c) for c in clients] * 8)
            yield lambda: next(stores)
            for client in clients:
                await client.close()
        return
    if not redis_available():
        import os

        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    from keelbase.adapters.presence.redis import RedisPresence

    prefix = f"keelbase:test:{uuid.uuid4().hex}:"
    made: list[RedisPresence] = []

    def new() -> PresenceStore:
        made.append(RedisPresence(REDIS_URL, prefix))
        return made[-1]

    yield new
    for store in made:
        await store.close()


@pytest.mark.anyio
async def test_put_update_list_remove(make: Make) -> None:
    store = make()
    assert await store.put("room", "k1", {"key": "k1", "joined": "1", "state": {}}, 60) is True
    assert await store.put("room", "k2", {"key": "k2", "joined": "2", "state": {}}, 60) is True
    assert (
        await store.put("room", "k1", {"key": "k1", "joined": "1", "state": {"a": []}}, 60) is False
    )
    assert [v["key"] for v in await store.members("room")] == ["k1", "k2"]
    assert (await store.members("room"))[0]["state"] == {"a": []}
    assert await store.members("other") == []
    assert (await store.remove("room", "k1")) == {"key": "k1", "joined": "1", "state": {"a": []}}
    assert await store.remove("room", "k1") is None  # only one remover gets it
    assert [v["key"] for v in await store.members("room")] == ["k2"]


@pytest.mark.anyio
async def test_unrefreshed_entries_expire_and_are_swept_once(make: Make) -> None:
    alive, dead = make(), make()
    await alive.put("room", "a", {"key": "a"}, 0.3)
    await dead.put("room", "d", {"key": "d"}, 0.3)
    await asyncio.sleep(0.2)
    await alive.refresh([("room", "a")], 5)  # only the living node refreshes
    await asyncio.sleep(0.2)
    assert [v["key"] for v in await alive.members("room")] == ["a"]
    swept = await asyncio.gather(alive.expired(), dead.expired())
    assert sorted(len(s) for s in swept) == [0, 1]  # exactly one sweeper announces the leave
    assert next(s for s in swept if s) == [("room", {"key": "d"})]
    await alive.refresh([("room", "d")], 5)  # a refresh never brings a removed entry back
    assert [v["key"] for v in await alive.members("room")] == ["a"]
