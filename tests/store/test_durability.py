"""``--durability``: the setting reaches the database, and SQLite's commit groups keep
every transaction's outcome its own (issue 17, defect 5)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from keelbase.store.base import StoreError
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore
from tests.pg import fresh_database

pytestmark = pytest.mark.anyio

ENDLESS_INSERT = (
    "INSERT INTO t (k) WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) "
    "SELECT 'x' || i FROM r"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _opened(path: Path, durability: str, **options: float) -> SqliteStore:
    store = SqliteStore(path, durability=durability, **options)  # type: ignore[arg-type]
    await store.open()
    async with store.transaction() as conn:
        await conn.execute('CREATE TABLE IF NOT EXISTS t ("k" TEXT PRIMARY KEY)', heavy=True)
    return store


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def full(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await _opened(tmp_path / "data.db", "full")
    try:
        yield store
    finally:
        await store.close()


async def _keys(store: SqliteStore) -> list[str]:
    async with store.read() as conn:
        return [row["k"] for row in await conn.fetch_all('SELECT "k" FROM t ORDER BY "k"')]


@pytest.mark.parametrize(("durability", "level"), [("full", 2), ("normal", 1)])
async def test_sqlite_synchronous_follows_the_setting(
    tmp_path: Path, durability: str, level: int
) -> None:
    store = await _opened(tmp_path / "data.db", durability)
    try:
        async with store.transaction() as conn:  # the writer's connection
            assert await conn.fetch_value("PRAGMA synchronous") == level
            assert await conn.fetch_value("PRAGMA journal_mode") == "wal"
        async with store.read() as conn:
            assert await conn.fetch_value("PRAGMA synchronous") == level
    finally:
        await store.close()


def test_an_unknown_durability_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="full or normal"):
        SqliteStore(tmp_path / "data.db", durability="fast")
    with pytest.raises(ValueError, match="full or normal"):
        PgStore("postgresql://127.0.0.1/x", durability="fast")


async def test_concurrent_transactions_share_commits(full: SqliteStore) -> None:
    """Transactions queued while a commit waits for the disk are committed together."""
    done: list[str] = []

    async def create(key: str) -> None:
        async with full.transaction() as conn:
            await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": key})
            conn.on_commit(lambda: done.append(key))
        assert key in done  # answered only after its commit, callbacks run

    before = full.commits
    await asyncio.gather(*(create(f"k{i:03}") for i in range(200)))
    commits = full.commits - before
    assert len(await _keys(full)) == 200
    assert sorted(done) == [f"k{i:03}" for i in range(200)]
    assert commits < 100, f"{commits} commits for 200 concurrent transactions"


async def test_a_failing_member_undoes_only_itself(full: SqliteStore) -> None:
    events: list[str] = []

    async def create(key: str, fail: bool) -> None:
        async with full.transaction() as conn:
            await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": key})
            conn.on_commit(lambda: events.append(f"commit {key}"))
            conn.on_rollback(lambda: events.append(f"undo {key}"))
            if fail:
                raise RuntimeError("refused")

    results = await asyncio.gather(
        *(create(f"k{i}", fail=i % 3 == 1) for i in range(30)), return_exceptions=True
    )
    failed = {f"k{i}" for i in range(30) if i % 3 == 1}
    for i, result in enumerate(results):
        assert isinstance(result, RuntimeError) == (f"k{i}" in failed), result
    assert set(await _keys(full)) == {f"k{i}" for i in range(30)} - failed
    assert sorted(events) == sorted(
        [f"undo {k}" for k in failed] + [f"commit k{i}" for i in range(30) if f"k{i}" not in failed]
    )


async def test_a_unique_violation_in_one_member_keeps_the_others(full: SqliteStore) -> None:
    async def create(key: str) -> None:
        async with full.transaction() as conn:
            await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": key})

    results = await asyncio.gather(
        *(create(k) for k in ["a", "b", "a", "c", "b"]), return_exceptions=True
    )
    assert [isinstance(r, StoreError) for r in results] == [False, False, True, False, True]
    assert await _keys(full) == ["a", "b", "c"]


async def test_a_member_rolled_back_whole_fails_its_group_and_nothing_half_done_stays(
    tmp_path: Path,
) -> None:
    """A write stopped by the time limit makes SQLite roll back the whole transaction: the
    members before it in its group are not answered as committed, and the store goes on."""
    store = await _opened(tmp_path / "data.db", "full", query_timeout=0.3)
    try:
        order: list[str] = []

        async def quick() -> None:
            async with store.transaction() as conn:
                await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": "quick"})
                order.append("quick")
                await asyncio.sleep(
                    0.02
                )  # the endless one queues meanwhile (the group stays young)

        async def endless() -> None:
            await asyncio.sleep(0.005)
            async with store.transaction() as conn:
                order.append("endless")
                await conn.execute(ENDLESS_INSERT, heavy=True)

        results = await asyncio.gather(quick(), endless(), return_exceptions=True)
        assert order == ["quick", "endless"]
        assert all(isinstance(r, StoreError) for r in results), results
        assert await _keys(store) == []
        async with store.transaction() as conn:
            await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": "after"})
        assert await _keys(store) == ["after"]
        async with store.read() as conn:
            assert await conn.fetch_value("PRAGMA integrity_check") == "ok"
    finally:
        await store.close()


async def test_maintenance_waits_for_the_open_group(full: SqliteStore) -> None:
    """``optimize`` (and restore, the checkpoint) take the writer only with no group open."""

    async def create(key: str) -> None:
        async with full.transaction() as conn:
            await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": key})

    await asyncio.gather(*(create(f"k{i}") for i in range(20)), full.optimize())
    assert len(await _keys(full)) == 20


@pytest.mark.postgres
@pytest.mark.parametrize(("durability", "setting"), [("full", "on"), ("normal", "off")])
async def test_postgres_synchronous_commit_follows_the_setting(
    pg_url: str, durability: str, setting: str
) -> None:
    store = PgStore(pg_url, durability=durability)
    await store.open()
    try:
        async with store.transaction() as conn:
            assert await conn.fetch_value("SHOW synchronous_commit") == setting
        async with store.read() as conn:
            assert await conn.fetch_value("SHOW synchronous_commit") == setting
    finally:
        await store.close()
