"""``--queryTimeout`` on SQLite's writer, and statements stopped at shutdown (issue 17).

A write past the limit is interrupted: SQLite rolls its transaction back, the
transaction is lost (nothing of it commits) and the writer takes the next one.
A read in a transaction past the inline budget moves off the loop and still
answers. ``stop_statements`` ends a statement that would run forever.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from keelbase.store.base import QueryTimeout, StoreError
from keelbase.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio

ENDLESS = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r) SELECT i FROM r"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_write_past_the_limit_rolls_back_and_frees_the_writer(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db", query_timeout=0.3)
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (x INTEGER)")
        began = time.monotonic()
        with pytest.raises(StoreError):
            async with store.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")
                with pytest.raises(QueryTimeout):
                    await conn.execute(f"INSERT INTO t {ENDLESS} WHERE i < 0", heavy=True)
                await conn.execute("INSERT INTO t VALUES (2)")  # refused: the transaction is lost
        assert time.monotonic() - began < 5
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO t VALUES (3)")
        async with store.read() as conn:
            assert await conn.fetch_all("SELECT x FROM t") == [{"x": 3}]
    finally:
        await store.close()


async def test_a_long_read_in_a_transaction_leaves_the_loop(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db", query_timeout=0.5)
    await store.open()
    try:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await asyncio.sleep(0.05)  # the ticker runs before the query starts
        before = ticks
        async with store.transaction() as conn:
            with pytest.raises(QueryTimeout):
                await conn.fetch_value(f"SELECT i FROM ({ENDLESS}) WHERE i < 0")
            # the read's interrupt left the transaction open: it goes on
            assert await conn.fetch_value("SELECT 1") == 1
        ticker.cancel()
        # 0.5 s of query: about 50 ticks when the loop is free, none when it is held
        assert ticks - before >= 10, "the event loop was held while the query ran"
    finally:
        await store.close()


async def test_stop_statements_ends_a_statement_without_a_limit(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db", query_timeout=0)
    await store.open()
    try:
        running = asyncio.create_task(_read_forever(store))
        await asyncio.sleep(0.3)
        assert not running.done()
        store.stop_statements(0.2)
        with pytest.raises(QueryTimeout, match="shutting down"):
            await asyncio.wait_for(running, 5)
    finally:
        began = time.monotonic()
        await store.close()
        assert time.monotonic() - began < 5


async def _read_forever(store: SqliteStore) -> None:
    async with store.transaction() as conn:
        await conn.fetch_value(f"SELECT i FROM ({ENDLESS}) WHERE i < 0")
