"""``keelbase backup create|list|restore`` as a user runs them with the server down."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from keelbase import App, Config


def keelbase(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelbase", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def collection_names(data_dir: Path, db_url: str) -> set[str]:
    async def names() -> set[str]:
        async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
            return {c.name for c in app.records.schema}

    return asyncio.run(names())


def add_collection(data_dir: Path, db_url: str, name: str) -> None:
    async def add() -> None:
        async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
            await app.collections.create({"name": name, "type": "base"})

    asyncio.run(add())


def test_create_list_restore(tmp_path: Path, fresh_db_url: str) -> None:
    data = tmp_path / "kb_data"
    place = ["--dir", str(data)] + (["--db", fresh_db_url] if fresh_db_url else [])
    add_collection(data, fresh_db_url, "before")
    made = keelbase("backup", *place, "create", "one.zip")
    assert made.returncode == 0, made.stderr
    assert "one.zip written and checked" in made.stdout
    listed = keelbase("backup", *place, "list")
    assert listed.returncode == 0 and listed.stdout.startswith("one.zip\t")
    add_collection(data, fresh_db_url, "after")
    restored = keelbase("backup", *place, "restore", "one.zip")
    assert restored.returncode == 0, restored.stderr
    names = collection_names(data, fresh_db_url)
    assert "before" in names and "after" not in names


def test_bad_input_is_one_error_line(tmp_path: Path, fresh_db_url: str) -> None:
    data = tmp_path / "kb_data"
    place = ["--dir", str(data)] + (["--db", fresh_db_url] if fresh_db_url else [])
    add_collection(data, fresh_db_url, "kept")
    assert keelbase("backup", *place, "create", "one.zip").returncode == 0
    (data / "backups" / "junk.zip").write_bytes(b"PK\x03\x04 cut short")
    for args, message in [
        (("create", "../up.zip"), "invalid backup name"),
        (("create", "one.zip"), "exists already"),
        (("restore", "missing.zip"), "no backup named"),
        (("restore", "junk.zip"), "not a zip file"),
    ]:
        result = keelbase("backup", *place, *args)
        assert result.returncode == 1, (args, result.stdout)
        assert result.stderr.startswith("Error: ") and message in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert "kept" in collection_names(data, fresh_db_url)
    nowhere = keelbase("backup", "--dir", str(tmp_path / "none"), "list")
    assert nowhere.returncode == 1 and "no Keelbase app" in nowhere.stderr
