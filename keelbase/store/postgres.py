"""PostgreSQL: the same store protocol as SQLite, on a pool of asyncpg connections.

Several Keelbase nodes can share one database. PostgreSQL runs writes
concurrently (no process-wide write lock as with SQLite); unique indexes, not
the order of writes, decide which of two clashing writes wins.

SQL arrives with named ``:name`` placeholders; each text is rewritten once to
``$1, $2, ...`` and remembered with the types PostgreSQL expects for its
parameters, so values are converted the way SQLite would compare them (a
number bound where text is expected becomes its text, and so on).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import io
import logging
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, nullcontext
from decimal import Decimal, InvalidOperation
from typing import Any

import asyncpg
import orjson

from keelbase.core.dialect import Dialect
from keelbase.store.base import (
    InvalidStatement,
    Params,
    QueryTimeout,
    Row,
    StatementTracer,
    StorageFull,
    StoreError,
    StoreTiming,
    StoreUnavailable,
    UniqueViolation,
    WriteConflict,
    multi_row_inserts,
    quote_name,
    run_callbacks,
)
from keelbase.store.index_trial import IndexTrial, RolledBack, best_time_ms
from keelbase.store.postgres_dialect import PostgresDialect

log = logging.getLogger("keelbase.sql")

_PLACEHOLDER = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|(?<!:):([A-Za-z_]\w*)|\?""")
_UNIQUE_KEY = re.compile(r"Key \((.+?)\)=\(")
_STATEMENT_CACHE = 2048
CLOSE_GRACE = 10.0  # seconds close() waits for busy connections before terminating them
# A request waits no longer for a pooled connection (all busy, or PostgreSQL not answering
# a new one) before it is answered 503; a new connection gets CONNECT_TIMEOUT to open.
ACQUIRE_TIMEOUT = 30.0
CONNECT_TIMEOUT = 5.0


class _Statement:
    """One SQL text rewritten for PostgreSQL: its ``$n`` text, names, and parameter types."""

    __slots__ = ("names", "sql", "types")

    def __init__(self, sql: str, names: list[str] | None) -> None:
        self.sql = sql
        self.names = names  # None: positional ``?`` parameters
        self.types: list[str] | None = None


def _rewrite(sql: str) -> _Statement:
    names: list[str] = []
    index: dict[str, int] = {}
    positional = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal positional
        text = match.group(0)
        if text[0] in "'\"":
            return text
        name = match.group(1)
        if name is None:  # ``?``
            positional += 1
            return f"${positional}"
        if name not in index:
            names.append(name)
            index[name] = len(names)
        return f"${index[name]}"

    rewritten = _PLACEHOLDER.sub(replace, sql)
    return _Statement(rewritten, None if positional else names)


_JSON_NUL = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _text(value: Any) -> Any:
    """What SQLite makes of a value bound where text is expected.

    PostgreSQL cannot store NUL characters in text; they are dropped.
    """
    if value is None:
        return value
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return orjson.dumps(value).decode()


