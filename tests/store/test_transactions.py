"""What ``keelbase.store.base`` promises of a transaction, held by both stores.

Commit and rollback, savepoints for nested transactions, the callbacks that
run after a commit or on a rollback (and, for a savepoint that rolls back,
only its own), reads inside and outside a transaction, and concurrent
transactions: SQLite runs them one at a time; PostgreSQL runs them together,
and a read-modify-write is atomic there as SQL arithmetic or under the row
lock an UPDATE takes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from keelbase.store.base import Store, StoreError, UniqueViolation
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore
from tests.pg import fresh_database

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A SQLite file, or the URL of a new PostgreSQL database."""
    if request.param == "sqlite":
        yield str(tmp_path / "data.db")
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    opened: Store = PgStore(database) if "://" in database else SqliteStore(Path(database))
    await opened.open()
    try:
        async with opened.transaction() as conn:
            await conn.execute(
                'CREATE TABLE t ("k" TEXT PRIMARY KEY, "n" INTEGER NOT NULL DEFAULT 0)', heavy=True
            )
        yield opened
    finally:
        await opened.close()


async def keys(store: Store) -> list[str]:
    async with store.read() as conn:
        return [row["k"] for row in await conn.fetch_all('SELECT "k" FROM t ORDER BY "k"')]


async def insert(conn: Any, key: str) -> None:
    await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": key})


class Boom(Exception):
    pass


# Commit and rollback ----------------------------------------------------------------------


async def test_commit_then_callbacks_in_order(store: Store) -> None:
    events: list[str] = []
    async with store.transaction() as conn:
        await insert(conn, "a")
        conn.on_commit(lambda: events.append("first"))

        async def second() -> None:  # callbacks may be coroutines
            events.append(f"second sees {await keys(store)}")

        conn.on_commit(second)
        conn.on_rollback(lambda: events.append("never"))
        assert events == []  # nothing before the commit
    assert events == ["first", "second sees ['a']"]


async def test_rollback_undoes_and_runs_undo_callbacks_last_first(store: Store) -> None:
    events: list[str] = []
    with pytest.raises(Boom):
        async with store.transaction() as conn:
            await insert(conn, "a")
            conn.on_rollback(lambda: events.append("undo 1"))
            conn.on_rollback(lambda: events.append("undo 2"))
            conn.on_commit(lambda: events.append("never"))
            raise Boom
    assert events == ["undo 2", "undo 1"]
    assert await keys(store) == []


