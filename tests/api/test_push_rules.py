"""Push rules (``/api/push/rules``) on both stores: a superuser's rule pushes record events
to the users it names, through the fake push service on loopback, and only to those who
may view the record."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from keelbase import App
from tests.api.conftest import serving, superuser_headers
from tests.push_service import FakePushService, Received, running_push_service

PASSWORD = "Passw0rd123"


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with running_push_service() as service:
        yield service


async def sign_up(
    client: httpx.AsyncClient, email: str, name: str = ""
) -> tuple[str, dict[str, str]]:
    made = await client.post("/api/collections/users/records",
                             json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD,
                                   "name": name})  # fmt: skip
    assert made.status_code == 200, made.text
    signed = await client.post("/api/collections/users/auth-with-password",
                               json={"identity": email, "password": PASSWORD})  # fmt: skip
    return made.json()["id"], {"Authorization": signed.json()["token"]}


async def received_by(
    service: FakePushService, count: int, timeout: float = 10.0
) -> list[Received]:
    deadline = time.monotonic() + timeout
    while len(service.received) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.3)  # and nothing more arrives
    return list(service.received)


def test_a_rule_pushes_record_events_to_the_users_it_names_who_may_view_the_record(
    tmp_path: Path, fresh_db_url: str, push_service: FakePushService
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        app.push.allow_private_endpoints = True
        admin = await superuser_headers(app, client)
        users: dict[str, str] = {}
        for who in ("ann", "bob", "cat", "dan"):
            name = "blocked" if who == "bob" else who
            user_id, headers = await sign_up(client, f"{who}@example.com", name)
            users[who] = user_id
            made = await client.post("/api/push/subscriptions", headers=headers,
                                     json=push_service.subscriber(who).subscription())  # fmt: skip
            assert made.status_code == 201
        made = await client.post("/api/collections", headers=admin, json={
            "name": "messages", "createRule": "", "listRule": "",
            # whoever is signed in may read a message, unless they are blocked
            "viewRule": "@request.auth.id != '' && @request.auth.name != 'blocked'",
            "updateRule": "",
            "fields": [
                {"name": "text", "type": "text"},
                {"name": "cc", "type": "text"},
                {"name": "secret", "type": "text", "hidden": True},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
                {"name": "members", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 9},
            ]})  # fmt: skip
        assert made.status_code == 200, made.text
        rule = {
            "collection": "messages",
            "events": ["create"],
            "relations": ["members"],
            "recipients": "email = {:cc}",  # over users, {:cc} from the record
            "title": "New: {text}",
            "body": "from {author} in {collection}",
            "urgency": "high",
            "ttl": 120,
        }
        url = "/api/push/rules"
        assert (await client.post(url, json=rule)).status_code == 401
        _, ann_headers = await sign_up(client, "eve@example.com")
        assert (await client.post(url, json=rule, headers=ann_headers)).status_code == 403
        bad_cases: list[tuple[dict[str, Any], str]] = [
            ({**rule, "collection": "nope"}, "collection"),
            ({**rule, "events": []}, "events"),
            ({**rule, "events": ["created"]}, "events"),
            ({**rule, "relations": ["text"]}, "relations"),
            ({**rule, "relations": [], "recipients": ""}, "recipients"),
            ({**rule, "recipients": "email = = ("}, "recipients"),
            ({**rule, "recipients": "nofield = 1"}, "recipients"),
            ({**rule, "title": "{secret}"}, "title"),
            ({**rule, "body": "{password}"}, "body"),
            ({**rule, "title": ""}, "title"),
            ({**rule, "ttl": -5}, "ttl"),
            ({**rule, "urgency": "now"}, "urgency"),
            ({**rule, "recipientsCollection": "messages"}, "recipientsCollection"),
        ]
        for bad, name in bad_cases:
            answer = await client.post(url, json=bad, headers=admin)
            assert answer.status_code == 400, (bad, answer.text)
            assert name in answer.json()["data"], (name, answer.json())
        assert (await client.post(url, content=b"[", headers=admin)).status_code == 400
        saved = await client.post(url, json=rule, headers=admin)
        assert saved.status_code == 200, saved.text
        rule_id = saved.json()["id"]
        assert saved.json()["collection"] == "messages" and saved.json()["active"] is True
        listed = await client.get(url, headers=admin)
        assert [r["id"] for r in listed.json()] == [rule_id]

        # ann and bob are members (bob may not view it), cat is cc'd, dan is not named
        message = await client.post("/api/collections/messages/records", json={
            "text": "hello", "cc": "cat@example.com", "secret": "s3cret",
            "author": users["dan"], "members": [users["ann"], users["bob"]]})  # fmt: skip
        assert message.status_code == 200, message.text
        got = await received_by(push_service, 2)
        assert sorted(r.name for r in got) == ["ann", "cat"], push_service.refused
        payload = orjson.loads(got[0].payload)
        assert payload == {
            "title": "New: hello",
            "body": f"from {users['dan']} in messages",
            "event": "create",
            "collection": "messages",
            "collectionId": message.json()["collectionId"],
            "recordId": message.json()["id"],
        }
        assert got[0].headers["urgency"] == "high" and got[0].headers["ttl"] == "120"
        assert b"s3cret" not in got[0].payload and b"s3cret" not in got[1].payload

        # updates are not among its events ... until the rule says so
        record_url = f"/api/collections/messages/records/{message.json()['id']}"
        assert (await client.patch(record_url, json={"text": "edited"})).status_code == 200
        assert len(await received_by(push_service, 3, timeout=0.5)) == 2
        changed = await client.patch(f"{url}/{rule_id}", headers=admin,
                                     json={"events": ["create", "update"], "title": "{event}: {text}"})  # fmt: skip
        assert changed.status_code == 200, changed.text
        assert changed.json()["relations"] == ["members"]  # the rest kept
        assert (await client.patch(record_url, json={"text": "again"})).status_code == 200
        got = await received_by(push_service, 4)
        assert sorted(orjson.loads(r.payload)["title"] for r in got[2:]) == ["update: again"] * 2
        # an inactive rule pushes nothing; a deleted one is gone
        off = await client.patch(f"{url}/{rule_id}", headers=admin, json={"active": False})
        assert off.status_code == 200 and off.json()["active"] is False
        assert (await client.patch(record_url, json={"text": "quiet"})).status_code == 200
        assert len(await received_by(push_service, 5, timeout=0.5)) == 4
        bad = await client.patch(f"{url}/{rule_id}", headers=admin, json={"active": "yes"})
        assert bad.status_code == 400
        assert (await client.delete(f"{url}/{rule_id}", headers=admin)).status_code == 204
        assert (await client.get(f"{url}/{rule_id}", headers=admin)).status_code == 404
        assert (await client.delete(f"{url}/{rule_id}", headers=admin)).status_code == 404
        assert (await client.get(url, headers=admin)).json() == []

    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            await body(app, client)

    asyncio.run(main())


def test_a_delete_event_pushes_with_the_deleted_records_relations(
    tmp_path: Path, fresh_db_url: str, push_service: FakePushService
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            app.push.allow_private_endpoints = True
            admin = await superuser_headers(app, client)
            ann_id, ann = await sign_up(client, "ann@example.com", "ann")
            await client.post("/api/push/subscriptions", headers=ann,
                              json=push_service.subscriber("ann").subscription())  # fmt: skip
            made = await client.post("/api/collections", headers=admin, json={
                "name": "tasks", "createRule": "", "deleteRule": "",
                "viewRule": "owner = @request.auth.id",
                "fields": [{"name": "title", "type": "text"},
                           {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"}]})  # fmt: skip
            assert made.status_code == 200, made.text
            saved = await client.post("/api/push/rules", headers=admin, json={
                "collection": "tasks", "events": ["delete"], "relations": ["owner"],
                "title": "Removed: {title}"})  # fmt: skip
            assert saved.status_code == 200, saved.text
            task = await client.post("/api/collections/tasks/records",
                                     json={"title": "write docs", "owner": ann_id})  # fmt: skip
            gone = await client.delete(f"/api/collections/tasks/records/{task.json()['id']}")
            assert gone.status_code == 204
            got = await received_by(push_service, 1)
            assert [r.name for r in got] == ["ann"]
            assert orjson.loads(got[0].payload)["title"] == "Removed: write docs"
            # long field values are cut to fit one push message, never refused
            changed = await client.patch(f"/api/push/rules/{saved.json()['id']}", headers=admin,
                                         json={"body": "{title}", "url": "/t/{title}"})  # fmt: skip
            assert changed.status_code == 200, changed.text
            long = await client.post("/api/collections/tasks/records",
                                     json={"title": "é\"" * 2500, "owner": ann_id})  # fmt: skip
            assert long.status_code == 200, long.text
            gone = await client.delete(f"/api/collections/tasks/records/{long.json()['id']}")
            got = await received_by(push_service, 2)
            assert len(got) == 2 and len(got[1].payload) <= 3993, push_service.refused
            cut = orjson.loads(got[1].payload)
            assert cut["title"].startswith('Removed: é"é') and cut["recordId"] == long.json()["id"]

    asyncio.run(main())
