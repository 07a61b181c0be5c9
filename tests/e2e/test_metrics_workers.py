"""Two workers of one ``keelbase serve`` (over Redis, or the local hub): one scrape and one
health answer count them all.

Each request goes on a fresh connection, so the kernel hands it to either
worker; whichever worker answers the scrape or the health check, the counts
are exact, and they stay exact when a worker dies and uvicorn starts another.
"""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import data_dir, redis_url, superuser_token

__all__ = ["data_dir", "redis_url"]

TOKEN = "scrape-token-0123456789abcdef"
HEALTH_ROUTE = "/api/health"
REQUESTS = 40


def count(text: str, **labels: str) -> float:
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "http_server_request_duration_seconds_count"
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def gauge(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    return [
        (sample.labels, sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    ]


def scrape(url: str) -> str:
    answer = httpx.get(url + "/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    return answer.text


@pytest.mark.parametrize("sharing", ["redis", "hub"])
def test_two_workers_reach_one_scrape_and_one_health_answer(
    data_dir: Path, sharing: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    redis = ("--redis", request.getfixturevalue("redis_url")) if sharing == "redis" else ()
    server = ServerProcess(data_dir, *redis, "--workers", "2")
    try:
        admin = {"Authorization": superuser_token(server.url)}
        saved = httpx.patch(server.url + "/api/settings", headers=admin,
                            json={"metrics": {"enabled": True, "token": TOKEN}})  # fmt: skip
        assert saved.status_code == 200, saved.text
        # the other worker hears of the settings through Redis or the hub
        deadline = time.monotonic() + 10
        while True:
            answers = {httpx.get(server.url + "/api/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code for _ in range(6)}  # fmt: skip
            if answers == {200}:
                break
            assert time.monotonic() < deadline, answers
            time.sleep(0.2)
        before = count(scrape(server.url), http_route="/api/collections/{collection}/records/{id}")
        assert before == 0
        route = {
            "http_request_method": "GET",
            "http_route": "/api/collections/{collection}/records/{id}",
        }
        for n in range(REQUESTS):  # a fresh connection each: either worker answers
            answer = httpx.get(
                server.url + f"/api/collections/_superusers/records/x{n:014d}", headers=admin
            )
            assert answer.status_code == 404
        time.sleep(0.3)  # the last answers are counted just after they were sent
        seen = set()
        for _ in range(8):
            text = scrape(server.url)
            assert count(text, **route, http_response_status_code="404") == REQUESTS
            assert count(text, **route) == REQUESTS
            workers = gauge(text, "keelbase_workers")
            assert sum(v for _, v in workers) == 2, workers
            pids = {labels["pid"] for labels, _ in gauge(text, "process_resident_memory_bytes")}
            assert len(pids) == 2, pids
            seen.add(frozenset(pids))
        assert len(seen) == 1

        # the health figures: both workers add to the same buckets in Redis or the hub
        time.sleep(2.5)  # each worker adds its counts every two seconds
        for _ in range(6):
            health = httpx.get(server.url + "/api/health", headers=admin).json()["data"]
            if redis:
                assert health["redis"] == {"configured": True, "reachable": True}
            routes = {(r["method"], r["route"]): r for r in health["requests"]["5m"]["routes"]}
            figures = routes[("GET", "/api/collections/{collection}/records/{id}")]
            assert figures["requests"] == REQUESTS and figures["successRate"] == 1.0
            assert health["requests"]["1h"]["requests"] >= REQUESTS

        # a worker dies (uvicorn starts another): its counts stay, its live gauges go
        (pids,) = seen
        victim = int(sorted(pids)[0])
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while True:
            time.sleep(0.3)
            try:
                text = scrape(server.url)
            except httpx.HTTPError:
                continue
            assert count(text, **route) == REQUESTS  # the dead worker's counts are still there
            live = {labels["pid"] for labels, _ in gauge(text, "process_resident_memory_bytes")}
            workers = sum(v for _, v in gauge(text, "keelbase_workers"))
            if live and str(victim) not in live and workers == len(live) == 2:
                break
            assert time.monotonic() < deadline, (live, workers)
    finally:
        server.stop()