def _float(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _integer(value: Any) -> int | None:
    number = _float(value)
    if number is None or number != number or number in (float("inf"), float("-inf")):
        return None
    return int(number)


def _boolean(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true")
    return bool(value)


def _json_param(value: Any) -> Any:
    if value is None:
        return value
    text = value if isinstance(value, str) else orjson.dumps(value).decode()
    if "\\u0000" in text:  # jsonb refuses NUL characters too
        text = _JSON_NUL.sub(r"\1", text)
    return text


_ADAPT: dict[str, Callable[[Any], Any]] = {
    "text": _text,
    "varchar": _text,
    "bpchar": _text,
    "name": _text,
    "unknown": _text,
    "float8": _float,
    "float4": _float,
    "numeric": _float,
    "int2": _integer,
    "int4": _integer,
    "int8": _integer,
    "bool": _boolean,
    "jsonb": _json_param,
    "json": _json_param,
}


def _decode_json(text: str) -> str:
    """jsonb keeps object keys in its own order; answer with them sorted, as stored on SQLite."""
    if "{" not in text:
        return text
    try:
        return orjson.dumps(orjson.loads(text), option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONDecodeError:
        return text


def _decode_numeric(text: str) -> int | float:
    try:
        number = Decimal(text)
    except InvalidOperation:
        return float("nan")
    if number == number.to_integral_value() and abs(number) < 2**63:
        return int(number)
    return float(number)


def _copy_text(value: str) -> str:
    """A string as a field of COPY's text format (backslash escapes for the separators)."""
    if "\\" in value:
        value = value.replace("\\", "\\\\")
    if "\t" in value:
        value = value.replace("\t", "\\t")
    if "\n" in value:
        value = value.replace("\n", "\\n")
    if "\r" in value:
        value = value.replace("\r", "\\r")
    return value


def _copy_float(value: float) -> str:
    return repr(value)  # the shortest text that reads back as the same double ('inf', 'nan' too)


def _copy_bool(value: bool) -> str:
    return "t" if value else "f"


# For each column type, the parameter conversion ``execute`` applies, then the value
# written as COPY's text format reads it. Other types fall back to multi-row INSERTs.
_COPY: dict[str, tuple[Callable[[Any], Any], Callable[[Any], str]]] = {
    "text": (_text, _copy_text),
    "varchar": (_text, _copy_text),
    "bpchar": (_text, _copy_text),
    "float8": (_float, _copy_float),
    "int2": (_integer, str),
    "int4": (_integer, str),
    "int8": (_integer, str),
    "bool": (_boolean, _copy_bool),
    "jsonb": (_json_param, _copy_text),
    "json": (_json_param, _copy_text),
}


def _copy_data(
    rows: Sequence[Sequence[Any]], kinds: list[tuple[Callable[[Any], Any], Callable[[Any], str]]]
) -> bytes:
    lines: list[str] = []
    for row in rows:
        fields: list[str] = []
        for (adapt, write), value in zip(kinds, row, strict=True):
            adapted = adapt(value)
            fields.append("\\N" if adapted is None else write(adapted))
        lines.append("\t".join(fields))
    lines.append("")
    return "\n".join(lines).encode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "jsonb", encoder=_json_param, decoder=_decode_json, schema="pg_catalog", format="text"
    )
    await conn.set_type_codec(
        "json", encoder=_json_param, decoder=lambda text: text, schema="pg_catalog", format="text"
    )
    await conn.set_type_codec(
        "numeric", encoder=str, decoder=_decode_numeric, schema="pg_catalog", format="text"
    )


def _unique_columns(detail: str) -> list[str]:
    match = _UNIQUE_KEY.search(detail or "")
    if not match:
        return []
    columns: list[str] = []
    for part in match.group(1).split(", "):
        names = re.findall(r'"([^"]+)"|(\w+)', part)
        words = [a or b for a, b in names if (a or b).lower() not in ("lower", "text", "upper")]
        if words:
            columns.append(words[-1])
    return columns


# SQLSTATE classes of a server that is going away or cannot take more: 08 connection
# exceptions, 53 insufficient resources (disk full, too many connections), 57 operator
# intervention (shutdown, restart), 58 system errors.
_UNAVAILABLE_STATES = ("08", "53", "57P", "58")


def _unavailable(error: BaseException) -> bool:
    """Whether ``error`` says the database is unreachable rather than the statement wrong."""
    if isinstance(error, asyncpg.exceptions.ConnectionDoesNotExistError | OSError | TimeoutError):
        return True
    if isinstance(error, asyncpg.InterfaceError):
        text = str(error)
        return any(
            words in text for words in ("connection is closed", "pool is closing", "released back")
        )
    state = getattr(error, "sqlstate", "") or ""
    return isinstance(error, asyncpg.PostgresError) and state.startswith(_UNAVAILABLE_STATES)


# serialization_failure, deadlock_detected
_CONFLICT_STATES = ("40001", "40P01")


def _translate(error: Exception) -> Exception:
    if getattr(error, "sqlstate", "") == "53100":  # disk_full
        return StorageFull(f"PostgreSQL's disk is full: {error}")
    if _unavailable(error):
        return StoreUnavailable(f"PostgreSQL is unavailable: {error}")
    if getattr(error, "sqlstate", "") in _CONFLICT_STATES:
        return WriteConflict(f"rolled back to settle a clash with a concurrent write: {error}")
    if isinstance(error, asyncpg.QueryCanceledError):
        return QueryTimeout(f"the query was stopped: {error}")
    if isinstance(error, asyncpg.UniqueViolationError):
        return UniqueViolation(error.table_name or "", _unique_columns(error.detail or ""))
    if isinstance(error, asyncpg.PostgresError):
        state = getattr(error, "sqlstate", "") or ""
        # 42: syntax and access (a view query, an index); 22: data (a cast, a division)
        if state.startswith(("42", "22", "0A", "2F", "39")):
            return InvalidStatement(str(error))
        return StoreError(str(error))
    if isinstance(error, asyncpg.exceptions.DataError | asyncpg.InterfaceError):
        return InvalidStatement(str(error))
    return StoreError(str(error))


# Statements that change what a prepared statement or a cached plan was made for.
_SCHEMA_VERBS = frozenset({"CREATE", "ALTER", "DROP", "COMMENT", "REINDEX"})


def _changes_schema(sql: str) -> bool:
    """Whether ``sql`` is DDL, after which every pooled connection is replaced.

    ``heavy`` also marks long writes that are not DDL (the request logs' batch
    inserts, a truncating ``DELETE``); replacing the pool after each of those
    opened a new PostgreSQL connection every couple of requests and cut reads
    tenfold. Only a statement that changes the schema needs it.
    """
    words = sql.lstrip().split(None, 1)
    return bool(words) and words[0].upper() in _SCHEMA_VERBS


class _Link:
    """One pooled connection, in a read or a transaction."""

    def __init__(self, store: PgStore, conn: asyncpg.Connection) -> None:
        self.store = store
        self.conn = conn
        self.commit_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self.rollback_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self.savepoints = 0
        self.in_transaction = False
        # Set when a savepoint could not be rolled back: the transaction may hold work
        # that should be gone, so nothing more runs in it and it can only roll back.
        self.lost: BaseException | None = None

    def check_usable(self) -> None:
        if self.lost is not None:
            raise StoreError(f"the transaction can only roll back now: {self.lost!r}")

    async def _prepare(self, sql: str, params: Params) -> tuple[str, list[Any]]:
        statement = await self.store.statement(self.conn, sql)
        if statement.names is None:
            values = list(params) if not isinstance(params, Mapping) else []
        elif isinstance(params, Mapping):
            values = [params[name] for name in statement.names]
        else:
            values = list(params)
        types = statement.types or []
        return statement.sql, [
            _ADAPT.get(kind, _identity)(value) for kind, value in zip(types, values, strict=False)
        ]

    async def _call(self, method: str, sql: str, params: Params) -> Any:
        tracer = self.store.tracer
        if tracer is None:
            return await self._call_now(method, sql, params)
        with tracer.statement(sql):
            return await self._call_now(method, sql, params)

    async def _call_now(self, method: str, sql: str, params: Params) -> Any:
        if self.store.log_sql:
            log.debug("%s  [%d params]", sql, len(params))
        self.check_usable()
        timing = self.store.timing
        began = time.perf_counter() if timing is not None else 0.0
        try:
            pg_sql, values = await self._prepare(sql, params)
            if self.in_transaction and method != "execute" and "*" in sql:
                # A cached plan of ``SELECT *`` fails once another node has changed the
                # table; outside a transaction asyncpg prepares it again, inside it cannot.
                prepared = await self.conn.prepare(pg_sql)
                return await getattr(prepared, method)(*values)
            return await getattr(self.conn, method)(pg_sql, *values)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
            raise _translate(error) from error
        finally:
            if timing is not None:
                timing.query(
                    "write" if method == "execute" else "read", time.perf_counter() - began
                )

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        rows = await self._call("fetch", sql, params)
        return [dict(row.items()) for row in rows]

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        row = await self._call("fetchrow", sql, params)
        return None if row is None else dict(row.items())

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        return await self._call("fetchval", sql, params)

    async def fetch_columns(self, sql: str, params: Params = ()) -> list[str]:
        self.check_usable()
        tracer = self.store.tracer
        with nullcontext() if tracer is None else tracer.statement(sql):
            try:
                statement = await self.store.statement(self.conn, sql)
                prepared = await self.conn.prepare(statement.sql)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                raise _translate(error) from error
        return [a.name for a in prepared.get_attributes() if a.name != "_rowid_"]

    async def execute(self, sql: str, params: Params = (), heavy: bool = False) -> int:
        self.check_usable()
        if heavy and _changes_schema(sql):
            self.store.forget_statements()
        if not params and heavy:
            tracer = self.store.tracer
            with nullcontext() if tracer is None else tracer.statement(sql):
                try:
                    status = await self.conn.execute(sql)
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                    raise _translate(error) from error
        else:
            status = await self._call("execute", sql, params)
        last = str(status).rsplit(" ", 1)[-1]
        return int(last) if last.isdigit() else 0

    async def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """One ``COPY ... FROM STDIN`` (text format) of all ``rows``.

        Each value goes through the same conversion as a bound parameter of the
        column's type (``_ADAPT``), then is written as text PostgreSQL reads back
        to the same value (floats by ``repr``, which round-trips exactly). The
        table's statement-level triggers (the row counts) fire once for the COPY.
        A column of another type makes it fall back to multi-row INSERTs.
        """
        if not rows:
            return
        self.check_usable()
        names = ", ".join(quote_name(c) for c in columns)
        sql = f"COPY {quote_name(table)} ({names}) FROM STDIN"
        tracer = self.store.tracer
        with nullcontext() if tracer is None else tracer.statement(sql):
            try:
                probe = await self.conn.prepare(f"SELECT {names} FROM {quote_name(table)} LIMIT 0")
                types = [a.type.name for a in probe.get_attributes()]
                if not all(kind in _COPY for kind in types):
                    for statement, params in multi_row_inserts(table, columns, rows):
                        await self._call_now("execute", statement, params)
                    return
                data = _copy_data(rows, [_COPY[kind] for kind in types])
                timing = self.store.timing
                began = time.perf_counter() if timing is not None else 0.0
                await self.conn.copy_to_table(
                    table, source=io.BytesIO(data), columns=list(columns), format="text"
                )
                if timing is not None:
                    timing.query("write", time.perf_counter() - began)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                raise _translate(error) from error

    def on_commit(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self.commit_callbacks.append(callback)

    def on_rollback(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self.rollback_callbacks.append(callback)


def _identity(value: Any) -> Any:
    return value


# What a statement that could not finish may raise: the connection's state is then in doubt.
_FAILURES = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


_HAS_HYPOPG = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'hypopg')"


async def _explain(conn: _Link, sql: str, params: Params) -> dict[str, Any]:
    """The top plan node of ``EXPLAIN (FORMAT JSON)``."""
    value = await conn.fetch_value(f"EXPLAIN (FORMAT JSON) {sql}", params)
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    plan: dict[str, Any] = value[0]["Plan"]
    return plan


def _plan_text(plan: dict[str, Any]) -> str:
    """``Limit; Index Scan using idx on posts``: the plan's nodes, depth first."""
    parts: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        text = str(node.get("Node Type", ""))
        if node.get("Index Name"):
            text += f" using {node['Index Name']}"
        if node.get("Relation Name"):
            text += f" on {node['Relation Name']}"
        parts.append(text)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return "; ".join(parts)


async def _roll_back(link: _Link) -> None:
    """ROLLBACK, then the rollback callbacks, whatever becomes of the ROLLBACK.

    A ROLLBACK that fails or is cancelled leaves the transaction in doubt, so
    the connection is closed: PostgreSQL rolls back the transaction of a closed
    connection, and the pool replaces it. The caller's exception goes on, or
    the cancellation.
    """
    try:
        await link.conn.execute("ROLLBACK")
    except BaseException as error:
        with contextlib.suppress(asyncpg.InterfaceError):  # the connection is already gone
            link.conn.terminate()
        if not isinstance(error, _FAILURES):
            raise
        log.warning("ROLLBACK failed, the connection is closed instead: %s", error)
    finally:
        await run_callbacks(list(reversed(link.rollback_callbacks)))


async def _undo_savepoint(link: _Link, name: str) -> bool:
    """Roll back to savepoint ``name``; ``False`` (and the transaction lost) when it cannot.

    The savepoint's callbacks then stay with the transaction, which can only
    roll back and runs them all when it does.
    """
    if link.lost is not None:
        return False
    try:
        await link.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
        await link.conn.execute(f"RELEASE SAVEPOINT {name}")
        return True
    except BaseException as error:
        link.lost = error
        if not isinstance(error, _FAILURES):
            raise
    return False


_current: contextvars.ContextVar[_Link | None] = contextvars.ContextVar(
    "keelbase_pg_tx", default=None
)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Give a connection back without asyncpg's reset query.

    The default runs ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``,
    one more round trip on every release, which about doubled a single-row read.
    Keelbase leaves no session state on a pooled connection: settings are
    connection options or ``SET LOCAL``, cursors live in transactions (which the
    pool still rolls back), nothing listens, and ``advisory_lock`` unlocks what it
    took or closes the connection.
    """


@asynccontextmanager
async def _released(pool: asyncpg.Pool, conn: asyncpg.Connection) -> AsyncIterator[Any]:
    """``conn``, given back to the pool at the end.

    Giving it back resets the connection; if PostgreSQL went away meanwhile that
    fails, the pool drops the connection, and the caller's work (perhaps committed
    already) must not turn into an error for it.
    """
    try:
        yield conn
    finally:
        try:
            await pool.release(conn)
        except _FAILURES as error:
            log.warning("a connection lost on its way back to the pool: %s", error)


class PgStore:
    def __init__(
        self,
        url: str,
        min_size: int = 1,
        max_size: int = 10,
        log_sql: bool = False,
        query_timeout: float = 30.0,
        durability: str = "full",
    ) -> None:
        self.url = url
        if durability not in ("full", "normal"):
            raise ValueError(f"durability must be full or normal, not {durability!r}")
        # ``--durability normal``: commits answer before their WAL is flushed
        # (``synchronous_commit=off``); "full" keeps the server's own setting.
        self.durability = durability
        # ``statement_timeout`` of every connection (``--queryTimeout``; 0: no limit).
        self.query_timeout = query_timeout
        self.dialect: Dialect = PostgresDialect()
        self.log_sql = log_sql
        self.tracer: StatementTracer | None = None
        self._min_size = min_size
        self._max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._close_grace = CLOSE_GRACE
        self._busy: set[asyncpg.Connection] = set()  # connections held by a caller now
        self._stopping: asyncio.Task[None] | None = None
        self._statements: dict[str, _Statement] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.timing: StoreTiming | None = None

    async def open(self) -> None:
        try:
            self._pool = await asyncpg.create_pool(
                self.url,
                min_size=self._min_size,
                max_size=self._max_size,
                init=_init_connection,
                reset=_keep_session,
                timeout=CONNECT_TIMEOUT,
                server_settings=self._server_settings(),
            )
        except (OSError, asyncpg.PostgresError) as error:
            raise StoreError(f"cannot connect to PostgreSQL: {error}") from error

    def _server_settings(self) -> dict[str, str]:
        settings: dict[str, str] = {}
        if self.query_timeout > 0:
            settings["statement_timeout"] = str(int(self.query_timeout * 1000))
        if self.durability == "normal":
            settings["synchronous_commit"] = "off"
        return settings

    def stop_statements(self, grace: float) -> None:
        """Shutdown has begun: statements still running ``grace`` seconds from now are
        cancelled (``pg_cancel_backend``), and ``close`` waits no longer than that either.

        Called from a signal handler, so the work is handed to the event loop.
        """
        self._close_grace = min(self._close_grace, grace)
        if self._pool is None or self._stopping is not None:
            return
        loop = asyncio.get_event_loop()
        loop.call_soon_threadsafe(self._start_stopping, grace)

    def _start_stopping(self, grace: float) -> None:
        if self._stopping is None:
            self._stopping = asyncio.get_running_loop().create_task(self._cancel_after(grace))

    async def _cancel_after(self, grace: float) -> None:
        await asyncio.sleep(grace)
        pids = [conn.get_server_pid() for conn in self._busy]
        if not pids:
            return
        try:
            # a connection of its own: the pool's may all be busy
            conn = await asyncpg.connect(self.url, timeout=5)
            try:
                await conn.execute(
                    "SELECT pg_cancel_backend(pid) FROM unnest($1::int[]) AS pid", pids
                )
            finally:
                await conn.close()
            log.warning("stopped %d statement(s) still running at shutdown", len(pids))
        except (OSError, asyncpg.PostgresError, TimeoutError):
            log.warning("could not stop the statements running at shutdown", exc_info=True)

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection, known as busy while it is held (for ``stop_statements``)."""
        assert self._pool is not None, "store is not open"
        try:
            acquired = await self._pool.acquire(timeout=ACQUIRE_TIMEOUT)
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as error:
            # the pool opens a new connection when an old one died: PostgreSQL may be away
            raise _translate(error) from error
        async with _released(self._pool, acquired) as conn:
            self._busy.add(conn)
            try:
                yield conn
            finally:
                self._busy.discard(conn)

    async def close(self) -> None:
        """Close the pool; connections still busy after the grace are terminated.

        ``Pool.close`` waits for every connection to be released, which a
        statement stuck until its ``statement_timeout`` (or without one) would delay.
        """
        if self._stopping is not None:
            self._stopping.cancel()
            self._stopping = None
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                async with asyncio.timeout(self._close_grace):
                    await pool.close()
            except TimeoutError:
                log.warning("connections still busy at shutdown were terminated")
                pool.terminate()

    async def optimize(self) -> None:
        """``ANALYZE``: fresh planner statistics (autovacuum does the rest)."""
        if self._pool is not None:
            async with self._pool.acquire() as conn:
                await conn.execute("ANALYZE")

    async def scans_in_rowid_order(self, sql: str, params: Params) -> bool:
        """Always: the dialect sorts every table's select by ``_rowid_`` last, so one
        without a sort of its own is already in rowid order."""
        return True

    async def try_index(self, index_sql: str, query_sql: str, params: Params) -> IndexTrial:
        """With ``hypopg``: the planner's cost without and with a hypothetical index
        (nothing is built). Without it: timed runs before and after building the
        index in a transaction that is then rolled back (writers to the table wait)."""
        trial: IndexTrial | None = None
        try:
            async with self.transaction() as conn:
                hypothetical = bool(await conn.fetch_value(_HAS_HYPOPG))
                before = await _explain(conn, query_sql, params)
                if hypothetical:
                    made = await conn.fetch_one(
                        "SELECT indexname FROM hypopg_create_index(:sql)", {"sql": index_sql}
                    )
                    after = await _explain(conn, query_sql, params)
                    await conn.fetch_all("SELECT hypopg_reset()")
                    # hypopg names its index "<oid>btree_...": show the name it would have
                    wanted = re.search(r'INDEX\s+(?:IF NOT EXISTS\s+)?"([^"]+)"', index_sql)
                    after_text = _plan_text(after)
                    if made and wanted:
                        after_text = after_text.replace(str(made["indexname"]), wanted.group(1))
                    trial = IndexTrial(
                        "estimated",
                        _plan_text(before),
                        after_text,
                        before_cost=before["Total Cost"],
                        after_cost=after["Total Cost"],
                    )
                else:
                    before_ms = await best_time_ms(conn, query_sql, params)
                    await conn.execute(index_sql, heavy=True)
                    after = await _explain(conn, query_sql, params)
                    after_ms = await best_time_ms(conn, query_sql, params)
                    trial = IndexTrial(
                        "measured",
                        _plan_text(before),
                        _plan_text(after),
                        before_ms,
                        after_ms,
                        before["Total Cost"],
                        after["Total Cost"],
                    )
                raise RolledBack
        except RolledBack:
            pass
        assert trial is not None
        return trial

    def forget_statements(self) -> None:
        """The schema changed: parameter types and prepared plans may be stale."""
        self._statements.clear()
        if self._pool is not None:
            task = asyncio.get_running_loop().create_task(self._pool.expire_connections())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def statement(self, conn: asyncpg.Connection, sql: str) -> _Statement:
        statement = self._statements.get(sql)
        if statement is None:
            statement = _rewrite(sql)
        if statement.types is None:
            if statement.names == [] or (statement.names is None and "$1" not in statement.sql):
                statement.types = []
            else:
                prepared = await conn.prepare(statement.sql)
                statement.types = [t.name for t in prepared.get_parameters()]
            if len(self._statements) >= _STATEMENT_CACHE:
                self._statements.pop(next(iter(self._statements)))
            self._statements[sql] = statement
        return statement

    @asynccontextmanager
    async def read(self) -> AsyncIterator[_Link]:
        current = _current.get()
        if current is not None and current.store is self:
            yield current
            return
        async with self._acquire() as conn:
            yield _Link(self, conn)

    @asynccontextmanager
    async def advisory_lock(self, name: str) -> AsyncIterator[bool]:
        """Whether this node got the session lock ``name``, held until the block ends.

        PostgreSQL releases it by itself when the connection goes, so a node
        that dies holding it blocks nobody.
        """
        assert self._pool is not None, "store is not open"
        async with self._pool.acquire() as conn:
            try:
                got = bool(await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name))
            except BaseException:
                conn.terminate()  # cancelled: the lock may have been taken all the same
                raise
            try:
                yield got
            finally:
                if got:
                    try:
                        await conn.fetchval("SELECT pg_advisory_unlock(hashtext($1))", name)
                    except BaseException:
                        # the pool does not unlock on release: a connection that may
                        # still hold the lock is closed, which releases it
                        conn.terminate()
                        raise

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[_Link]:
        """A read-only transaction that sees one moment of the database while writers go on.

        REPEATABLE READ gives every statement in it the same snapshot, so an export
        read in it is consistent across tables; MVCC keeps writers from waiting.
        """
        current = _current.get()
        assert current is None or current.store is not self, "a snapshot joins no transaction"
        async with self.transaction() as link:
            await link.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield link

    def in_transaction(self) -> bool:
        current = _current.get()
        return current is not None and current.store is self

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[_Link]:
        """A pooled connection in a ``READ ONLY`` transaction, rolled back at the end."""
        async with self._acquire() as conn:
            transaction = conn.transaction(readonly=True)
            await transaction.start()
            try:
                yield _Link(self, conn)
            finally:
                await transaction.rollback()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Link]:
        current = _current.get()
        if current is not None and current.store is self:
            current.check_usable()
            current.savepoints += 1
            name = f"sp{current.savepoints}"
            commit_mark = len(current.commit_callbacks)
            rollback_mark = len(current.rollback_callbacks)
            await current.conn.execute(f"SAVEPOINT {name}")
            try:
                yield current
            except BaseException:
                if await _undo_savepoint(current, name):
                    undo = current.rollback_callbacks[rollback_mark:]
                    del current.rollback_callbacks[rollback_mark:]
                    del current.commit_callbacks[commit_mark:]
                    await run_callbacks(list(reversed(undo)))
                raise
            current.check_usable()
            try:
                await current.conn.execute(f"RELEASE SAVEPOINT {name}")
            except asyncpg.PostgresError as error:
                raise _translate(error) from error
            return

        assert self._pool is not None, "store is not open"
        timing = self.timing
        began = time.perf_counter() if timing is not None else 0.0
        async with self._acquire() as conn:
            if timing is not None:
                timing.transaction_wait(time.perf_counter() - began)
            link = _Link(self, conn)
            link.in_transaction = True
            token = _current.set(link)
            try:
                try:
                    await conn.execute("BEGIN")
                except _FAILURES as error:
                    raise _translate(error) from error
                try:
                    yield link
                    link.check_usable()
                    if await conn.execute("COMMIT") == "ROLLBACK":
                        # A statement had failed: PostgreSQL ended the transaction instead.
                        raise StoreError("the transaction had failed and was rolled back")
                except BaseException as error:
                    await _roll_back(link)
                    if isinstance(error, _FAILURES):
                        raise _translate(error) from error
                    raise
            finally:
                _current.reset(token)
        await run_callbacks(link.commit_callbacks)
