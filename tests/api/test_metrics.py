"""``/api/metrics``: off by default, who may read it, and what a scrape says.

Scrapes are parsed with prometheus-client's own parser; counts are exact for
known requests, and ids in paths never become labels.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from keelbase import App
from keelbase.adapters.mail import MailError
from tests.api.conftest import serving, superuser_headers
from tests.api.sse import SseStream

TOKEN = "prometheus-secret-0123456789"
RECORD_ROUTE = "/api/collections/{collection}/records/{id}"
DURATION = "http_server_request_duration_seconds"


def families(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(text: str, name: str, **labels: str) -> list[Any]:
    """Samples called ``name`` whose labels include ``labels``."""
    return [
        sample
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    ]


def value(text: str, name: str, **labels: str) -> float:
    return sum(sample.value for sample in samples(text, name, **labels))


async def scrape(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> str:
    answer = await client.get(
        "/api/metrics", headers=headers or {"Authorization": f"Bearer {TOKEN}"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return answer.text


async def enable(client: httpx.AsyncClient, admin: dict[str, str], **extra: Any) -> None:
    answer = await client.patch(
        "/api/settings", headers=admin, json={"metrics": {"enabled": True, "token": TOKEN, **extra}}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["metrics"] == {"enabled": True}  # the token is never returned


async def get(app: App, path: str) -> int:
    """One GET straight through the ASGI app: what the server does, without a client's overhead."""
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "headers": [(b"host", b"kb")], "client": ("127.0.0.1", 5000),
        "server": ("kb", 80),
    }  # fmt: skip
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app.asgi(scope, receive, send)
    return status


def run(
    tmp_path: Path,
    db_url: str,
    body: Callable[[App, httpx.AsyncClient, dict[str, str]], Awaitable[None]],
) -> None:
    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, client):
            await body(app, client, await superuser_headers(app, client))

    asyncio.run(main())


async def user_headers(client: httpx.AsyncClient) -> dict[str, str]:
    created = await client.post(
        "/api/collections/users/records",
        json={"email": "u@example.com", "password": "pass123456", "passwordConfirm": "pass123456"},
    )
    assert created.status_code == 200, created.text
    signed = await client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": "u@example.com", "password": "pass123456"},
    )
    return {"Authorization": signed.json()["token"]}


