"""The realtime hub in-process: subscriptions, rules per client, auth changes, custom topics,
slow and idle clients. Events really flow: records are written through the records service
and read from each client's SSE stream."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from keelbase import App
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError
from keelbase.services.realtime.clients import Client

pytestmark = pytest.mark.anyio
PASSWORD = "Passw0rd123"


class Reader:
    """Reads one client's SSE stream in the background and parses its events."""

    def __init__(self, app: App, client: Client) -> None:
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.task = asyncio.create_task(self._read(app, client))

    async def _read(self, app: App, client: Client) -> None:
        async for chunk in app.realtime.stream(client):
            text = chunk.decode()
            if text.startswith(":"):
                continue
            fields = dict(line.split(":", 1) for line in text.strip().split("\n"))
            await self.events.put({"event": fields["event"], "data": json.loads(fields["data"])})

    async def next(self, timeout: float = 2.0) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), timeout)

    async def nothing(self, wait: float = 0.2) -> None:
        await asyncio.sleep(wait)
        assert self.events.empty(), await self.events.get()


async def connect(app: App) -> tuple[Client, Reader]:
    client = app.realtime.connect()
    reader = Reader(app, client)
    assert (await reader.next())["event"] == "PB_CONNECT"
    return client, reader


async def make_user(app: App, email: str) -> Record:
    users = app.records.collection("users")
    return await app.records.create_record(
        users, {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}, RequestInfo()
    )


