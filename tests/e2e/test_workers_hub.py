"""``keelbase serve --workers 2`` on SQLite without Redis: the workers agree through the local hub.

Which worker answers a request is the kernel's choice; every request here opens
a fresh connection, and there are enough of them that both workers serve some.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import ADMIN, Stream, superuser_token
from tests.pg import STORES, fresh_database

TICK_HOOKS = """
import os
import time

def setup(app):
    async def tick():
        await app.create_record("ticks", {"worker": os.getpid(), "at": int(time.time())})

    app.cron("tick", "*/1 * * * * *", tick)
"""


def fresh(url: str) -> httpx.Client:
    """A client without keep-alive: each request may land on either worker."""
    return httpx.Client(base_url=url, limits=httpx.Limits(max_keepalive_connections=0), timeout=30)


def workers_of(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split() if alive(int(p))]


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    root = tmp_path_factory.mktemp("hub")
    data = root / "kb_data"
    (root / "kb_hooks").mkdir()
    (root / "kb_hooks" / "tick.py").write_text(textwrap.dedent(TICK_HOOKS))
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data)],
                   check=True, capture_output=True)  # fmt: skip
    server = ServerProcess(data, "--workers", "2", "--durability", "full", ready_timeout=90)
    try:
        token = superuser_token(server.url)
        with fresh(server.url) as client:
            for name, fields in (("hubw", [{"name": "n", "type": "number"}]),
                                 ("ticks", [{"name": "worker", "type": "number"}, {"name": "at", "type": "number"}])):  # fmt: skip
                created = client.post("/api/collections", headers={"Authorization": token}, json={
                    "name": name, "listRule": "", "viewRule": "", "createRule": "", "fields": fields})  # fmt: skip
                assert created.status_code == 200, created.text
        yield server, token
    finally:
        server.stop()


def test_the_supervisor_runs_two_workers_sharing_a_hub(served: tuple[ServerProcess, str]) -> None:
    server, _ = served
    assert len(workers_of(server.proc.pid)) == 2
    assert "workers:   2 (sharing through the local hub)" in server.log()
    assert "--redis" not in " ".join(server.proc.args)  # type: ignore[arg-type]


def test_workers_are_forked_from_a_supervisor_holding_no_database_file(
    served: tuple[ServerProcess, str],
) -> None:
    """Forked, not spawned: a worker runs the supervisor's command line, not multiprocessing's
    ``spawn_main``. The supervisor keeps no SQLite file open: a worker closing an inherited
    descriptor of a database file would drop its own locks on that file."""
    server, _ = served
    with open(f"/proc/{server.proc.pid}/cmdline", "rb") as own:
        command = own.read()
    for worker in workers_of(server.proc.pid):
        with open(f"/proc/{worker}/cmdline", "rb") as theirs:
            assert theirs.read() == command
    fds = Path(f"/proc/{server.proc.pid}/fd")
    opened = [os.readlink(fd) for fd in fds.iterdir() if fd.is_symlink()]
    assert not [path for path in opened if str(server.data_dir) in path], opened


def test_realtime_reaches_subscribers_on_every_worker_exactly_once(
    served: tuple[ServerProcess, str],
) -> None:
    server, _ = served
    streams = [Stream(server.url) for _ in range(6)]  # fresh connections: on both workers
    try:
        for stream in streams:
            stream.subscribe("hubw/*", via=server.url)  # the POST may land on the other worker
        with fresh(server.url) as client:
            for n in range(30):
                assert (
                    client.post("/api/collections/hubw/records", json={"n": n}).status_code == 200
                )
        for stream in streams:
            got = [stream.next()[1]["record"]["n"] for _ in range(30)]  # type: ignore[index]
            assert sorted(got) == list(range(30))
        for stream in streams:
            with pytest.raises(Empty):
                stream.next(timeout=0.3)  # exactly once: nothing more
    finally:
        for stream in streams:
            stream.close()


def test_a_schema_change_reaches_the_other_worker_within_a_second(
    served: tuple[ServerProcess, str],
) -> None:
    server, token = served
    with fresh(server.url) as client:
        created = client.post("/api/collections", headers={"Authorization": token}, json={
            "name": "hubfresh", "listRule": "", "fields": [{"name": "t", "type": "text"}]})  # fmt: skip
        assert created.status_code == 200, created.text
        started = time.monotonic()
        answers: list[int] = []
        while time.monotonic() - started < 1.0:
            answers = [
                client.get("/api/collections/hubfresh/records").status_code for _ in range(20)
            ]
            if answers == [200] * 20:
                break
        assert answers == [200] * 20, answers
        client.delete("/api/collections/hubfresh", headers={"Authorization": token})


def test_a_rate_limit_holds_in_total_across_workers(served: tuple[ServerProcess, str]) -> None:
    server, token = served
    auth = {"Authorization": token}
    with fresh(server.url) as client:
        limits = {"enabled": True, "rules": [{"label": "/api/collections/hubw/records", "duration": 60, "maxRequests": 10}]}  # fmt: skip
        assert (
            client.patch("/api/settings", headers=auth, json={"rateLimits": limits}).status_code
            == 200
        )
        try:
            time.sleep(1.2)  # the other worker loads the settings (a broker message, or its poll)
            # each from a different forwarded address: no trustedProxy is set, so the
            # workers ignore X-Forwarded-For and count the one real client
            codes = [
                client.get(
                    "/api/collections/hubw/records?perPage=1",
                    headers={"X-Forwarded-For": f"10.0.0.{i}"},
                ).status_code
                for i in range(40)
            ]
            assert codes.count(200) == 10, codes  # not 10 per worker
            assert codes.count(429) == 30, codes
        finally:
            off = {"enabled": False, "rules": limits["rules"]}
            assert (
                client.patch("/api/settings", headers=auth, json={"rateLimits": off}).status_code
                == 200
            )
            time.sleep(1.2)


def test_concurrent_creates_from_32_clients_all_succeed(served: tuple[ServerProcess, str]) -> None:
    server, _ = served

    async def one_client(index: int) -> list[int]:
        codes = []
        async with httpx.AsyncClient(base_url=server.url, timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:  # fmt: skip
            for n in range(8):
                response = await client.post(
                    "/api/collections/hubw/records", json={"n": 1000 + index * 8 + n}
                )
                codes.append(response.status_code)
        return codes

    async def run() -> list[int]:
        results = await asyncio.gather(*(one_client(i) for i in range(32)))
        return [code for codes in results for code in codes]

    codes = asyncio.run(run())
    assert codes == [200] * 256, [c for c in codes if c != 200]
    assert "database is locked" not in server.log()
    with fresh(server.url) as client:
        listed = client.get("/api/collections/hubw/records?filter=n>=1000&perPage=1").json()
    assert listed["totalItems"] == 256


def test_cron_runs_once_per_tick_across_workers(served: tuple[ServerProcess, str]) -> None:
    server, token = served
    time.sleep(3.5)  # a few ticks, on whichever worker takes each lease
    with fresh(server.url) as client:
        items = client.get("/api/collections/ticks/records?perPage=500&sort=at",
                           headers={"Authorization": token}).json()["items"]  # fmt: skip
    ticks = [item["at"] for item in items]
    assert len(ticks) >= 3, items
    assert len(ticks) == len(set(ticks)), "a tick ran on both workers"


def test_a_killed_worker_is_replaced_and_rejoins(served: tuple[ServerProcess, str]) -> None:
    server, _ = served
    victim = workers_of(server.proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while True:  # uvicorn's supervisor starts a new worker in its place
        now = workers_of(server.proc.pid)
        if len(now) == 2 and victim not in now:
            break
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.2)
    with fresh(server.url) as client:  # both up: a run of answers from either
        deadline = time.monotonic() + 60
        while [client.get("/api/health").status_code for _ in range(10)] != [200] * 10:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
    test_realtime_reaches_subscribers_on_every_worker_exactly_once(served)


def test_a_restore_through_one_worker_is_what_every_worker_serves(
    served: tuple[ServerProcess, str],
) -> None:
    server, token = served
    auth = {"Authorization": token}
    with fresh(server.url) as client:
        kept = client.post("/api/collections/hubw/records", json={"n": -1}).json()["id"]
        assert (
            client.post("/api/backups", headers=auth, json={"name": "hub_before.zip"}).status_code
            == 204
        )
        assert (
            client.delete(f"/api/collections/hubw/records/{kept}", headers=auth).status_code == 204
        )
        later = client.post(
            "/api/collections", headers=auth, json={"name": "hublater", "listRule": ""}
        )
        assert later.status_code == 200, later.text
        restored = client.post("/api/backups/hub_before.zip/restore", headers=auth)
        assert restored.status_code == 204, restored.text
        time.sleep(1.2)  # the other worker hears it at once, or at its one-second check
        # fresh connections: both workers serve the restored data and schema
        for _ in range(10):
            assert client.get(f"/api/collections/hubw/records/{kept}").status_code == 200
            assert client.get("/api/collections/hublater/records").status_code == 404
        assert client.post("/api/collections/hubw/records", json={"n": -2}).status_code == 200


def test_workers_stop_when_the_supervisor_is_killed(served: tuple[ServerProcess, str]) -> None:
    """Last in this module: it ends the module's server."""
    server, _ = served
    workers = workers_of(server.proc.pid)
    assert len(workers) == 2
    os.kill(server.proc.pid, signal.SIGKILL)  # the hub dies with it
    server.proc.wait()
    deadline = time.monotonic() + 15
    while any(alive(pid) for pid in workers):
        assert time.monotonic() < deadline, "workers outlived their supervisor"
        time.sleep(0.1)
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url + "/api/health", timeout=2)


