"""backup_file (a backup's snapshot) and SqliteStore.replace_with: the pieces that let backups leave writers alone."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from keelbase.store.sqlite import SqliteStore, backup_file


def test_sqlite_snapshot_does_not_wait_for_an_open_write(tmp_path: Path) -> None:
    """A write transaction stays open during the whole copy: the copy still finishes,
    with the committed state and without the uncommitted row."""

    async def main() -> None:
        store = SqliteStore(tmp_path / "data.db")
        await store.open()
        try:
            async with store.transaction() as conn:
                await conn.execute("CREATE TABLE t (n INTEGER)")
                await conn.execute("INSERT INTO t VALUES (1)")
            async with store.transaction() as conn:
                await conn.execute("INSERT INTO t VALUES (2)")
                # the writer holds the write lock here; the snapshot must not need it
                await asyncio.wait_for(
                    asyncio.to_thread(backup_file, store.path, tmp_path / "copy.db"), timeout=10
                )
        finally:
            await store.close()
        copy = sqlite3.connect(tmp_path / "copy.db")
        assert copy.execute("SELECT n FROM t").fetchall() == [(1,)]
        copy.close()

    asyncio.run(main())


def test_writes_go_on_while_the_snapshot_copies(tmp_path: Path) -> None:
    """Commits land while a large copy runs on its thread."""

    async def main() -> None:
        store = SqliteStore(tmp_path / "data.db")
        await store.open()
        try:
            async with store.transaction() as conn:
                await conn.execute("CREATE TABLE t (n INTEGER, pad TEXT)")
                for n in range(3000):
                    await conn.execute(
                        "INSERT INTO t VALUES (:n, :pad)", {"n": n, "pad": "x" * 4000}
                    )
            copying = asyncio.create_task(
                asyncio.to_thread(backup_file, store.path, tmp_path / "copy.db")
            )
            committed = 0
            while not copying.done():
                async with store.transaction() as conn:
                    await conn.execute("INSERT INTO t VALUES (-1, '')")
                committed += 1
                await asyncio.sleep(0)
            await copying
            assert committed > 1
        finally:
            await store.close()

    asyncio.run(main())


def test_replace_with_swaps_the_data_and_keeps_the_old(tmp_path: Path) -> None:
    async def main() -> None:
        other = sqlite3.connect(tmp_path / "other.db")
        other.execute("CREATE TABLE t (n INTEGER)")
        other.execute("INSERT INTO t VALUES (42)")
        other.commit()
        other.close()
        store = SqliteStore(tmp_path / "data.db")
        await store.open()
        try:
            async with store.transaction() as conn:
                await conn.execute("CREATE TABLE t (n INTEGER)")
                await conn.execute("INSERT INTO t VALUES (1)")
            await store.replace_with(tmp_path / "other.db", keep=tmp_path / "kept.db")
            async with store.read() as conn:
                assert await conn.fetch_all("SELECT n FROM t") == [{"n": 42}]
            await store.replace_with(tmp_path / "kept.db")
            async with store.read() as conn:
                assert await conn.fetch_all("SELECT n FROM t") == [{"n": 1}]
        finally:
            await store.close()

    asyncio.run(main())
