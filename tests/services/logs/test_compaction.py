"""auxiliary.db shrinks after many entries are deleted (SQLite keeps freed pages otherwise)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from keelbase.services.logs.store import COMPACT_AFTER, SQLITE_SCHEMA, LogStore
from keelbase.store.sqlite import SqliteStore


def _rows(count: int, start: int = 0) -> list[tuple[str, int, str, str, str]]:
    data = '{"type":"request","pad":"' + "x" * 2000 + '"}'
    return [
        (f"log{n:012d}", 0, "GET /", data, f"2026-01-01 00:00:{n % 60:02d}.000Z")
        for n in range(start, start + count)
    ]


def _size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def test_deleting_many_entries_gives_the_space_back(tmp_path: Path) -> None:
    async def main() -> None:
        path = tmp_path / "auxiliary.db"
        logs = LogStore(SqliteStore(path, read_pool_size=1), SQLITE_SCHEMA, owns_store=True)
        await logs.open()
        try:
            for start in range(0, 3000, 500):
                await logs.insert(_rows(500, start))
            await logs.store.optimize()  # the WAL into the file, as the checkpoints do
            full = _size(path)
            assert await logs.delete('"id" < :id', {"id": f"log{COMPACT_AFTER - 1:012d}"}) == (
                COMPACT_AFTER - 1
            )
            # fewer than COMPACT_AFTER: the file keeps its pages for the next entries
            assert _size(path) >= full
            assert await logs.delete("1=1", {}) == 3000 - (COMPACT_AFTER - 1)
            assert _size(path) < full / 4
            await logs.insert(_rows(10))  # still writable after the VACUUM
            assert await logs.count("1=1", {}) == 10
        finally:
            await logs.close()

    asyncio.run(main())
