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
