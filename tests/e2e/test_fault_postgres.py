"""PostgreSQL lost under load (issue 17): ``keelbase serve`` reaches PostgreSQL
through a TCP proxy in this test, which cuts every connection and refuses new
ones for a few seconds, then lets them through again.

While PostgreSQL is away, requests fail fast with a 503 in PocketBase's error
shape (no 500, no wait); afterwards the pool opens new connections by itself
and writes succeed again; every write that was answered 200 is in the database.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.pg import fresh_database

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
OUTAGE = 3.0
FAIL_FAST = 6.0  # the slowest answer allowed while PostgreSQL is away
WRITERS = 4


class Proxy:
    """A TCP proxy on loopback, run on its own event loop thread, that can be cut."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.StreamWriter] = set()
        self._up = True
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self._call(self._listen())

    def _call(self, coro: object) -> None:
        asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=5)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._up = True
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self._up:  # accepted just before the cut: it must not get through
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        if not self._up:  # cut while this link was being made
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self._links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, RuntimeError):
                pass
            finally:
                dst.close()
                self._links.discard(dst)

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def _cut(self) -> None:
        assert self._server is not None
        self._up = False
        self._server.close()  # new connections are refused
        for writer in list(self._links):
            transport = writer.transport
            transport.abort()  # as a crashed server or a broken network: no goodbye
        self._links.clear()

    def cut(self) -> None:
        self._call(self._cut())

    def restore(self) -> None:
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._cut())
        self.loop.call_soon_threadsafe(self.loop.stop)


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[tuple[ServerProcess, Proxy, str]]:
    with fresh_database() as db_url:
        parts = urlsplit(db_url)
        proxy = Proxy(parts.hostname or "127.0.0.1", parts.port or 5432)
        through = db_url.replace(parts.netloc, f"{parts.username}@127.0.0.1:{proxy.port}")
        data_dir = tmp_path / "kb_data"
        subprocess.run(
            [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
             "--dir", str(data_dir), "--db", through],
            check=True, capture_output=True,
        )  # fmt: skip
        server = ServerProcess(data_dir, "--db", through)
        try:
            yield server, proxy, db_url
        finally:
            server.stop()
            proxy.close()


def test_postgres_lost_under_load_fails_fast_with_503_and_recovers(
    proxied: tuple[ServerProcess, Proxy, str],
) -> None:
    server, proxy, db_url = proxied
    token = httpx.post(server.url + "/api/collections/_superusers/auth-with-password",
                       json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
    made = httpx.post(server.url + "/api/collections", headers={"Authorization": token}, json={
        "name": "items", "listRule": "", "viewRule": "", "createRule": "",
        "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
    assert made.status_code == 200, made.text

    acknowledged: list[int] = []
    answers: list[tuple[float, float, int, dict[str, object]]] = []  # start, took, status, body
    stop = threading.Event()
    lock = threading.Lock()

    def write(worker: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            n = worker * 1_000_000
            while not stop.is_set():
                n += 1
                began = time.monotonic()
                try:
                    response = client.post("/api/collections/items/records", json={"n": n})
                    status, body = response.status_code, response.json()
                except httpx.HTTPError as error:
                    status, body = 0, {"error": repr(error)}
                with lock:
                    answers.append((began, time.monotonic() - began, status, body))
                    if status == 200:
                        acknowledged.append(n)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)
        cut_at = time.monotonic()
        proxy.cut()
        time.sleep(OUTAGE)
        proxy.restore()
        back_at = time.monotonic()
        time.sleep(3.0)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    during = [a for a in answers if cut_at + 0.2 <= a[0] < back_at - 0.2]
    statuses = {a[2] for a in answers}
    assert statuses <= {200, 503}, sorted(
        {(a[2], str(a[3])[:200]) for a in answers if a[2] not in (200, 503)}
    )
    # answered while the database was away (a request may begin then and be served after it is back)
    answered_during = [a for a in during if a[0] + a[1] < back_at - 0.2]
    assert all(a[2] == 503 for a in answered_during), "requests during the outage did not fail"
    # On a loaded machine no request may begin inside the window (each waits for the pool):
    # then those in flight across it must have failed with the 503 instead.
    overlapping = [a for a in answers if a[0] < back_at - 0.2 and a[0] + a[1] > cut_at + 0.2]
    assert any(a[2] == 503 for a in overlapping), "no request failed during the outage"
    for _, _, status, body in answers:
        if status == 503:
            assert set(body) == {"status", "message", "data"} and body["status"] == 503, body
            assert body["data"] == {} and "unavailable" in str(body["message"])
    slowest = max(a[1] for a in answers if cut_at <= a[0] < back_at)
    assert slowest < FAIL_FAST, f"a request waited {slowest:.1f}s on the missing database"
    recovered = [a for a in answers if a[0] > back_at + 1.5]
    assert recovered and all(a[2] == 200 for a in recovered), "the pool did not recover"
    assert "unhandled error" not in server.log(), server.log()[-4000:]

    # nothing acknowledged is lost: read the rows straight from PostgreSQL
    import asyncpg

    async def stored() -> set[int]:
        conn = await asyncpg.connect(db_url)
        try:
            return {int(r["n"]) for r in await conn.fetch('SELECT n FROM "items"')}
        finally:
            await conn.close()

    missing = set(acknowledged) - asyncio.run(stored())
    assert not missing, f"{len(missing)} acknowledged writes lost"
    print(f"\n{len(answers)} writes, {len(acknowledged)} acknowledged, {len(during)} during the "
          f"outage (all 503), slowest {slowest * 1000:.0f} ms")  # fmt: skip
