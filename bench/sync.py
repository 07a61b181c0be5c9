"""Sync figures on a real server: initial sync, an incremental pull from a big collection, a queue replay.

    .venv/bin/python -m bench.sync --big 1000000                 # SQLite
    .venv/bin/python -m bench.sync --big 1000000 --db postgresql://postgres@127.0.0.1:5432/postgres

A ``keelbase serve`` process gets ``small`` (10,000 records), ``medium``
(100,000) and ``big`` (``--big`` records, each with its create in the change
log) written straight into the database, then:

- the JS client (``clients/js-sync``, Node) syncs ``small`` and ``medium`` from
  nothing: time, bytes received, records held;
- 10 records of ``big`` are updated through the API and the pull of those 10
  changes is timed (median of 20), next to a plain indexed list of 10 records;
  the log query's plan (and on PostgreSQL the rows it read) is printed;
- the client queues 1,000 creates offline and replays them when back online.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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

ROOT = Path(__file__).resolve().parent.parent
FIELDS = [
    {"name": "title", "type": "text"},
    {"name": "done", "type": "bool"},
    {"name": "created", "type": "autodate", "onCreate": True},
    {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
]


def keelbase(*args: str) -> list[str]:
    return [sys.executable, "-m", "keelbase", *args]


async def create_collections(data: Path, db_url: str) -> dict[str, str]:
    from keelbase import App, Config

    ids = {}
    async with App(Config(data_dir=data, db_url=db_url)) as app:
        for name in ("small", "medium", "big", "queue"):
            made = await app.collections.create(
                {"name": name, "listRule": "", "viewRule": "", "createRule": "",
                 "updateRule": "", "fields": FIELDS}
            )  # fmt: skip
            ids[name] = made.id
    return ids


def rows(count: int) -> list[tuple[str, str, bool, str, str]]:
    now = "2026-01-01 00:00:00.000Z"
    return [(secrets.token_hex(8)[:15], f"seed {n}", False, now, now) for n in range(count)]


def seed_sqlite(data: Path, table: str, count: int, log_as: str = "") -> None:
    import sqlite3

    conn = sqlite3.connect(data / "data.db")
    for start in range(0, count, 10_000):
        batch = rows(min(10_000, count - start))
        conn.executemany(
            f'INSERT INTO "{table}" ("id", "title", "done", "created", "updated") VALUES (?,?,?,?,?)',
            batch,
        )
        if log_as:
            conn.executemany(
                'INSERT INTO "_kbChanges" ("tx", "collection", "record", "action", "at") '
                "VALUES (0, ?, ?, 'create', ?)",
                [(log_as, row[0], int(time.time() * 1000)) for row in batch],
            )
        conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


async def seed_postgres(db_url: str, table: str, count: int, log_as: str = "") -> None:
    import asyncpg

    conn = await asyncpg.connect(db_url)
    try:
        for start in range(0, count, 10_000):
            batch = rows(min(10_000, count - start))
            await conn.copy_records_to_table(
                table, records=batch, columns=["id", "title", "done", "created", "updated"]
            )
            if log_as:
                await conn.copy_records_to_table(
                    "_kbChanges",
                    records=[
                        (1, log_as, row[0], "create", int(time.time() * 1000)) for row in batch
                    ],
                    columns=["tx", "collection", "record", "action", "at"],
                )
        await conn.execute(f'ANALYZE "{table}"; ANALYZE "_kbChanges"')
    finally:
        await conn.close()


async def incremental(url: str, token: str) -> dict[str, float]:
    headers = {"Authorization": token}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=600) as client:
        start = (await client.get("/api/sync/big/changes", params={"limit": 1})).json()["cursor"]
        _, tx, seq, _ = start.split(".", 3)
        cursor = f"c.{tx}.{seq}"
        listed = await client.get("/api/collections/big/records", params={"perPage": 10})
        for item in listed.json()["items"]:
            await client.patch(f"/api/collections/big/records/{item['id']}", json={"done": True})
        pulls, lists = [], []
        while len(pulls) < 20:
            began = time.perf_counter()
            page = (await client.get("/api/sync/big/changes", params={"cursor": cursor})).json()
            pulls.append(time.perf_counter() - began)
            if page["held"]:  # another write transaction is still open: not a pull of 10
                pulls.pop()
                await asyncio.sleep(0.05)
                continue
            assert len(page["put"]) == 10 and not page["hasMore"], page
            began = time.perf_counter()
            await client.get("/api/collections/big/records", params={"perPage": 10, "skipTotal": 1})
            lists.append(time.perf_counter() - began)
    return {
        "pull_10_ms": statistics.median(pulls) * 1000,
        "list_10_ms": statistics.median(lists) * 1000,
        "tx": int(tx),
        "seq": int(seq),
    }


async def plan(data: Path, db_url: str, collection_id: str, tx: int, seq: int) -> str:
    """The plan of the server's own log query (``ChangeLog.read_sql``) for this cursor."""
    from keelbase.services.sync.changelog import ChangeLog
    from keelbase.store.postgres_dialect import PostgresDialect
    from keelbase.store.sqlite_dialect import SqliteDialect

    values = {"collection": collection_id, "tx": tx, "seq": seq, "limit": 101}
    if not db_url:
        import sqlite3

        sql = ChangeLog(SqliteDialect()).read_sql()
        conn = sqlite3.connect(data / "data.db")
        found = conn.execute("EXPLAIN QUERY PLAN " + sql, values).fetchall()
        began = time.perf_counter()
        conn.execute(sql, values).fetchall()
        took = (time.perf_counter() - began) * 1000
        conn.close()
        return "; ".join(str(row[-1]) for row in found) + f" ({took:.2f} ms)"
    import asyncpg

    sql = ChangeLog(PostgresDialect()).read_sql()
    for n, name in enumerate(values, 1):
        sql = sql.replace(f":{name}", f"${n}")
    conn = await asyncpg.connect(db_url)
    try:
        found = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *values.values())
        return "\n".join(row[0] for row in found)
    finally:
        await conn.close()


