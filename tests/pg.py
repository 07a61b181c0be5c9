"""Fresh PostgreSQL databases for tests, on the server named by ``KEELBASE_TEST_PG_URL``.

Each call to ``fresh_database`` creates a database of its own and drops it
afterwards. Where PostgreSQL is not reachable, tests that need it skip with a
message, except in CI (``CI=true``), where they fail: the PostgreSQL run is required.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

# The stores the parametrised tests run on; ``KEELBASE_TEST_STORES=sqlite`` (``make
# test-fast``) leaves PostgreSQL out.
STORES = tuple(os.environ.get("KEELBASE_TEST_STORES", "sqlite,postgres").split(","))
PG_URL = os.environ.get("KEELBASE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def _admin_url() -> str:
    return PG_URL


def _with_database(name: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{name}"


async def _run(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_admin_url(), timeout=3)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_available() -> bool:
    try:
        asyncio.run(_run("SELECT 1"))
    except (OSError, ImportError, Exception):
        return False
    return True


def require_postgres() -> None:
    """Skip (or, in CI, fail) the current test when PostgreSQL is not reachable."""
    if postgres_available():
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required in CI and is not reachable at {PG_URL}")
    pytest.skip(f"PostgreSQL is not reachable at {PG_URL} (start it, or set KEELBASE_TEST_PG_URL)")


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new empty database, dropped (with its connections) afterwards."""
    require_postgres()
    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    try:
        yield _with_database(name)
    finally:
        asyncio.run(_run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _name_of(url: str) -> str:
    return url.rpartition("/")[2]


def copy_database(template_url: str) -> str:
    """The URL of a new database made from ``template_url`` (which nobody may be connected to)."""
    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_run(f'CREATE DATABASE "{name}" TEMPLATE "{_name_of(template_url)}"'))
    return _with_database(name)


def drop_database(url: str) -> None:
    asyncio.run(_run(f'DROP DATABASE IF EXISTS "{_name_of(url)}" WITH (FORCE)'))


# Everything of the schema that a test can change through the API: tables and views
# with their columns, defaults and indexes. Functions are the same in every database.
_FINGERPRINT = """
SELECT md5(coalesce(string_agg(item, E'\\n' ORDER BY item), '')) FROM (
    SELECT c.relname || ' ' || c.relkind::text || ' ' || coalesce((
        SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                          || ' ' || a.attnotnull::text || ' '
                          || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
        FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
        || ' ' || coalesce(pg_get_viewdef(c.oid), '') AS item
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'public' AND c.relkind IN ('r', 'v', 'm', 'S')
    UNION ALL
    SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'
) AS schema_items
"""


@dataclass
class _Snapshot:
    """What a template database holds: its schema's fingerprint, rows and sequence positions."""

    fingerprint: str
    rows: dict[str, str]  # table -> its rows as a JSON array
    sequences: list[tuple[str, int, bool]]  # name, value, whether the value was used

    @classmethod
    async def read(cls, url: str) -> _Snapshot:
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            fingerprint = await conn.fetchval(_FINGERPRINT)
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
            rows = {
                t["tablename"]: await conn.fetchval(
                    f"SELECT coalesce(json_agg(r), '[]')::text FROM \"{t['tablename']}\" r"
                )
                for t in tables
            }
            sequences = [
                (
                    s["sequencename"],
                    s["last_value"] or s["start_value"],
                    s["last_value"] is not None,
                )
                for s in await conn.fetch(
                    "SELECT sequencename, last_value, start_value FROM pg_sequences "
                    "WHERE schemaname = 'public'"
                )
            ]
        finally:
            await conn.close()
        return cls(fingerprint, rows, sequences)

    async def restore(self, url: str) -> bool:
        """Put the rows back into a copy whose schema is unchanged; False if it has changed."""
        import asyncpg

        conn = await asyncpg.connect(url, timeout=10)
        try:
            if await conn.fetchval(_FINGERPRINT) != self.fingerprint:
                return False
            async with conn.transaction():
                for table, rows in self.rows.items():
                    await conn.execute(f'DELETE FROM "{table}"')
                    if rows != "[]":
                        await conn.execute(
                            f'INSERT INTO "{table}" '
                            f'SELECT * FROM json_populate_recordset(NULL::"{table}", $1::json)',
                            rows,
                        )
                for name, value, used in self.sequences:
                    await conn.execute(
                        "SELECT setval($1::regclass, $2, $3)", f'"{name}"', value, used
                    )
        finally:
            await conn.close()
        return True


class DatabaseCopies:
    """Copies of one template database, each as the template was, for one test at a time.

    A copy is made with ``CREATE DATABASE ... TEMPLATE``, which takes a good part
    of a second. A copy given back is reused: before it is handed out again its
    rows are replaced by the template's (tens of milliseconds), unless the test
    changed the schema (a collection created, altered or dropped), in which case
    it is dropped and copied afresh.
    """

    def __init__(self, template_url: str) -> None:
        self.template_url = template_url
        self._snapshot: _Snapshot | None = None
        self._idle: list[str] = []  # copies given back, to restore before reuse
        self._all: list[str] = []

    def take(self) -> str:
        """The URL of a database equal to the template, until ``give_back``."""
        if self._snapshot is None:
            self._snapshot = asyncio.run(_Snapshot.read(self.template_url))
        while self._idle:
            url = self._idle.pop()
            if asyncio.run(self._snapshot.restore(url)):
                return url
            self._all.remove(url)
            drop_database(url)
        url = copy_database(self.template_url)
        self._all.append(url)
        return url

    def give_back(self, url: str) -> None:
        self._idle.append(url)

    def close(self) -> None:
        for url in self._all:
            drop_database(url)
        self._all.clear()
        self._idle.clear()
