"""Only the address a realtime stream came from may change its subscriptions (PocketBase 0.38.2+).

A client id is a 40-character secret, but a stream can live long: as PocketBase,
a subscription request from another address gets 400 "Invalid realtime client.",
so a guessed or leaked id is no use from elsewhere. Presence (our addition) is
held to the same rule. Behind a trusted proxy, the address is the one its
headers name.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from keelbase import App
from tests.api.conftest import serving, superuser_headers
from tests.api.sse import SseStream

INVALID = {"data": {}, "message": "Invalid realtime client.", "status": 400}


def client_from(app: App, ip: str) -> httpx.AsyncClient:
    """An HTTP client whose requests reach the app from ``ip``."""
    transport = httpx.ASGITransport(app=app.asgi, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://kb")


async def subscribe(client: httpx.AsyncClient, client_id: str, *topics: str) -> httpx.Response:
    return await client.post(
        "/api/realtime", json={"clientId": client_id, "subscriptions": list(topics)}
    )


def test_only_the_streams_address_may_subscribe(tmp_path: Path, fresh_db_url: str) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, local):
            admin = await superuser_headers(app, local)
            made = await local.post("/api/collections", headers=admin, json={
                "name": "notes", "listRule": "", "viewRule": "", "createRule": "",
                "fields": [{"name": "text", "type": "text"}]})  # fmt: skip
            assert made.status_code == 200, made.text
            stream = await SseStream(app, ip="10.0.0.7").open()
            try:
                elsewhere = await subscribe(local, stream.client_id, "notes/*")
                assert elsewhere.status_code == 400
                assert elsewhere.json() == INVALID
                # an unknown id is still a 404, whatever the address
                assert (await subscribe(local, "x" * 40, "notes/*")).status_code == 404
                async with client_from(app, "10.0.0.7") as same:
                    assert (await subscribe(same, stream.client_id, "notes/*")).status_code == 204
                created = await local.post("/api/collections/notes/records", json={"text": "hi"})
                assert created.status_code == 200
                name, event = await stream.next()
                assert (name, event["record"]["text"]) == ("notes/*", "hi")
                # presence (our addition) is held to the same rule
                join = {"clientId": stream.client_id, "topic": "room:a", "state": {}}
                refused = await local.post("/api/realtime/presence", json=join)
                assert (refused.status_code, refused.json()) == (400, INVALID)
                left = await local.request("DELETE", "/api/realtime/presence", json=join)
                assert (left.status_code, left.json()) == (400, INVALID)
            finally:
                await stream.close()

    asyncio.run(main())


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, local):
            admin = await superuser_headers(app, local)
            proxy = {"trustedProxy": {"headers": ["X-Forwarded-For"], "useLeftmostIP": True}}
            assert (
                await local.patch("/api/settings", headers=admin, json=proxy)
            ).status_code == 200
            forwarded = [(b"x-forwarded-for", b"203.0.113.5")]
            stream = await SseStream(app, headers=forwarded).open()
            try:
                other = await local.post(
                    "/api/realtime",
                    headers={"X-Forwarded-For": "203.0.113.6"},
                    json={"clientId": stream.client_id, "subscriptions": ["users/*"]},
                )
                assert (other.status_code, other.json()) == (400, INVALID)
                same = await local.post(
                    "/api/realtime",
                    headers={"X-Forwarded-For": "203.0.113.5"},
                    json={"clientId": stream.client_id, "subscriptions": ["users/*"]},
                )
                assert same.status_code == 204, same.text
            finally:
                await stream.close()

    asyncio.run(main())
