"""Webhooks across real ``keelbase serve`` processes: a kill -9 between the commits and
their delivery loses and doubles nothing, and two nodes send each event once."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.e2e.test_realtime_nodes import redis_url  # noqa: F401 - a fixture
from tests.pg import STORES, fresh_database
from tests.webhook_receiver import Receiver, running_receiver

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
EVENTS = 20


class PatientServer(ServerProcess):
    def _wait_ready(self, timeout: float = 60.0) -> None:
        super()._wait_ready(timeout)


@pytest.fixture(params=STORES)
def db(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    if request.param == "sqlite":
        yield []
        return
    with fresh_database() as url:
        yield ["--db", url]


def upsert_admin(data_dir: Path, db: list[str]) -> None:
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
         "--dir", str(data_dir), *db],
        check=True, capture_output=True,
    )  # fmt: skip


def admin_of(url: str) -> dict[str, str]:
    signed = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                        json={"identity": ADMIN[0], "password": ADMIN[1]})  # fmt: skip
    assert signed.status_code == 200, signed.text
    return {"Authorization": signed.json()["token"]}


def setup(url: str, hook_url: str) -> str:
    admin = admin_of(url)
    made = httpx.post(url + "/api/collections", headers=admin, json={
        "name": "posts", "createRule": "", "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
    assert made.status_code == 200, made.text
    hook = httpx.post(url + "/api/webhooks", headers=admin,
                      json={"url": hook_url, "events": ["posts.create"]})  # fmt: skip
    assert hook.status_code == 200, hook.text
    return str(hook.json()["secret"])


def wait_for(receiver: Receiver, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while len(receiver.ok()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # and then nothing more


def test_kill_9_between_commit_and_delivery_delivers_once(
    tmp_path: Path, db: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEELBASE_WEBHOOKS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("KEELBASE_WEBHOOKS_RETRY_SCALE", "0.001")
    data_dir = tmp_path / "kb_data"
    upsert_admin(data_dir, db)
    port = free_port()  # nobody listens there until after the kill: nothing can be delivered
    server = PatientServer(data_dir, *db)
    try:
        secret = setup(server.url, f"http://127.0.0.1:{port}/hook")
        for n in range(EVENTS):
            made = httpx.post(server.url + "/api/collections/posts/records", json={"n": n})
            assert made.status_code == 200, made.text
        server.proc.send_signal(signal.SIGKILL)  # every create was answered: committed
        server.proc.wait(timeout=10)
    finally:
        server._log.close()
    with running_receiver(port) as receiver:
        receiver.secret = secret
        server = PatientServer(data_dir, *db)
        try:
            wait_for(receiver, EVENTS, timeout=60)
        finally:
            server.stop()
        got = receiver.ok()
        assert all(r.verified for r in got)
        numbers = Counter(r.payload["data"]["record"]["n"] for r in got)
        assert numbers == Counter(range(EVENTS)), numbers  # each once, none lost
        assert len({r.id for r in got}) == EVENTS


@pytest.mark.postgres
def test_two_nodes_send_each_event_once(
    tmp_path: Path,
    redis_url: str,  # noqa: F811 - the fixture
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEELBASE_WEBHOOKS_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    with fresh_database() as url, running_receiver() as receiver:
        db = ["--db", url, "--redis", redis_url]
        upsert_admin(tmp_path / "a", db[:2])
        first = PatientServer(tmp_path / "a", *db)
        try:
            second = PatientServer(tmp_path / "b", *db)
        except BaseException:
            first.stop()
            raise
        try:
            receiver.secret = setup(first.url, receiver.url)
            for n in range(EVENTS):
                node = (first, second)[n % 2]
                made = httpx.post(node.url + "/api/collections/posts/records", json={"n": n})
                assert made.status_code == 200, made.text
            wait_for(receiver, EVENTS, timeout=30)
        finally:
            first.stop()
            second.stop()
        got = receiver.ok()
        assert len(receiver.received) == EVENTS  # no failed or doubled sends either
        assert all(r.verified for r in got)
        assert Counter(r.payload["data"]["record"]["n"] for r in got) == Counter(range(EVENTS))
