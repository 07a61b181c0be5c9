"""Creates per second and disk syncs per 1,000 creates, ``--durability full`` against ``normal``.

    .venv/bin/python -m bench.durability                       # SQLite
    .venv/bin/python -m bench.durability --db postgresql://postgres@127.0.0.1:5432/postgres

For each mode, on SQLite, transactions are first run straight on ``SqliteStore``
(the commit's own cost, without HTTP's); then a fresh ``keelbase serve`` gets a ``notes`` collection anyone may
create in; then ``--sequential`` creates are sent one after another and
``--concurrent`` creates by ``--clients`` clients at once. Where ``strace`` is
installed, it is attached to the server for one more round of each and counts
its ``fsync``/``fdatasync`` calls (PostgreSQL's own syncs happen in its
server, which this does not see).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import httpx

from bench.servers import ADMIN, free_port, fresh_postgres


def _keelbase(*args: str) -> list[str]:
    return [sys.executable, "-m", "keelbase", *args]


class Serve:
    def __init__(self, data: Path, mode: str, db_url: str) -> None:
        extra = ["--db", db_url] if db_url else []
        subprocess.run(
            _keelbase("superuser", "upsert", *ADMIN, "--dir", str(data), *extra),
            check=True,
            capture_output=True,
        )
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(data.parent / f"serve-{mode}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            _keelbase("serve", "--workers", "1", "--http", f"127.0.0.1:{self.port}", "--dir", str(data),
                      "--durability", mode, *extra),
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.log.close()
        log = (data.parent / f"serve-{mode}.log").read_text(errors="replace")
        raise RuntimeError(f"keelbase serve did not start:\n{log}")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


async def _prepare(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        token = (
            await client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            )
        ).json()["token"]
        answer = await client.post(
            "/api/collections",
            headers={"Authorization": token},
            json={
                "name": "notes",
                "type": "base",
                "createRule": "",
                "fields": [{"name": "text", "type": "text"}],
            },
        )
        answer.raise_for_status()


async def _creates(url: str, total: int, clients: int) -> float:
    """Creates per second of ``total`` creates sent by ``clients`` clients at once."""
    left = total
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            for attempt in range(3):  # a kept-alive connection the server closed meanwhile
                try:
                    answer = await client.post(
                        "/api/collections/notes/records", json={"text": "x" * 100}
                    )
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            answer.raise_for_status()

    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        await client.post("/api/collections/notes/records", json={"text": "warm"})
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
        return total / (time.perf_counter() - began)


def _syncs(pid: int, url: str, total: int, clients: int) -> int | None:
    """``fsync``/``fdatasync`` calls of the server during ``total`` creates (None: no strace)."""
    if shutil.which("strace") is None:
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".strace") as out:
        tracer = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=fsync,fdatasync", "-o", out.name, "-p", str(pid)],
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)  # attached to every thread
        asyncio.run(_creates(url, total, clients))
        time.sleep(0.2)
        tracer.send_signal(signal.SIGINT)
        tracer.wait(timeout=30)
        return sum(1 for line in out if "sync(" in line)


def measure(mode: str, args: argparse.Namespace, workdir: Path) -> dict[str, object]:
    data = workdir / f"{mode}_data"
    with (
        fresh_postgres(args.db, f"kb_bench_durability_{mode}")
        if args.db
        else nullcontext("") as db_url
    ):
        serve = Serve(data, mode, db_url)
        try:
            asyncio.run(_prepare(serve.url))
            sequential = asyncio.run(_creates(serve.url, args.sequential, 1))
            concurrent = asyncio.run(_creates(serve.url, args.concurrent, args.clients))
            syncs_sequential = _syncs(serve.proc.pid, serve.url, 200, 1)
            syncs_concurrent = _syncs(serve.proc.pid, serve.url, 1000, args.clients)
        finally:
            serve.stop()
    return {
        "durability": mode,
        "store": "postgres" if args.db else "sqlite",
        "sequential_per_s": round(sequential),
        f"concurrent_{args.clients}_per_s": round(concurrent),
        "syncs_per_1000_sequential": None if syncs_sequential is None else syncs_sequential * 5,
        f"syncs_per_1000_concurrent_{args.clients}": syncs_concurrent,
    }


async def _store_only(mode: str, workdir: Path, clients: int) -> dict[str, object]:
    """Transactions straight on ``SqliteStore``: the commit's cost without HTTP's."""
    from keelbase.store.sqlite import SqliteStore

    store = SqliteStore(workdir / f"store-{mode}.db", durability=mode)
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)", heavy=True)

        async def insert(count: int) -> None:
            for _ in range(count):
                async with store.transaction() as conn:
                    await conn.execute("INSERT INTO t (v) VALUES (?)", ("x" * 100,))

        began = time.perf_counter()
        await insert(200)
        sequential = 200 / (time.perf_counter() - began)
        commits, began = store.commits, time.perf_counter()
        await asyncio.gather(*(insert(50) for _ in range(clients)))
        concurrent = 50 * clients / (time.perf_counter() - began)
        per_1000 = (store.commits - commits) * 1000 / (50 * clients)
    finally:
        await store.close()
    return {
        "durability": mode,
        "store": "SqliteStore only",
        "sequential_per_s": round(sequential),
        f"concurrent_{clients}_per_s": round(concurrent),
        f"commits_per_1000_concurrent_{clients}": round(per_1000),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="", help="a postgresql:// URL of the server to measure")
    parser.add_argument("--sequential", type=int, default=300)
    parser.add_argument("--concurrent", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--store-only", action="store_true", help="SqliteStore alone, no server")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kb-durability-") as workdir:
        for mode in ("full", "normal"):
            if not args.db:
                figures = asyncio.run(_store_only(mode, Path(workdir), args.clients))
                print(json.dumps(figures), flush=True)
            if not args.store_only:
                print(json.dumps(measure(mode, args, Path(workdir))), flush=True)


if __name__ == "__main__":
    main()
