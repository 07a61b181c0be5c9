"""How each store takes a consistent snapshot without stopping writers, and swaps data back in.

SQLite: SQLite's online backup on a connection of its own (a WAL read snapshot,
which never blocks the writer), into a file that is then zipped outside any
lock. Restore copies the restored database's pages over the live one through
the writer connection, in one transaction.

PostgreSQL: the app archive of ``keelbase export`` read inside one REPEATABLE
READ, READ ONLY transaction (MVCC: writers never wait). Decoding and
checksumming every record is Python work that would hold the GIL against the
server's requests, so the export and its check run in a child process with a
connection of its own. Restore is an import with ``replace``: one
transaction, so it lands whole or not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from keelbase.services.backups.archive import BackupInvalid, written_behind
from keelbase.services.transfer.archive import (
    FAST_LEVEL,
    ArchiveError,
    ArchiveReader,
    Checksum,
    canonical,
)
from keelbase.services.transfer.service import TransferError, TransferService

if TYPE_CHECKING:
    from keelbase.store.postgres import PgStore
    from keelbase.store.sqlite import SqliteStore

log = logging.getLogger("keelbase.backups")
DATABASE = "data.db"
LOCK_FILE = ".kb_temp/backups.lock"
LOCK_NAME = "keelbase-backups"
APP_ARCHIVE = "app.zip"


@dataclass(frozen=True)
class Snapshot:
    """The database part of a backup, made by ``Engine.snapshot`` in its work folder.

    ``start``: a zip the backup extends (PostgreSQL's app archive); ``database``:
    a file added as ``data.db`` (SQLite's copy); ``fields``: manifest fields.
    """

    fields: dict[str, Any]
    start: Path | None = None
    database: Path | None = None


class Phases:
    """The steps of one backup, each logged as it ends with its wall-clock start and end
    (``extra``: ``backup_phase``, ``phase_start``, ``phase_end``), so that what a
    server did at a given moment can be told from its log (``bench/backups.py`` does)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def add(self, phase: str, start: float, end: float) -> None:
        log.info(
            "backup %s: %s took %.2fs",
            self.name,
            phase,
            end - start,
            extra={"backup_phase": phase, "phase_start": start, "phase_end": end},
        )

    @contextlib.contextmanager
    def __call__(self, phase: str) -> Iterator[None]:
        start = time.time()
        yield
        self.add(phase, start, time.time())


class Engine(Protocol):
    kind: str

    def exclusive(self) -> AbstractAsyncContextManager[bool]:
        """Whether no other process or node runs a backup or restore; held until the block ends."""
        ...

    async def snapshot(self, work: Path, phases: Phases) -> Snapshot:
        """Take a consistent snapshot of the database into ``work``, writers going on."""
        ...

    async def check(self, archive: Path, unpacked: Path | None, manifest: dict[str, Any]) -> None:
        """Check what the backup holds beyond its members' hashes; ``BackupInvalid`` if wrong.

        ``unpacked`` is ``None`` for a backup just written by ``snapshot``, whose
        content was checked before it was zipped (its hashes prove the zip holds
        the same bytes).
        """
        ...

    async def replace(self, archive: Path, unpacked: Path, aside: Path) -> None:
        """Put the backup's data in place of the app's, keeping the current data in ``aside``."""
        ...

    async def put_back(self, aside: Path) -> None:
        """Undo ``replace``: the data kept in ``aside`` goes back in."""
        ...


class SqliteEngine:
    kind = "sqlite"

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    @asynccontextmanager
    async def exclusive(self) -> AsyncIterator[bool]:
        """A lock file beside the database: worker processes on one data folder take turns."""
        path = self.store.path.parent / LOCK_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a+b") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    async def snapshot(self, work: Path, phases: Phases) -> Snapshot:
        copy = work / DATABASE
        with phases("copy"):
            counts = await in_child(_copy_and_count, str(self.store.path), str(copy))
        return Snapshot({"store": self.kind, "counts": counts}, database=copy)

    async def check(self, archive: Path, unpacked: Path | None, manifest: dict[str, Any]) -> None:
        expected = manifest.get("counts")
        if DATABASE not in manifest["members"] or not isinstance(expected, dict):
            raise BackupInvalid(f"{archive.name} is not a SQLite backup (no {DATABASE})")
        if unpacked is not None:
            await asyncio.to_thread(_check_database, unpacked / DATABASE, expected, archive.name)

    async def replace(self, archive: Path, unpacked: Path, aside: Path) -> None:
        aside.mkdir(parents=True, exist_ok=True)
        await self.store.replace_with(unpacked / DATABASE, keep=aside / DATABASE)

    async def put_back(self, aside: Path) -> None:
        await self.store.replace_with(aside / DATABASE)


def _copy_and_count(source: str, target: str) -> dict[str, int]:
    """In the child: the online backup of the database at ``source`` (a WAL read snapshot:
    the server's writer goes on) into ``target``, checked; its records per collection.

    In the server's process the copy and the check of a large database would take
    CPU and disk time at the server's priority; here they yield to it.
    """
    from keelbase.store.sqlite import backup_file

    with written_behind(Path(target)):
        backup_file(Path(source), Path(target))
    return _check_database(Path(target), None, "the snapshot")


def _collections(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute('SELECT "name" FROM "_collections" WHERE "type" != \'view\'').fetchall()
    return sorted(str(row[0]) for row in rows)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _check_database(path: Path, expected: dict[str, Any] | None, label: str) -> dict[str, int]:
    """``PRAGMA quick_check``, then the records per table collection (equal to ``expected``)."""
    if not path.is_file():
        raise BackupInvalid(f"{label} has no {DATABASE}")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise BackupInvalid(f"the database in {label} is damaged: {verdict}")
            counts = {
                name: int(conn.execute(f"SELECT COUNT(*) FROM {_quote(name)}").fetchone()[0])
                for name in _collections(conn)
            }
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise BackupInvalid(f"the database in {label} cannot be read: {error}") from error
    if expected is not None and counts != expected:
        raise BackupInvalid(f"the record counts in {label} differ from its manifest")
    return counts


class PostgresEngine:
    kind = "postgres"

    def __init__(self, store: PgStore) -> None:
        self.store = store

    def exclusive(self) -> AbstractAsyncContextManager[bool]:
        return self.store.advisory_lock(LOCK_NAME)

    async def snapshot(self, work: Path, phases: Phases) -> Snapshot:
        archive = work / APP_ARCHIVE
        with phases("export"):
            await in_child(_export_snapshot, self.store.url, str(archive))
        return Snapshot({"store": self.kind}, start=archive)

    async def check(self, archive: Path, unpacked: Path | None, manifest: dict[str, Any]) -> None:
        await in_child(_check_records, archive)

    async def replace(self, archive: Path, unpacked: Path, aside: Path) -> None:
        aside.mkdir(parents=True, exist_ok=True)
        await in_child(
            _keep_aside_and_import,
            self.store.url,
            str(aside / APP_ARCHIVE),
            str(archive),
        )

    async def put_back(self, aside: Path) -> None:
        await in_child(_import, self.store.url, str(aside / APP_ARCHIVE))


PARENT_CHECK_SECONDS = 0.5
# Added to the server's niceness: a backup runs when the server leaves CPU over. Not
# SCHED_IDLE nor the idle I/O class: a process at those can be kept off the CPU for
# long moments while it holds the file system's journal open (every write of a file
# does, briefly), and then every fsync of the database waits for it (measured: WAL
# flushes of 0.3 to 0.7 s during backups at SCHED_IDLE, none at niceness +10).
CHILD_NICENESS = 10


async def in_child(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function`` in a new process (spawned: no copy of this one's threads and loop).

    The process is started by a thread of its own that lowers its priority first
    (``CHILD_NICENESS``), so the child is born with it: even its start (a Python
    interpreter importing Keelbase, half a second of CPU) yields to the server.
    Starting the process and waiting for it to exit never take the event loop.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        with contextlib.suppress(OSError):  # not allowed: the child runs at the same priority
            os.nice(CHILD_NICENESS)  # this thread only, on Linux
        try:
            result = _run_in_child(function, *args)
        except BaseException as error:
            loop.call_soon_threadsafe(settle, None, error)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="keelbase-backup-child", daemon=True).start()
    return await future


def _run_in_child(function: Callable[..., Any], *args: Any) -> Any:
    import multiprocessing  # only a restore or a backup needs it, not a start
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        1, mp_context=context, initializer=_exit_with_parent, initargs=(os.getpid(),)
    ) as pool:
        return pool.submit(function, *args).result()


def _exit_with_parent(parent: int) -> None:
    """In the child: end when the server that started it is gone (killed or stopped
    mid-backup), instead of going on as an orphan that holds the data and the disk."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="keelbase-parent-watch", daemon=True).start()


def _export_snapshot(url: str, path: str) -> None:
    """In the child: the app archive, read in one snapshot on a connection of its own."""
    from keelbase.store.postgres import PgStore

    async def export() -> None:
        store = PgStore(url, min_size=1, max_size=1)
        await store.open()
        try:
            async with store.snapshot():
                target = Path(path)
                with written_behind(target.with_name(f".{target.name}.partial")):
                    await TransferService(store).export(target, FAST_LEVEL)
        finally:
            await store.close()

    asyncio.run(export())


def _keep_aside_and_import(url: str, aside: str, path: str) -> None:
    """In one child (one process start less): the current app exported to ``aside``,
    then the archive at ``path`` imported in its place."""
    _export_snapshot(url, aside)
    _import(url, path)


def _import(url: str, path: str) -> None:
    """In the child: the archive in place of everything, in one transaction."""
    from keelbase.store.postgres import PgStore

    async def load() -> None:
        store = PgStore(url, min_size=1, max_size=1)
        await store.open()
        try:
            await TransferService(store).import_(Path(path), replace=True)
        except TransferError as error:
            raise BackupInvalid(str(error)) from error
        finally:
            await store.close()

    asyncio.run(load())


def _check_records(path: Path) -> None:
    """The app archive's counts and checksums, per collection, as ``keelbase import`` checks them."""
    try:
        reader = ArchiveReader(path)
    except (ArchiveError, zlib.error, EOFError) as error:
        raise BackupInvalid(str(error)) from error
    try:
        for collection_id, entry in reader.manifest["data"].items():
            checksum = Checksum()
            for _number, record in reader.records(collection_id):
                checksum.add(canonical(record))
            if checksum.count != entry["count"] or checksum.hexdigest != entry["checksum"]:
                raise BackupInvalid(
                    f"the records of {entry.get('name', collection_id)!r} in {path.name} "
                    "do not match their count or checksum"
                )
    except (ArchiveError, zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise BackupInvalid(str(error)) from error
    finally:
        reader.close()
