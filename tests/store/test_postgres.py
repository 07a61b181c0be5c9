"""PgStore on a real PostgreSQL database: placeholders, transactions, savepoints, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from keelbase.store.base import InvalidStatement, UniqueViolation
from keelbase.store.postgres import PgStore, _rewrite
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as database:
        yield database


def test_named_placeholders_become_numbered_once_each() -> None:
    statement = _rewrite(
        "SELECT :a, ':b', \"x:y\", :a::text, CAST(:c AS jsonb) FROM t WHERE v = :c"
    )
    assert (
        statement.sql == "SELECT $1, ':b', \"x:y\", $1::text, CAST($2 AS jsonb) FROM t WHERE v = $2"
    )
    assert statement.names == ["a", "c"]


def test_transactions_savepoints_and_callbacks(url: str) -> None:
    async def main() -> None:
        store = PgStore(url)
        await store.open()
        events: list[str] = []
        try:
            async with store.transaction() as conn:
                await conn.execute(
                    'CREATE TABLE t ("id" TEXT PRIMARY KEY, "n" DOUBLE PRECISION, "j" JSONB)',
                    heavy=True,
                )
            async with store.transaction() as conn:
                await conn.execute(
                    "INSERT INTO t VALUES (:id, :n, :j)", {"id": "a", "n": 1, "j": '{"b":1,"a":2}'}
                )
                conn.on_commit(lambda: events.append("commit"))
                with pytest.raises(UniqueViolation) as clash:
                    async with store.transaction() as inner:  # a savepoint
                        inner.on_rollback(lambda: events.append("inner undo"))
                        inner.on_commit(lambda: events.append("never"))
                        await inner.execute("INSERT INTO t VALUES (:id, 2, NULL)", {"id": "a"})
                assert clash.value.columns == ["id"]
                # the savepoint kept the outer transaction usable
                await conn.execute("INSERT INTO t VALUES (:id, :n, NULL)", {"id": "b", "n": "2.5"})
            assert events == ["inner undo", "commit"]

            with pytest.raises(RuntimeError):
                async with store.transaction() as conn:
                    conn.on_rollback(lambda: events.append("undo"))
                    await conn.execute("DELETE FROM t", heavy=True)
                    raise RuntimeError("stop")
            assert events[-1] == "undo"

            async with store.read() as conn:
                rows = await conn.fetch_all('SELECT * FROM t ORDER BY "id"')
                assert rows == [
                    {"id": "a", "n": 1.0, "j": '{"a":2,"b":1}'},  # keys sorted, as on SQLite
                    {"id": "b", "n": 2.5, "j": None},
                ]
                assert await conn.fetch_columns("SELECT * FROM t") == ["id", "n", "j"]
                assert (
                    await conn.fetch_value("SELECT COUNT(*) FROM t WHERE n > :n", {"n": "1"}) == 1
                )
                with pytest.raises(InvalidStatement):
                    await conn.fetch_all("SELECT nope FROM t")
        finally:
            await store.close()

    asyncio.run(main())


def test_a_table_changed_by_another_node_reads_inside_a_transaction(url: str) -> None:
    """Another node adds a column: this node's next ``SELECT *`` in a transaction still works."""

    async def main() -> None:
        mine, other = PgStore(url, max_size=1), PgStore(url)
        await mine.open()
        await other.open()
        try:
            async with mine.transaction() as conn:
                await conn.execute('CREATE TABLE t ("id" TEXT PRIMARY KEY)', heavy=True)
                await conn.execute("INSERT INTO t VALUES ('a')")
            for _ in range(2):  # the plan is cached on the one pooled connection
                async with mine.transaction() as conn:
                    assert await conn.fetch_one("SELECT * FROM t WHERE id = :id", {"id": "a"})
            async with other.transaction() as conn:
                await conn.execute('ALTER TABLE t ADD COLUMN "n" INTEGER DEFAULT 1', heavy=True)
            async with mine.transaction() as conn:
                row = await conn.fetch_one("SELECT * FROM t WHERE id = :id", {"id": "a"})
            assert row == {"id": "a", "n": 1}
        finally:
            await mine.close()
            await other.close()

    asyncio.run(main())
