"""Automigrate: each change of collections made while the server runs becomes a migration file.

With ``--dev`` (or ``--automigrate``) every collection created, updated or
deleted, and every import, writes ``kb_migrations/TIMESTAMP_<action>_<name>.py``
holding the collection's JSON before and after and an ``up``/``down`` that
redo and undo it, and records the file as applied, both in the change's own
transaction: the file exists exactly when the change committed. Replaying the
folder on an empty app gives the same collections.

Changes made by migrations themselves are not recorded again.
"""

from __future__ import annotations

import logging
from pathlib import Path

from keelbase.services.collections.changes import SchemaChange
from keelbase.services.migrations import templates
from keelbase.services.migrations.files import file_stem
from keelbase.services.migrations.runner import record_new_file, running_migration
from keelbase.store.base import Connection

log = logging.getLogger("keelbase.migrations")


class AutoMigrate:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def record(self, conn: Connection, change: SchemaChange) -> None:
        if running_migration.get():
            return
        written = templates.for_change(change)
        if written is None:
            return
        stem, text = written
        path = await record_new_file(conn, self.folder, file_stem(stem), text)
        log.info("automigrate: wrote %s", path)
