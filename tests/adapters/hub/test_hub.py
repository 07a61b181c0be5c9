"""The local hub with real sockets: fan-out once to every worker, atomic counters, figures,
a slow worker dropped without holding the others, oversized frames, and reconnecting."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from keelbase.adapters.broker.hub import HubBroker
from keelbase.adapters.counters.hub import HubCounters
from keelbase.adapters.figures.hub import HubBuckets
from keelbase.adapters.hub import HubClient, HubServer
from keelbase.adapters.hub.framing import HEADER, HELLO, read_frame
from tests.adapters.hub.running import connected, running_hub


async def broker_of(server: HubServer, received: list[dict[str, Any]]) -> HubBroker:
    async def handle(message: dict[str, Any]) -> None:
        received.append(message)

    broker = HubBroker(HubClient(server.path))
    await broker.start(handle)
    return broker


async def until(condition: Any, timeout: float = 3.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.mark.anyio
async def test_every_worker_hears_every_message_once_in_one_order() -> None:
    async with running_hub() as server:
        heard: list[list[dict[str, Any]]] = [[], [], []]
        brokers = [await broker_of(server, heard[i]) for i in range(3)]
        await until(lambda: server.connections == 3)
        await asyncio.gather(*(brokers[i % 3].publish({"kind": "n", "n": i}) for i in range(300)))
        await until(lambda: all(len(h) >= 300 for h in heard))
        await asyncio.sleep(0.1)
        assert [len(h) for h in heard] == [300, 300, 300]  # the sender too, and only once
        assert sorted(m["n"] for m in heard[0]) == list(range(300))
        assert heard[0] == heard[1] == heard[2]  # one order for all
        for broker in brokers:
            await broker.close()


@pytest.mark.anyio
async def test_counters_are_atomic_across_workers() -> None:
    async with running_hub() as server:
        clients = [await connected(server) for _ in range(4)]
        counters = [HubCounters(c, "limits") for c in clients]
        allowed = await asyncio.gather(*(counters[i % 4].consume("ip", 50, 60) for i in range(400)))
        assert sum(allowed) == 50  # the limit holds in total, not per worker
        hits = await asyncio.gather(*(counters[i % 4].hit("h", 60) for i in range(100)))
        assert sorted(hits) == list(range(1, 101))
        other = HubCounters(clients[0], "auth")  # another space counts apart
        assert await other.count("h") == 0
        for client in clients:
            await client.close()


@pytest.mark.anyio
async def test_figures_add_up_across_workers() -> None:
    async with running_hub() as server:
        first, second = HubBuckets(await connected(server)), HubBuckets(await connected(server))
        await asyncio.gather(
            *(
                b.add([("m:1", {"requests": 1, "errors": i % 2}, 60)])
                for i in range(10)
                for b in (first, second)
            )
        )
        assert await second.read(["m:1", "m:2"]) == [{"requests": 20, "errors": 10}, {}]
        assert await first.ping()
        await first.client.close()
        await second.client.close()


@pytest.mark.anyio
async def test_a_worker_that_stops_reading_is_dropped_and_the_others_go_on() -> None:
    async with running_hub() as server:
        server.max_backlog = 256 << 10
        heard: list[dict[str, Any]] = []
        fast = await broker_of(server, heard)
        # a raw connection that never reads what the hub sends it
        reader, writer = await asyncio.open_unix_connection(server.path)
        assert (await read_frame(reader))[0] == HELLO
        await until(lambda: server.connections == 2)
        for _ in range(2000):  # about 8 MB for the slow one, far past its backlog
            await fast.publish({"kind": "n", "pad": "x" * 4000})
        await until(lambda: len(heard) == 2000, timeout=10)
        assert server.dropped == 1 and server.connections == 1
        writer.close()
        await fast.close()


@pytest.mark.anyio
async def test_an_oversized_frame_closes_that_connection_only() -> None:
    async with running_hub() as server:
        good = await connected(server)
        reader, writer = await asyncio.open_unix_connection(server.path)
        await read_frame(reader)
        writer.write(HEADER.pack(1 << 31))
        await writer.drain()
        assert await reader.read() == b""  # the hub hung up on it
        assert await good.call("ping") is True
        await good.close()
        writer.close()


@pytest.mark.anyio
async def test_a_hang_up_ends_the_connection_while_forked_workers_hold_copies_of_it() -> None:
    """Workers are forked from the hub's process, so they hold copies of the hub's side of
    the connections made before them (a ``dup`` here): the hub's hang-up still ends it."""
    async with running_hub() as server:
        reader, writer = await asyncio.open_unix_connection(server.path)
        await read_frame(reader)
        await until(lambda: server.connections == 1)
        copies = [
            os.dup(each.get_extra_info("socket").fileno())
            for each in server._writers  # the hub's side, as a fork copies it
        ]
        try:
            writer.write(HEADER.pack(1 << 31))
            await writer.drain()
            async with asyncio.timeout(5):
                assert await reader.read() == b""
        finally:
            for fd in copies:
                os.close(fd)
            writer.close()


