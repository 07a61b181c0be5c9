"""The SQLite store: quick reads run inline, long ones move to a thread; transactions nest.

A read's budget is its own connection's: it never interrupts the writer. A
transaction that cannot be rolled back cleanly still runs its rollback
callbacks, and never commits a part of its work.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase.store.base import StoreError, UniqueViolation
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


async def test_a_heavy_write_is_never_interrupted_by_reads_over_their_budget(
    tmp_path: Path,
) -> None:
    store = SqliteStore(tmp_path / "data.db", inline_budget=100_000)
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (n INTEGER, s TEXT)")
            await conn.execute("WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c LIMIT 200000) "
                               "INSERT INTO t SELECT n, 'x' FROM c", heavy=True)  # fmt: skip
        undone: list[str] = []

        async def rewrite() -> None:
            async with store.transaction() as conn:
                conn.on_rollback(lambda: undone.append("undone"))
                await conn.execute("UPDATE t SET s = s || n", heavy=True)

        writing = asyncio.create_task(rewrite())
        reads = 0
        while not writing.done():
            async with store.read() as conn:
                # a new text each time, so each read starts inline and goes past its budget
                total = await conn.fetch_value(
                    f"SELECT SUM(n) + {reads} FROM t WHERE rowid <= 50000"
                )
            assert total == sum(range(1, 50_001)) + reads
            reads += 1
            await asyncio.sleep(0)
        await writing
        assert reads > 1 and store.inline_fallbacks >= reads
        assert undone == []
        async with store.read() as conn:
            assert await conn.fetch_value("SELECT COUNT(*) FROM t WHERE s = 'x'") == 0
    finally:
        await store.close()


async def test_a_failed_rollback_still_runs_the_rollback_callbacks(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db")
    await store.open()
    events: list[str] = []
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
        with pytest.raises(RuntimeError, match="stop"):
            async with store.transaction() as conn:
                conn.on_rollback(lambda: events.append("undone"))
                conn.on_commit(lambda: events.append("committed"))
                await conn.execute("INSERT INTO u VALUES ('a')")
                # SQLite ends the transaction itself after an interrupt, a full disk or an
                # I/O error; the store's ROLLBACK then fails: "no transaction is active"
                await conn.execute("ROLLBACK")
                raise RuntimeError("stop")
        assert events == ["undone"]
        async with store.transaction() as conn:  # and the store goes on
            await conn.execute("INSERT INTO u VALUES ('b')")
        async with store.read() as conn:
            assert await conn.fetch_all("SELECT k FROM u") == [{"k": "b"}]
    finally:
        await store.close()


async def test_a_transaction_that_is_gone_never_commits_what_follows(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "data.db")
    await store.open()
    events: list[str] = []
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
        with pytest.raises(StoreError):
            async with store.transaction() as outer:
                outer.on_rollback(lambda: events.append("outer undone"))
                outer.on_commit(lambda: events.append("committed"))
                await outer.execute("INSERT INTO u VALUES ('a')")
                with pytest.raises(RuntimeError, match="inner"):
                    async with store.transaction() as inner:
                        inner.on_rollback(lambda: events.append("inner undone"))
                        await inner.execute("ROLLBACK")  # the whole transaction ends under it
                        raise RuntimeError("inner")
                # outside a transaction this would commit on its own: it must be refused
                with pytest.raises(StoreError):
                    await outer.execute("INSERT INTO u VALUES ('b')")
        assert events == ["inner undone", "outer undone"]
        async with store.read() as conn:
            assert await conn.fetch_all("SELECT k FROM u") == []
    finally:
        await store.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_a_rollback_that_leaves_the_transaction_open_stops_all_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, durability: str
) -> None:
    import keelbase.store.sqlite as sqlite_store

    store = SqliteStore(tmp_path / "data.db", durability=durability)
    await store.open()
    events: list[str] = []
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE u (k TEXT PRIMARY KEY)")
        control = sqlite_store._Link.control

        async def rollback_fails(link: sqlite_store._Link, sql: str) -> None:
            if sql.startswith("ROLLBACK"):  # a commit group's member undoes a savepoint first
                raise StoreError("disk I/O error")
            await control(link, sql)

        monkeypatch.setattr(sqlite_store._Link, "control", rollback_fails)
        with pytest.raises(RuntimeError, match="stop"):
            async with store.transaction() as conn:
                conn.on_rollback(lambda: events.append("undone"))
                await conn.execute("INSERT INTO u VALUES ('a')")
                raise RuntimeError("stop")
        assert events == ["undone"]
        with pytest.raises(StoreError, match="no more writes"):
            async with store.transaction():
                pass
    finally:
        await store.close()  # closing rolls the open transaction back
    reopened = SqliteStore(tmp_path / "data.db")
    await reopened.open()
    try:
        async with reopened.read() as conn:
            assert await conn.fetch_all("SELECT k FROM u") == []
    finally:
        await reopened.close()


async def test_steady_writes_do_not_grow_the_wal_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keelbase.store.sqlite as sqlite_store

    monkeypatch.setattr(sqlite_store, "CHECKPOINT_SECONDS", 0.02)
    monkeypatch.setattr(sqlite_store, "WAL_RESET_PAGES", 20)
    # unsynced commits: hundreds of them a second, faster than the checkpoint can follow
    store = SqliteStore(tmp_path / "data.db", durability="normal")
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 1.0
        written = 0
        while loop.time() < deadline:  # never a pause long enough for a checkpoint to catch up
            async with store.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (?, ?)", (written, "x" * 3000))
            written += 1
            if written % 20 == 0:
                await asyncio.sleep(0)
        wal = (tmp_path / "data.db-wal").stat().st_size
        assert written > 500
        # each insert adds a few pages: without resets the WAL holds them all (~3 pages each)
        assert wal < written * 4096, (wal, written)
    finally:
        await store.close()


@pytest.mark.parametrize("durability", ["full", "normal"])
async def test_another_process_writing_is_waited_for_off_the_loop_then_a_clear_503(
    tmp_path: Path, durability: str
) -> None:
    """A file shared with other processes (workers): BEGIN waits for their write lock on the
    writer thread, so the loop goes on; past busy_timeout the error is StoreUnavailable (503)."""
    import sqlite3

    from keelbase.store.base import StoreUnavailable

    store = SqliteStore(tmp_path / "data.db", durability=durability, shared=True)
    await store.open()
    other = sqlite3.connect(tmp_path / "data.db", isolation_level=None)  # the other process
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE t (n INTEGER)")
        other.execute("BEGIN IMMEDIATE")
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        ticking = asyncio.create_task(ticker())

        async def write() -> None:
            async with store.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (1)")

        waiting = asyncio.create_task(write())
        await asyncio.sleep(0.3)
        assert not waiting.done() and ticks >= 10  # waiting, and the loop turns meanwhile
        other.execute("COMMIT")
        await waiting  # the lock came free: the write went through
        assert other.execute("SELECT count(*) FROM t").fetchone() == (1,)
        # held past busy_timeout: a clear "busy, try again", not a 400 or a 500
        assert store._writer is not None
        await asyncio.get_running_loop().run_in_executor(
            store._writer_executor, store._writer.execute, "PRAGMA busy_timeout = 100"
        )
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StoreUnavailable, match="busy"):
            await write()
        other.execute("ROLLBACK")
        ticking.cancel()
    finally:
        other.close()
        await store.close()
