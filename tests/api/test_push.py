"""Web Push on both stores: keys, subscriptions, and delivery to a fake push service on loopback
that verifies the VAPID JWT and decrypts the ``aes128gcm`` body (``tests/push_service.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from keelbase import App
from tests.api.conftest import serving
from tests.push_service import FakePushService, running_push_service

PASSWORD = "Passw0rd123"


@pytest.fixture
def push_service() -> Iterator[FakePushService]:
    with running_push_service() as service:
        yield service


async def sign_up(client: httpx.AsyncClient, email: str) -> tuple[str, dict[str, str]]:
    made = await client.post("/api/collections/users/records",
                             json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
    assert made.status_code == 200, made.text
    signed = await client.post("/api/collections/users/auth-with-password",
                               json={"identity": email, "password": PASSWORD})  # fmt: skip
    return made.json()["id"], {"Authorization": signed.json()["token"]}


def run(tmp_path: Path, db_url: str, body: Any) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            app.push.allow_private_endpoints = True  # the fake push service is on loopback
            app.push.retry_delays = (0.05, 0.05)
            await body(app, client)

    asyncio.run(main())


def test_vapid_key_is_made_once_and_kept(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        first = await client.get("/api/push/vapid")
        assert first.status_code == 200
        key = first.json()["publicKey"]
        assert set(first.json()) == {"publicKey"}  # never the private key
        assert len(key) == 87 and (await client.get("/api/push/vapid")).json()["publicKey"] == key
        app.push._keys = None  # as a fresh process would: read back from the store
        assert await app.push.public_key() == key

    run(tmp_path, fresh_db_url, body)


def test_subscriptions_are_validated_idempotent_and_owned(
    tmp_path: Path, fresh_db_url: str, push_service: FakePushService
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        ann_id, ann = await sign_up(client, "ann@example.com")
        _, bob = await sign_up(client, "bob@example.com")
        browser = push_service.subscriber("ann-laptop").subscription()
        url = "/api/push/subscriptions"
        assert (await client.post(url, json=browser)).status_code == 401  # guests may not
        made = await client.post(url, json=browser, headers=ann)
        assert made.status_code == 201, made.text
        assert made.json() == {
            "endpoint": browser["endpoint"],
            "collectionId": "_pb_users_auth_",
            "recordId": ann_id,
        }
        again = await client.post(url, json=browser, headers=ann)
        assert again.status_code == 200  # the same endpoint again: one row
        other = push_service.subscriber("ann-phone").subscription()
        assert (await client.post(url, json=other, headers=ann)).status_code == 201
        bad_cases: list[tuple[dict[str, Any], set[str]]] = [
            ({}, {"endpoint", "keys"}),
            ({**browser, "endpoint": "ftp://x/y"}, {"endpoint"}),
            ({**browser, "endpoint": browser["endpoint"] + "\x00"}, {"endpoint"}),
            ({**browser, "endpoint": "https://ex\u00e4mple.com/x"}, {"endpoint"}),
            ({**browser, "endpoint": 5, "keys": "x"}, {"endpoint", "keys"}),
            ({**browser, "keys": {"p256dh": "abc", "auth": browser["keys"]["auth"]}}, {"keys"}),
            ({**browser, "keys": {"p256dh": browser["keys"]["p256dh"], "auth": "!!"}}, {"keys"}),
        ]
        for bad, fields in bad_cases:
            answer = await client.post(url, json=bad, headers=ann)
            assert answer.status_code == 400, bad
            assert set(answer.json()["data"]) == fields, answer.json()
        # bob cannot remove ann's subscription; ann can, once
        gone = {"endpoint": browser["endpoint"]}
        assert (await client.request("DELETE", url, json=gone, headers=bob)).status_code == 404
        assert (await client.request("DELETE", url, json=gone, headers=ann)).status_code == 204
        assert (await client.request("DELETE", url, json=gone, headers=ann)).status_code == 404
        assert (await client.request("DELETE", url, json={}, headers=ann)).status_code == 400
        nul = {"endpoint": "https://x/\x00"}
        assert (await client.request("DELETE", url, json=nul, headers=ann)).status_code == 400
        left = await app.push.subscriptions.of_owners([("_pb_users_auth_", ann_id)])
        assert [s.endpoint for s in left] == [other["endpoint"]]

    run(tmp_path, fresh_db_url, body)


def test_private_endpoints_are_refused_unless_allowed(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        _, ann = await sign_up(client, "ann@example.com")
        app.push.allow_private_endpoints = False
        from tests.push_service import Subscriber

        for endpoint in (
            "http://127.0.0.1:9/push/x",
            "https://127.0.0.1/push/x",
            "https://10.1.2.3/p",
        ):
            answer = await client.post("/api/push/subscriptions",
                                       json=Subscriber(endpoint).subscription(), headers=ann)  # fmt: skip
            assert answer.status_code == 400, endpoint
            assert "endpoint" in answer.json()["data"]

    run(tmp_path, fresh_db_url, body)


def test_send_reaches_every_browser_of_the_user_encrypted_and_signed(
    tmp_path: Path, fresh_db_url: str, push_service: FakePushService
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        ann_id, ann = await sign_up(client, "ann@example.com")
        _, bob = await sign_up(client, "bob@example.com")
        for name, headers in (("ann-1", ann), ("ann-2", ann), ("bob-1", bob)):
            subscription = push_service.subscriber(name).subscription()
            made = await client.post("/api/push/subscriptions", json=subscription, headers=headers)
            assert made.status_code == 201
        push_service.expected_key = (await client.get("/api/push/vapid")).json()["publicKey"]
        users = app.records.collection("users")
        ann_record = await app.records.find_by_id(users, ann_id)
        assert ann_record is not None
        delivery = await app.push.send(
            ann_record, {"title": "Hi", "body": "ünïcode"}, ttl=60, urgency="high"
        )
        assert delivery.queued == 2
        await delivery.wait()
        assert (delivery.sent, delivery.failed) == (2, 0), push_service.refused
        got = sorted(push_service.received, key=lambda r: r.name)
        assert [r.name for r in got] == ["ann-1", "ann-2"]
        assert orjson.loads(got[0].payload) == {"title": "Hi", "body": "ünïcode"}
        assert got[0].headers["ttl"] == "60" and got[0].headers["urgency"] == "high"
        assert got[0].claims["aud"] == push_service.url
        # a filter names the users
        delivery = await (
            await app.push.send("email ~ {:who}", "plain text", params={"who": "bob@"})
        ).wait()
        assert delivery.sent == 1 and push_service.received[-1].payload == b"plain text"

    run(tmp_path, fresh_db_url, body)


def test_expired_subscriptions_are_removed_and_failures_retried(
    tmp_path: Path, fresh_db_url: str, push_service: FakePushService
) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        ann_id, ann = await sign_up(client, "ann@example.com")
        for name in ("gone", "lost", "broken", "fine"):
            subscription = push_service.subscriber(name).subscription()
            await client.post("/api/push/subscriptions", json=subscription, headers=ann)
        push_service.status["gone"] = 410
        push_service.status["lost"] = 404
        push_service.status["broken"] = 500
        owner = [("_pb_users_auth_", ann_id)]
        ann_record = await app.records.find_by_id(app.records.collection("users"), ann_id)
        assert ann_record is not None
        delivery = await (await app.push.send([ann_record], {"n": 1})).wait()
        assert (delivery.sent, delivery.removed, delivery.failed) == (1, 2, 1)
        left = {s.endpoint.rsplit("/", 1)[1] for s in await app.push.subscriptions.of_owners(owner)}
        assert left == {"broken", "fine"}  # a 404 or 410 removes; a 500 is retried, then kept
        # the broken one recovers between attempts: retried until it is delivered
        push_service.status["broken"] = 503
        app.push.retry_delays = (0.3, 0.3)
        pending = await app.push.send([ann_record], {"n": 2})
        await asyncio.sleep(0.15)
        push_service.status["broken"] = 201
        delivery = await pending.wait()
        assert (delivery.sent, delivery.failed) == (2, 0)
        # a deleted user's subscriptions go with them
        deleted = await client.delete(f"/api/collections/users/records/{ann_id}", headers=ann)
        assert deleted.status_code == 204, deleted.text
        assert await app.push.subscriptions.of_owners(owner) == []

    run(tmp_path, fresh_db_url, body)


def test_bad_send_arguments_are_refused(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient) -> None:
        from keelbase.errors import BadRequestError

        with pytest.raises(BadRequestError):
            await app.push.send([], "x" * 4000)
        with pytest.raises(ValueError):
            await app.push.send([], "x", urgency="urgent")
        with pytest.raises(ValueError):
            await app.push.send([], "x", ttl=-1)
        assert (await app.push.send([], "x")).queued == 0

    run(tmp_path, fresh_db_url, body)


ENCRYPTION_VAR = "KB_TEST_PUSH_KEY"
ENCRYPTION_KEY = "0123456789abcdef0123456789abcdef"


async def stored_vapid(app: App) -> str:
    async with app.store.read() as conn:
        value = await conn.fetch_value('SELECT "value" FROM "_params" WHERE "id" = \'push_vapid\'')
    return value.decode() if isinstance(value, bytes) else str(value)


def test_vapid_private_key_is_encrypted_with_encryption_env_and_works_after_a_restart(
    tmp_path: Path,
    fresh_db_url: str,
    push_service: FakePushService,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from keelbase import Config
    from keelbase.core import settings_cipher
    from keelbase.services.push.keys import VapidKeyError

    data_dir = tmp_path / "kb_data"

    def config(var: str) -> Config:
        return Config(data_dir=data_dir, db_url=fresh_db_url, encryption_env=var)

    async def main() -> None:
        # made in clear without the option, then sealed at the first start with it
        async with App(config("")) as app:
            plain_keys = await app.push.keys()
            assert plain_keys.private_key in await stored_vapid(app)
        monkeypatch.setenv(ENCRYPTION_VAR, ENCRYPTION_KEY)
        async with App(config(ENCRYPTION_VAR)) as app:
            app.push.allow_private_endpoints = True
            assert await app.push.keys() == plain_keys
            raw = await stored_vapid(app)
            assert plain_keys.private_key not in raw and "privateKeyEncrypted" in raw
            sealed = orjson.loads(raw)["privateKeyEncrypted"]
            assert (
                settings_cipher.decrypt(sealed, ENCRYPTION_KEY).decode() == plain_keys.private_key
            )
            transport = httpx.ASGITransport(app=app.asgi)
            async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
                ann_id, ann = await sign_up(client, "ann@example.com")
                subscription = push_service.subscriber("ann").subscription()
                made = await client.post("/api/push/subscriptions", json=subscription, headers=ann)
                assert made.status_code == 201
        # a restart reads the sealed key back and signs with it
        async with App(config(ENCRYPTION_VAR)) as app:
            app.push.allow_private_endpoints = True
            push_service.expected_key = plain_keys.public_key
            ann_record = await app.records.find_by_id(app.records.collection("users"), ann_id)
            assert ann_record is not None
            delivery = await (await app.push.send(ann_record, {"after": "restart"})).wait()
            assert (delivery.sent, delivery.failed) == (1, 0), push_service.refused
            assert orjson.loads(push_service.received[-1].payload) == {"after": "restart"}
        # a fresh app with the option never stores the private key in clear
        fresh = tmp_path / "fresh"
        async with App(Config(data_dir=fresh, db_url="", encryption_env=ENCRYPTION_VAR)) as app:
            keys = await app.push.keys()
            assert keys.private_key not in await stored_vapid(app)
            app.push._keys = None
            assert await app.push.keys() == keys
            # the wrong key is a clear error, not a different key pair
            app.push._keys, app.push._encryption_key = None, "f" * 32
            with pytest.raises(VapidKeyError, match="wrong key"):
                await app.push.keys()

    asyncio.run(main())
