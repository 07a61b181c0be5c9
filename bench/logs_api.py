"""How fast ``/api/logs`` lists and counts with many entries: ``python -m bench.logs_api``.

    python -m bench.logs_api [--rows 1000000] [--repeat 5] [--db postgresql://...]

Entries are inserted straight into ``auxiliary.db`` (spread over the last four
days, a tenth of them errors), or with ``--db`` into the ``_logs`` table of a
fresh PostgreSQL database made from that URL (and dropped afterwards), then
each query is timed through the app in-process (no HTTP server, no network):
the median of ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson

from bench.servers import fresh_postgres
from keelbase import App, Config
from keelbase.core.dates import format_datetime

ADMIN = ("bench@example.com", "Passw0rd123")


Row = tuple[str, int, str, str, str]


def entries(rows: int) -> Iterator[Row]:
    """``rows`` request entries over the last four days, oldest first."""
    rng = random.Random(1)
    now = datetime.now(UTC)
    for n in range(rows):
        created = format_datetime(now - timedelta(seconds=(rows - n) * 4 * 86400 / rows))
        status = 500 if n % 10 == 0 else rng.choice((200, 200, 200, 204, 400, 404))
        level = 8 if status >= 400 else 0
        data = {
            "type": "request",
            "method": "GET",
            "url": f"/api/collections/posts/records/p{n:014d}",
            "status": status,
            "execTime": rng.random() * 20,
            "auth": "",
            "userIP": "10.0.0.1",
            "remoteIP": "10.0.0.1",
            "referer": "",
            "userAgent": "bench",
            "requestId": f"{n:024x}",
        }
        yield (f"l{n:014d}", level, f"GET {data['url']}", orjson.dumps(data).decode(), created)


def fill(path: Path, rows: int) -> None:
    conn = sqlite3.connect(path)
    batch: list[Row] = []
    for row in entries(rows):
        batch.append(row)
        if len(batch) == 10_000:
            conn.executemany('INSERT INTO "_logs" VALUES (?, ?, ?, ?, ?)', batch)
            conn.commit()
            batch.clear()
    conn.executemany('INSERT INTO "_logs" VALUES (?, ?, ?, ?, ?)', batch)
    conn.commit()
    conn.execute("ANALYZE")
    conn.close()


async def fill_postgres(url: str, rows: int) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        batch: list[Row] = []
        columns = ["id", "level", "message", "data", "created"]
        for row in entries(rows):
            batch.append(row)
            if len(batch) == 50_000:
                await conn.copy_records_to_table("_logs", records=batch, columns=columns)
                batch.clear()
        await conn.copy_records_to_table("_logs", records=batch, columns=columns)
        await conn.execute('VACUUM ANALYZE "_logs"')
    finally:
        await conn.close()


async def measure(
    data_dir: Path, repeat: int, db_url: str = "", rows: int = 1_000_000
) -> list[tuple[str, float, str]]:
    day_ago = format_datetime(datetime.now(UTC) - timedelta(days=1))
    queries = {
        "list, page 1 with total": "/api/logs",
        "list, dashboard (sort -@rowid, skipTotal)": "/api/logs?sort=-%40rowid&skipTotal=1&perPage=50",
        "list, sort -created": "/api/logs?sort=-created&skipTotal=1",
        "list, errors of the last day": "/api/logs?filter="
        + quote(f'level >= 8 && created >= "{day_ago}"')
        + "&sort=-created",
        "list, data.status >= 500 (JSON path, no index)": "/api/logs?filter="
        + quote("data.status >= 500")
        + "&skipTotal=1",
        "view one": f"/api/logs/l{rows // 2:014d}",
        "stats, all": "/api/logs/stats",
        "stats, last day": "/api/logs/stats?filter=" + quote(f'created >= "{day_ago}"'),
        "stats, errors": "/api/logs/stats?filter=" + quote("level >= 8"),
    }
    out: list[tuple[str, float, str]] = []
    async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
        await app.superusers.upsert(*ADMIN)
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://kb") as client:
            signed = await client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            )
            headers = {"Authorization": signed.json()["token"]}
            for name, url in queries.items():
                times = []
                answer = None
                for _ in range(repeat):
                    started = time.perf_counter()
                    answer = await client.get(url, headers=headers)
                    times.append(time.perf_counter() - started)
                    assert answer.status_code == 200, answer.text
                assert answer is not None
                body = answer.json()
                shown = (
                    f"{len(body)} hours" if isinstance(body, list) else
                    f"totalItems {body.get('totalItems', '-')}"
                )  # fmt: skip
                out.append((name, statistics.median(times) * 1000, shown))
    return out


def run(data_dir: Path, rows: int, repeat: int, db_url: str = "") -> list[tuple[str, float, str]]:
    """Make the logs table, fill it with ``rows`` entries, time the queries."""

    async def create() -> None:
        async with App(Config(data_dir=data_dir, db_url=db_url)):
            pass

    asyncio.run(create())  # makes the logs table with its indexes
    started = time.perf_counter()
    if db_url:
        asyncio.run(fill_postgres(db_url, rows))
    else:
        fill(data_dir / "auxiliary.db", rows)
    store = "PostgreSQL" if db_url else "SQLite"
    print(f"# {rows} entries inserted into {store} in {time.perf_counter() - started:.1f}s")
    return asyncio.run(measure(data_dir, repeat, db_url, rows))


def table(results: list[tuple[str, float, str]]) -> str:
    lines = ["| query | median ms | answer |", "|---|---|---|"]
    lines += [f"| {name} | {ms:.1f} | {shown} |" for name, ms, shown in results]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", default="", help="a PostgreSQL URL to make a bench database from")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "kb_data"
        if args.db:
            with fresh_postgres(args.db, f"kb_bench_logs_{os.getpid()}") as url:
                results = run(data_dir, args.rows, args.repeat, url)
        else:
            results = run(data_dir, args.rows, args.repeat)
    print(table(results))


if __name__ == "__main__":
    main()
