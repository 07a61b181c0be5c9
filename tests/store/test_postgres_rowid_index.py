"""PostgreSQL record tables index ``_rowid_``: unsorted pages read the index, not the table.

Tables made before the index existed get it at the next start (the bootstrap).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from keelbase.app import App
from keelbase.config import Config
from tests.pg import fresh_database

pytestmark = pytest.mark.postgres

ROWID_INDEXES = """
SELECT tablename FROM pg_indexes
WHERE schemaname = 'public' AND indexname LIKE '\\_kb\\_%\\_rowid' ORDER BY tablename
"""


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_database() as database:
        yield database


def test_every_table_gets_its_rowid_index_and_a_start_adds_a_missing_one(
    url: str, tmp_path: Path
) -> None:
    async def main() -> None:
        app = App(Config(data_dir=tmp_path, db_url=url))
        await app.start()
        try:
            await app.collections.create(
                {"name": "posts", "fields": [{"name": "t", "type": "text"}]}
            )
            await app.collections.create(
                {"name": "everyone", "type": "view", "viewQuery": "SELECT id FROM posts"}
            )
            async with app.store.read() as conn:
                tables = [row["tablename"] for row in await conn.fetch_all(ROWID_INDEXES)]
            # every table, none for the view
            assert "posts" in tables and "users" in tables and "_superusers" in tables
            assert "everyone" not in tables
            async with app.store.transaction() as conn:
                name = f"_kb_{app.collections.get('posts').id}_rowid"
                await conn.execute(
                    f'DROP INDEX "{name}"', heavy=True
                )  # as an older version made it
        finally:
            await app.stop()
        again = App(Config(data_dir=tmp_path, db_url=url))
        await again.start()
        try:
            async with again.store.read() as conn:
                tables = [row["tablename"] for row in await conn.fetch_all(ROWID_INDEXES)]
            assert "posts" in tables
        finally:
            await again.stop()

    asyncio.run(main())
