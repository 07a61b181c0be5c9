"""Telling a PocketBase folder apart, without writing to it; the app refuses to open one.

These use small hand-made SQLite files with PocketBase's markers, so they run
in milliseconds; ``tests/e2e/test_pocketbase_migrate_e2e.py`` uses folders
made by the real PocketBase.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sqlite3
from pathlib import Path

import orjson
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from keelbase import App, Config
from keelbase.services.transfer import pocketbase
from keelbase.services.transfer.archive import TransferError

KEY = "0123456789abcdef0123456789abcdef"


def _pocketbase_db(folder: Path, settings: str = '{"meta": {"appName": "X"}}') -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(folder / "data.db")
    conn.executescript(
        "CREATE TABLE _collections (id TEXT, name TEXT, fields TEXT);"
        "CREATE TABLE _params (id TEXT, value TEXT);"
        "CREATE TABLE _superusers (id TEXT);"
        "CREATE TABLE _migrations (file TEXT, applied INTEGER);"
        "INSERT INTO _migrations VALUES ('1640988000_init.go', 1), "
        "('1717233556_v0.23_migrate.go', 2);"
    )
    conn.execute("INSERT INTO _params VALUES ('settings', ?)", (settings,))
    conn.commit()
    conn.close()
    return folder


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_a_pocketbase_folder_is_recognised_without_a_write(tmp_path: Path) -> None:
    folder = _pocketbase_db(tmp_path / "pb_data")
    before = _files(folder)
    assert pocketbase.is_pocketbase_folder(folder)
    assert not pocketbase.is_keelbase_folder(folder)
    found = pocketbase.inspect(folder)
    assert not found.encrypted
    assert "keelbase migrate --from" in (pocketbase.refusal(folder) or "")
    assert _files(folder) == before  # not even -wal/-shm side files


def test_a_keelbase_folder_is_not_taken_for_pocketbase(tmp_path: Path) -> None:
    app = App(Config(data_dir=tmp_path / "kb_data"))

    async def start_stop() -> None:
        await app.start()
        await app.stop()

    asyncio.run(start_stop())
    assert not pocketbase.is_pocketbase_folder(tmp_path / "kb_data")
    assert pocketbase.is_keelbase_folder(tmp_path / "kb_data")
    assert pocketbase.refusal(tmp_path / "kb_data") is None
    assert not pocketbase.is_pocketbase_folder(tmp_path / "missing")


def test_other_migration_tables_are_not_pocketbase(tmp_path: Path) -> None:
    """Keelbase's own migrations (Python files) or another layout never look like PocketBase."""
    for layout, rows in (
        ("(file TEXT, applied INTEGER)", "('1700000000_add_posts.py', 1)"),
        ("(name TEXT, applied INTEGER)", "('1640988000_init.go', 1)"),
    ):
        folder = tmp_path / layout.split()[0].strip("(")
        folder.mkdir()
        conn = sqlite3.connect(folder / "data.db")
        conn.executescript(
            "CREATE TABLE _collections (id TEXT); CREATE TABLE _params (id TEXT);"
            f"CREATE TABLE _migrations {layout}; INSERT INTO _migrations VALUES {rows};"
        )
        conn.close()
        assert not pocketbase.is_pocketbase_folder(folder)
        assert pocketbase.refusal(folder) is None


def test_the_app_refuses_to_open_a_pocketbase_folder(tmp_path: Path) -> None:
    folder = _pocketbase_db(tmp_path / "pb_data")
    before = _files(folder)
    app = App(Config(data_dir=folder))
    with pytest.raises(pocketbase.PocketBaseFolderError, match="keelbase migrate"):
        asyncio.run(app.start())
    assert _files(folder) == before


def test_versions_before_0_23_are_refused(tmp_path: Path) -> None:
    folder = _pocketbase_db(tmp_path / "pb_data")
    conn = sqlite3.connect(folder / "data.db")
    conn.execute("DELETE FROM _migrations WHERE file LIKE '%v0.23%'")
    conn.commit()
    conn.close()
    with pytest.raises(TransferError, match="unsupported PocketBase version"):
        pocketbase.inspect(folder)


def test_encrypted_settings_are_decrypted_with_the_key_only(tmp_path: Path) -> None:
    nonce = os.urandom(12)
    sealed = AESGCM(KEY.encode()).encrypt(nonce, b'{"smtp": {"password": "p"}}', None)
    folder = _pocketbase_db(tmp_path / "pb_data", base64.b64encode(nonce + sealed).decode())
    found = pocketbase.inspect(folder)
    assert found.encrypted
    with pytest.raises(TransferError, match="encryptionEnv"):
        pocketbase.snapshot(found, tmp_path / "a.db", None)
    with pytest.raises(TransferError, match="could not be decrypted"):
        pocketbase.snapshot(found, tmp_path / "b.db", "x" * 32)
    pocketbase.snapshot(found, tmp_path / "c.db", KEY)
    copy = sqlite3.connect(tmp_path / "c.db")
    value = copy.execute("SELECT value FROM _params WHERE id = 'settings'").fetchone()[0]
    history = copy.execute('SELECT count(*) FROM "_migrations"').fetchone()[0]
    copy.close()
    assert orjson.loads(value) == {"smtp": {"password": "p"}}
    assert history == 0  # PocketBase's own history does not travel
