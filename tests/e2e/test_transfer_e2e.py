"""``keelbase export``/``import``/``migrate`` as a user runs them, checked against real servers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ServerProcess

ADMIN = ("admin@example.com", "Passw0rd123")
PASSWORD = "Secret-pass-123"


def keelbase(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelbase", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def _token(url: str, collection: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/collections/{collection}/auth-with-password",
        json={"identity": email, "password": password},
    )


def _fill(url: str) -> None:
    auth = {"Authorization": _token(url, "_superusers", *ADMIN).json()["token"]}
    created = httpx.post(
        url + "/api/collections",
        headers=auth,
        json={
            "name": "notes",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "text", "type": "text"},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "doc", "type": "file", "maxSelect": 1, "maxSize": 10000},
            ],
        },
    )
    assert created.status_code == 200, created.text
    user = httpx.post(
        url + "/api/collections/users/records",
        json={"email": "u@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD},
    ).json()
    for n in range(3):
        note = httpx.post(
            url + "/api/collections/notes/records",
            headers=auth,
            data={"text": f"note {n}", "owner": user["id"]},
            files={"doc": (f"d{n}.txt", b"doc %d" % n, "text/plain")},
        )
        assert note.status_code == 200, note.text


def _answers(url: str) -> dict[str, Any]:
    auth = {"Authorization": _token(url, "_superusers", *ADMIN).json()["token"]}
    notes = httpx.get(
        url + "/api/collections/notes/records?expand=owner&sort=text", headers=auth
    ).json()
    users = httpx.get(url + "/api/collections/users/records", headers=auth).json()
    return {"notes": notes, "users": users}


def _no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


def test_export_then_import_through_the_command_line(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    archive = tmp_path / "app.zip"
    assert keelbase("superuser", "upsert", *ADMIN, "--dir", str(source)).returncode == 0
    server = ServerProcess(source)
    try:
        _fill(server.url)
        before = _answers(server.url)
    finally:
        server.stop()

    exported = keelbase("export", "--dir", str(source), str(archive))
    assert exported.returncode == 0, exported.stderr
    # the superuser, a user, three notes, and the origin of the user's sign-in
    assert "Exported 7 collections and 6 records" in exported.stdout
    assert "export notes: 3 records" in exported.stderr  # progress goes to stderr

    imported = keelbase("import", "--dir", str(target), str(archive))
    assert imported.returncode == 0, imported.stderr
    assert "counts and checksums verified" in imported.stdout
    assert "verified" in imported.stderr

    shutil.copytree(source / "storage", target / "storage")
    server = ServerProcess(target)
    try:
        assert _answers(server.url) == before
        signed = _token(server.url, "users", "u@example.com", PASSWORD)
        assert signed.status_code == 200, signed.text
        note = before["notes"]["items"][0]
        file = httpx.get(f"{server.url}/api/files/notes/{note['id']}/{note['doc']}")
        assert file.status_code == 200 and file.content == b"doc 0"
    finally:
        server.stop()

    again = keelbase("import", "--dir", str(target), str(archive))
    assert again.returncode == 1
    assert again.stderr.startswith("Error: the target app is not empty")
    _no_traceback(again)

    replaced = keelbase("import", "--replace", "--dir", str(target), str(archive))
    assert replaced.returncode == 0, replaced.stderr

    moved = keelbase("migrate", "--from", str(source), "--to", str(tmp_path / "third"))
    assert moved.returncode == 0, moved.stderr
    assert "counts and checksums verified" in moved.stdout


def test_sqlite_to_postgresql_and_back_keeps_every_answer(tmp_path: Path) -> None:
    from tests.pg import fresh_database

    source, pg_files, back = tmp_path / "source", tmp_path / "pg", tmp_path / "back"
    assert keelbase("superuser", "upsert", *ADMIN, "--dir", str(source)).returncode == 0
    server = ServerProcess(source)
    try:
        _fill(server.url)
        before = _answers(server.url)
    finally:
        server.stop()
    there, home = tmp_path / "there.zip", tmp_path / "home.zip"
    assert keelbase("export", "--dir", str(source), str(there)).returncode == 0
    with fresh_database() as url:
        imported = keelbase("import", "--dir", str(pg_files), "--db", url, str(there))
        assert imported.returncode == 0, imported.stderr
        exported = keelbase("export", "--dir", str(pg_files), "--db", url, str(home))
        assert exported.returncode == 0, exported.stderr
        shutil.copytree(source / "storage", pg_files / "storage")
        server = ServerProcess(pg_files, "--db", url)
        try:
            assert _answers(server.url) == before
            assert _token(server.url, "users", "u@example.com", PASSWORD).status_code == 200
        finally:
            server.stop()
    assert _manifest(there)["data"] == _manifest(home)["data"]  # same counts and checksums
    assert keelbase("import", "--dir", str(back), str(home)).returncode == 0
    shutil.copytree(source / "storage", back / "storage")
    server = ServerProcess(back)
    try:
        assert _answers(server.url) == before
    finally:
        server.stop()


def _manifest(archive: Path) -> dict[str, Any]:
    with zipfile.ZipFile(archive) as opened:
        manifest: dict[str, Any] = json.loads(opened.read("manifest.json"))
    return manifest


def test_bad_input_gives_one_error_line_and_exit_code(tmp_path: Path) -> None:
    target = tmp_path / "target"
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    empty_manifest = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty_manifest, "w") as zf:
        zf.writestr("manifest.json", b"[]")
    cases = [
        (("import", "--dir", str(target), str(tmp_path / "missing.zip")), "Error: no archive at"),
        (("import", "--dir", str(target), str(broken)), "not a zip file"),
        (("import", "--dir", str(target), str(empty_manifest)), "unknown format"),
        (
            ("export", "--dir", str(tmp_path / "nothing"), str(tmp_path / "x.zip")),
            "no Keelbase app",
        ),
    ]
    for args, message in cases:
        result = keelbase(*args)
        assert result.returncode == 1, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        _no_traceback(result)
    assert not target.exists() or not (target / "data.db").exists()
    usage = keelbase("import")
    assert usage.returncode == 2 and "archive" in usage.stderr
