"""Outbound webhooks on both stores, delivered to a real receiver on loopback that verifies
every signature with the ``standardwebhooks`` library (``tests/webhook_receiver.py``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from keelbase import App
from tests.api.conftest import PASSWORD, serving, superuser_headers
from tests.mail_catcher import running_catcher
from tests.webhook_receiver import Receiver, running_receiver

Body = Callable[[App, httpx.AsyncClient, dict[str, str]], Awaitable[None]]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as started:
        yield started


@pytest.fixture(autouse=True)
def private_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KEELBASE_WEBHOOKS_ALLOW_PRIVATE", "true")  # the receiver is on loopback
    monkeypatch.setenv("KEELBASE_WEBHOOKS_RETRY_SCALE", "0.001")


def run(tmp_path: Path, db_url: str, body: Body) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            admin = await superuser_headers(app, client)
            made = await client.post("/api/collections", headers=admin, json={
                "name": "posts", "listRule": "", "viewRule": "", "createRule": "",
                "updateRule": "", "deleteRule": "",
                "fields": [{"name": "title", "type": "text"}, {"name": "public", "type": "bool"},
                           {"name": "note", "type": "text", "hidden": True}]})  # fmt: skip
            assert made.status_code == 200, made.text
            await body(app, client, admin)

    asyncio.run(main())


async def until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def settled_log(
    client: httpx.AsyncClient, admin: dict[str, str], hook_id: str, count: int
) -> list[dict[str, Any]]:
    """The delivery log once ``count`` messages are no longer pending (the receiver may
    have answered a moment before the dispatcher wrote the attempt down)."""
    deadline = time.monotonic() + 15
    while True:
        log = await client.get(f"/api/webhooks/{hook_id}/deliveries", headers=admin)
        items: list[dict[str, Any]] = log.json()["items"]
        if len([i for i in items if i["state"] != "pending"]) >= count:
            return items
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.05)


async def add_webhook(
    client: httpx.AsyncClient, admin: dict[str, str], receiver: Receiver, **fields: Any
) -> dict[str, Any]:
    body = {"url": receiver.url, "events": ["posts.create", "posts.update", "posts.delete"]}
    made = await client.post("/api/webhooks", headers=admin, json={**body, **fields})
    assert made.status_code == 200, made.text
    receiver.secret = made.json()["secret"]
    return dict(made.json())


def test_definitions_are_for_superusers_and_checked(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        await client.post("/api/collections/users/records",
                          json={"email": "u@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
        signed = await client.post("/api/collections/users/auth-with-password",
                                   json={"identity": "u@example.com", "password": PASSWORD})  # fmt: skip
        user = {"Authorization": signed.json()["token"]}
        good = {"url": receiver.url, "events": ["posts.create"]}
        for method, path in (("GET", "/api/webhooks"), ("POST", "/api/webhooks"),
                             ("GET", "/api/webhooks/x"), ("PATCH", "/api/webhooks/x"),
                             ("DELETE", "/api/webhooks/x"), ("GET", "/api/webhooks/x/deliveries"),
                             ("POST", "/api/webhooks/x/deliveries/y/replay")):  # fmt: skip
            guest = await client.request(method, path, json=good)
            assert guest.status_code == 401, (method, path)
            assert set(guest.json()) == {"data", "message", "status"}
            assert (await client.request(method, path, json=good, headers=user)).status_code == 403

        made = await client.post("/api/webhooks", headers=admin, json=good)
        assert made.status_code == 200, made.text
        shown = made.json()
        assert shown["secret"].startswith("whsec_") and shown["active"] is True
        assert shown["events"] == ["posts.create"] and shown["filter"] == ""
        listed = (await client.get("/api/webhooks", headers=admin)).json()
        assert [w["id"] for w in listed] == [shown["id"]]
        assert "secret" not in listed[0]  # write-only: shown once, in the create answer
        viewed = await client.get(f"/api/webhooks/{shown['id']}", headers=admin)
        assert "secret" not in viewed.json()
        patched = await client.patch(f"/api/webhooks/{shown['id']}", headers=admin,
                                     json={"active": False, "filter": "public = true"})  # fmt: skip
        assert patched.status_code == 200, patched.text
        assert patched.json()["active"] is False and patched.json()["filter"] == "public = true"
        assert "secret" not in patched.json()

        bad: list[tuple[dict[str, Any], set[str]]] = [
            ({}, {"url", "events"}),
            ({**good, "url": "ftp://example.com/x"}, {"url"}),
            ({**good, "url": "not a url"}, {"url"}),
            ({**good, "url": "http://user:pw@example.com/"}, {"url"}),
            ({**good, "url": 5}, {"url"}),
            ({**good, "events": ["nosuch.create"]}, {"events"}),
            ({**good, "events": []}, {"events"}),
            ({**good, "events": "posts.create"}, {"events"}),
            ({**good, "events": ["bad name!"]}, {"events"}),
            ({**good, "events": [5]}, {"events"}),
            ({**good, "filter": "nosuchfield = 1"}, {"filter"}),
            ({**good, "filter": "title = "}, {"filter"}),
            ({**good, "filter": 7}, {"filter"}),
            ({**good, "active": "yes"}, {"active"}),
            ({**good, "secret": "whsec_short"}, {"secret"}),
        ]
        for case, fields in bad:
            answer = await client.post("/api/webhooks", headers=admin, json=case)
            assert answer.status_code == 400, case
            assert set(answer.json()["data"]) == fields, (case, answer.json())
        answer = await client.patch(f"/api/webhooks/{shown['id']}", headers=admin,
                                    json={"filter": "nosuch = 1"})  # fmt: skip
        assert answer.status_code == 400 and set(answer.json()["data"]) == {"filter"}
        assert (await client.get("/api/webhooks/nosuch", headers=admin)).status_code == 404
        assert (await client.delete("/api/webhooks/nosuch", headers=admin)).status_code == 404
        gone = await client.get("/api/webhooks/nosuch/deliveries", headers=admin)
        assert gone.status_code == 404
        for per_page in ("0", "\u00b2", "1" * 5000):
            page = await client.get(
                f"/api/webhooks/{shown['id']}/deliveries", params={"perPage": per_page},
                headers=admin,
            )  # fmt: skip
            assert page.status_code == 400, per_page

        # SSRF: loopback, private, link-local (metadata) and mapped addresses are refused
        monkeypatch.delenv("KEELBASE_WEBHOOKS_ALLOW_PRIVATE")
        for url in ("http://127.0.0.1:9/x", "http://10.0.0.1/x", "http://169.254.169.254/latest",
                    "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://localhost/x",
                    "https://192.168.1.1/x"):  # fmt: skip
            answer = await client.post("/api/webhooks", headers=admin, json={**good, "url": url})
            assert answer.status_code == 400, url
            assert answer.json()["data"]["url"]["code"] == "validation_url_not_public"
        assert (
            await client.delete(f"/api/webhooks/{shown['id']}", headers=admin)
        ).status_code == 204
        assert (await client.get("/api/webhooks", headers=admin)).json() == []

    run(tmp_path, fresh_db_url, body)


def test_record_events_are_signed_filtered_and_delivered_once(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        hook = await add_webhook(client, admin, receiver, filter="public = true")
        posts = "/api/collections/posts/records"
        made = await client.post(posts, json={"title": "hi", "public": True, "note": "n"})
        assert made.status_code == 200
        hidden = await client.post(posts, json={"title": "private", "public": False})
        post_id = made.json()["id"]
        await client.patch(f"{posts}/{post_id}", json={"title": "hello"})
        await client.patch(f"{posts}/{hidden.json()['id']}", json={"title": "still private"})
        await client.delete(f"{posts}/{post_id}")
        await client.delete(f"{posts}/{hidden.json()['id']}")
        await until(lambda: len(receiver.ok()) >= 3)
        await asyncio.sleep(0.5)  # nothing more comes
        order = ["record.create", "record.update", "record.delete"]  # sent side by side
        got = sorted(receiver.ok(), key=lambda r: order.index(r.payload["type"]))
        assert len(got) == 3 and len(receiver.received) == 3
        assert all(r.verified for r in got)
        assert [r.payload["type"] for r in got] == order
        assert len({r.id for r in got}) == 3
        first = got[0].payload
        assert first["data"]["collection"] == "posts"
        record = first["data"]["record"]
        assert record["id"] == post_id and record["title"] == "hi" and record["public"] is True
        assert record["collectionName"] == "posts"
        assert "note" in record  # as a superuser sees it: hidden fields too
        assert got[1].payload["data"]["record"]["title"] == "hello"
        assert got[2].payload["data"]["record"]["title"] == "hello"  # as it was when deleted
        assert first["timestamp"].endswith("Z")

        items = await settled_log(client, admin, hook["id"], 3)
        log = await client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=admin)
        assert log.status_code == 200 and log.json()["totalItems"] == 3
        assert {i["state"] for i in items} == {"delivered"}
        assert {i["id"] for i in items} == {r.id for r in got}
        attempt = items[0]["attempts"]
        assert len(attempt) == 1 and attempt[0]["status"] == 200 and attempt[0]["attempt"] == 1
        assert attempt[0]["response"] == "ok" and attempt[0]["durationMs"] >= 0

        # a replay sends the same payload again, as a delivery of its own
        first_id = got[0].id
        replayed = await client.post(
            f"/api/webhooks/{hook['id']}/deliveries/{first_id}/replay", headers=admin
        )
        assert replayed.status_code == 200, replayed.text
        await until(lambda: len(receiver.ok()) == 4)
        again = receiver.ok()[3]
        assert receiver.ok()[:3] != [] and again.id not in {r.id for r in got}
        assert again.verified and again.body == got[0].body and again.id != first_id
        missing = await client.post(
            f"/api/webhooks/{hook['id']}/deliveries/nosuch/replay", headers=admin
        )
        assert missing.status_code == 404

        # custom events from hook code
        await add_webhook(client, admin, receiver, events=["order.paid"])
        assert await app.webhooks.emit("order.paid", {"order": 7}) == 1
        assert await app.webhooks.emit("order.unknown", {}) == 0
        await until(lambda: len(receiver.ok()) == 5)
        assert receiver.ok()[4].payload["type"] == "order.paid"
        assert receiver.ok()[4].payload["data"] == {"order": 7}
        assert receiver.ok()[4].verified

    run(tmp_path, fresh_db_url, body)


def test_a_rolled_back_write_sends_nothing(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        await add_webhook(client, admin, receiver)
        posts = app.records.collection("posts")
        from keelbase.core.records.record import Record

        with pytest.raises(RuntimeError):
            async with app.store.transaction() as conn:
                record = Record(posts, {"id": "abcdefghijklmno", "title": "x", "public": True})
                await app.records._insert(conn, record)
                raise RuntimeError("rolled back")
        made = await client.post("/api/collections/posts/records", json={"title": "kept"})
        assert made.status_code == 200
        await until(lambda: len(receiver.ok()) == 1)
        await asyncio.sleep(0.3)
        assert [r.payload["data"]["record"]["title"] for r in receiver.received] == ["kept"]

    run(tmp_path, fresh_db_url, body)


def test_retries_on_failure_then_delivered(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        hook = await add_webhook(client, admin, receiver)
        receiver.fail_first = 3  # 500, 500, 500, then 200 (after 0, 5 ms and 300 ms)
        await client.post("/api/collections/posts/records", json={"title": "retried"})
        await until(lambda: len(receiver.ok()) == 1)
        assert len(receiver.received) == 4
        assert len({r.id for r in receiver.received}) == 1  # one message, tried four times
        assert all(r.verified for r in receiver.received)
        (item,) = await settled_log(client, admin, hook["id"], 1)
        assert item["state"] == "delivered"
        assert [a["status"] for a in item["attempts"]] == [500, 500, 500, 200]
        assert [a["attempt"] for a in item["attempts"]] == [1, 2, 3, 4]
        assert len(item["attempts"][0]["response"]) == 1024  # a snippet, at most 1 KB
        assert item["attempts"][0]["error"] == "answered 500"

    run(tmp_path, fresh_db_url, body)


def test_exhausted_schedule_disables_the_webhook_and_mails_superusers(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole schedule (about 27.6 hours) at 1/20000: about 5 seconds.
    monkeypatch.setenv("KEELBASE_WEBHOOKS_RETRY_SCALE", "0.00005")

    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        with running_catcher() as catcher:
            saved = await client.patch("/api/settings", headers=admin, json=catcher.smtp_settings())
            assert saved.status_code == 200, saved.text
            hook = await add_webhook(client, admin, receiver)
            receiver.always_fail = True
            await client.post("/api/collections/posts/records", json={"title": "doomed"})
            await until(lambda: len(receiver.received) == 8, timeout=30)

            async def disabled() -> bool:
                shown = await client.get(f"/api/webhooks/{hook['id']}", headers=admin)
                return shown.json()["active"] is False

            deadline = time.monotonic() + 10
            while not await disabled():
                assert time.monotonic() < deadline
                await asyncio.sleep(0.05)
            mails = await asyncio.to_thread(catcher.wait, 1)
            assert (
                mails[0].subject.endswith("Webhook disabled")
                or "Webhook disabled" in mails[0].subject
            )
            assert hook["id"] in mails[0].html
            (item,) = await settled_log(client, admin, hook["id"], 1)
            assert item["state"] == "failed" and len(item["attempts"]) == 8
            # while off, writes are not queued for it
            await client.post("/api/collections/posts/records", json={"title": "unheard"})
            await asyncio.sleep(0.5)
            assert len(receiver.received) == 8
            # fixed and switched back on: new writes go, and the failed one can be replayed
            receiver.always_fail = False
            on = await client.patch(
                f"/api/webhooks/{hook['id']}", headers=admin, json={"active": True}
            )
            assert on.status_code == 200
            await client.post("/api/collections/posts/records", json={"title": "heard"})
            await until(lambda: len(receiver.ok()) == 1)
            assert receiver.ok()[0].payload["data"]["record"]["title"] == "heard"
            replay = f"/api/webhooks/{hook['id']}/deliveries/{item['id']}/replay"
            assert (await client.post(replay, headers=admin)).status_code == 200
            await until(lambda: len(receiver.ok()) == 2)
            assert receiver.ok()[1].payload["data"]["record"]["title"] == "doomed"

    run(tmp_path, fresh_db_url, body)


def test_private_addresses_are_refused_at_send_time(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while allowed, then disallowed: the send re-checks the address (as it would
    after a DNS answer changed) and records a refused attempt instead of connecting."""

    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        hook = await add_webhook(client, admin, receiver)
        monkeypatch.delenv("KEELBASE_WEBHOOKS_ALLOW_PRIVATE")
        await client.post("/api/collections/posts/records", json={"title": "x"})

        async def attempts() -> list[Any]:
            log = await client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=admin)
            items = log.json()["items"]
            return items[0]["attempts"] if items else []

        deadline = time.monotonic() + 10
        while not await attempts():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        first = (await attempts())[0]
        assert first["status"] == 0 and first["error"].startswith("refused:")
        assert receiver.received == []

    run(tmp_path, fresh_db_url, body)