@pytest.mark.anyio
async def test_a_worker_serves_alone_while_the_hub_is_away_and_rejoins() -> None:
    async with running_hub() as server:
        heard: list[dict[str, Any]] = []
        broker = await broker_of(server, heard)
        counters = HubCounters(broker.client, "limits")
        assert await counters.consume("k", 1, 60) is True
        await server.close()
        await until(lambda: not broker.client.connected)
        await broker.publish({"kind": "alone"})  # still heard here, at once
        assert heard == [{"kind": "alone"}]
        assert await counters.consume("k", 1, 60) is True  # counted on this worker meanwhile
        await server.start()  # the hub is back on the same path: the worker reconnects
        await until(lambda: broker.client.connected)
        assert await counters.consume("k", 1, 60) is False  # shared again (the hub kept it)
        await broker.publish({"kind": "back"})
        await until(lambda: len(heard) == 2)
        await broker.close()


@pytest.mark.anyio
async def test_write_turns_go_in_order_and_pass_on_when_a_holder_dies() -> None:
    async with running_hub() as server:
        first, second, third = [await connected(server) for _ in range(3)]
        assert await first.take("data.db")
        assert await second.take("other.db")  # another file: its own turns
        waiting = [asyncio.create_task(c.take("data.db")) for c in (second, third)]
        await asyncio.sleep(0.1)
        assert not any(task.done() for task in waiting)  # the turn is first's
        first.give_back("data.db")
        assert await waiting[0] is True  # second asked first
        assert not waiting[1].done()
        await second.close()  # a worker dies holding its turn: the next one gets it
        assert await waiting[1] is True
        third.give_back("data.db")
        assert await first.take("data.db")
        await first.close()
        await third.close()


@pytest.mark.anyio
async def test_an_abandoned_turn_request_is_withdrawn() -> None:
    async with running_hub() as server:
        holder, impatient = await connected(server), await connected(server)
        assert await holder.take("data.db")
        asking = asyncio.create_task(impatient.take("data.db"))
        await asyncio.sleep(0.05)
        asking.cancel()  # e.g. the request that wanted to write went away
        with pytest.raises(asyncio.CancelledError):
            await asking
        await asyncio.sleep(0.05)
        holder.give_back("data.db")
        assert await holder.take("data.db")  # nobody else was left waiting
        await holder.close()
        await impatient.close()


@pytest.mark.anyio
async def test_a_stuck_handler_does_not_queue_messages_without_bound() -> None:
    """The worker reads on (calls are answered) while its handler is stuck, but what
    waits for the handler stays within the worker's inbox limit: the rest is dropped."""
    async with running_hub() as server:
        release = asyncio.Event()
        delivered: list[dict[str, Any]] = []

        async def stuck(message: dict[str, Any]) -> None:
            delivered.append(message)
            await release.wait()

        slow_client = HubClient(server.path)
        slow_client.max_inbox = 256 << 10
        slow = HubBroker(slow_client)
        await slow.start(stuck)
        heard: list[dict[str, Any]] = []
        fast = await broker_of(server, heard)
        await until(lambda: server.connections == 2)
        for n in range(2000):  # about 8 MB, far past the slow worker's inbox
            await fast.publish({"kind": "n", "n": n, "pad": "x" * 4000})
        await until(lambda: len(heard) == 2000, timeout=10)
        assert await slow_client.call("ping") is True  # after every message, in order
        assert server.dropped == 0  # the worker kept reading
        release.set()
        inbox = slow_client._inbox
        assert inbox is not None
        await until(inbox.empty)
        assert len(delivered) <= (256 << 10) // 4000 + 2
        assert slow_client.dropped == 2000 - len(delivered)
        await slow.close()
        await fast.close()
