"""``keelbase serve --durability``: the default is full, normal acts on both stores (the
crash test serves full), and a wrong value is refused (issue 17, defect 5). What the server's connections use is read
back through the SQL console of the real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from keelbase import App, Config
from keelbase.cli import build_parser, main
from keelbase.store.sqlite import SqliteStore
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
    """``normal`` through a real server; full, the default, is what the crash test serves."""
    monkeypatch.setenv("KEELBASE_DURABILITY", "full")  # the flag wins over the environment
    assert (
        _level(tmp_path / "normal", db, ["--durability", "normal"], store)
        == EXPECTED[(store, "normal")]
    )


def test_the_default_is_full(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KEELBASE_DURABILITY", raising=False)
    assert build_parser().parse_args(["serve"]).durability == "full"
    app = App(Config(data_dir=tmp_path / "kb_data"))
    assert isinstance(app.store, SqliteStore) and app.store.durability == "full"
    monkeypatch.setenv("KEELBASE_DURABILITY", "normal")
    assert build_parser().parse_args(["serve"]).durability == "normal"
    assert Config().durability == "normal"


@pytest.mark.skipif("sqlite" not in STORES, reason="SQLite not selected")
def test_durability_acts_sqlite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _check(tmp_path, [], "sqlite", monkeypatch)


@pytest.mark.postgres
@pytest.mark.skipif("postgres" not in STORES, reason="PostgreSQL not selected")
def test_durability_acts_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require_postgres()
    with fresh_database() as url:
        _check(tmp_path, ["--db", url], "postgres", monkeypatch)


def test_a_wrong_durability_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = ["serve", "--dir", str(tmp_path / "kb_data")]
    with pytest.raises(SystemExit) as flag:
        main([*run, "--durability", "fast"])
    assert flag.value.code == 2 and "invalid choice: 'fast'" in capsys.readouterr().err
    monkeypatch.setenv("KEELBASE_DURABILITY", "fast")
    assert main(run) == 2
    assert "KEELBASE_DURABILITY must be full or normal" in capsys.readouterr().err
