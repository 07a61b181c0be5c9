"""Realtime channels on both stores: broadcast, presence and replay after a reconnect.

Streams are real ``GET /api/realtime`` requests through the ASGI app
(``tests/api/sse.py``); everything else goes through the HTTP API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from keelbase import App
from keelbase.services.realtime.clients import Client
from tests.api.conftest import serving, superuser_headers
from tests.api.sse import SseStream

PASSWORD = "Passw0rd123"
Body = Callable[[App, httpx.AsyncClient], Awaitable[None]]


def run(tmp_path: Path, db_url: str, body: Body) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            await body(app, client)

    asyncio.run(main())


async def sign_up(client: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    made = await client.post("/api/collections/users/records",
                             json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
    signed = await client.post("/api/collections/users/auth-with-password",
                               json={"identity": email, "password": PASSWORD})  # fmt: skip
    return made.json()["id"], {"Authorization": signed.json()["token"]}


async def subscribe(
    client: httpx.AsyncClient, stream: SseStream, headers: dict[str, str], *topics: str
) -> httpx.Response:
    return await client.post("/api/realtime", headers=headers,
                             json={"clientId": stream.client_id, "subscriptions": list(topics)})  # fmt: skip


def chat_rules(app: App) -> None:
    """Rooms ``room:*`` for signed-in users; only ``room:open`` takes broadcasts from them."""

    def members(client: Client, topic: str) -> bool:
        return not topic.startswith("room:") or client.auth is not None

    def writable(auth: Any, topic: str, data: Any) -> bool:
        return topic == "room:open" and auth is not None

    app.realtime.guard(members)
    app.realtime.allow_broadcast(writable)


def test_broadcast_reaches_the_topics_subscribers_and_is_guarded(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        chat_rules(app)
        ann_id, ann = await sign_up(client, "ann@example.com")
        _, bob = await sign_up(client, "bob@example.com")
        listener = await SseStream(app).open()
        other = await SseStream(app).open()
        try:
            assert (await subscribe(client, listener, bob, "room:open")).status_code == 204
            assert (await subscribe(client, other, bob, "room:other")).status_code == 204
            url = "/api/realtime/broadcast"
            sent = await client.post(
                url, headers=ann, json={"topic": "room:open", "data": {"text": "hi"}}
            )
            assert sent.status_code == 204, sent.text
            name, data = await listener.next()
            assert (name, data) == ("room:open", {
                "data": {"text": "hi"}, "sender": {"collectionId": "_pb_users_auth_", "id": ann_id}})  # fmt: skip
            assert listener.ids[-1] and listener.ids[-1] != listener.client_id
            assert await other.received() == []
            # the guard refuses guests; no allow for room:other; superusers need none
            guest = await client.post(url, json={"topic": "room:open", "data": 1})
            assert guest.status_code == 403
            assert (
                await client.post(url, headers=ann, json={"topic": "room:other", "data": 1})
            ).status_code == 403
            admin = await superuser_headers(app, client)
            assert (
                await client.post(url, headers=admin, json={"topic": "room:other", "data": 2})
            ).status_code == 204
            assert (await other.next())[1]["data"] == 2
            # bad input: 400, naming the field
            for bad, field in (({"data": 1}, "topic"), ({"topic": "users", "data": 1}, "topic"),
                               ({"topic": "presence:room:open"}, "topic"), ({"topic": "@oauth2"}, "topic"),
                               ({"topic": "room:\x00"}, "topic"),
                               ({"topic": "room:open", "data": "x" * 17000}, "data")):  # fmt: skip
                answer = await client.post(url, headers=admin, json=bad)
                assert answer.status_code == 400, bad
                assert field in answer.json()["data"], answer.json()
            assert await listener.received() == []
        finally:
            await listener.close()
            await other.close()

    run(tmp_path, fresh_db_url, body)


def test_presence_join_update_leave_and_cleanup_when_the_stream_ends(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        chat_rules(app)
        ann_id, ann = await sign_up(client, "ann@example.com")
        _, bob = await sign_up(client, "bob@example.com")
        watcher = await SseStream(app).open()
        member = await SseStream(app).open()
        try:
            assert (await subscribe(client, watcher, bob, "presence:room:open")).status_code == 204
            # presence needs the topic subscribed first
            url = "/api/realtime/presence"
            join = {"clientId": member.client_id, "topic": "room:open", "state": {"typing": False}}
            assert (
                await client.post(url, headers=ann, json=join)
            ).status_code == 403  # no auth bound yet
            assert (await subscribe(client, member, ann, "room:elsewhere")).status_code == 204
            assert (await client.post(url, headers=ann, json=join)).status_code == 400
            assert (await subscribe(client, member, ann, "room:open")).status_code == 204
            assert (
                await client.post(url, headers=bob, json=join)
            ).status_code == 403  # not bob's stream
            assert (await client.post(url, headers=ann, json=join)).status_code == 204
            name, event = await watcher.next()
            assert name == "presence:room:open"
            assert event["action"] == "join" and event["topic"] == "room:open"
            assert event["auth"] == {"collectionId": "_pb_users_auth_", "id": ann_id}
            assert event["state"] == {"typing": False}
            key = event["key"]
            assert member.client_id not in str(event)  # the client id is never shown
            update = {**join, "state": {"typing": True}}
            assert (await client.post(url, headers=ann, json=update)).status_code == 204
            assert (await watcher.next())[1]["action"] == "update"
            listed = await client.get(url, params={"topic": "room:open"}, headers=bob)
            assert listed.status_code == 200
            assert [(i["key"], i["state"]) for i in listed.json()["items"]] == [
                (key, {"typing": True})
            ]
            assert (
                await client.get(url, params={"topic": "room:open"})
            ).status_code == 403  # guests
            too_big = {**join, "state": {"x": "y" * 2000}}
            assert (await client.post(url, headers=ann, json=too_big)).status_code == 400
            # the stream ends: a leave, and the list is empty
            await member.close()
            name, event = await watcher.next()
            assert (event["action"], event["key"]) == ("leave", key)
            listed = await client.get(url, params={"topic": "room:open"}, headers=bob)
            assert listed.json()["items"] == []
        finally:
            await watcher.close()
            await member.close()

    run(tmp_path, fresh_db_url, body)


def test_presence_leaves_on_unsubscribe_and_on_request(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        _, ann = await sign_up(client, "ann@example.com")
        watcher = await SseStream(app).open()
        member = await SseStream(app).open()
        try:
            await subscribe(client, watcher, {}, "presence:lobby")
            await subscribe(client, member, ann, "lobby")
            join = {"clientId": member.client_id, "topic": "lobby"}
            assert (
                await client.post("/api/realtime/presence", headers=ann, json=join)
            ).status_code == 204
            assert (await watcher.next())[1]["action"] == "join"
            left = await client.request("DELETE", "/api/realtime/presence", headers=ann, json=join)
            assert left.status_code == 204
            assert (await watcher.next())[1]["action"] == "leave"
            assert (
                await client.post("/api/realtime/presence", headers=ann, json=join)
            ).status_code == 204
            assert (await watcher.next())[1]["action"] == "join"
            await subscribe(client, member, ann, "elsewhere")  # no longer on the topic
            assert (await watcher.next())[1]["action"] == "leave"
        finally:
            await watcher.close()
            await member.close()

    run(tmp_path, fresh_db_url, body)


def test_a_reconnecting_client_gets_what_it_missed_in_order(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        await app.collections.create({"name": "notes", "listRule": "", "viewRule": "", "createRule": "",
                                      "fields": [{"name": "text", "type": "text"}]})  # fmt: skip
        first = await SseStream(app).open()
        await subscribe(client, first, {}, "news", "notes/*")
        await app.realtime.publish("news", {"n": 1})
        assert (await first.next())[1] == {"n": 1}
        last_id = first.ids[-1]
        await first.close()
        # missed while away: custom messages, a record, and a topic it does not subscribe to
        await app.realtime.publish("news", {"n": 2})
        created = await client.post("/api/collections/notes/records", json={"text": "while away"})
        await app.realtime.publish("sports", {"n": 0})
        await app.realtime.publish("news", {"n": 3})
        await asyncio.sleep(0.1)
        again = await SseStream(app, last_event_id=last_id).open()
        try:
            assert again.ids[0] == again.client_id  # PB_CONNECT still carries the client id
            await subscribe(client, again, {}, "news", "notes/*")
            got = [await again.next() for _ in range(3)]
            assert got == [("news", {"n": 2}),
                           ("notes/*", {"action": "create", "record": created.json()}),
                           ("news", {"n": 3})]  # fmt: skip
            assert len(set(again.ids[1:])) == 3 and last_id not in again.ids
            await app.realtime.publish("news", {"n": 4})  # live again, no duplicates
            assert await again.received() == [("news", {"n": 4})]
        finally:
            await again.close()
        # a client that saw only PB_CONNECT resumes from its connection (the id in the query)
        quiet = await SseStream(app).open()
        await quiet.close()
        await app.realtime.publish("news", {"n": 5})
        await asyncio.sleep(0.05)
        resumed = await SseStream(app, query=f"lastEventId={quiet.client_id}").open()
        try:
            await subscribe(client, resumed, {}, "news")
            assert await resumed.received() == [("news", {"n": 5})]
        finally:
            await resumed.close()

    run(tmp_path, fresh_db_url, body)


def test_too_much_missed_means_a_resync_event(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        app.realtime.replay.max_replay = 5
        first = await SseStream(app).open()
        await subscribe(client, first, {}, "news")
        await app.realtime.publish("news", {"n": 0})
        await first.next()
        last_id = first.ids[-1]
        await first.close()
        for n in range(1, 8):
            await app.realtime.publish("news", {"n": n})
        await asyncio.sleep(0.1)
        for stale in (last_id, "an-id-nobody-knows"):
            again = await SseStream(app, last_event_id=stale).open()
            try:
                await subscribe(client, again, {}, "news")
                name, data = await again.next()
                assert (name, data) == (
                    "PB_RESYNC",
                    {"clientId": again.client_id, "lastEventId": stale},
                )
                await app.realtime.publish("news", {"n": 9})
                assert (await again.next())[1] == {"n": 9}  # and live events go on
            finally:
                await again.close()

    run(tmp_path, fresh_db_url, body)


async def missed_after(
    app: App, client: httpx.AsyncClient, last_id: str, count: int
) -> list[tuple[str, Any]]:
    """What a client reconnecting with ``last_id`` gets first on ``news``: ``count`` events."""
    again = await SseStream(app, last_event_id=last_id).open()
    try:
        await subscribe(client, again, {}, "news")
        return [await again.next() for _ in range(count)]
    finally:
        await again.close()


def test_the_replay_buffer_is_bounded_by_events_and_by_bytes(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        replay = app.realtime.replay
        assert replay.max_bytes == 8 << 20  # Config.realtime_replay_bytes' default
        first = await SseStream(app).open()
        await subscribe(client, first, {}, "news")
        await app.realtime.publish("news", {"n": 0})
        await first.next()
        await first.close()
        start = first.ids[-1]

        # by count: more events than it keeps since the last id seen -> resync
        replay.max_events = 5
        for n in range(1, 5):
            await app.realtime.publish("news", {"n": n})
        await asyncio.sleep(0.05)
        got = await missed_after(app, client, start, 4)  # 4 since, within 5 kept: replayed
        assert [data for _, data in got] == [{"n": n} for n in range(1, 5)]
        for n in range(5, 8):
            await app.realtime.publish("news", {"n": n})
        await asyncio.sleep(0.05)
        assert len(replay._entries) == 5
        [(name, data)] = await missed_after(app, client, start, 1)
        assert name == "PB_RESYNC" and data["lastEventId"] == start

        # by bytes: events of ~1 KB in a 4 KB budget
        replay.max_events = 2000
        replay.max_bytes = 4096
        blob = "x" * 1000
        await app.realtime.publish("news", {"n": 100, "blob": blob})
        await asyncio.sleep(0.05)
        mark = replay.last_id
        await app.realtime.publish("news", {"n": 101, "blob": blob})
        await app.realtime.publish("news", {"n": 102, "blob": blob})
        await asyncio.sleep(0.05)
        big = [e for e in replay._entries if e.size > 1000]
        assert replay.bytes <= 4096 and len(big) == 3
        got = await missed_after(app, client, mark, 2)
        assert [data["n"] for _, data in got] == [101, 102]
        for n in range(103, 106):  # evicts the event after ``mark``
            await app.realtime.publish("news", {"n": n, "blob": blob})
        await asyncio.sleep(0.05)
        assert replay.bytes <= 4096 and len(replay._entries) == 4  # 4 of the 6 big ones
        [(name, data)] = await missed_after(app, client, mark, 1)
        assert name == "PB_RESYNC" and data["lastEventId"] == mark
        # one event larger than the whole budget is not kept: a reconnect from before it resyncs
        before = replay.last_id
        await app.realtime.publish("news", {"n": 200, "blob": "y" * 5000})
        await asyncio.sleep(0.05)
        assert replay.bytes == 0
        [(name, _)] = await missed_after(app, client, before, 1)
        assert name == "PB_RESYNC"

    run(tmp_path, fresh_db_url, body)


def test_the_replay_byte_bound_comes_from_the_config(tmp_path: Path, monkeypatch: Any) -> None:
    from keelbase import Config

    async def main() -> None:
        async with App(Config(data_dir=tmp_path / "a", realtime_replay_bytes=12345)) as app:
            assert app.realtime.replay.max_bytes == 12345
        monkeypatch.setenv("KEELBASE_REALTIME_REPLAY_BYTES", "777")
        async with App(Config(data_dir=tmp_path / "b")) as app:
            assert app.realtime.replay.max_bytes == 777

    asyncio.run(main())
