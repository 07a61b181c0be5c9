"""``Store.tracer``: every statement a store runs is announced, with its text and never its values.

The tracer's context manager is entered in the caller's task, around the
statement, and sees the statement's failure: what a tracing span needs to be
the child of the request's span and to end with the statement.
"""

from __future__ import annotations

import contextvars
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from keelbase.store.base import Store, StoreError
from keelbase.store.postgres import PgStore
from keelbase.store.sqlite import SqliteStore

pytestmark = pytest.mark.anyio
caller: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []  # sql, the caller's context, outcome

    @contextmanager
    def statement(self, sql: str) -> Iterator[None]:
        try:
            yield
        except BaseException as error:
            self.seen.append((sql, caller.get(), type(error).__name__))
            raise
        self.seen.append((sql, caller.get(), "ok"))


@pytest.fixture
async def store(fresh_db_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    opened: Store = PgStore(fresh_db_url) if fresh_db_url else SqliteStore(tmp_path / "data.db")
    await opened.open()
    try:
        async with opened.transaction() as conn:
            await conn.execute('CREATE TABLE t ("k" TEXT PRIMARY KEY)', heavy=True)
        yield opened
    finally:
        await opened.close()


async def test_statements_are_announced_in_the_callers_context(store: Store) -> None:
    recorder = Recorder()
    store.tracer = recorder
    caller.set("request-1")
    async with store.transaction() as conn:
        await conn.execute('INSERT INTO t ("k") VALUES (:k)', {"k": "secret-value"})
    async with store.read() as conn:
        assert await conn.fetch_value('SELECT count(*) FROM t WHERE "k" = :k', {"k": "x"}) == 0
        assert await conn.fetch_all('SELECT "k" FROM t') == [{"k": "secret-value"}]
        assert await conn.fetch_columns('SELECT "k" FROM t') == ["k"]
        with pytest.raises(StoreError):
            await conn.fetch_one("SELECT nope FROM t")
    texts = [sql for sql, _, _ in recorder.seen]
    assert 'INSERT INTO t ("k") VALUES (:k)' in texts
    assert 'SELECT count(*) FROM t WHERE "k" = :k' in texts
    assert texts.count('SELECT "k" FROM t') == 2
    assert all(context == "request-1" for _, context, _ in recorder.seen)
    assert ("SELECT nope FROM t", "request-1", "InvalidStatement") in recorder.seen
    assert not any("secret-value" in sql for sql in texts)


async def test_without_a_tracer_nothing_is_announced(store: Store) -> None:
    recorder = Recorder()
    store.tracer = recorder
    store.tracer = None
    async with store.read() as conn:
        await conn.fetch_all('SELECT "k" FROM t')
    assert recorder.seen == []
