"""``_migrations``: which migration files this app has applied, and when.

The layout is PocketBase's (``file`` name, ``applied`` in Unix microseconds), so
the table reads the same with the same tools. The table itself is created with
the other system tables (``store/system.py``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from keelbase.store.base import Connection


@dataclass(frozen=True)
class AppliedMigration:
    file: str
    applied: int  # Unix time in microseconds


def now_micros() -> int:
    return time.time_ns() // 1000


async def applied(conn: Connection) -> list[AppliedMigration]:
    """Every applied migration, the most recent last (the order ``down`` undoes them in reverse)."""
    rows = await conn.fetch_all(
        'SELECT "file", "applied" FROM "_migrations" ORDER BY "applied", "file"'
    )
    return [AppliedMigration(str(row["file"]), int(row["applied"])) for row in rows]


async def is_applied(conn: Connection, file: str) -> bool:
    found = await conn.fetch_value(
        'SELECT 1 FROM "_migrations" WHERE "file" = :file', {"file": file}
    )
    return found is not None


async def record(conn: Connection, file: str, applied_at: int | None = None) -> None:
    await conn.execute(
        'INSERT INTO "_migrations" ("file", "applied") VALUES (:file, :applied)',
        {"file": file, "applied": applied_at if applied_at is not None else now_micros()},
    )


async def forget(conn: Connection, file: str) -> None:
    await conn.execute('DELETE FROM "_migrations" WHERE "file" = :file', {"file": file})
