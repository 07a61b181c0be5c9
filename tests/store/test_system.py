"""The system tables on both stores: counters and locked parameters under concurrency."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelbase.core.dates import now_string
from keelbase.store import system
from keelbase.store.base import Store
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore
from tests.pg import STORES, fresh_database

WRITERS = 10


@pytest.fixture(params=STORES)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "sqlite":
        yield SqliteStore(tmp_path / "data.db")
        return
    with fresh_database() as url:
        yield PgStore(url)


async def _bootstrapped(store: Store) -> None:
    await store.open()
    async with store.transaction() as conn:
        for statement in store.dialect.bootstrap_statements():
            await conn.execute(statement, heavy=True)


def test_concurrent_schema_changes_each_count(store: Store) -> None:
    """Every node notices a schema change by the version moving on: two changes
    committed at once must move it by two."""

    async def bump() -> None:
        async with store.transaction() as conn:
            await system.bump_schema_version(conn, now_string())
            await asyncio.sleep(0.01)  # the rest of the schema change

    async def main() -> int:
        await _bootstrapped(store)
        try:
            await asyncio.gather(*(bump() for _ in range(WRITERS)))
            async with store.read() as conn:
                return await system.schema_version(conn)
        finally:
            await store.close()

    assert asyncio.run(main()) == WRITERS


def test_a_locked_parameter_is_read_and_written_in_turns(store: Store) -> None:
    """lock_param is a read-modify-write's read: writers of one key (even one that is
    not stored yet) each see the value the previous one wrote."""

    async def add_one() -> None:
        async with store.transaction() as conn:
            now = now_string()
            value = await system.lock_param(conn, store.dialect, "counter", now)
            await asyncio.sleep(0.01)
            await system.set_param(conn, "counter", {"n": (value or {"n": 0})["n"] + 1}, now)

    async def main() -> object:
        await _bootstrapped(store)
        try:
            await asyncio.gather(*(add_one() for _ in range(WRITERS)))
            async with store.read() as conn:
                return await system.get_param(conn, "counter")
        finally:
            await store.close()

    assert asyncio.run(main()) == {"n": WRITERS}
