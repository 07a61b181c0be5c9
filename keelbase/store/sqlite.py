"""SQLite: WAL, one writer connection on its own thread, readers in a small pool.

All writes queue on one connection, so writers wait in-process instead of
failing with SQLITE_BUSY. Quick statements run on the event loop: record
writes and reads inside a transaction on the writer connection, other reads
on an inline reader connection under a budget of VM steps (past it, a read is
interrupted and runs again on a reader thread; a read in a transaction past
it runs again on the writer thread). Every statement, the writer's too, is
stopped past ``--queryTimeout``; an interrupted write makes SQLite roll the
whole transaction back, and the transaction is then marked lost.

With ``durability="full"`` (the default) each COMMIT is synced to disk before
it is answered, and the transactions that queue meanwhile share the next
COMMIT as savepoints of one transaction (``_Group``); see docs/durability.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import math
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from keelbase.core.dialect import Dialect
from keelbase.store.base import (
    Params,
    Row,
    StatementTracer,
    StoreError,
    StoreTiming,
    multi_row_inserts,
    run_callbacks,
)
from keelbase.store.sqlite_connection import (
    SYNCHRONOUS,
    InlineReader,
    Interrupted,
    StatementClock,
    checkpoint,
    connect,
    run_statement,
    translate,
)
from keelbase.store.sqlite_dialect import SqliteDialect

if TYPE_CHECKING:
    from keelbase.store.index_trial import IndexTrial

log = logging.getLogger("keelbase.sql")
T = TypeVar("T")


class WriteTurns(Protocol):
    """Turns at writing one SQLite file, taken by the processes that share it (the local hub).

    SQLite's own lock is what keeps writes apart; a process that finds it taken
    polls for it with growing sleeps (1 to 100 ms, ``busy_timeout``). Turns
    handed over in order by a lock server cost one round trip instead. A turn
    not granted in time (``False``) leaves the process to SQLite's lock as before.
    """

    async def take(self, name: str) -> bool: ...

    def give_back(self, name: str) -> None: ...


WAL_RESET_PAGES = 4096  # a WAL longer than this after a checkpoint is reset under the write lock
CHECKPOINT_SECONDS = 1.0  # how often the background checkpoint looks at the WAL
GROUP_MEMBERS = 1000  # at most this many transactions share one commit
GROUP_SECONDS = 0.05  # a group older than this commits before another transaction joins it
MEMBER = "kb_member"  # the savepoint of one transaction of a group


class _Reading:
    """``store.read()``: the transaction's link inside one, else a reader's.

    A plain class rather than ``@asynccontextmanager``: every record read enters
    one, and a generator-based manager costs a generator and two steps of it.
    """

    __slots__ = ("store",)

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def __aenter__(self) -> _Link:
        store = self.store
        current = _current.get()
        if current is not None and current.store is store:
            return current
        assert store._reader_executor is not None, "store is not open"
        return _Link(store, None, store._reader_executor)

    async def __aexit__(self, *_: object) -> None:
        return None


class _Group:
    """Transactions run one after another inside one SQLite transaction, made durable by one COMMIT.

    With ``durability="full"`` a COMMIT waits for the disk (an fsync: milliseconds,
    against microseconds for the writes of a record). The transactions that queue
    for the writer while it waits each run in a savepoint of the next SQLite
    transaction, and one COMMIT makes them all durable; each is answered only
    once that COMMIT is on disk.
    """

    def __init__(self) -> None:
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # a failure nobody waits for (a group of no members) is not an unretrieved exception
        self.done.add_done_callback(lambda done: done.cancelled() or done.exception())
        self.members = 0
        self.opened = time.monotonic()

    def fail(self, error: BaseException | None) -> None:
        if not self.done.done():
            self.done.set_exception(
                StoreError(f"the transaction was rolled back with its commit group: {error}")
            )


class _Link:
    """Runs statements of one sqlite3 connection on one executor."""

    def __init__(
        self, store: SqliteStore, conn: sqlite3.Connection | None, executor: ThreadPoolExecutor
    ) -> None:
        self.store = store
        self.conn = conn
        self.executor = executor
        self.commit_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self.rollback_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        # Set once SQLite has ended this transaction under us (or a savepoint could not
        # be undone): from then on nothing runs in it, and it can only roll back.
        self.lost: Exception | None = None

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, partial(fn, *args))

    async def _read(self, mode: str, sql: str, params: Params) -> Any:
        tracer = self.store.tracer
        if tracer is None:
            return await self._read_now(mode, sql, params)
        with tracer.statement(sql):
            return await self._read_now(mode, sql, params)

    async def _read_now(self, mode: str, sql: str, params: Params) -> Any:
        """A read: on the loop when it is quick, else on a reader thread.

        A point lookup costs less than handing it to a thread, so a read first
        runs right here on the inline reader, under a budget of SQLite VM steps
        (well under a millisecond). A read that goes past it is interrupted and
        run again on the reader pool, so nothing holds the event loop longer than
        that. Inside a transaction a read runs on the writer connection, like the
        transaction's writes: never interrupted, on the loop unless it is known
        to be long.
        """
        store = self.store
        timing = store.timing
        began = time.perf_counter() if timing is not None else 0.0
        try:
            if self.conn is not None:
                return await self._on_writer(mode, sql, params, store.inline_budget > 0)
            inline = store._inline
            if store.inline_budget and inline is not None and sql not in store._heavy:
                try:
                    return inline.read(mode, sql, params, store.inline_budget, store.log_sql)
                except Interrupted:
                    store.inline_fallbacks += 1
                    store.remember_heavy(sql)
            return await self._run(self._sync, mode, sql, params)
        finally:
            if timing is not None:
                timing.query("read", time.perf_counter() - began)

    async def _on_writer(self, mode: str, sql: str, params: Params, on_loop: bool) -> Any:
        """A statement of this transaction, on the loop or on the writer thread.

        On the loop a read runs under the inline budget of VM steps: past it,
        it is interrupted (a read's interrupt leaves the transaction open) and
        runs again on the writer thread, so an endless query (a view being
        validated) never holds the event loop. Every statement is under
        ``--queryTimeout``. After a failure SQLite may have rolled the whole
        transaction back (it does after an interrupted write, a full disk or an
        I/O error). Statements run after that would each commit on their own,
        so the transaction is marked lost and refuses them.
        """
        if self.lost is not None:
            raise StoreError(f"the transaction was rolled back by the database: {self.lost}")
        assert self.conn is not None
        store = self.store
        try:
            if on_loop and sql not in store._heavy:
                budget = store.inline_budget if mode != "exec" else 0
                try:
                    return store.clock_of(self.conn).run(
                        self.conn, mode, sql, params, store.log_sql, budget
                    )
                except Interrupted as interrupted:
                    if not self.conn.in_transaction:  # it wrote after all (a DML in a WITH)
                        raise StoreError("the statement was interrupted") from interrupted
                    store.inline_fallbacks += 1
                    store.remember_heavy(sql)
            return await self._run(self._sync, mode, sql, params)
        except StoreError as error:
            if not self.conn.in_transaction:
                self.lost = error
            raise

    async def control(self, sql: str) -> None:
        """A ROLLBACK (to a savepoint or whole) on the writer, even once the transaction is lost."""
        assert self.conn is not None
        if self.store.inline_budget:
            run_statement(self.conn, "exec", sql, (), self.store.log_sql)
        else:
            await self._run(self._sync, "exec", sql, ())

    def _sync(self, mode: str, sql: str, params: Params) -> Any:
        conn = self.conn if self.conn is not None else self.store._thread_reader()
        return self.store.clock_of(conn).run(conn, mode, sql, params, self.store.log_sql)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        result: list[Row] = await self._read("all", sql, params)
        return result

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        result: Row | None = await self._read("one", sql, params)
        return result

    async def fetch_value(self, sql: str, params: Params = ()) -> Any:
        return await self._read("value", sql, params)

    async def fetch_columns(self, sql: str, params: Params = ()) -> list[str]:
        result: list[str] = await self._read("columns", sql, params)
        return result

    async def execute(self, sql: str, params: Params = (), heavy: bool = False) -> int:
        tracer = self.store.tracer
        if tracer is None:
            return await self._execute(sql, params, heavy)
        with tracer.statement(sql):
            return await self._execute(sql, params, heavy)

    async def _execute(self, sql: str, params: Params, heavy: bool) -> int:
        """A write on the writer connection; on the loop unless marked ``heavy``.

        Writing one record takes microseconds, much less than a thread hop, and
        with ``durability="normal"`` a commit in WAL mode does not wait for the
        disk (checkpoints run on a thread), so record writes run right here. With
        "full" a group's COMMIT, which waits for the disk, runs on the writer thread. Statements that may touch many
        rows (DDL, table rewrites) say ``heavy`` and run on the writer thread.
        """
        if self.conn is None:  # outside a transaction: refused by the read-only connection
            result: int = await self._run(self._sync, "exec", sql, params)
            return result
        timing = self.store.timing
        began = time.perf_counter() if timing is not None else 0.0
        on_loop = not heavy and self.store.inline_budget > 0
        try:
            result = await self._on_writer("exec", sql, params, on_loop)
        finally:
            if timing is not None:
                timing.query("write", time.perf_counter() - began)
        self.store._writes += 1
        return result

    async def insert_many(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Multi-row INSERTs of up to 999 parameters each, in this transaction."""
        for sql, params in multi_row_inserts(table, columns, rows):
            await self.execute(sql, params)

    def on_commit(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self.commit_callbacks.append(callback)

    def on_rollback(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        self.rollback_callbacks.append(callback)


_current: contextvars.ContextVar[_Link | None] = contextvars.ContextVar(
    "keelbase_sqlite_tx", default=None
)


async def _undo_savepoint(link: _Link, name: str) -> bool:
    """Roll back to savepoint ``name``; ``False`` (and the transaction lost) when it cannot.

    It cannot when SQLite has ended the whole transaction already. Then the
    savepoint's callbacks stay with the transaction, which can only roll back
    and runs them all when it does.
    """
    if link.lost is None:
        try:
            await link.control(f"ROLLBACK TO {name}")
            await link.control(f"RELEASE {name}")
            return True
        except StoreError as error:
            link.lost = error
    return False


class SqliteStore:
    def __init__(
        self,
        path: Path,
        read_pool_size: int = 4,
        log_sql: bool = False,
        inline_budget: int = 20_000,
        query_timeout: float = 30.0,
        durability: str = "full",
        shared: bool = False,
    ) -> None:
        self.path = path
        # Other processes write this file too (the workers of one ``keelbase serve``): BEGIN
        # then waits for their write lock (busy_timeout) on the writer thread, not on the loop.
        self.shared = shared
        # Set by the app when workers share this file through the local hub.
        self.turns: WriteTurns | None = None
        self._turn_held = False
        if durability not in SYNCHRONOUS:
            raise ValueError(f"durability must be full or normal, not {durability!r}")
        # ``--durability``: "full" syncs every commit to disk before it is answered, with
        # concurrent transactions grouped under one commit; "normal" commits without syncing.
        self.durability = durability
        self._group: _Group | None = None  # the open group of committed-to-be transactions
        self._queued = 0  # transactions waiting for the writer
        self._flushes: set[asyncio.Task[None]] = set()
        self.commits = 0  # COMMITs done: with commit groups, fewer than transactions
        # Seconds a read may run before it is interrupted (``--queryTimeout``; 0: no limit).
        self.query_timeout = query_timeout
        self._writer_clock: StatementClock | None = None
        self._clocks: list[StatementClock] = []  # every connection's, for stop_statements
        self._stop_at = math.inf
        # SQLite VM steps a read may take on the event loop before it moves to a thread (0: never).
        self.inline_budget = inline_budget
        self.dialect: Dialect = SqliteDialect()
        self.log_sql = log_sql
        self.tracer: StatementTracer | None = None
        self._read_pool_size = read_pool_size
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._write_lock = asyncio.Lock()
        self._savepoints = 0
        self._writer_executor: ThreadPoolExecutor | None = None
        self._inline: InlineReader | None = None
        # SQL text of reads known to go past the budget: straight to a thread. A hint only;
        # the oldest entries go first when it is full, and nothing else invalidates it.
        self._heavy: dict[str, None] = {}
        # Set when a ROLLBACK failed with the transaction still open: no more transactions.
        self._unusable: Exception | None = None
        self._writes = 0
        self._checkpointed_at = 0
        self._checkpointer: asyncio.Task[None] | None = None
        self.inline_fallbacks = 0  # reads that went past the budget and moved to a thread
        self.timing: StoreTiming | None = None
        self._reader_executor: ThreadPoolExecutor | None = None

    async def open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer_executor = ThreadPoolExecutor(1, thread_name_prefix="kb-sqlite-writer")
        self._reader_executor = ThreadPoolExecutor(
            self._read_pool_size, thread_name_prefix="kb-sqlite-reader"
        )
        loop = asyncio.get_running_loop()
        self._writer = await loop.run_in_executor(
            self._writer_executor, connect, self.path, self.durability
        )
        self._writer_clock = StatementClock(self._writer, self.query_timeout)
        self._stop_at = math.inf
        self._clocks = [self._writer_clock]
        self._write_lock = asyncio.Lock()
        if self.inline_budget:
            reader = connect(self.path, self.durability)
            reader.execute("PRAGMA query_only = ON")
            self._inline = InlineReader(reader)
            writer = self._writer
            await loop.run_in_executor(
                self._writer_executor, writer.execute, "PRAGMA wal_autocheckpoint = 0"
            )
            self._checkpointer = asyncio.create_task(
                self._checkpoint_loop(), name="keelbase-wal-checkpoint"
            )

    def stop_statements(self, grace: float) -> None:
        """Shutdown has begun: statements still running ``grace`` seconds from now are stopped.

        The progress handlers look at the clock, so a stuck statement (an
        endless query on the writer thread) ends without anyone waiting on it,
        and the executors can be shut down.
        """
        self._stop_at = min(self._stop_at, time.monotonic() + grace)
        with self._readers_lock:
            for clock in self._clocks:
                clock.stop_at = self._stop_at

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        self.stop_statements(0)
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._group is not None and not self._write_lock.locked():
            await self._commit_group()  # its holder would have; it was cancelled
        if self._flushes:
            await asyncio.wait(list(self._flushes))
        if self._writer_executor is not None and self._writer is not None:
            writer = self._writer
            # queued behind whatever the writer runs, which the stop above ends
            await loop.run_in_executor(self._writer_executor, self._optimize_at_close)
            await loop.run_in_executor(self._writer_executor, writer.close)
            self._writer_executor.shutdown(wait=True)
        if self._reader_executor is not None:
            self._reader_executor.shutdown(wait=True)
        with self._readers_lock:
            for conn in self._readers:
                conn.close()
            self._readers.clear()
        if self._inline is not None:
            self._inline.conn.close()
            self._inline = None
        self._writer = None

    def _optimize_at_close(self) -> None:
        """``PRAGMA optimize`` once the writer is free, not cut short by the stop."""
        assert self._writer is not None
        if self._writer_clock is not None:
            self._writer_clock.stop_at = math.inf
        try:
            self._writer.execute("PRAGMA optimize")
        except sqlite3.Error:
            log.warning("PRAGMA optimize failed at close", exc_info=True)

    def forget_statements(self) -> None:
        """Nothing to do: SQLite prepares a statement again when the schema changed."""

    async def optimize(self) -> None:
        """``PRAGMA optimize`` and a truncating checkpoint, on the writer between transactions."""
        writer, executor = self._writer, self._writer_executor
        if writer is None or executor is None:
            return
        loop = asyncio.get_running_loop()
        async with self._writer_idle():
            await loop.run_in_executor(executor, _run_to_end, writer, "PRAGMA optimize")
            await loop.run_in_executor(
                executor, _run_to_end, writer, "PRAGMA wal_checkpoint(TRUNCATE)"
            )

    async def vacuum(self) -> None:
        """``VACUUM`` and a truncating checkpoint: the file gives back the pages that deleted
        rows left free. Writes wait while it copies the database, so only a store whose
        writes may wait calls it (the logs' ``auxiliary.db`` after deleting many entries)."""
        writer, executor = self._writer, self._writer_executor
        if writer is None or executor is None:
            return
        loop = asyncio.get_running_loop()
        async with self._writer_idle():
            await loop.run_in_executor(executor, _run_to_end, writer, "VACUUM")
            await loop.run_in_executor(
                executor, _run_to_end, writer, "PRAGMA wal_checkpoint(TRUNCATE)"
            )

    async def try_index(self, index_sql: str, query_sql: str, params: Params) -> IndexTrial:
        """Timed runs and ``EXPLAIN QUERY PLAN`` before and after building the index in a
        write transaction that is then rolled back (writers wait for its build)."""
        # Imported by the index advisor's first trial, not by every start.
        from keelbase.store.index_trial import IndexTrial, RolledBack, best_time_ms

        trial: IndexTrial | None = None
        try:
            async with self.transaction() as conn:
                before_plan = await _query_plan(conn, query_sql, params)
                before_ms = await best_time_ms(conn, query_sql, params)
                await conn.execute(index_sql, heavy=True)
                after_plan = await _query_plan(conn, query_sql, params)
                after_ms = await best_time_ms(conn, query_sql, params)
                trial = IndexTrial("measured", before_plan, after_plan, before_ms, after_ms)
                raise RolledBack
        except RolledBack:
            pass
        assert trial is not None
        return trial

    async def scans_in_rowid_order(self, sql: str, params: Params) -> bool:
        """A plan of one plain ``SCAN`` walks the table's b-tree, which is rowid order;
        an index, a subquery or a sorter gives another order, or another plan line."""
        async with self.read() as conn:
            rows = await conn.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)
        if len(rows) != 1:
            return False
        detail = str(rows[0]["detail"])
        return detail.startswith("SCAN ") and " USING " not in detail

    def remember_heavy(self, sql: str) -> None:
        if len(self._heavy) >= 512:
            self._heavy.pop(next(iter(self._heavy)))
        self._heavy[sql] = None

    async def _checkpoint_loop(self) -> None:
        """Move committed pages from the WAL into the database file, off the loop.

        The writer's automatic checkpoint is off (it would run inside a commit,
        on the loop); a PASSIVE checkpoint here never blocks readers or writers.
        """
        loop = asyncio.get_running_loop()
        conn = await loop.run_in_executor(
            self._reader_executor, connect, self.path, self.durability
        )
        running: asyncio.Future[tuple[int, int, int]] | None = None

        async def run_checkpoint() -> int:
            nonlocal running
            running = loop.run_in_executor(self._reader_executor, checkpoint, conn)
            # shielded: a cancelled loop must not close the connection under a running checkpoint
            return (await asyncio.shield(running))[1]

        try:
            while True:
                await asyncio.sleep(CHECKPOINT_SECONDS)
                if self._writes == self._checkpointed_at:
                    continue
                self._checkpointed_at = self._writes
                try:
                    if await run_checkpoint() > WAL_RESET_PAGES:
                        # Writers append while the checkpoint copies, so under steady
                        # writes it never catches up and the WAL only grows. Copying the
                        # last few pages with writers held lets the next write start the
                        # WAL over (journal_size_limit then trims the file).
                        async with self._writer_idle():
                            await run_checkpoint()
                except sqlite3.Error:
                    log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            if running is not None and not running.done():
                await asyncio.wait([running])
            conn.close()

    def clock_of(self, conn: sqlite3.Connection) -> StatementClock:
        """The read time limit of the writer or of this thread's reader."""
        if conn is self._writer and self._writer_clock is not None:
            return self._writer_clock
        clock: StatementClock | None = getattr(self._local, "clock", None)
        return clock if clock is not None else StatementClock(conn, 0)

    def _thread_reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.durability)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            clock = StatementClock(conn, self.query_timeout)
            clock.stop_at = self._stop_at
            self._local.clock = clock
            with self._readers_lock:
                self._readers.append(conn)
                self._clocks.append(clock)
        return conn

    def read(self) -> _Reading:
        return _Reading(self)

    def in_transaction(self) -> bool:
        current = _current.get()
        return current is not None and current.store is self

    @asynccontextmanager
    async def read_only(self) -> AsyncIterator[_Link]:
        """A reader: its connections are ``query_only``, whatever the current transaction."""
        assert self._reader_executor is not None, "store is not open"
        yield _Link(self, None, self._reader_executor)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Link]:
        current = _current.get()
        if current is not None and current.store is self:
            self._savepoints += 1
            name = f"sp{self._savepoints}"
            commit_mark = len(current.commit_callbacks)
            rollback_mark = len(current.rollback_callbacks)
            await current.execute(f"SAVEPOINT {name}")
            try:
                yield current
            except BaseException:
                if await _undo_savepoint(current, name):
                    undo = current.rollback_callbacks[rollback_mark:]
                    del current.rollback_callbacks[rollback_mark:]
                    del current.commit_callbacks[commit_mark:]
                    await run_callbacks(list(reversed(undo)))
                raise
            await current.execute(f"RELEASE {name}")
            return

        assert self._writer_executor is not None, "store is not open"
        if self.durability == "full":
            async with self._group_member() as member:
                yield member
            return
        timing = self.timing
        began = time.perf_counter() if timing is not None else 0.0
        async with self._write_lock:
            if timing is not None:
                timing.transaction_wait(time.perf_counter() - began)
            if self._unusable is not None:
                raise StoreError(
                    f"the store takes no more writes: a rollback failed: {self._unusable}"
                )
            link = _Link(self, self._writer, self._writer_executor)
            token = _current.set(link)
            try:
                await self._begin(link)
                try:
                    yield link
                    await link.execute("COMMIT")
                    self._give_turn_back()
                    self.commits += 1
                except BaseException:
                    await self._roll_back(link)
                    raise
            finally:
                _current.reset(token)
        await run_callbacks(link.commit_callbacks)

    @asynccontextmanager
    async def _group_member(self) -> AsyncIterator[_Link]:
        """One transaction of a commit group: a savepoint in the group's SQLite transaction.

        Its ``async with`` ends only once the group's COMMIT is on disk. Its own
        failure rolls back its savepoint only; the other members go on. Should
        SQLite end the whole transaction under it (a write stopped by
        ``--queryTimeout``, a full disk, an I/O error), the members before it in
        the group fail too: none of them has been answered, so nothing
        acknowledged is lost and nothing half done is committed.
        """
        assert self._writer_executor is not None and self._writer is not None
        timing = self.timing
        began = time.perf_counter() if timing is not None else 0.0
        await self._acquire_writer()
        try:
            if timing is not None:
                timing.transaction_wait(time.perf_counter() - began)
            group = self._group
            if group is not None and (
                group.members >= GROUP_MEMBERS or time.monotonic() - group.opened > GROUP_SECONDS
            ):
                await self._commit_group()
                group = None
            if self._unusable is not None:
                raise StoreError(
                    f"the store takes no more writes: a rollback failed: {self._unusable}"
                )
            link = _Link(self, self._writer, self._writer_executor)
            token = _current.set(link)
            try:
                if group is None:
                    await self._begin(link)
                    group = self._group = _Group()
                await link.execute(f"SAVEPOINT {MEMBER}")
                try:
                    yield link
                    await link.execute(f"RELEASE {MEMBER}")
                except BaseException:
                    await self._drop_member(link, group)
                    raise
            finally:
                _current.reset(token)
            group.members += 1
        finally:
            try:
                if self._group is not None and self._queued == 0:
                    await self._commit_group()  # nobody else to wait for: on disk now
            finally:
                self._write_lock.release()
        try:
            await asyncio.shield(group.done)
        except asyncio.CancelledError:
            # the commit goes on without this task; its callbacks run once it is done
            group.done.add_done_callback(partial(self._settle_later, link))
            raise
        except StoreError:
            await run_callbacks(list(reversed(link.rollback_callbacks)))
            raise
        await run_callbacks(link.commit_callbacks)

    def _settle_later(self, link: _Link, done: asyncio.Future[None]) -> None:
        callbacks = (
            link.commit_callbacks
            if not done.cancelled() and done.exception() is None
            else list(reversed(link.rollback_callbacks))
        )
        self._spawn(run_callbacks(callbacks))

    def _spawn(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _acquire_writer(self) -> None:
        """The write lock, counted as queued while waiting: a group commits once nobody is."""
        self._queued += 1
        try:
            await self._write_lock.acquire()
        except BaseException:
            self._queued -= 1
            if self._group is not None and self._queued == 0:
                # the holder left the group open for this transaction, which gave up
                self._spawn(self._flush())
            raise
        self._queued -= 1

    async def _flush(self) -> None:
        async with self._writer_idle():
            pass

    @asynccontextmanager
    async def _writer_idle(self) -> AsyncIterator[None]:
        """The writer to oneself with no group open (maintenance, restore)."""
        async with self._write_lock:
            await self._commit_group()
            yield

    async def _drop_member(self, link: _Link, group: _Group) -> None:
        """Undo one member's savepoint; when SQLite ended the whole transaction, the group fails."""
        if await _undo_savepoint(link, MEMBER):
            await run_callbacks(list(reversed(link.rollback_callbacks)))
            return
        if self._group is group:
            self._group = None
        group.fail(link.lost)
        await self._roll_back(link)

    async def _commit_group(self) -> None:
        """COMMIT the open group on the writer thread (it waits for the disk); settles its members."""
        group = self._group
        if group is None:
            return
        self._group = None
        task = asyncio.get_running_loop().create_task(self._commit(group))
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            await asyncio.wait([task])  # the writer is free only once the COMMIT is done
            raise

    async def _commit(self, group: _Group) -> None:
        assert self._writer_executor is not None
        link = _Link(self, self._writer, self._writer_executor)
        try:
            await link.execute("COMMIT", heavy=True)
        except Exception as error:
            group.fail(error)
            assert link.conn is not None
            if link.conn.in_transaction:
                await self._roll_back(link)
            return
        finally:
            assert link.conn is not None
            if not link.conn.in_transaction:
                self._give_turn_back()
        self.commits += 1
        group.done.set_result(None)

    async def _begin(self, link: _Link) -> None:
        """BEGIN IMMEDIATE: with other processes on the file, after this process's turn (when
        turns are kept), on the writer thread: whatever else holds SQLite's lock (a process
        outside the turns, a restore) is waited for there, never on the loop."""
        if self.turns is not None:
            self._turn_held = await self.turns.take(str(self.path))
        try:
            await link.execute("BEGIN IMMEDIATE", heavy=self.shared)
        except BaseException:
            self._give_turn_back()
            raise

    def _give_turn_back(self) -> None:
        if self._turn_held and self.turns is not None:
            self._turn_held = False
            self.turns.give_back(str(self.path))

    async def _roll_back(self, link: _Link) -> None:
        """Roll the transaction back, then run its rollback callbacks, whatever ROLLBACK says.

        SQLite ends a transaction by itself after some errors (an interrupt, a
        full disk, an I/O error); ROLLBACK then fails with "no transaction is
        active", and the work is undone all the same. Should ROLLBACK fail with
        the transaction still open, the store takes no more transactions rather
        than build on half-undone work (closing the store rolls it back). The
        caller's exception, not ROLLBACK's, is the one that goes on.
        """
        try:
            await link.control("ROLLBACK")
        except StoreError as error:
            assert link.conn is not None
            if link.conn.in_transaction:
                self._unusable = error
                log.error("ROLLBACK failed with the transaction open; no more writes: %s", error)
            else:
                log.warning("ROLLBACK after the database had rolled back already: %s", error)
        finally:
            self._give_turn_back()
            await run_callbacks(list(reversed(link.rollback_callbacks)))

    async def replace_with(self, source: Path, keep: Path | None = None) -> None:
        """Make the database the one at ``source``, atomically, under the write lock.

        The source's pages are copied over the live database through the writer
        connection, as one write transaction: readers see the old data or the
        new, never a mix, and no connection needs to be reopened (SQLite notices
        the new schema itself). Writers wait until it is done. With ``keep``, the
        data as it was is first copied there, under the same lock, so nothing
        written in between is lost if it has to go back.
        """
        assert self._writer_executor is not None and self._writer is not None, "store is not open"
        writer = self._writer
        loop = asyncio.get_running_loop()
        async with self._writer_idle():
            if self.turns is not None:  # the other workers wait for their turn, not on SQLite
                self._turn_held = await self.turns.take(str(self.path))
            try:
                if keep is not None:
                    await loop.run_in_executor(self._writer_executor, _backup_from, writer, keep)
                await loop.run_in_executor(self._writer_executor, _backup_into, source, writer)
            except sqlite3.Error as error:
                raise translate(error) from error
            finally:
                self._give_turn_back()
            self._writes += 1

    async def run_script(self, script: str) -> None:
        """Several statements at once, outside any transaction (start-up only)."""
        assert self._writer_executor is not None and self._writer is not None
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._writer_executor, self._writer.executescript, script)
        except sqlite3.Error as error:
            raise translate(error) from error


async def _query_plan(conn: _Link, sql: str, params: Params) -> str:
    rows = await conn.fetch_all(f"EXPLAIN QUERY PLAN {sql}", params)
    return "; ".join(str(row["detail"]) for row in rows)


def backup_file(source: Path, target: Path) -> None:
    """A consistent copy of the database at ``source`` into ``target``, without holding up
    writers (a backup's snapshot, in any process).

    SQLite's online backup in one step, on a connection of its own: in WAL mode
    its read snapshot never blocks the writer, and in one step (unlike several
    with pauses between) a write by the store cannot restart it. The GIL is
    released while SQLite copies pages.
    """
    src = connect(source)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _backup_from(conn: sqlite3.Connection, target: Path) -> None:
    dst = sqlite3.connect(target)
    try:
        conn.backup(dst)
    finally:
        dst.close()


def _backup_into(source: Path, writer: sqlite3.Connection) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        src.backup(writer)
    finally:
        src.close()


def _run_to_end(conn: sqlite3.Connection, sql: str) -> None:
    """Run ``sql`` and read all it answers: a PRAGMA that returns a row (a checkpoint's
    counts) otherwise stays "in progress", and the next SAVEPOINT on the writer fails."""
    conn.execute(sql).fetchall()