async def test_a_failing_callback_is_logged_and_the_others_still_run(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    def broken() -> None:
        raise RuntimeError("callback bug")

    with caplog.at_level(logging.ERROR, logger="keelbase.store"):
        async with store.transaction() as conn:
            await insert(conn, "a")
            conn.on_commit(broken)
            conn.on_commit(lambda: events.append("after the broken one"))
    assert events == ["after the broken one"]
    assert "transaction callback failed" in caplog.text
    assert await keys(store) == ["a"]


async def test_a_commit_callback_may_write_again(store: Store) -> None:
    """Callbacks run once the transaction is over (on SQLite: after the write lock is free)."""
    done = asyncio.Event()

    async def follow_up() -> None:
        async with store.transaction() as conn:
            await insert(conn, "b")
        done.set()

    async with store.transaction() as conn:
        await insert(conn, "a")
        conn.on_commit(follow_up)
    await asyncio.wait_for(done.wait(), 5)
    assert await keys(store) == ["a", "b"]


async def test_a_failed_commit_is_a_rollback(store: Store) -> None:
    """A constraint checked at COMMIT fails it: the error is raised and the undo callbacks run."""
    async with store.transaction() as conn:
        await conn.execute(
            'CREATE TABLE child ("k" TEXT PRIMARY KEY, "parent" TEXT '
            'REFERENCES t ("k") DEFERRABLE INITIALLY DEFERRED)',
            heavy=True,
        )
    events: list[str] = []
    with pytest.raises(StoreError):
        async with store.transaction() as conn:
            await conn.execute("INSERT INTO child VALUES ('c', 'missing')")
            conn.on_commit(lambda: events.append("never"))
            conn.on_rollback(lambda: events.append("undo"))
    assert events == ["undo"]
    async with store.read() as conn:
        assert await conn.fetch_value("SELECT COUNT(*) FROM child") == 0
    async with store.transaction() as conn:  # the store is usable afterwards
        await insert(conn, "a")
    assert await keys(store) == ["a"]


# Savepoints --------------------------------------------------------------------------------------


async def test_a_nested_transaction_that_fails_undoes_only_itself(store: Store) -> None:
    events: list[str] = []
    async with store.transaction() as outer:
        await insert(outer, "a")
        outer.on_commit(lambda: events.append("outer commit"))
        outer.on_rollback(lambda: events.append("outer undo (never)"))
        with pytest.raises(UniqueViolation):
            async with store.transaction() as inner:
                assert inner is outer  # the same connection, through a savepoint
                inner.on_commit(lambda: events.append("inner commit (dropped)"))
                inner.on_rollback(lambda: events.append("inner undo 1"))
                inner.on_rollback(lambda: events.append("inner undo 2"))
                await insert(inner, "b")
                await insert(inner, "a")  # clashes
        assert events == ["inner undo 2", "inner undo 1"]  # at once, before the outer ends
        await insert(outer, "c")  # the outer transaction goes on
    assert events == ["inner undo 2", "inner undo 1", "outer commit"]
    assert await keys(store) == ["a", "c"]


async def test_a_nested_commit_waits_for_the_outermost(store: Store) -> None:
    events: list[str] = []
    async with store.transaction() as outer:
        async with store.transaction() as inner:
            await insert(inner, "a")
            inner.on_commit(lambda: events.append("inner commit"))
        assert events == []  # released, not committed
        outer.on_commit(lambda: events.append("outer commit"))
    assert events == ["inner commit", "outer commit"]
    assert await keys(store) == ["a"]


async def test_an_outer_rollback_undoes_committed_savepoints_too(store: Store) -> None:
    events: list[str] = []
    with pytest.raises(Boom):
        async with store.transaction() as outer:
            outer.on_rollback(lambda: events.append("outer undo"))
            async with store.transaction() as inner:
                await insert(inner, "a")
                inner.on_rollback(lambda: events.append("inner undo"))
                inner.on_commit(lambda: events.append("never"))
            raise Boom
    assert events == ["inner undo", "outer undo"]
    assert await keys(store) == []


async def test_three_levels_a_failing_innermost(store: Store) -> None:
    events: list[str] = []
    async with store.transaction() as first:
        await insert(first, "1")
        async with store.transaction() as second:
            await insert(second, "2")
            second.on_rollback(lambda: events.append("second undo (never)"))
            second.on_commit(lambda: events.append("second commit"))
            with pytest.raises(Boom):
                async with store.transaction() as third:
                    await insert(third, "3")
                    third.on_rollback(lambda: events.append("third undo"))
                    third.on_commit(lambda: events.append("third commit (dropped)"))
                    raise Boom
            await insert(second, "2b")
    assert events == ["third undo", "second commit"]
    assert await keys(store) == ["1", "2", "2b"]


async def test_savepoints_one_after_another(store: Store) -> None:
    async with store.transaction() as outer:
        for key in ("a", "b", "a", "c"):
            try:
                async with store.transaction() as inner:
                    await insert(inner, key)
            except UniqueViolation:
                pass
        await insert(outer, "d")
    assert await keys(store) == ["a", "b", "c", "d"]


# Reads --------------------------------------------------------------------------------------------


async def test_reads_see_the_own_transaction_and_only_committed_work_of_others(
    store: Store,
) -> None:
    inserted, release = asyncio.Event(), asyncio.Event()
    seen: dict[str, list[str]] = {}

    async def writer() -> None:
        async with store.transaction() as conn:
            await insert(conn, "a")
            async with store.read() as same:  # inside: the transaction's own connection
                assert same is conn
                seen["inside"] = [r["k"] for r in await same.fetch_all('SELECT "k" FROM t')]
            inserted.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inserted.wait()
    seen["outside, before the commit"] = await keys(store)
    release.set()
    await task
    seen["outside, after"] = await keys(store)
    assert seen == {"inside": ["a"], "outside, before the commit": [], "outside, after": ["a"]}


# Concurrency -----------------------------------------------------------------------------------------


async def test_concurrent_increments_are_all_counted(store: Store) -> None:
    """A read-modify-write as SQL arithmetic is one atomic step on both stores."""
    async with store.transaction() as conn:
        await insert(conn, "counter")

    async def bump() -> None:
        async with store.transaction() as conn:
            await conn.execute('UPDATE t SET "n" = "n" + 1 WHERE "k" = :k', {"k": "counter"})
            await asyncio.sleep(0)

    await asyncio.gather(*(bump() for _ in range(40)))
    async with store.read() as conn:
        assert await conn.fetch_value('SELECT "n" FROM t WHERE "k" = \'counter\'') == 40


async def test_a_second_writer_of_a_row_waits_for_the_first(store: Store) -> None:
    """SQLite queues whole transactions; PostgreSQL holds the second UPDATE of the row."""
    async with store.transaction() as conn:
        await insert(conn, "row")
    order: list[str] = []
    first_wrote, release = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        async with store.transaction() as conn:
            await conn.execute('UPDATE t SET "n" = "n" + 1 WHERE "k" = \'row\'')
            first_wrote.set()
            await release.wait()
            order.append("first commits")

    async def second() -> None:
        await first_wrote.wait()
        async with store.transaction() as conn:
            await conn.execute('UPDATE t SET "n" = "n" * 10 WHERE "k" = \'row\'')
            value = await conn.fetch_value('SELECT "n" FROM t WHERE "k" = \'row\'')
            order.append(f"second sees {value}")

    tasks = [asyncio.create_task(first()), asyncio.create_task(second())]
    await first_wrote.wait()
    for _ in range(20):  # let the second writer run as far as it can
        await asyncio.sleep(0.01)
    assert order == []  # still waiting for the first
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["first commits", "second sees 10"]  # (0 + 1) * 10, never 0 * 10 + 1


async def test_sqlite_runs_whole_transactions_one_at_a_time(tmp_path: Path) -> None:
    """Even a read-then-write is safe on SQLite: one writer at a time, in the process."""
    store = SqliteStore(tmp_path / "data.db")
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute("CREATE TABLE c (n INTEGER)", heavy=True)
            await conn.execute("INSERT INTO c VALUES (0)")
        inside = 0
        most_inside = 0

        async def read_then_write() -> None:
            nonlocal inside, most_inside
            async with store.transaction() as conn:
                inside += 1
                most_inside = max(most_inside, inside)
                value = await conn.fetch_value("SELECT n FROM c")
                await asyncio.sleep(0)
                await conn.execute("UPDATE c SET n = :n", {"n": value + 1})
                inside -= 1

        await asyncio.gather(*(read_then_write() for _ in range(25)))
        async with store.read() as conn:
            assert await conn.fetch_value("SELECT n FROM c") == 25
        assert most_inside == 1
    finally:
        await store.close()


@pytest.mark.postgres
async def test_postgres_runs_transactions_side_by_side(pg_url: str) -> None:
    """Two transactions on different rows do not wait for each other on PostgreSQL."""
    store = PgStore(pg_url)
    await store.open()
    try:
        async with store.transaction() as conn:
            await conn.execute('CREATE TABLE t ("k" TEXT PRIMARY KEY)', heavy=True)
        both_inside = asyncio.Barrier(2)

        async def write(key: str) -> None:
            async with store.transaction() as conn:
                await insert(conn, key)
                await asyncio.wait_for(both_inside.wait(), 5)  # would time out if serialised

        await asyncio.gather(write("a"), write("b"))
        assert await keys(store) == ["a", "b"]
    finally:
        await store.close()
