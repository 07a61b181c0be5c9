"""Applying and reverting migration files, each in one transaction with its ``_migrations`` row.

A migration's ``up(app)`` runs inside a store transaction; everything it does
through the app (collection changes, records, ``app.transaction()``) joins
that transaction, so a migration that fails leaves nothing behind, not even a
collection it created before failing. The transaction first takes the schema
lock (``store/system.py``): nodes starting at once on one database take turns,
and each checks again under the lock whether another already applied the file.

``up`` and ``down`` may be ``async def`` (the usual case: the app's services are
async) or plain functions; a result that can be awaited is awaited.
"""

from __future__ import annotations

import contextvars
import inspect
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keelbase.errors import ApiError
from keelbase.services.collections.service import CollectionsService
from keelbase.services.migrations import templates
from keelbase.services.migrations.files import (
    Migration,
    MigrationError,
    file_stem,
    load,
    migration_files,
    sort_key,
    write_new,
)
from keelbase.store import migrations_history as history
from keelbase.store import system
from keelbase.store.base import Connection, Store

# Set while a migration runs: its collection changes are not recorded again (automigrate).
running_migration: contextvars.ContextVar[str] = contextvars.ContextVar(
    "keelbase_running_migration", default=""
)

APPLIED = "applied"
PENDING = "pending"
MISSING = "missing"  # recorded as applied, but its file is gone


@dataclass(frozen=True)
class MigrationState:
    file: str
    state: str  # APPLIED, PENDING or MISSING
    applied: int | None  # Unix microseconds, when applied


class MigrationsRunner:
    """The migrations of one folder against one app's store.

    ``target`` is what ``up`` and ``down`` receive: the ``App``.
    """

    def __init__(
        self, store: Store, collections: CollectionsService, folder: Path, target: Any
    ) -> None:
        self.store = store
        self.collections = collections
        self.folder = folder
        self.target = target

    async def _applied(self) -> list[history.AppliedMigration]:
        async with self.store.read() as conn:
            return await history.applied(conn)

    async def status(self) -> list[MigrationState]:
        """Every migration file and every recorded one, in the order they apply."""
        applied = {m.file: m.applied for m in await self._applied()}
        states = [
            MigrationState(p.name, APPLIED if p.name in applied else PENDING, applied.get(p.name))
            for p in migration_files(self.folder)
        ]
        present = {s.file for s in states}
        states += [MigrationState(f, MISSING, t) for f, t in applied.items() if f not in present]
        return sorted(states, key=lambda s: sort_key(s.file))

    async def pending(self) -> list[Path]:
        applied = {m.file for m in await self._applied()}
        return [p for p in migration_files(self.folder) if p.name not in applied]

    async def up(self) -> list[str]:
        """Apply every pending migration, in order; the names of those this call applied.

        All pending files are loaded first, so one that cannot even be loaded
        stops the run before anything is applied.
        """
        migrations = [load(path) for path in await self.pending()]
        done: list[str] = []
        for migration in migrations:
            if await self._run(migration, revert=False):
                done.append(migration.file)
        return done

    async def down(self, count: int = 1) -> list[str]:
        """Revert the ``count`` most recently applied migrations, newest first.

        Every one of them is checked first (its file is there, loads, and has a
        ``down``), so a bad one stops the run before anything is reverted.
        """
        if count < 1:
            raise MigrationError(
                f"the number of migrations to revert must be 1 or more, not {count}"
            )
        chosen = list(reversed(await self._applied()))[:count]
        migrations: list[Migration] = []
        for entry in chosen:
            path = self.folder / entry.file
            if not path.is_file():
                raise MigrationError(
                    f"{entry.file} is recorded as applied but there is no such file in "
                    f"{self.folder}; restore it, or drop its record with "
                    "keelbase migrations history-sync"
                )
            migration = load(path)
            if migration.down is None:
                raise MigrationError(
                    f"{entry.file} defines no down(app) function: it cannot be reverted"
                )
            migrations.append(migration)
        done: list[str] = []
        for migration in migrations:
            if await self._run(migration, revert=True):
                done.append(migration.file)
        return done

    async def _run(self, migration: Migration, *, revert: bool) -> bool:
        """Apply (or revert) one migration in one transaction; ``False`` when another
        process did it first."""
        function = migration.down if revert else migration.up
        assert function is not None
        token = running_migration.set(migration.file)
        try:
            async with self.store.transaction() as conn:
                # Takes turns with other nodes, and loads what they changed meanwhile.
                await self.collections.lock_schema(conn)
                if await history.is_applied(conn, migration.file) == revert:
                    if revert:
                        await _call(function, self.target)
                        await history.forget(conn, migration.file)
                    else:
                        await _call(function, self.target)
                        await history.record(conn, migration.file)
                    return True
                return False
        except Exception as error:
            verb = "reverting" if revert else "applying"
            raise MigrationError(
                f"{verb} {migration.file} failed, nothing of it was kept:\n{_describe(error)}"
            ) from error
        finally:
            running_migration.reset(token)

    async def history_sync(self) -> list[str]:
        """Drop the records of applied migrations whose files are gone; their names."""
        present = {p.name for p in migration_files(self.folder)}
        dropped: list[str] = []
        async with self.store.transaction() as conn:
            for entry in await history.applied(conn):
                if entry.file not in present:
                    await history.forget(conn, entry.file)
                    dropped.append(entry.file)
        return dropped

    def create(self, name: str) -> Path:
        """Write a blank migration ``TIMESTAMP_name.py``."""
        return write_new(self.folder, _stem(name), templates.blank(name))

    async def snapshot(self, name: str = "collections_snapshot") -> Path:
        """Write a migration that recreates every collection as it is now.

        It is recorded as applied here: this app has the schema it describes.
        The file is removed again if recording it fails.
        """
        async with self.store.transaction() as conn:
            collections = await system.load_collections(conn)
            path = write_new(self.folder, _stem(name), templates.snapshot(collections))
            conn.on_rollback(lambda: path.unlink(missing_ok=True))
            await history.record(conn, path.name)
        return path


async def record_new_file(conn: Connection, folder: Path, stem: str, text: str) -> Path:
    """Write a migration file that describes a change made in ``conn``'s transaction,
    and record it as applied there: both stay only if the transaction commits."""
    path = write_new(folder, stem, text)
    conn.on_rollback(lambda: path.unlink(missing_ok=True))
    await history.record(conn, path.name)
    return path


def _stem(name: str) -> str:
    stem = file_stem(name)
    if not stem:
        raise MigrationError(f"{name!r} is not a usable migration name (use letters, digits and _)")
    return stem


async def _call(function: Any, app: Any) -> None:
    result = function(app)
    if inspect.isawaitable(result):
        await result


def _describe(error: Exception) -> str:
    """The traceback, and for an ``ApiError`` the field errors it carries."""
    text = "".join(traceback.format_exception(error)).rstrip()
    if isinstance(error, ApiError) and error.data:
        text += f"\ndetails: {error.data}"
    return text