def test_an_event_emitted_in_a_hook_commits_with_its_write(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        from keelbase import RecordEvent
        from keelbase.errors import BadRequestError

        await add_webhook(client, admin, receiver, events=["post.made"])

        @app.on_record_create("posts")
        async def made(e: RecordEvent) -> None:
            await e.next()
            assert await app.webhooks.emit("post.made", {"title": e.record.get("title")}) == 1
            if e.record.get("title") == "bad":
                raise BadRequestError("Not this one.")

        posts = "/api/collections/posts/records"
        assert (await client.post(posts, json={"title": "bad"})).status_code == 400
        assert (await client.post(posts, json={"title": "good"})).status_code == 200
        await until(lambda: len(receiver.ok()) == 1)
        await asyncio.sleep(0.5)
        assert [r.payload["data"]["title"] for r in receiver.received] == ["good"]

    run(tmp_path, fresh_db_url, body)


def test_settled_messages_are_forgotten_after_a_week(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        hook = await add_webhook(client, admin, receiver)
        posts = "/api/collections/posts/records"
        await client.post(posts, json={"title": "old"})
        await client.post(posts, json={"title": "new"})
        await until(lambda: len(receiver.ok()) == 2)
        await settled_log(client, admin, hook["id"], 2)
        old = next(r.id for r in receiver.ok() if r.payload["data"]["record"]["title"] == "old")
        await client.patch(f"/api/webhooks/{hook['id']}", headers=admin, json={"active": False})
        async with app.store.transaction() as conn:
            await conn.execute(
                'UPDATE "_webhookDeliveries" SET "created" = \'2020-01-01 00:00:00.000Z\' '
                'WHERE "id" = :id',
                {"id": old},
            )
        assert await app.webhooks.prune() == 1
        log = (await client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=admin)).json()
        assert [i["payload"]["data"]["record"]["title"] for i in log["items"]] == ["new"]
        async with app.store.read() as conn:
            left = await conn.fetch_value(
                'SELECT COUNT(*) FROM "_webhookAttempts" WHERE "deliveryId" = :id', {"id": old}
            )
        assert left == 0

    run(tmp_path, fresh_db_url, body)


def test_a_slow_receiver_times_out_and_is_tried_again(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        app.webhooks.dispatcher.send_timeout = 0.3
        hook = await add_webhook(client, admin, receiver)
        receiver.slow_first, receiver.slowness = 1, 1.5
        await client.post("/api/collections/posts/records", json={"title": "slow"})
        await until(lambda: len(receiver.ok()) == 2)  # the slow answer comes, unheard
        (item,) = await settled_log(client, admin, hook["id"], 1)
        assert item["state"] == "delivered"
        first, second = item["attempts"]
        assert first["status"] == 0 and first["error"] == "timed out after 0.3 s"
        assert 250 <= first["durationMs"] < 1400
        assert second["status"] == 200

    run(tmp_path, fresh_db_url, body)


def test_a_filter_that_no_longer_fits_does_not_fail_writes(
    tmp_path: Path, fresh_db_url: str, receiver: Receiver
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        custom = await client.post("/api/webhooks", headers=admin, json={
            "url": receiver.url, "events": ["order.paid"], "filter": "public = true"})  # fmt: skip
        assert custom.status_code == 400 and set(custom.json()["data"]) == {"filter"}
        await add_webhook(client, admin, receiver, filter="public = true")
        posts = (await client.get("/api/collections/posts", headers=admin)).json()
        fields = [f for f in posts["fields"] if f["name"] != "public"]
        changed = await client.patch(
            "/api/collections/posts", headers=admin, json={"fields": fields}
        )
        assert changed.status_code == 200, changed.text
        made = await client.post("/api/collections/posts/records", json={"title": "still works"})
        assert made.status_code == 200, made.text
        await until(lambda: len(receiver.ok()) == 1)  # sent unfiltered (and logged)
        assert receiver.ok()[0].payload["data"]["record"]["title"] == "still works"

    run(tmp_path, fresh_db_url, body)