@pytest.mark.skipif("postgres" not in STORES, reason="KEELBASE_TEST_STORES leaves PostgreSQL out")
def test_postgres_workers_without_redis_share_realtime(tmp_path: Path) -> None:
    """PostgreSQL on one machine without Redis: the same hub joins the workers."""
    with fresh_database() as url:
        data = tmp_path / "kb_data"
        subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data), "--db", url],
                       check=True, capture_output=True)  # fmt: skip
        server = ServerProcess(data, "--workers", "2", "--db", url, ready_timeout=90)
        try:
            token = superuser_token(server.url)
            with fresh(server.url) as client:
                created = client.post("/api/collections", headers={"Authorization": token}, json={
                    "name": "pgw", "listRule": "", "createRule": "", "fields": [{"name": "n", "type": "number"}]})  # fmt: skip
                assert created.status_code == 200, created.text
                time.sleep(0.5)
                streams = [Stream(server.url) for _ in range(4)]
                try:
                    for stream in streams:
                        stream.subscribe("pgw/*", via=server.url)
                    for n in range(10):
                        assert (
                            client.post("/api/collections/pgw/records", json={"n": n}).status_code
                            == 200
                        )
                    for stream in streams:
                        assert sorted(stream.next()[1]["record"]["n"] for _ in range(10)) == list(
                            range(10)
                        )  # type: ignore[index]
                        with pytest.raises(Empty):
                            stream.next(timeout=0.3)
                finally:
                    for stream in streams:
                        stream.close()
        finally:
            server.stop()
