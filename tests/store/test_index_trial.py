"""``Store.try_index``: a query's plan and cost without and with an index, and nothing
of the index left behind, on both stores (PostgreSQL with and without hypopg)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from keelbase.store.base import Store
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore
from tests.pg import fresh_database

pytestmark = pytest.mark.anyio
QUERY = 'SELECT * FROM "t" WHERE "code" = :code LIMIT 30'
INDEX = 'CREATE INDEX "idx_t_code" ON "t" ("code")'
INDEXES = {
    "sqlite": "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'idx_t_code'",
    "postgres": "SELECT COUNT(*) FROM pg_indexes WHERE indexname = 'idx_t_code'",
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield str(tmp_path / "data.db")
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
async def store(database: str) -> AsyncIterator[Store]:
    async with _opened(database) as opened:
        yield opened


@asynccontextmanager
async def _opened(database: str) -> AsyncIterator[Store]:
    opened: Store = PgStore(database) if "://" in database else SqliteStore(Path(database))
    await opened.open()
    try:
        async with opened.transaction() as conn:
            await conn.execute('CREATE TABLE "t" ("id" TEXT PRIMARY KEY, "code" TEXT)', heavy=True)
            await conn.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
                "INSERT INTO \"t\" SELECT 'r' || i, 'c' || i FROM n",
                heavy=True,
            )
        await opened.optimize()
        yield opened
    finally:
        await opened.close()


async def _left_behind(store: Store) -> int:
    kind = "postgres" if isinstance(store, PgStore) else "sqlite"
    async with store.read() as conn:
        return int(await conn.fetch_value(INDEXES[kind]))


async def test_a_trial_measures_the_gain_and_keeps_nothing(store: Store) -> None:
    trial = await store.try_index(INDEX, QUERY, {"code": "c777"})
    assert trial.method == "measured"
    assert "idx_t_code" in trial.after_plan and "idx_t_code" not in trial.before_plan
    assert trial.ratio is not None and trial.ratio > 2, trial
    assert await _left_behind(store) == 0
    async with store.transaction() as conn:  # the store takes writes as before
        await conn.execute("INSERT INTO \"t\" VALUES ('x', 'y')")


@pytest.mark.postgres
async def test_hypopg_estimates_without_building(pg_store: Store) -> None:
    async with pg_store.transaction() as conn:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS hypopg")
    trial = await pg_store.try_index(INDEX, QUERY, {"code": "c777"})
    assert trial.method == "estimated" and trial.before_ms is None
    assert "Index Scan using idx_t_code" in trial.after_plan, trial
    assert trial.ratio is not None and trial.ratio > 10, trial
    assert await _left_behind(pg_store) == 0


@pytest.fixture
def pg_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[Store]:
    async with _opened(pg_url) as opened:
        yield opened
