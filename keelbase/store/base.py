"""The small interface every store implements, and the errors it raises.

SQL text uses named ``:name`` placeholders and is built only from validated schema
names; every value is a bound parameter.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import TYPE_CHECKING, Any, Protocol

from keelbase.core.dialect import Dialect

if TYPE_CHECKING:
    from keelbase.store.index_trial import IndexTrial

log = logging.getLogger("keelbase.store")

Row = dict[str, Any]
Params = Sequence[Any] | Mapping[str, Any]


class StoreError(Exception):
    """A failure of the database that is not the client's fault."""


class QueryTimeout(StoreError):
    """A statement ran past the ``--queryTimeout`` limit and was stopped (answered as a 400)."""


class StoreUnavailable(StoreError):
    """The database cannot be reached or cannot write now (connection lost, disk full).

    Not the request's fault and usually passing: answered as a 503 at once,
    so a client retries later instead of waiting on, or reading a 500.
    """


class WriteConflict(StoreError):
    """The database rolled this transaction back to settle a clash with a concurrent
    one (PostgreSQL's deadlock or serialization failure).

    Nothing of it was kept and nothing is wrong with the request: answered as a 409
    that tells the client to send it again, instead of a 500 that looks like a bug.
    """


class StorageFull(StoreUnavailable):
    """The disk under the database is full: writes fail until space is freed."""


class UniqueViolation(StoreError):
    """An insert or update clashed with a unique index on these columns."""

    def __init__(self, table: str, columns: list[str]) -> None:
        super().__init__(f"unique constraint failed on {table}({', '.join(columns)})")
        self.table = table
        self.columns = columns


class InvalidStatement(StoreError):
    """SQL supplied by a user (a view query, an index) that the database refused."""


class IndexFailed(InvalidStatement):
    """One of a collection's indexes could not be created (a bad expression, duplicate
    values under a new unique index). ``position`` is its place in
    ``collection.indexes``, so the error names that index and no other."""

    def __init__(self, position: int, name: str, reason: str) -> None:
        super().__init__(f"failed to create index {name}: {reason}")
        self.position = position
        self.name = name
        self.reason = reason


class Connection(Protocol):
    """One connection, inside a read or a transaction."""

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...

    async def fetch_value(self, sql: str, params: Params = ()) -> Any: ...

    async def fetch_columns(self, sql: str, params: Params = ()) -> list[str]:
        """The names of the columns ``sql`` selects (the query runs with no rows wanted)."""
        ...

    async def execute(self, sql: str, params: Params = (), heavy: bool = False) -> int:
        """Run a statement; the number of rows it changed.

        ``heavy`` marks statements that may touch many rows (DDL, whole-table
        updates), so a store that runs small writes inline runs these elsewhere.
        """
        ...

    async def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert ``rows`` (values in ``columns`` order) into ``table`` in this transaction.

        For loading many rows at once (an import): each value is converted exactly
        as ``execute`` converts a bound parameter for that column, but the rows go
        in far fewer statements (PostgreSQL: one ``COPY``). ``table`` and
        ``columns`` must come from the validated schema.
        """
        ...

    def on_commit(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``callback`` once the outermost transaction has committed (never on rollback)."""
        ...

    def on_rollback(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``callback`` if the work done so far is rolled back (undo outside the database)."""
        ...


class StoreTiming(Protocol):
    """Told how long statements ran and transactions waited (the metrics); must be cheap."""

    def query(self, operation: str, seconds: float) -> None:
        """One statement took ``seconds``; ``operation`` is "read" or "write"."""

    def transaction_wait(self, seconds: float) -> None:
        """A transaction waited ``seconds`` for the writer (SQLite) or a connection (PostgreSQL)."""


class StatementTracer(Protocol):
    """Told about each SQL statement a store runs, around its execution (for tracing).

    The store never imports a tracing library: whoever wants spans sets
    ``Store.tracer``. ``statement`` gets the SQL text only, never the bound
    values, and its context manager is entered in the caller's task, so a span
    it opens is a child of the caller's current span. Unset (``None``, the
    default), a statement pays for one attribute check.
    """

    def statement(self, sql: str) -> AbstractContextManager[object]: ...


class Store(Protocol):
    dialect: Dialect
    # Set while metrics are on; ``None`` costs a statement one attribute check.
    timing: StoreTiming | None
    tracer: StatementTracer | None

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def read(self) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads; inside a transaction, that transaction's connection."""
        ...

    def transaction(self) -> AbstractAsyncContextManager[Connection]:
        """A write transaction; nested calls join the outer one through a savepoint."""
        ...

    def in_transaction(self) -> bool:
        """Whether the caller runs inside a transaction of this store (``read`` then
        gives that transaction's connection, which sees its uncommitted writes)."""
        ...

    def read_only(self) -> AbstractAsyncContextManager[Connection]:
        """A connection the database itself keeps from writing (for SQL from outside,
        ``POST /api/sql``); never the current transaction's."""
        ...

    def forget_statements(self) -> None:
        """The schema changed: drop statements prepared for the old one.

        A store whose database notices schema changes itself (SQLite) does nothing.
        """
        ...

    def stop_statements(self, grace: float) -> None:
        """Shutdown has begun: statements still running ``grace`` seconds from now are
        stopped, so that no stuck statement keeps the server from stopping."""
        ...

    async def optimize(self) -> None:
        """Housekeeping PocketBase's ``__pbDBOptimize__`` cron job does once a day:
        fresh planner statistics, and on SQLite a WAL truncated back to nothing."""
        ...

    async def try_index(self, index_sql: str, query_sql: str, params: Params) -> IndexTrial:
        """The query's plan and cost without and with the index ``index_sql``; nothing
        of the index stays (``store/index_trial.py``)."""
        ...

    async def scans_in_rowid_order(self, sql: str, params: Params) -> bool:
        """Whether ``sql``, one table's rows selected without a sort, comes back in rowid
        order as it is, so that adding ``ORDER BY`` the rowid changes neither the plan nor
        the order (a list's total is then counted past its page's last row, not again
        from the start: ``services/records/service.py``)."""
        ...


# Bound parameters in one INSERT of many rows: within SQLite's oldest limit (999).
MAX_INSERT_PARAMS = 999


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def multi_row_inserts(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``rows`` as INSERT statements of as many rows as fit under ``MAX_INSERT_PARAMS``."""
    names = ", ".join(quote_name(c) for c in columns)
    width = max(1, len(columns))
    per_statement = max(1, MAX_INSERT_PARAMS // width)
    statements: dict[int, str] = {}
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        sql = statements.get(len(batch))
        if sql is None:
            groups = ", ".join(
                "(" + ", ".join(f":r{r}c{i}" for i in range(len(columns))) + ")"
                for r in range(len(batch))
            )
            sql = statements[len(batch)] = (
                f"INSERT INTO {quote_name(table)} ({names}) VALUES {groups}"
            )
        params: dict[str, Any] = {}
        for r, row in enumerate(batch):
            for i, value in enumerate(row):
                params[f"r{r}c{i}"] = value
        yield sql, params


async def run_callbacks(callbacks: list[Callable[[], Awaitable[None] | None]]) -> None:
    """Run each commit or rollback callback; one that fails is logged, the others still run."""
    for callback in callbacks:
        try:
            result = callback()
            if inspect.isawaitable(result):
                await result
        except Exception:
            log.exception("transaction callback failed")
