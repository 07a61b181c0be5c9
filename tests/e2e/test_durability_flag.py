"""``keelbase serve --durability``: the default is full, normal acts on both stores, and a
wrong value is refused (issue 17, defect 5). What the server's connections use is read
back through the SQL console of the real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_crash_durability import PatientServer
from tests.pg import STORES, fresh_database, require_postgres

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
READ_BACK = {
    "sqlite": "SELECT synchronous AS level FROM pragma_synchronous",
    "postgres": "SELECT current_setting('synchronous_commit') AS level",
}
EXPECTED = {("sqlite", "full"): "2", ("sqlite", "normal"): "1"} | {
    ("postgres", "full"): "on",
    ("postgres", "normal"): "off",
}


def _level(data_dir: Path, db: list[str], flags: list[str], store: str) -> str:
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
         "--dir", str(data_dir), *db],
        check=True, capture_output=True,
    )  # fmt: skip
    server = PatientServer(data_dir, *db, *flags)
    try:
        token = httpx.post(
            server.url + "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        answer = httpx.post(
            server.url + "/api/sql",
            headers={"Authorization": token},
            json={"query": READ_BACK[store]},
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["rows"][0][0])
    finally:
        server.stop()


def _check(tmp_path: Path, db: list[str], store: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEELBASE_DURABILITY", raising=False)  # the default: full
    assert _level(tmp_path / "default", db, [], store) == EXPECTED[(store, "full")]
    assert (
        _level(tmp_path / "normal", db, ["--durability", "normal"], store)
        == EXPECTED[(store, "normal")]
    )


@pytest.mark.skipif("sqlite" not in STORES, reason="SQLite not selected")
def test_durability_acts_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(tmp_path, [], "sqlite", monkeypatch)


@pytest.mark.postgres
@pytest.mark.skipif("postgres" not in STORES, reason="PostgreSQL not selected")
def test_durability_acts_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    with fresh_database() as url:
        _check(tmp_path, ["--db", url], "postgres", monkeypatch)


def test_a_wrong_durability_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data")]
    flag = subprocess.run([*run, "--durability", "fast"], capture_output=True, text=True)
    assert flag.returncode == 2 and "invalid choice: 'fast'" in flag.stderr
    monkeypatch.setenv("KEELBASE_DURABILITY", "fast")
    env = subprocess.run(run, capture_output=True, text=True)
    assert env.returncode == 2 and "KEELBASE_DURABILITY must be full or normal" in env.stderr