def test_off_by_default_then_only_for_superusers_and_the_token(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        user = await user_headers(client)
        settings = (await client.get("/api/settings", headers=admin)).json()
        assert settings["metrics"] == {"enabled": False}
        for headers in ({}, admin, {"Authorization": f"Bearer {TOKEN}"}):
            off = await client.get("/api/metrics", headers=headers)
            assert off.status_code == 404, off.text
            assert off.json() == {
                "status": 404,
                "message": "The requested resource wasn't found.",
                "data": {},
            }
        await enable(client, admin)
        assert (await client.get("/api/settings", headers=admin)).json()["metrics"] == {
            "enabled": True
        }
        assert (await client.get("/api/metrics")).status_code == 401
        assert (
            await client.get(
                "/api/metrics", headers={"Authorization": "Bearer wrong-token-0123456789"}
            )
        ).status_code == 401
        forbidden = await client.get("/api/metrics", headers=user)
        assert forbidden.status_code == 403 and forbidden.json()["status"] == 403
        assert "http_server_active_requests" in families(await scrape(client))
        assert "http_server_active_requests" in families(await scrape(client, admin))
        # a patch without the token keeps it (it is never sent back, so forms cannot echo it)
        kept = await client.patch(
            "/api/settings", headers=admin, json={"metrics": {"enabled": True}}
        )
        assert kept.status_code == 200
        assert "http_server_active_requests" in families(await scrape(client))
        # a raw token without "Bearer " works too, as PocketBase's SDKs send theirs
        assert (
            await client.get("/api/metrics", headers={"Authorization": TOKEN})
        ).status_code == 200
        # clearing the token leaves superusers only
        cleared = await client.patch(
            "/api/settings", headers=admin, json={"metrics": {"token": ""}}
        )
        assert cleared.status_code == 200
        assert (
            await client.get("/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        ).status_code == 401
        # turned off again: refused, and nothing more is measured
        off = await client.patch(
            "/api/settings", headers=admin, json={"metrics": {"enabled": False}}
        )
        assert off.status_code == 200
        assert (await client.get("/api/metrics", headers=admin)).status_code == 404
        assert app.store.timing is None and app.meter.instruments is None

    run(tmp_path, fresh_db_url, body)


def test_bad_metrics_settings_are_refused(tmp_path: Path, fresh_db_url: str) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        for bad, field in (
            ({"token": "short"}, "token"),
            ({"token": "has spaces in it but long enough"}, "token"),
            ({"token": "x" * 256}, "token"),
        ):
            answer = await client.patch("/api/settings", headers=admin, json={"metrics": bad})
            assert answer.status_code == 400, answer.text
            assert field in answer.json()["data"]["metrics"]
        for bad in ({"enabled": "yes"}, {"token": 12345678901234567}, "on"):
            answer = await client.patch("/api/settings", headers=admin, json={"metrics": bad})
            assert answer.status_code == 400, answer.text
            assert answer.json()["status"] == 400
        assert not app.metrics.enabled
        assert (await client.get("/api/metrics", headers=admin)).status_code == 404

    run(tmp_path, fresh_db_url, body)


def test_scrape_counts_known_requests_exactly_by_route_template(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        user = await user_headers(client)
        await enable(client, admin)
        me = (await client.get("/api/collections/users/records?perPage=1", headers=user)).json()[
            "items"
        ][0]["id"]
        for _ in range(23):
            assert (
                await client.get(f"/api/collections/users/records/{me}", headers=user)
            ).status_code == 200
        for number in range(7):
            missing = await client.get(f"/api/collections/users/records/nope{number}", headers=user)
            assert missing.status_code == 404
        for _ in range(4):
            assert (await client.get("/api/no/such/route")).status_code == 404
        assert (await client.request("BREW", "/api/health")).status_code in (404, 405)
        text = await scrape(client)
        record = {"http_request_method": "GET", "http_route": RECORD_ROUTE}
        assert value(text, f"{DURATION}_count", **record, http_response_status_code="200") == 23
        assert value(text, f"{DURATION}_count", **record, http_response_status_code="404") == 7
        assert (
            value(
                text, f"{DURATION}_count", http_route="unmatched", http_response_status_code="404"
            )
            >= 4
        )
        assert value(text, f"{DURATION}_count", http_request_method="_OTHER") == 1
        # OpenTelemetry's buckets; every request falls in +Inf
        bounds = {
            s.labels["le"]
            for s in samples(text, f"{DURATION}_bucket", **record, http_response_status_code="200")
        }
        assert bounds == {
            "0.005",
            "0.01",
            "0.025",
            "0.05",
            "0.075",
            "0.1",
            "0.25",
            "0.5",
            "0.75",
            "1.0",
            "2.5",
            "5.0",
            "7.5",
            "10.0",
            "+Inf",
        }
        assert (
            value(text, f"{DURATION}_bucket", **record, http_response_status_code="200", le="+Inf")
            == 23
        )
        # no raw path anywhere in the labels
        assert me not in text and "nope1" not in text
        assert (
            value(text, "http_server_active_requests", http_request_method="GET") == 1
        )  # the scrape itself
        assert value(text, "keelbase_db_query_duration_seconds_count", operation="read") > 0
        assert value(text, "keelbase_db_transaction_wait_seconds_count") >= 0
        assert value(text, "process_resident_memory_bytes") > 0
        # a write after metrics came on is timed as one
        created = await client.post(
            "/api/collections/users/records",
            json={
                "email": "w@example.com",
                "password": "pass123456",
                "passwordConfirm": "pass123456",
            },
        )
        assert created.status_code == 200, created.text
        text = await scrape(client)
        assert value(text, "keelbase_db_query_duration_seconds_count", operation="write") >= 1
        assert value(text, "keelbase_db_transaction_wait_seconds_count") >= 1

    run(tmp_path, fresh_db_url, body)


def test_label_sets_stay_few_after_ten_thousand_distinct_ids(tmp_path: Path) -> None:
    """Labels do not depend on the store, so this runs on SQLite only (it is the slowest)."""

    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        await enable(client, admin)
        statuses = [
            await get(app, f"/api/collections/users/records/id{n:013d}") for n in range(10_000)
        ]
        assert set(statuses) == {404}
        text = await scrape(client)
        label_sets = {
            tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
            for s in samples(text, f"{DURATION}_bucket")
        }
        assert len(label_sets) <= 5, label_sets
        assert (
            value(
                text, f"{DURATION}_count", http_route=RECORD_ROUTE, http_response_status_code="404"
            )
            == 10_000
        )

    run(tmp_path, "", body)


def test_services_report_cron_mail_rate_limits_and_realtime(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        await enable(client, admin)

        def broken() -> None:
            raise RuntimeError("job down")

        app.cron("tick", "* * * * *", lambda: None)
        app.cron("broken", "* * * * *", broken)
        await app.crons.run("tick")
        await app.crons.run("tick")
        await app.crons.run("broken")
        with pytest.raises(MailError):  # SMTP is off: the send fails
            await app.mailer.send("to@example.com", "hi", "<p>hi</p>")
        limits = {
            "enabled": True,
            "rules": [{"label": "/api/health", "duration": 60, "maxRequests": 2}],
        }
        assert (
            await client.patch("/api/settings", headers=admin, json={"rateLimits": limits})
        ).status_code == 200
        statuses = [(await client.get("/api/health")).status_code for _ in range(5)]
        assert statuses == [200, 200, 429, 429, 429]
        stream = await SseStream(app).open()
        try:
            subscribed = await client.post(
                "/api/realtime", json={"clientId": stream.client_id, "subscriptions": ["custom"]}
            )
            assert subscribed.status_code == 204, subscribed.text
            await app.realtime.publish("custom", {"n": 1})
            await app.realtime.publish("custom", {"n": 2})
            assert [(await stream.next())[0] for _ in range(2)] == ["custom", "custom"]
            text = await scrape(client)
        finally:
            await stream.close()
        assert value(text, "keelbase_cron_runs_total", job="tick", outcome="success") == 2
        assert value(text, "keelbase_cron_runs_total", job="broken", outcome="failure") == 1
        assert value(text, "keelbase_mails_total", outcome="failed") == 1
        assert value(text, "keelbase_rate_limit_refusals_total", rule="/api/health") == 3
        assert value(text, "keelbase_realtime_connections") == 1
        assert value(text, "keelbase_realtime_events_sent_total") == 2
        assert value(text, "keelbase_realtime_events_dropped_total") == 0
        for _ in range(100):  # the stream's end reaches the hub once its task is done
            if value(await scrape(client), "keelbase_realtime_connections") == 0:
                break
            await asyncio.sleep(0.02)
        assert value(await scrape(client), "keelbase_realtime_connections") == 0

    run(tmp_path, fresh_db_url, body)


def test_a_client_that_stops_reading_counts_its_lost_messages(
    tmp_path: Path, fresh_db_url: str
) -> None:
    async def body(app: App, client: httpx.AsyncClient, admin: dict[str, str]) -> None:
        await enable(client, admin)
        app.realtime.queue_limit = 3
        reader = app.realtime.connect()  # a stream nobody reads
        reader.subscriptions.clear()
        for n in range(4):  # three fit, the fourth overflows: all four are lost
            app.realtime.meter.realtime_connections(len(app.realtime.clients))
            reader.send("custom", str(n))
        text = await scrape(client)
        assert value(text, "keelbase_realtime_events_dropped_total") == 4
        app.realtime.disconnect(reader)

    run(tmp_path, fresh_db_url, body)
