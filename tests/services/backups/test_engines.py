"""A restore on one node reaches the others (PostgreSQL: nodes share one database)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase import App, Config
from keelbase.core.request_info import RequestInfo
from keelbase.services.backups.service import BackupBusy


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


def test_one_backup_at_a_time_across_processes_and_nodes(tmp_path: Path, fresh_db_url: str) -> None:
    """Two apps on one data folder (SQLite) or one database (PostgreSQL): one backup runs,
    the other is refused, whichever starts first."""

    async def main() -> None:
        second_dir = tmp_path / ("a" if not fresh_db_url else "b")
        first = App(Config(data_dir=tmp_path / "a", db_url=fresh_db_url))
        second = App(Config(data_dir=second_dir, db_url=fresh_db_url))
        async with first, second:
            results = await asyncio.gather(
                first.backups.create("one.zip"),
                second.backups.create("two.zip"),
                return_exceptions=True,
            )
            refused = [r for r in results if isinstance(r, BackupBusy)]
            assert len(refused) == 1, results
            assert first.backups.active is None and second.backups.active is None
            await second.backups.create("three.zip")  # the lock was given back

    asyncio.run(main())


def test_postgres_puts_the_data_aside_back(tmp_path: Path, fresh_db_url: str) -> None:
    """PostgreSQL: the copy a restore puts aside first is what ``put_back`` brings back,
    writes made after the backup included (the path a failed restore takes)."""
    if not fresh_db_url:
        pytest.skip("the PostgreSQL engine")

    async def main() -> None:
        app = App(Config(data_dir=tmp_path / "a", db_url=fresh_db_url))
        async with app:
            await app.backups.create("base.zip")
            later = await app.collections.create(
                {"name": "later", "type": "base", "fields": [{"name": "title", "type": "text"}]}
            )
            await app.records.create(
                later, {"title": "written after the backup"}, RequestInfo(system=True)
            )
            engine = app.backups.engine
            work = tmp_path / "work"
            await engine.replace(
                app.config.data_dir / "backups" / "base.zip", work / "unpacked", work / "aside"
            )
            await app.backups.reload()
            assert app.records.schema.get("later") is None  # the backup's data, in place
            await engine.put_back(work / "aside")
            await app.backups.reload()
            back = app.records.schema.get("later")
            assert back is not None
            found = await app.records.find_by_filter(back, "id != ''")
            assert [r.get("title") for r in found] == ["written after the backup"]

    asyncio.run(main())
