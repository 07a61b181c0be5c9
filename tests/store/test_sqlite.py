"""The SQLite store: quick reads run inline, long ones move to a thread; transactions nest."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase.store.base import UniqueViolation
from keelbase.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_long_reads_leave_the_loop_and_still_answer(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db", inline_budget=1000)
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (n INTEGER)")
            await conn.execute("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 50000) "
                               "INSERT INTO t SELECT n FROM c")  # fmt: skip
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        async with store.read() as conn:
            quick = await conn.fetch_value("SELECT n FROM t WHERE rowid = 7")
            # a heavy aggregate goes past the budget: it is retried on a reader thread,
            # and the loop keeps running meanwhile
            total = await conn.fetch_value(
                "SELECT SUM(a.n) FROM t a, (SELECT 1 UNION ALL SELECT 2) b"
            )
        task.cancel()
        assert quick == 7
        assert total == 2 * sum(range(1, 50001))
        assert ticks > 0
        assert store.inline_fallbacks == 1
        # SQLite keeps counting steps on a cached statement: many quick reads stay quick
        async with store.read() as conn:
            for n in range(1, 3001):
                assert await conn.fetch_value("SELECT n FROM t WHERE rowid = :n", {"n": n}) == n
        assert store.inline_fallbacks == 1
    finally:
        await store.close()


async def test_nested_transactions_and_callbacks(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db")
    await store.open()
    events: list[str] = []
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
        async with store.transaction() as outer:
            await outer.execute("INSERT INTO u VALUES ('a')")
            outer.on_commit(lambda: events.append("outer commit"))
            with pytest.raises(UniqueViolation):
                async with store.transaction() as inner:
                    inner.on_commit(lambda: events.append("inner commit (dropped)"))
                    inner.on_rollback(lambda: events.append("inner undone"))
                    await inner.execute("INSERT INTO u VALUES ('b')")
                    await inner.execute("INSERT INTO u VALUES ('a')")
        async with store.read() as conn:
            rows = await conn.fetch_all("SELECT k FROM u ORDER BY k")
        assert rows == [{"k": "a"}], "the savepoint rolled back only the inner work"
        assert events == ["inner undone", "outer commit"]
    finally:
        await store.close()