def run(big: int, db_url: str, port: int = 0) -> dict[str, object]:
    work = Path(tempfile.mkdtemp(prefix="kb-bench-sync-"))
    data = work / "kb_data"
    extra = ["--db", db_url] if db_url else []
    try:
        subprocess.run(keelbase("superuser", "upsert", *ADMIN, "--dir", str(data), *extra),
                       check=True, capture_output=True)  # fmt: skip
        ids = asyncio.run(create_collections(data, db_url))
        seeded = time.monotonic()
        for table, count in (("small", 10_000), ("medium", 100_000), ("big", big)):
            log_as = ids["big"] if table == "big" else ""
            if db_url:
                asyncio.run(seed_postgres(db_url, table, count, log_as))
            else:
                seed_sqlite(data, table, count, log_as)
        print(f"seeded in {time.monotonic() - seeded:.1f}s", file=sys.stderr)
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        with open(work / "server.log", "wb") as log:
            server = subprocess.Popen(
                keelbase("serve", "--workers", "1", "--http", f"127.0.0.1:{port}", "--dir", str(data), *extra),
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
            try:
                for _ in range(300):
                    try:
                        httpx.get(url + "/api/health", timeout=1)
                        break
                    except httpx.HTTPError:
                        time.sleep(0.1)
                token = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                    json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
                figures: dict[str, object] = dict(asyncio.run(incremental(url, token)))
                figures["plan"] = asyncio.run(
                    plan(data, db_url, ids["big"], int(figures["tx"]), int(figures["seq"]))  # type: ignore[call-overload]
                )
                node = subprocess.run(
                    ["node", "clients/js-sync/bench/figures.mjs", "small", "medium",
                     "--queue", "queue", "1000"],
                    cwd=ROOT, env={**os.environ, "KB_URL": url, "KB_TOKEN": token},
                    capture_output=True, text=True, check=True, timeout=1800,
                )  # fmt: skip
                figures.update(json.loads(node.stdout))
                return figures
            finally:
                server.terminate()
                server.wait(30)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--big", type=int, default=1_000_000, help="records in the big collection")
    parser.add_argument("--db", default="", help="a postgresql:// URL (a fresh database is made)")
    parser.add_argument("--port", type=int, default=0, help="the server's port (default: any free)")
    args = parser.parse_args()
    if args.db:
        with fresh_postgres(args.db, f"kb_bench_sync_{os.getpid()}") as url:
            figures = run(args.big, url, args.port)
    else:
        figures = run(args.big, "", args.port)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
