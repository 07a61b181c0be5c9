"""Redis gone and back (issue 17): two ``keelbase serve`` nodes share a private
``redis-server`` that the test kills and starts again on the same port.

While Redis is away each node keeps serving: writes, sign-ins and OTP requests
(their counters live in Redis) and reads answer without a 5xx, the brute-force
guard still counts (on each node alone), and a node's own realtime subscribers
still get that node's events. Once Redis is back, events cross nodes
again, each delivered once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.e2e.test_realtime_nodes import ADMIN, Stream, superuser_token

pytestmark = pytest.mark.e2e


class PrivateRedis:
    """A ``redis-server`` of this test only, without persistence, on a fixed port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 10
        while True:
            try:
                redis.from_url(self.url, socket_connect_timeout=0.5).ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is required in CI and is not installed")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = PrivateRedis(free_port())
    server.start()
    yield server
    server.kill()


@pytest.fixture
def nodes(
    tmp_path: Path, private_redis: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    data_dir = tmp_path / "kb_data"
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-fault:{uuid.uuid4().hex}")
    first = ServerProcess(data_dir, "--redis", private_redis.url)
    second = ServerProcess(data_dir, "--redis", private_redis.url)
    yield first, second
    first.stop()
    second.stop()


def _create(url: str, n: int) -> httpx.Response:
    return httpx.post(url + "/api/collections/shared/records", json={"n": n}, timeout=5)


def _numbers(stream: Stream, count: int) -> list[int]:
    return [int(stream.next()[1]["record"]["n"]) for _ in range(count)]  # type: ignore[index]


def test_redis_gone_keeps_nodes_serving_and_back_resumes_cross_node_delivery(
    nodes: tuple[ServerProcess, ServerProcess], private_redis: PrivateRedis
) -> None:
    first, second = nodes
    token = superuser_token(first.url)
    made = httpx.post(first.url + "/api/collections", headers={"Authorization": token}, json={
        "name": "shared", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
    assert made.status_code == 200, made.text
    otp_on = httpx.patch(first.url + "/api/collections/users", headers={"Authorization": token},
                         json={"otp": {"enabled": True}})  # fmt: skip
    assert otp_on.status_code == 200, otp_on.text
    time.sleep(0.5)  # the second node learns the collections
    on_first, on_second = Stream(first.url), Stream(second.url)
    try:
        on_first.subscribe("shared/*")
        on_second.subscribe("shared/*")
        assert _create(second.url, 1).status_code == 200
        assert _numbers(on_first, 1) == [1] and _numbers(on_second, 1) == [1]

        private_redis.kill()
        statuses: list[int] = []
        started = time.monotonic()
        for n in range(10, 15):
            statuses.append(_create(first.url, n).status_code)
        for _ in range(3):
            signed_in = httpx.post(
                first.url + "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]}, timeout=5,
            )  # fmt: skip
            statuses.append(signed_in.status_code)
            statuses.append(
                httpx.get(second.url + "/api/collections/shared/records", timeout=5).status_code
            )
        # a one-time password request counts in Redis too (it was a 500 while Redis was away)
        otp = httpx.post(first.url + "/api/collections/users/request-otp",
                         json={"email": "someone@example.com"}, timeout=5)  # fmt: skip
        statuses.append(otp.status_code)
        assert statuses == [200] * len(statuses), statuses
        assert time.monotonic() - started < 5, "requests waited on the missing Redis"
        # the brute-force guard still counts, on this node (it used to let every attempt through)
        wrong = [
            httpx.post(first.url + "/api/collections/_superusers/auth-with-password",
                       json={"identity": "nobody@example.com", "password": "wrong"}, timeout=5,
                       ).status_code
            for _ in range(11)
        ]  # fmt: skip
        assert wrong == [400] * 10 + [429], wrong
        # the first node's own subscriber still hears the first node's writes
        assert _numbers(on_first, 5) == [10, 11, 12, 13, 14]
        assert first.proc.poll() is None and second.proc.poll() is None

        private_redis.start()
        # both nodes subscribe again within a few seconds; then events cross nodes again
        deadline = time.monotonic() + 15
        n = 100
        while True:
            assert _create(second.url, n).status_code == 200
            try:
                got = _numbers(on_first, 1)
                assert got == [n]
                break
            except Empty:
                assert time.monotonic() < deadline, "cross-node delivery did not resume"
                n += 1
        while True:  # drain what the second node's subscriber heard meanwhile
            try:
                on_second.next(timeout=0.3)
            except Empty:
                break
        for m in (200, 201, 202):
            assert _create(second.url, m).status_code == 200
        assert _numbers(on_first, 3) == [200, 201, 202]
        assert _numbers(on_second, 3) == [200, 201, 202]
        with pytest.raises(Empty):
            on_first.next(timeout=0.5)  # once, no duplicates
        for server in (first, second):
            assert "Traceback" not in server.log(), server.log()[-3000:]
    finally:
        on_first.close()
        on_second.close()