async def owned_collection(app: App) -> None:
    rule = "owner = @request.auth.id"
    await app.collections.create({
        "name": "notes", "listRule": rule, "viewRule": rule, "createRule": "",
        "fields": [{"name": "text", "type": "text"},
                   {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"}]})  # fmt: skip


async def test_each_client_gets_what_its_rules_allow(app: App) -> None:
    await owned_collection(app)
    ann, bob = await make_user(app, "ann@example.com"), await make_user(app, "bob@example.com")
    ann_client, ann_reader = await connect(app)
    bob_client, bob_reader = await connect(app)
    await app.realtime.subscribe(ann_client.id, ["notes/*"], ann)
    await app.realtime.subscribe(bob_client.id, ["notes/*"], bob)
    notes = app.records.collection("notes")
    note = await app.records.create_record(notes, {"text": "hi", "owner": ann.id}, RequestInfo())
    event = await ann_reader.next()
    assert event == {"event": "notes/*", "data": {"action": "create", "record": {
        "collectionId": notes.id, "collectionName": "notes", "id": note.id, "owner": ann.id, "text": "hi"}}}  # fmt: skip
    await bob_reader.nothing()
    # a record topic uses the view rule, and sees the delete too
    await app.realtime.subscribe(bob_client.id, [f"notes/{note.id}"], bob)
    await app.realtime.subscribe(ann_client.id, [f"notes/{note.id}"], ann)
    async with app.store.transaction() as conn:
        await app.records.delete_record(conn, note)
    assert (await ann_reader.next())["data"]["action"] == "delete"
    await bob_reader.nothing()


async def test_a_decision_for_one_auth_record_is_never_reused_for_another_with_its_id(
    app: App,
) -> None:
    """A new auth record cannot take another auth collection's id, but data from before
    that check (an import, an old database) may hold one: a user with a superuser's id."""
    await app.collections.create({"name": "secret", "fields": [{"name": "text", "type": "text"}]})
    root = await app.superusers.upsert("root@example.com", PASSWORD)
    users = app.records.collection("users")
    body = {"email": "eve@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD}
    made = await app.records.create_record(users, body, RequestInfo())
    async with app.records.transaction() as conn:
        await conn.execute(
            'UPDATE "users" SET "id" = :new WHERE "id" = :old', {"new": root.id, "old": made.id}
        )
    eve = await app.records.find_by_id(users, root.id)
    assert eve is not None and eve.id == root.id
    root_client, root_reader = await connect(app)
    eve_client, eve_reader = await connect(app)
    await app.realtime.subscribe(root_client.id, ["secret/*"], root)
    await app.realtime.subscribe(eve_client.id, ["secret/*"], eve)
    secret = app.records.collection("secret")
    await app.records.create_record(secret, {"text": "for superusers"}, RequestInfo(system=True))
    assert (await root_reader.next())["data"]["record"]["text"] == "for superusers"
    await eve_reader.nothing()


async def test_subscribe_errors(app: App) -> None:
    ann, bob = await make_user(app, "ann@example.com"), await make_user(app, "bob@example.com")
    client, _ = await connect(app)
    with pytest.raises(ApiError) as missing:
        await app.realtime.subscribe("nope", [], None)
    assert missing.value.status == 404 and missing.value.message == "Missing or invalid client id."
    with pytest.raises(ApiError) as invalid:
        await app.realtime.subscribe("", "users/*", None)
    assert set(invalid.value.data) == {"clientId", "subscriptions"}
    await app.realtime.subscribe(client.id, ["users/*"], ann)
    with pytest.raises(ApiError) as mismatch:
        await app.realtime.subscribe(client.id, ["users/*"], bob)
    assert mismatch.value.status == 403
    with pytest.raises(ApiError):
        await app.realtime.subscribe(client.id, [], None)  # signing out is a new connection
    with pytest.raises(ApiError):
        await app.realtime.subscribe(client.id, ["x" * 3000], ann)


async def test_password_change_and_deletion_follow_the_client(app: App) -> None:
    await owned_collection(app)
    ann = await make_user(app, "ann@example.com")
    client, reader = await connect(app)
    await app.realtime.subscribe(client.id, ["notes/*"], ann)
    notes = app.records.collection("notes")
    await app.records.create_record(notes, {"text": "before", "owner": ann.id}, RequestInfo())
    assert (await reader.next())["data"]["record"]["text"] == "before"
    users = app.records.collection("users")
    await app.records.update_record(
        users,
        ann.id,
        {"password": "N3wPassw0rd", "passwordConfirm": "N3wPassw0rd"},
        RequestInfo(auth=await app.superusers.create("root@example.com", PASSWORD)),
    )
    await asyncio.sleep(0.1)
    assert client.auth is None, "a new password signs the stream out"
    await app.records.create_record(notes, {"text": "after", "owner": ann.id}, RequestInfo())
    await reader.nothing()
    await app.realtime.subscribe(client.id, ["users/*"], ann)
    async with app.store.transaction() as conn:
        await app.records.delete_record(conn, ann)
    await asyncio.sleep(0.1)
    assert client.id not in app.realtime.clients, "deleting the user drops its streams"


async def test_custom_topics_and_guards(app: App) -> None:
    client, reader = await connect(app)
    other, other_reader = await connect(app)
    app.realtime.guard(lambda c, topic: not topic.startswith("admin:") or c.auth is not None)
    await app.realtime.subscribe(client.id, ["chat:room1"], None)
    await app.realtime.subscribe(other.id, ["chat:room2"], None)
    with pytest.raises(ApiError) as refused:
        await app.realtime.subscribe(client.id, ["admin:stats"], None)
    assert refused.value.status == 403
    await app.realtime.publish("chat:room1", {"text": "hello"})
    assert await reader.next() == {"event": "chat:room1", "data": {"text": "hello"}}
    await other_reader.nothing()


async def test_a_slow_client_is_dropped_and_others_keep_up(app: App) -> None:
    app.realtime.queue_limit = 5
    await app.collections.create(
        {
            "name": "feed",
            "listRule": "",
            "createRule": "",
            "fields": [{"name": "n", "type": "number"}],
        }
    )
    slow = app.realtime.connect()  # nobody reads its stream
    fast, fast_reader = await connect(app)
    await app.realtime.subscribe(slow.id, ["feed/*"], None)
    await app.realtime.subscribe(fast.id, ["feed/*"], None)
    feed = app.records.collection("feed")
    for n in range(20):
        await app.records.create_record(feed, {"n": n}, RequestInfo())
        assert (await fast_reader.next())["data"]["record"]["n"] == n
    assert slow.discarded and slow.queue.qsize() <= 1


async def test_idle_streams_end(app: App) -> None:
    app.realtime.idle_timeout = 0.2
    app.realtime.ping_interval = 0.05
    client, reader = await connect(app)
    await asyncio.wait_for(reader.task, 2)
    assert client.id not in app.realtime.clients


async def test_connect_disconnect_leaves_nothing_behind(app: App) -> None:
    for _ in range(500):
        client = app.realtime.connect()
        stream = app.realtime.stream(client)
        await anext(stream)
        await stream.aclose()
    assert app.realtime.clients == {}


async def test_realtime_hooks_change_and_stop(app: App) -> None:
    from keelbase import RealtimeMessageEvent, RealtimeSubscribeEvent

    @app.on_realtime_subscribe()
    async def only_chat(e: RealtimeSubscribeEvent) -> None:
        if any(t.startswith("secret:") for t in e.topics):
            raise ApiError(403, "No secrets.")
        e.topics = [t for t in e.topics if t != "noise"]
        await e.next()

    @app.on_realtime_message()
    async def shout(e: RealtimeMessageEvent) -> None:
        if "drop" in e.data:
            return  # not sent
        e.data = e.data.upper()
        await e.next()

    client, reader = await connect(app)
    with pytest.raises(ApiError):
        await app.realtime.subscribe(client.id, ["secret:x"], None)
    await app.realtime.subscribe(client.id, ["chat", "noise"], None)
    assert set(client.subscriptions) == {"chat"}
    await app.realtime.publish("chat", {"t": "drop me"})
    await app.realtime.publish("chat", {"t": "hi"})
    assert await reader.next() == {"event": "chat", "data": {"T": "HI"}}
    await reader.nothing()
