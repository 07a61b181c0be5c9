"""``/api/health``: PocketBase's answer for everyone, the figures for superusers.

Without Redis the figures are the process's own; with Redis every app that
shares it adds to the same buckets, and each answers with the sum.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from keelbase import App, Config
from tests.api.conftest import serving, superuser_headers
from tests.api.test_metrics import user_headers
from tests.api.test_rate_limits import redis_url

__all__ = ["redis_url"]

RECORD_ROUTE = "/api/collections/{collection}/records/{id}"
PLAIN = {"code": 200, "message": "API is healthy.", "data": {}}


def by_route(window: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["method"], r["route"]): r for r in window["routes"]}


def test_guests_and_users_get_pocketbase_answer_superusers_the_figures(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):

            @app.route("/api/boom")
            async def boom(request: Request) -> Response:
                raise RuntimeError("broken on purpose")

            admin = await superuser_headers(app, client)
            user = await user_headers(client)
            assert (await client.get("/api/health")).json() == PLAIN
            assert (await client.get("/api/health", headers=user)).json() == PLAIN
            assert (
                await client.get("/api/health", headers={"Authorization": "bad"})
            ).json() == PLAIN
            for n in range(12):
                answer = await client.get(f"/api/collections/users/records/n{n:013d}", headers=user)
                assert answer.status_code == 404
            for _ in range(3):
                assert (await client.get("/api/boom")).status_code == 500
            answer = await client.get(
                "/api/health", headers={**admin, "CF-Connecting-IP": "203.0.113.9"}
            )
            assert answer.status_code == 200
            body = answer.json()
            assert (body["code"], body["message"]) == (200, "API is healthy.")
            data = body["data"]
            assert data["realIP"] == "127.0.0.1"
            assert data["possibleProxyHeader"] == "CF-Connecting-IP"
            assert data["store"] == ("postgres" if fresh_db_url else "sqlite")
            assert data["version"] and data["uptime"] >= 0
            assert data["redis"] == {"configured": False, "reachable": None}
            assert data["canBackup"] is True
            five = data["requests"]["5m"]
            routes = by_route(five)
            views = routes[("GET", RECORD_ROUTE)]
            assert (views["requests"], views["errors"], views["successRate"]) == (12, 0, 1.0)
            assert 0 < views["p50"] <= views["p95"] <= views["p99"]
            broken = routes[("GET", "/api/boom")]
            assert (broken["requests"], broken["errors"], broken["successRate"]) == (3, 3, 0.0)
            assert five["errors"] == 3
            assert five["successRate"] == round((five["requests"] - 3) / five["requests"], 6)
            for window in ("1h", "24h"):
                assert by_route(data["requests"][window])[("GET", RECORD_ROUTE)]["requests"] == 12
            plain = await client.get("/api/health", headers=admin)
            assert plain.json()["data"]["possibleProxyHeader"] == ""
            # as PocketBase 0.40.6 answers: the trusted headers first, then the common ones in order
            both = {"Fly-Client-IP": "198.51.100.1", "X-Forwarded-For": "198.51.100.2"}
            answer = await client.get("/api/health", headers={**admin, **both})
            assert answer.json()["data"]["possibleProxyHeader"] == "Fly-Client-IP"
            proxy = {"trustedProxy": {"headers": ["X-Real-IP"], "useLeftmostIP": False}}
            assert (
                await client.patch("/api/settings", headers=admin, json=proxy)
            ).status_code == 200
            answer = await client.get(
                "/api/health", headers={**admin, **both, "X-Real-IP": "192.0.2.7"}
            )
            data = answer.json()["data"]
            assert (data["realIP"], data["possibleProxyHeader"]) == ("192.0.2.7", "X-Real-IP")

    asyncio.run(main())


def test_apps_sharing_redis_answer_with_everyones_figures(
    tmp_path: Path, fresh_db_url: str, redis_url: str
) -> None:
    async def main() -> None:
        channel = f"keelbase:test:{uuid.uuid4().hex}"
        config = Config(
            data_dir=tmp_path / "kb_data",
            db_url=fresh_db_url,
            redis_url=redis_url,
            redis_channel=channel,
        )
        async with App(config) as one, App(config) as two:
            clients = [
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app.asgi), base_url="http://kb")
                for app in (one, two)
            ]
            admin = await superuser_headers(one, clients[0])
            for n in range(5):
                await clients[0].get(f"/api/collections/users/records/a{n:013d}")
            for n in range(7):
                await clients[1].get(f"/api/collections/users/records/b{n:013d}")
            await two.metrics.figures.flush()  # as its timer does every two seconds
            for client in clients:
                data = (await client.get("/api/health", headers=admin)).json()["data"]
                assert data["redis"] == {"configured": True, "reachable": True}
                views = by_route(data["requests"]["5m"])[("GET", RECORD_ROUTE)]
                assert views["requests"] == 12
            for client in clients:
                await client.aclose()

    asyncio.run(main())


def test_unreachable_redis_is_reported_not_a_500(tmp_path: Path) -> None:
    async def main() -> None:
        config = Config(data_dir=tmp_path / "kb_data", redis_url="redis://127.0.0.1:1/0")
        app = App(config)
        # the broker needs Redis to start: the figures' part alone is checked here
        await app.store.open()
        try:
            answer = await app.metrics.health()
            assert answer["redis"] == {"configured": True, "reachable": False}
            assert answer["requests"] is None
        finally:
            await app.store.close()
            await app.metrics.stop()

    asyncio.run(main())
