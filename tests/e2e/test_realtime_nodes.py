"""Realtime across processes: two ``keelbase serve`` nodes joined by Redis, and shutdown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty, Queue

import httpx
import pytest

from tests.conftest import ServerProcess

ADMIN = ("admin@example.com", "Passw0rd123")
REDIS_URL = os.environ.get("KEELBASE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_available() -> bool:
    import redis

    try:
        redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False
    return True


@pytest.fixture
def redis_url() -> str:
    if not redis_available():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis is required in CI and is not reachable at {REDIS_URL}")
        pytest.skip(
            f"Redis is not reachable at {REDIS_URL} (start it, or set KEELBASE_TEST_REDIS_URL)"
        )
    return REDIS_URL


class Stream:
    """An SSE connection read on a thread; events land in a queue."""

    def __init__(self, url: str, token: str = "", last_event_id: str = "") -> None:
        self.events: Queue[tuple[str, dict[str, object]]] = Queue()
        self.client = httpx.Client(base_url=url, timeout=None)
        self.token = token
        self.last_event_id = last_event_id  # sent as EventSource sends it when reconnecting
        self.ids: list[str] = []  # each event's SSE id
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        name, data = self.next()
        assert name == "PB_CONNECT"
        self.client_id = str(data["clientId"])

    def _read(self) -> None:
        try:
            headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
            with self.client.stream("GET", "/api/realtime", headers=headers) as response:
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    if not line:
                        if "event" in event:
                            self.ids.append(event.get("id", ""))
                            self.events.put((event["event"], json.loads(event["data"])))
                        event = {}
                    elif not line.startswith(":"):
                        key, _, value = line.partition(":")
                        event[key] = value
        except httpx.HTTPError:
            pass

    def next(self, timeout: float = 5) -> tuple[str, dict[str, object]]:
        return self.events.get(timeout=timeout)

    def subscribe(self, *topics: str, via: str = "") -> None:
        """Set the subscriptions, through another node when ``via`` names one."""
        headers = {"Authorization": self.token} if self.token else {}
        url = (via or str(self.client.base_url).rstrip("/")) + "/api/realtime"
        response = httpx.post(
            url, headers=headers, json={"clientId": self.client_id, "subscriptions": list(topics)}
        )
        assert response.status_code == 204, response.text

    def close(self) -> None:
        self.client.close()


def superuser_token(url: str) -> str:
    response = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                          json={"identity": ADMIN[0], "password": ADMIN[1]})  # fmt: skip
    return str(response.json()["token"])


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "kb_data"
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(path)],
                   check=True, capture_output=True)  # fmt: skip
    return path


@pytest.fixture
def two_nodes(
    data_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    first = ServerProcess(data_dir, "--redis", redis_url)
    second = ServerProcess(data_dir, "--redis", redis_url)
    yield first, second
    first.stop()
    second.stop()


def test_a_write_on_one_node_reaches_a_subscriber_on_the_other_once(
    two_nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = two_nodes
    token = superuser_token(first.url)
    created = httpx.post(first.url + "/api/collections", headers={"Authorization": token}, json={
        "name": "shared", "listRule": "", "viewRule": "", "createRule": "", "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
    assert created.status_code == 200, created.text
    time.sleep(0.5)  # the second node learns the new collection
    stream = Stream(first.url)
    try:
        # the load balancer may send the subscription to the other node: it is forwarded
        stream.subscribe("shared/*", "chat:lobby", via=second.url)
        # only from the stream's own address (as PocketBase), on its node or forwarded
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other:
            for url in (first.url, second.url):
                refused = other.post(url + "/api/realtime", json={
                    "clientId": stream.client_id, "subscriptions": ["shared/*"]})  # fmt: skip
                assert refused.status_code == 400, refused.text
                assert refused.json()["message"] == "Invalid realtime client."
        for n in range(5):
            response = httpx.post(second.url + "/api/collections/shared/records", json={"n": n})
            assert response.status_code == 200, response.text
        received = [stream.next() for _ in range(5)]
        assert [data["record"]["n"] for _, data in received] == [0, 1, 2, 3, 4]  # type: ignore[index]
        with pytest.raises(Empty):
            stream.next(timeout=0.5)  # exactly once: no duplicates from the other node
    finally:
        stream.close()


def test_shutdown_ends_open_streams_quickly(data_dir: Path) -> None:
    server = ServerProcess(data_dir)
    stream = Stream(server.url)
    try:
        started = time.monotonic()
        assert server.stop() in (0, -15)
        assert time.monotonic() - started < 5, "an open stream held the shutdown"
        assert "keelbase stopped cleanly" in server.log()
    finally:
        stream.close()


def test_workers_share_events_through_redis(
    data_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    server = ServerProcess(data_dir, "--redis", redis_url, "--workers", "2")
    try:
        token = superuser_token(server.url)
        created = httpx.post(server.url + "/api/collections", headers={"Authorization": token}, json={
            "name": "w", "listRule": "", "createRule": "", "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
        assert created.status_code == 200, created.text
        time.sleep(0.5)
        streams = [Stream(server.url) for _ in range(4)]  # spread over both workers
        try:
            for stream in streams:
                stream.subscribe("w/*")
            for n in range(3):
                # a fresh connection each time, so writes land on either worker
                assert (
                    httpx.post(server.url + "/api/collections/w/records", json={"n": n}).status_code
                    == 200
                )
            for stream in streams:
                assert sorted(stream.next()[1]["record"]["n"] for _ in range(3)) == [0, 1, 2]  # type: ignore[index]
        finally:
            for stream in streams:
                stream.close()
    finally:
        server.stop()
