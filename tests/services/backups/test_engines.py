"""A restore on one node reaches the others (PostgreSQL: nodes share one database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase import App, Config


def test_other_nodes_notice_a_restore(tmp_path: Path, fresh_db_url: str) -> None:
    if not fresh_db_url:
        pytest.skip("nodes share one database on PostgreSQL")

    async def main() -> None:
        first = App(Config(data_dir=tmp_path / "a", db_url=fresh_db_url))
        second = App(Config(data_dir=tmp_path / "b", db_url=fresh_db_url))
        async with first, second:
            await first.backups.create("base.zip")
            await first.collections.create({"name": "later", "type": "base"})
            for _ in range(50):
                if second.records.schema.get("later") is not None:
                    break
                await asyncio.sleep(0.1)
            assert second.records.schema.get("later") is not None
            await first.backups.restore("base.zip")
            for _ in range(50):
                if second.records.schema.get("later") is None:
                    break
                await asyncio.sleep(0.1)
            assert second.records.schema.get("later") is None

    asyncio.run(main())
