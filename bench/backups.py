"""Backup time, the longest write stall during a backup, and restore time, on a real server.

    .venv/bin/python -m bench.backups --mb 100                 # SQLite
    .venv/bin/python -m bench.backups --mb 100 --db postgresql://postgres@127.0.0.1:5432/postgres

A ``keelbase serve`` process gets a ``posts`` collection filled to about
``--mb`` megabytes (written straight into the database, which is quick), then
``--writers`` clients create posts at a steady pace while ``POST /api/backups``
runs. Each write's latency is kept with its start time; the report compares
writes during the backup with writes before it. Then the backup is restored
(``POST /api/backups/{key}/restore``) and timed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.servers import ADMIN, free_port, fresh_postgres

ROW_BYTES = 1000


def keelbase(*args: str) -> list[str]:
    return [sys.executable, "-m", "keelbase", *args]


async def create_collection(data: Path, db_url: str) -> None:
    from keelbase import App, Config

    async with App(Config(data_dir=data, db_url=db_url)) as app:
        await app.collections.create({"name": "posts", "type": "base", "listRule": "",
            "createRule": "", "fields": [{"name": "title", "type": "text"},
            {"name": "body", "type": "text", "max": 100000},
            {"name": "created", "type": "autodate", "onCreate": True},
            {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True}]})  # fmt: skip


def rows(count: int) -> list[tuple[str, str, str, str, str]]:
    now = "2026-01-01 00:00:00.000Z"
    return [
        (secrets.token_hex(8)[:15], f"seed {n}", secrets.token_hex(ROW_BYTES // 2), now, now)
        for n in range(count)
    ]


def seed_sqlite(data: Path, count: int) -> None:
    import sqlite3

    conn = sqlite3.connect(data / "data.db")
    for start in range(0, count, 10_000):
        conn.executemany(
            'INSERT INTO "posts" ("id", "title", "body", "created", "updated") VALUES (?,?,?,?,?)',
            rows(min(10_000, count - start)),
        )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def seed_postgres(db_url: str, count: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        for start in range(0, count, 10_000):
            await conn.copy_records_to_table(
                "posts",
                records=rows(min(10_000, count - start)),
                columns=["id", "title", "body", "created", "updated"],
            )
    finally:
        await conn.close()


async def load_and_backup(
    url: str, token: str, writers: int, pace: float, restore: bool = True
) -> dict[str, float]:
    """Writers at a steady pace; a backup in the middle; latencies before and during it."""
    results: list[tuple[float, float]] = []
    stop = asyncio.Event()
    headers = {"Authorization": token}

    async def writer(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            started = time.monotonic()
            answer = await client.post(
                "/api/collections/posts/records", json={"title": "load", "body": "x" * 200}
            )
            assert answer.status_code == 200, answer.text
            results.append((started, time.monotonic() - started))
            await asyncio.sleep(max(0.0, pace - (time.monotonic() - started)))

    async with httpx.AsyncClient(base_url=url, timeout=600) as client:
        tasks = [asyncio.create_task(writer(client)) for _ in range(writers)]
        await asyncio.sleep(3)
        begin = time.monotonic()
        made = await client.post("/api/backups", headers=headers, json={"name": "bench.zip"})
        end = time.monotonic()
        assert made.status_code == 204, made.text
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*tasks)
        before = [lat for s, lat in results if s + lat < begin]
        during = [lat for s, lat in results if s < end and s + lat > begin]
        worst = sorted(((lat, s - begin) for s, lat in results if s < end and s + lat > begin),
                       reverse=True)[:5]  # fmt: skip
        print("slowest writes during the backup (ms at s after its start): "
              + ", ".join(f"{lat * 1000:.0f} at {at:.1f}" for lat, at in worst), file=sys.stderr)  # fmt: skip
        size = next(b["size"] for b in (await client.get("/api/backups", headers=headers)).json())
        restore_seconds = float("nan")
        if restore:
            restore_start = time.monotonic()
            restored = await client.post("/api/backups/bench.zip/restore", headers=headers)
            restore_seconds = time.monotonic() - restore_start
            assert restored.status_code == 204, restored.text
    return {
        "backup_s": end - begin,
        "backup_mb": size / 1e6,
        "writes_during": len(during),
        "before_p50_ms": statistics.median(before) * 1000,
        "before_max_ms": max(before) * 1000,
        "during_p50_ms": statistics.median(during) * 1000 if during else 0,
        "during_max_ms": max(during) * 1000 if during else 0,
        "restore_s": restore_seconds,
    }


def run(
    mb: int, db_url: str, writers: int, pace: float, port: int = 0, restore: bool = True
) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="kb-bench-backups-"))
    data = work / "kb_data"
    extra = ["--db", db_url] if db_url else []
    try:
        subprocess.run(keelbase("superuser", "upsert", *ADMIN, "--dir", str(data), *extra),
                       check=True, capture_output=True)  # fmt: skip
        asyncio.run(create_collection(data, db_url))
        count = mb * 1_000_000 // (ROW_BYTES + 100)
        seeded = time.monotonic()
        if db_url:
            asyncio.run(seed_postgres(db_url, count))
        else:
            seed_sqlite(data, count)
        print(f"seeded {count} posts in {time.monotonic() - seeded:.1f}s", file=sys.stderr)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        with open(work / "server.log", "wb") as log:
            server = subprocess.Popen(
                keelbase("serve", "--workers", "1", "--http", f"127.0.0.1:{port}", "--dir", str(data), *extra),
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            try:
                for _ in range(200):
                    try:
                        httpx.get(url + "/api/health", timeout=1)
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                token = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                    json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
                return asyncio.run(load_and_backup(url, token, writers, pace, restore))
            finally:
                server.terminate()
                server.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="about this many MB of records")
    parser.add_argument("--db", default="", help="a postgresql:// URL (a fresh database is made)")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--pace", type=float, default=0.02, help="seconds between a writer's posts")
    parser.add_argument("--port", type=int, default=0, help="the server's port (a free one if 0)")
    parser.add_argument("--no-restore", action="store_true", help="time the backup only")
    args = parser.parse_args()
    if args.db:
        with fresh_postgres(args.db, f"kb_bench_backups_{os.getpid()}") as url:
            figures = run(args.mb, url, args.writers, args.pace, args.port, not args.no_restore)
    else:
        figures = run(args.mb, "", args.writers, args.pace, args.port, not args.no_restore)
    store = "postgres" if args.db else "sqlite"
    print(
        "| store | data | backup | zip | writes during | p50 before / during | max before / during | restore |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {store} | ~{args.mb} MB | {figures['backup_s']:.1f} s | {figures['backup_mb']:.0f} MB "
        f"| {figures['writes_during']:.0f} | {figures['before_p50_ms']:.1f} / "
        f"{figures['during_p50_ms']:.1f} ms | {figures['before_max_ms']:.0f} / "
        f"{figures['during_max_ms']:.0f} ms | {figures['restore_s']:.1f} s |"
    )


if __name__ == "__main__":
    main()
