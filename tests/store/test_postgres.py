"""PgStore on a real PostgreSQL database: placeholders, transactions, savepoints, errors."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from keelbase.store.base import InvalidStatement, StoreError, UniqueViolation, WriteConflict
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


async def _store_with_table(url: str) -> PgStore:
    store = PgStore(url, max_size=2)
    await store.open()
    async with store.transaction() as conn:
        await conn.execute('CREATE TABLE u ("k" TEXT PRIMARY KEY)', heavy=True)
    return store


async def _keys(store: PgStore) -> list[str]:
    async with store.read() as conn:
        return [row["k"] for row in await conn.fetch_all('SELECT "k" FROM u ORDER BY "k"')]


def test_a_rollback_cut_short_still_runs_the_rollback_callbacks(url: str) -> None:
    """Cancelled while ROLLBACK waits for the server: the callbacks run, nothing is kept."""

    async def main() -> None:
        store = await _store_with_table(url)
        events: list[str] = []
        try:

            async def write() -> None:
                async with store.transaction() as conn:
                    conn.on_rollback(lambda: events.append("undone"))
                    await conn.execute("INSERT INTO u VALUES ('a')")
                    # the cancel lands on the next wait for the server: the ROLLBACK
                    asyncio.get_running_loop().call_soon(task.cancel)
                    raise RuntimeError("stop")

            task = asyncio.create_task(write())
            with pytest.raises(asyncio.CancelledError):
                await task
            assert events == ["undone"]
            assert await _keys(store) == []
            async with store.transaction() as conn:  # and the store goes on
                await conn.execute("INSERT INTO u VALUES ('b')")
            assert await _keys(store) == ["b"]
        finally:
            await store.close()

    asyncio.run(main())


def test_a_failed_transaction_never_reports_a_commit(url: str) -> None:
    """After a failed statement PostgreSQL answers COMMIT by rolling back: that is no commit."""

    async def main() -> None:
        store = await _store_with_table(url)
        events: list[str] = []
        try:
            with pytest.raises(StoreError):
                async with store.transaction() as conn:
                    conn.on_commit(lambda: events.append("committed"))
                    conn.on_rollback(lambda: events.append("undone"))
                    await conn.execute("INSERT INTO u VALUES ('a')")
                    with pytest.raises(InvalidStatement):
                        await conn.fetch_all("SELECT nope FROM u")
            assert events == ["undone"]
            assert await _keys(store) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_a_transaction_that_is_gone_never_commits_what_follows(url: str) -> None:
    async def main() -> None:
        store = await _store_with_table(url)
        events: list[str] = []
        try:
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
            assert await _keys(store) == []
        finally:
            await store.close()

    asyncio.run(main())


def test_a_deadlock_victim_is_a_write_conflict_and_the_other_commits(url: str) -> None:
    """PostgreSQL breaks a deadlock by failing one transaction: that one is a
    WriteConflict (answered 409, retry), never a bare StoreError (a 500)."""

    async def main() -> None:
        store = PgStore(url)
        await store.open()
        try:
            async with store.transaction() as conn:
                await conn.execute('CREATE TABLE d ("id" TEXT PRIMARY KEY, "n" INT)', heavy=True)
                await conn.execute("INSERT INTO d VALUES ('a', 0), ('b', 0)")
            both_hold_one = asyncio.Barrier(2)

            async def writer(first: str, second: str) -> str:
                try:
                    async with store.transaction() as conn:
                        await conn.execute(
                            'UPDATE d SET "n" = "n" + 1 WHERE "id" = :id', {"id": first}
                        )
                        await both_hold_one.wait()
                        await conn.execute(
                            'UPDATE d SET "n" = "n" + 1 WHERE "id" = :id', {"id": second}
                        )
                except WriteConflict:
                    return "conflict"
                return "committed"

            outcomes = await asyncio.gather(writer("a", "b"), writer("b", "a"))
            assert sorted(outcomes) == ["committed", "conflict"]
            async with store.read() as conn:
                total = await conn.fetch_value('SELECT SUM("n") FROM d')
            assert total == 2  # the victim left nothing behind
        finally:
            await store.close()

    asyncio.run(main())


def test_a_pooled_read_is_one_round_trip_and_leaves_nothing_behind(url: str) -> None:
    """Giving a connection back sends no reset query (it doubled a single-row read), yet
    the next user of the connection finds no transaction and no advisory lock."""

    async def main() -> None:
        store = PgStore(url, min_size=1, max_size=1)
        await store.open()
        try:
            sent: list[str] = []
            async with store.read() as conn:
                conn.conn.add_query_logger(lambda record: sent.append(record.query))
            for _ in range(20):
                async with store.read() as conn:
                    assert await conn.fetch_value("SELECT 1") == 1
            assert sent == ["SELECT 1"] * 20

            # a transaction left open is rolled back before the next user
            with pytest.raises(InvalidStatement):
                async with store.read() as conn:
                    await conn.conn.execute("BEGIN")
                    await conn.fetch_value("SELECT 1 / 0")
            async with store.read() as conn:
                assert not conn.conn.is_in_transaction()
                assert await conn.fetch_value("SELECT 1") == 1

            # an advisory lock is given back by its block, and a cancelled block closes
            # its connection rather than leave the lock on a pooled one
            async with store.advisory_lock("job") as got:
                assert got
            async with store.advisory_lock("job") as got:
                assert got

            async def hold() -> None:
                async with store.advisory_lock("job2") as got:
                    assert got
                    await asyncio.sleep(10)

            task = asyncio.create_task(hold())
            await asyncio.sleep(0.2)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            other = PgStore(url, min_size=1, max_size=1)
            await other.open()
            try:
                async with other.advisory_lock("job2") as got:
                    assert got
            finally:
                await other.close()
        finally:
            await store.close()

    asyncio.run(main())


def test_long_writes_keep_the_pool_and_only_ddl_renews_it(url: str) -> None:
    """``heavy`` marks DDL and long writes alike (the request logs' batch inserts); only DDL
    may replace the pool's connections. Replacing them after every log batch opened a new
    PostgreSQL connection every couple of requests and cut reads tenfold."""

    async def main() -> None:
        store = PgStore(url, min_size=1, max_size=1)
        await store.open()
        try:

            async def backend() -> int:
                async with store.read() as conn:
                    return int(await conn.fetch_value("SELECT pg_backend_pid()"))

            async with store.transaction() as conn:
                await conn.execute('CREATE TABLE t ("id" TEXT PRIMARY KEY)', heavy=True)
            await asyncio.sleep(0.1)  # the pool's renewal runs as a task
            first = await backend()
            for n in range(5):
                async with store.transaction() as conn:
                    await conn.execute("INSERT INTO t VALUES (:id)", {"id": f"r{n}"}, heavy=True)
                    await conn.execute("DELETE FROM t WHERE id = :id", {"id": "x"}, heavy=True)
                await asyncio.sleep(0.02)
                assert await backend() == first  # the same connection all along
            async with store.transaction() as conn:
                await conn.execute('ALTER TABLE t ADD COLUMN "n" INTEGER', heavy=True)
            await asyncio.sleep(0.1)
            assert await backend() != first  # plans made before the change are gone
        finally:
            await store.close()

    asyncio.run(main())
