"""Full-text search and aggregate times over many short records, on either store.

    .venv/bin/python -m bench.search --rows 1000000              # SQLite
    .venv/bin/python -m bench.search --rows 1000000 --db postgresql://postgres@127.0.0.1:5432/postgres

A ``docs`` collection (a short text of eight words out of 5,000, a category out
of 20, a price) is filled straight through the database driver, then made
searchable with a collection update (which builds the index: timed). Each
query then runs ``--repeat`` times through the services a request uses
(``RecordsService.list_page``, ``Aggregator.aggregate``) as a guest under an
open list rule, page of 20 with its total; the median and the slowest are
reported. The words: ``rare`` is in 10 records, ``w17`` in about 1,600,
``common`` in 10%.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.servers import fresh_postgres

VOCABULARY = [f"w{n}" for n in range(5000)]
NOW = "2026-01-01 00:00:00.000Z"


def rows(count: int) -> list[tuple[str, str, str, float, str, str]]:
    rng = random.Random(7)
    out = []
    for n in range(count):
        words = rng.choices(VOCABULARY, k=8)
        if n % 10 == 0:
            words[0] = "common"
        if n < 10:
            words[1] = "rare"
        out.append((f"{n:015d}", " ".join(words), f"c{n % 20}", float(n % 1000) / 10, NOW, NOW))
    return out


async def seed(data: Path, db_url: str, count: int) -> None:
    batch = 50_000
    if db_url:
        import asyncpg

        conn = await asyncpg.connect(db_url)
        try:
            await conn.copy_records_to_table(
                "docs",
                records=rows(count),
                columns=["id", "text", "category", "price", "created", "updated"],
            )
        finally:
            await conn.close()
        return
    import sqlite3

    conn = sqlite3.connect(data / "data.db")
    all_rows = rows(count)
    for start in range(0, count, batch):
        conn.executemany(
            'INSERT INTO "docs" ("id", "text", "category", "price", "created", "updated") '
            "VALUES (?, ?, ?, ?, ?, ?)",
            all_rows[start : start + batch],
        )
    conn.commit()
    conn.close()


async def timed(call: Callable[[], Awaitable[Any]], repeat: int) -> tuple[float, float, Any]:
    times: list[float] = []
    result: Any = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), max(times), result


async def run(data: Path, db_url: str, count: int, repeat: int) -> None:
    from keelbase import App, Config
    from keelbase.core.request_info import RequestInfo
    from keelbase.services.records.aggregate import AggregateParams
    from keelbase.services.records.listing import ListParams

    fields = [
        {"name": "text", "type": "text"},
        {"name": "category", "type": "text"},
        {"name": "price", "type": "number"},
        {"name": "created", "type": "autodate", "onCreate": True},
        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
    ]
    async with App(Config(data_dir=data, db_url=db_url)) as app:
        await app.collections.create({"name": "docs", "listRule": "", "fields": fields})
    start = time.perf_counter()
    await seed(data, db_url, count)
    print(f"seeded {count:,} rows in {time.perf_counter() - start:.1f} s")
    # Building the index of a million rows takes longer than the default 30 s limit.
    async with App(Config(data_dir=data, db_url=db_url, query_timeout=600)) as app:
        start = time.perf_counter()
        await app.collections.update("docs", {"search": {"fields": ["text"]}})
        print(f"search index built in {time.perf_counter() - start:.1f} s")
        docs = app.records.collection("docs")
        guest = RequestInfo()
        searches = [
            ("search('rare')", ""),
            ("search('w17')", ""),
            ("search('w17')", "-@rank"),
            ("search('common')", ""),
            ("search('common')", "-@rank"),
            ("search('common w17')", "-@rank"),
            ("text ~ 'w17 '", ""),  # LIKE, for comparison: a scan of every row
        ]
        print(f"{'list query':44} {'matches':>9} {'median ms':>10} {'max ms':>8}")
        for filter_text, sort in searches:
            params = ListParams(per_page=20, filter=filter_text, sort=sort)

            async def listed(params: ListParams = params) -> Any:
                return await app.records.list_page(docs, params, guest)

            median, worst, page = await timed(listed, repeat)
            label = filter_text + (f" sort={sort}" if sort else "")
            print(f"{label:44} {page['totalItems']:>9,} {median:>10.1f} {worst:>8.1f}")
        aggregates = [
            AggregateParams(),
            AggregateParams(group_by=("category",), sum=("price",), avg=("price",)),
            AggregateParams(group_by=("category",), max=("price",), filter="price > 50"),
            AggregateParams(sum=("price",), filter="search('common')"),
        ]
        print(f"{'aggregate':60} {'groups':>6} {'median ms':>10} {'max ms':>8}")
        for query in aggregates:

            async def aggregated(query: AggregateParams = query) -> Any:
                return await app.aggregates.aggregate(docs, query, guest)

            median, worst, result = await timed(aggregated, repeat)
            label = ", ".join(
                f"{k}={v}" for k, v in vars(query).items() if v and k not in ("limit",)
            )
            print(f"{label or 'count':60} {len(result['items']):>6} {median:>10.1f} {worst:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument(
        "--db", default="", help="a PostgreSQL server URL (a fresh database is made)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "kb_data"
        if args.db:
            with fresh_postgres(args.db, f"kb_bench_search_{os.getpid()}") as url:
                asyncio.run(run(data, url, args.rows, args.repeat))
        else:
            asyncio.run(run(data, "", args.rows, args.repeat))


if __name__ == "__main__":
    main()
