"""One sqlite3 connection: opening it, running a statement, its errors, and the read budget.

The store (``sqlite.py``) decides which connection runs what and when; this
module knows nothing of transactions or threads.
"""

from __future__ import annotations

import logging
import math
import re
import sqlite3
import time
from pathlib import Path
from typing import Any

from keelbase.store.base import (
    InvalidStatement,
    Params,
    QueryTimeout,
    StorageFull,
    StoreError,
    StoreUnavailable,
    UniqueViolation,
)

log = logging.getLogger("keelbase.sql")

_UNIQUE = re.compile(r"UNIQUE constraint failed: (.+)")

TICK_STEPS = 1000
CLOCK_STEPS = 5_000  # VM steps between looks at the clock (and the budget) of a statement

PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA busy_timeout = 10000",
    "PRAGMA cache_size = -16000",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA journal_size_limit = 67108864",
)


# ``--durability``: FULL syncs the WAL at every commit; NORMAL only at checkpoints, so the
# last commits before a power loss or an OS crash may be gone (never the file's integrity).
SYNCHRONOUS = {"full": "FULL", "normal": "NORMAL"}


def connect(path: Path, durability: str = "full") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[durability]}")
    return conn


def translate(error: sqlite3.Error) -> Exception:
    if isinstance(error, sqlite3.IntegrityError):
        match = _UNIQUE.search(str(error))
        if match:
            targets = [part.strip() for part in match.group(1).split(",")]
            table = targets[0].split(".", 1)[0]
            columns = [t.split(".", 1)[-1] for t in targets]
            return UniqueViolation(table, columns)
    code = getattr(error, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return StorageFull(f"the database cannot write: {error}")
    if code == sqlite3.SQLITE_IOERR:
        return StoreUnavailable(f"the database cannot write: {error}")
    if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
        # another process (a worker, a CLI command) held the write lock past busy_timeout
        return StoreUnavailable(f"the database is busy, try again: {error}")
    if isinstance(error, sqlite3.OperationalError | sqlite3.ProgrammingError):
        return InvalidStatement(str(error))
    return StoreError(str(error))


class Interrupted(Exception):
    """An inline read went past its budget; it runs again on a thread."""


class InlineReader:
    """The read-only connection quick reads run on, on the event loop, under a budget.

    The budget is this connection's own state: SQLite calls a connection's
    progress handler only for its own statements, so no other connection's
    work (above all the writer's) is ever counted or interrupted.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._ticks = 0
        self._limit = 0
        conn.set_progress_handler(self._tick, TICK_STEPS)

    def read(self, mode: str, sql: str, params: Params, budget: int, log_sql: bool) -> Any:
        """Run one read; raises ``Interrupted`` once it goes past ``budget`` VM steps.

        SQLite counts steps per prepared statement, and cached statements keep
        counting across runs, so the count is kept here and starts over for each read.
        """
        self._ticks = 0
        self._limit = budget // TICK_STEPS
        return run_statement(self.conn, mode, sql, params, log_sql)

    def _tick(self) -> int:
        self._ticks += 1
        return 1 if self._ticks > self._limit else 0


class StatementClock:
    """``--queryTimeout`` for every statement of one connection, through its progress handler.

    Reads and writes alike are timed (an endless view query validated inside a
    schema change holds the single writer otherwise): past the limit a
    statement is interrupted, which frees its connection, and raises
    ``QueryTimeout``. SQLite rolls the whole transaction back when it interrupts
    a write; the store marks that transaction lost. A ``budget`` of VM steps
    lets a read on the event loop stop early (``Interrupted``) to run again on a
    thread; an interrupted read leaves its transaction open. ``stop_at`` is set
    at shutdown, so that no statement keeps the server from stopping.
    """

    def __init__(self, conn: sqlite3.Connection, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = math.inf
        self.stop_at = math.inf
        self._ticks = 0
        self._tick_limit = math.inf
        conn.set_progress_handler(self._tick, CLOCK_STEPS)

    def _tick(self) -> int:
        self._ticks += 1
        if self._ticks > self._tick_limit:
            return 1
        return 1 if time.monotonic() > min(self.deadline, self.stop_at) else 0

    def run(
        self,
        conn: sqlite3.Connection,
        mode: str,
        sql: str,
        params: Params,
        log_sql: bool,
        budget: int = 0,
    ) -> Any:
        """Run one statement under the time limit; with ``budget``, under that many VM steps too."""
        if time.monotonic() > self.stop_at:
            raise QueryTimeout("the query was stopped: the server is shutting down")
        self.deadline = time.monotonic() + self.seconds if self.seconds > 0 else math.inf
        self._ticks = 0
        self._tick_limit = max(1, budget // CLOCK_STEPS) if budget else math.inf
        try:
            return run_statement(conn, mode, sql, params, log_sql)
        except Interrupted as error:
            now = time.monotonic()
            if now > self.stop_at:
                raise QueryTimeout("the query was stopped: the server is shutting down") from error
            if now > self.deadline:
                raise QueryTimeout(f"the query ran longer than {self.seconds:g}s") from error
            raise  # past the budget: the caller runs it again on a thread
        finally:
            self.deadline = math.inf
            self._tick_limit = math.inf


def run_statement(
    conn: sqlite3.Connection, mode: str, sql: str, params: Params, log_sql: bool
) -> Any:
    """Run ``sql``; ``mode`` says what comes back: value, exec (rows changed), all, one, columns."""
    if log_sql:
        log.debug("%s  [%d params]", sql, len(params))
    try:
        cursor = conn.execute(sql, params)
        if mode == "value":
            row = cursor.fetchone()
            return None if row is None else row[0]
        if mode == "exec":
            return cursor.rowcount
        names = [col[0] for col in cursor.description or ()]
        if mode == "all":
            # rows as tuples, then dict(zip()) per row: far cheaper than a Python row factory
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        if mode == "one":
            row = cursor.fetchone()
            return None if row is None else dict(zip(names, row, strict=True))
        return names
    except sqlite3.OperationalError as error:
        if str(error) == "interrupted":
            raise Interrupted from error
        raise translate(error) from error
    except sqlite3.Error as error:
        raise translate(error) from error


def checkpoint(conn: sqlite3.Connection) -> tuple[int, int, int]:
    """A PASSIVE checkpoint: (busy, pages in the WAL, pages copied)."""
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    return (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
