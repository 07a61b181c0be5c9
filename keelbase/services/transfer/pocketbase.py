"""Reading a PocketBase (0.23+) data folder without changing it.

Keelbase keeps PocketBase's table layout, so once PocketBase's database is
copied aside, the ordinary export reads it. What this module adds is what only
PocketBase's folder has: telling it apart from a Keelbase folder (and from an
older PocketBase whose layout differs), a consistent copy taken through
SQLite's backup API from a read-only connection, settings PocketBase encrypted
with ``--encryptionEnv``, and the list of what cannot travel (JavaScript hooks
and migrations, logs).

The source folder is opened read-only and never written to: that is the
promise behind "serve it again with PocketBase if you change your mind".
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from keelbase.services.transfer.archive import TransferError

__all__ = [
    "PocketBaseFolder",
    "PocketBaseFolderError",
    "inspect",
    "is_keelbase_folder",
    "is_pocketbase_folder",
    "left_behind",
    "refusal",
    "refuse_pocketbase_folder",
    "snapshot",
]

# PocketBase records its own (Go) migrations by file name; these are in every 0.23+ folder.
_INIT_MIGRATION = "1640988000_init.go"
_V023_MIGRATION = "1717233556_v0.23_migrate.go"
SETTINGS_KEY = "settings"
_GCM_NONCE = 12


class PocketBaseFolderError(TransferError):
    """Keelbase was asked to open a PocketBase folder as its own app (it would change it)."""


@dataclass(frozen=True)
class PocketBaseFolder:
    """A data folder recognised as PocketBase 0.23+; ``encrypted`` when its settings are."""

    path: Path
    encrypted: bool

    @property
    def db_path(self) -> Path:
        return self.path / "data.db"

    @property
    def storage(self) -> Path:
        return self.path / "storage"


@contextlib.contextmanager
def _read_only(db_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection that cannot write: the folder is PocketBase's, not ours.

    Without a ``-wal`` file beside it (PocketBase stopped cleanly) the database
    file is complete and opened as immutable, so not even SQLite's ``-wal`` and
    ``-shm`` side files appear; with one (PocketBase running, or stopped
    abruptly) the WAL must be read too, which needs the shared-memory file.
    """
    wal = db_path.with_name(db_path.name + "-wal")
    mode = "mode=ro" if wal.exists() else "mode=ro&immutable=1"
    conn = sqlite3.connect(f"{db_path.resolve().as_uri()}?{mode}", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def _tables(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {str(row[0]) for row in rows}


def _go_migrations(conn: sqlite3.Connection) -> set[str]:
    rows = conn.execute('SELECT "file" FROM "_migrations" WHERE "file" LIKE \'%.go\'').fetchall()
    return {str(row[0]) for row in rows}


def is_pocketbase_folder(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds PocketBase's database (any version), read without a write.

    PocketBase records its Go migrations (``1640988000_init.go``, ...) in
    ``_migrations``; Keelbase never writes such a row. Anything unreadable is
    left for the caller's own checks to report.
    """
    db_path = data_dir / "data.db"
    if not db_path.is_file():
        return False
    try:
        with _read_only(db_path) as conn:
            tables = _tables(conn)
            if "_admins" in tables and "_collections" in tables:
                return True  # PocketBase before 0.23
            if "_migrations" not in tables or "file" not in _columns(conn, "_migrations"):
                return False  # Keelbase's own migrations table may differ; it has no Go files
            try:
                return bool(_go_migrations(conn))
            except sqlite3.Error:
                return True  # a damaged PocketBase file is still not ours to open
    except sqlite3.Error:
        return False


def is_keelbase_folder(data_dir: Path) -> bool:
    """Whether ``data_dir`` holds an app Keelbase may open: its tables, and not PocketBase's.

    Raises ``TransferError`` when data.db is not a readable SQLite database,
    so that nothing opens (and bootstraps tables into) a file it does not know.
    """
    db_path = data_dir / "data.db"
    if not db_path.is_file():
        return False
    try:
        with _read_only(db_path) as conn:
            tables = _tables(conn)
    except sqlite3.Error as error:
        raise TransferError(
            f"{db_path} cannot be read (damaged or not a SQLite database): {error}"
        ) from error
    return {"_collections", "_params"} <= tables and not is_pocketbase_folder(data_dir)


def refuse_pocketbase_folder(data_dir: Path) -> None:
    """Raise ``PocketBaseFolderError`` when ``data_dir`` is PocketBase's (see ``refusal``)."""
    reason = refusal(data_dir)
    if reason is not None:
        raise PocketBaseFolderError(reason)


def refusal(data_dir: Path) -> str | None:
    """Why Keelbase must not open ``data_dir`` as its own app, or None when it may."""
    if not is_pocketbase_folder(data_dir):
        return None
    return (
        f"{data_dir} is a PocketBase data folder. Keelbase does not serve it directly: it "
        "would add tables and rehash passwords, after which PocketBase could not read it "
        "any more. Copy it into a Keelbase app instead (the PocketBase folder stays as it "
        f"is): keelbase migrate --from {data_dir} --to ./kb_data"
    )


def inspect(data_dir: Path) -> PocketBaseFolder:
    """The folder as a PocketBase 0.23+ app, or ``TransferError`` saying what it is instead."""
    db_path = data_dir / "data.db"
    if not data_dir.is_dir():
        raise TransferError(f"no data folder at {data_dir}")
    if not db_path.is_file():
        raise TransferError(f"no app in {data_dir} (it has no data.db)")
    try:
        with _read_only(db_path) as conn:
            tables = _tables(conn)
            if "_admins" in tables or (
                "_collections" in tables and "schema" in _columns(conn, "_collections")
            ):
                raise TransferError(
                    f"{data_dir} was made by PocketBase before 0.23, which Keelbase does not "
                    "read. Start it once with PocketBase 0.23 or newer (it upgrades the folder), "
                    "then run keelbase migrate again"
                )
            missing = {"_collections", "_params", "_migrations", "_superusers"} - tables
            if missing:
                raise TransferError(
                    f"{data_dir} is not a PocketBase data folder "
                    f"(data.db has no {', '.join(sorted(missing))} table)"
                )
            migrations = _go_migrations(conn)
            if _INIT_MIGRATION not in migrations:
                raise TransferError(
                    f"{data_dir} is not a PocketBase data folder "
                    f"(data.db has not applied PocketBase's {_INIT_MIGRATION})"
                )
            if _V023_MIGRATION not in migrations:
                raise TransferError(
                    f"{data_dir} was made by an unsupported PocketBase version "
                    f"(no {_V023_MIGRATION}); Keelbase reads PocketBase 0.23 and newer"
                )
            raw = conn.execute(
                'SELECT "value" FROM "_params" WHERE "id" = ?', (SETTINGS_KEY,)
            ).fetchone()
    except sqlite3.Error as error:
        raise TransferError(f"{db_path} cannot be read as a SQLite database: {error}") from error
    return PocketBaseFolder(data_dir, encrypted=raw is not None and _is_encrypted(raw[0]))


def _columns(conn: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in conn.execute(f'PRAGMA table_info("{table}")').fetchall()}


def _is_encrypted(value: object) -> bool:
    """PocketBase writes encrypted settings as base64 text instead of a JSON object."""
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return isinstance(value, str) and not value.lstrip().startswith("{")


def snapshot(folder: PocketBaseFolder, target: Path, encryption_key: str | None) -> None:
    """Copy the folder's database to ``target`` and make the copy ready for the export.

    The copy goes through SQLite's backup API from a read-only connection, so it
    is consistent even if a PocketBase server is still writing, and the source
    is never written. The copy is then checked page by page (a truncated or
    damaged file stops here), its settings decrypted, and PocketBase's migration
    history emptied (it describes PocketBase's Go code, not the app).
    """
    try:
        with _read_only(folder.db_path) as source:
            copy = sqlite3.connect(target)
            try:
                source.backup(copy)
                problems = [str(row[0]) for row in copy.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    raise TransferError(
                        f"{folder.db_path} cannot be read: it is damaged "
                        f"({'; '.join(problems[:3])})"
                    )
                if folder.encrypted:
                    _decrypt_settings(copy, folder, encryption_key)
                # PocketBase's own (Go) migrations mean nothing to Keelbase: the history starts empty.
                copy.execute('DELETE FROM "_migrations"')
                copy.commit()
            finally:
                copy.close()
    except sqlite3.Error as error:
        raise TransferError(
            f"{folder.db_path} cannot be read (damaged or not a SQLite database): {error}"
        ) from error


def _decrypt_settings(
    copy: sqlite3.Connection, folder: PocketBaseFolder, encryption_key: str | None
) -> None:
    # Imported here: only a migration of encrypted settings needs it, not every start.
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if not encryption_key:
        raise TransferError(
            f"the settings in {folder.db_path} are encrypted (PocketBase ran with "
            "--encryptionEnv); pass the same variable: keelbase migrate --encryptionEnv NAME"
        )
    raw = copy.execute('SELECT "value" FROM "_params" WHERE "id" = ?', (SETTINGS_KEY,)).fetchone()
    text = raw[0].decode() if isinstance(raw[0], bytes) else str(raw[0])
    try:
        sealed = base64.b64decode(text.strip(), validate=True)
        plain = AESGCM(encryption_key.encode()).decrypt(
            sealed[:_GCM_NONCE], sealed[_GCM_NONCE:], None
        )
        settings = orjson.loads(plain)
    except (binascii.Error, ValueError, InvalidTag, orjson.JSONDecodeError) as error:
        raise TransferError(
            "the settings could not be decrypted with the given key "
            "(it must be the 32-character value PocketBase ran with)"
        ) from error
    copy.execute(
        'UPDATE "_params" SET "value" = ? WHERE "id" = ?',
        (orjson.dumps(settings).decode(), SETTINGS_KEY),
    )


def left_behind(folder: PocketBaseFolder, collections: list[dict[str, Any]]) -> list[str]:
    """What the migration does not carry, one line each, by name, for the user to act on.

    ``collections`` are the carried definitions: an OAuth2 provider Keelbase
    has no client for is carried with its settings but not offered, so it is
    named here too.
    """
    from keelbase.core.auth.oauth2_providers import PROVIDER_NAMES  # not needed at start

    lines: list[str] = []
    for collection in collections:
        oauth2 = collection.get("oauth2") or {}
        for provider in oauth2.get("providers") or []:
            name = provider.get("name") if isinstance(provider, dict) else None
            if isinstance(name, str) and name not in PROVIDER_NAMES:
                lines.append(
                    f"{collection.get('name')}: OAuth2 provider {name!r} is carried with its "
                    "settings, but this Keelbase has no such provider, so sign-in with it is "
                    "not offered"
                )
    parent = folder.path.resolve().parent
    hooks = parent / "pb_hooks"
    for path in _files(hooks):
        lines.append(
            f"pb_hooks/{path.relative_to(hooks)}: JavaScript hooks do not run on Keelbase; "
            "write them again in Python in kb_hooks/ (see docs/hooks.md)"
        )
    migrations = parent / "pb_migrations"
    applied = _applied_migrations(folder)
    for path in _files(migrations):
        state = (
            "already applied, so its changes are carried"
            if path.name in applied
            else "NOT applied by PocketBase, so its changes are not carried"
        )
        lines.append(
            f"pb_migrations/{path.relative_to(migrations)}: JavaScript migration ({state}); "
            "Keelbase runs Python migrations only"
        )
    public = parent / "pb_public"
    if public.is_dir() and any(public.iterdir()):
        lines.append("pb_public/: static files are not copied; copy the folder to kb_public/")
    backups = folder.path / "backups"
    for path in _files(backups):
        lines.append(
            f"backups/{path.name}: PocketBase's backup archives stay behind (this migration "
            "carried the current data)"
        )
    if (folder.path / "auxiliary.db").is_file():
        lines.append("auxiliary.db: PocketBase's request and app logs stay behind")
    return lines


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def _applied_migrations(folder: PocketBaseFolder) -> set[str]:
    try:
        with _read_only(folder.db_path) as conn:
            return {str(row[0]) for row in conn.execute('SELECT "file" FROM "_migrations"')}
    except sqlite3.Error:
        return set()
