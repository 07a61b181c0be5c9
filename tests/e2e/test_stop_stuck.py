"""SIGTERM stops ``keelbase serve`` even while a statement runs with no end (issue 17,
defect 1): with ``--queryTimeout 0`` nothing else would ever stop it."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.pg import STORES, fresh_database, require_postgres

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
ENDLESS = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r) SELECT i AS id FROM r"
# STOP_GRACE (5 s) for in-flight statements, then the close; well under the 15 s after
# which ServerProcess.stop would kill the process.
STOP_LIMIT = 12.0


def _stops_while_stuck(data_dir: Path, db: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir),
         *db],
        check=True, capture_output=True,
    )  # fmt: skip
    monkeypatch.setenv("KEELBASE_QUERY_TIMEOUT", "0")
    server = ServerProcess(data_dir, *db)
    try:
        token = httpx.post(
            server.url + "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        answers: list[object] = []

        def create_view() -> None:
            try:
                answers.append(
                    httpx.post(
                        server.url + "/api/collections",
                        headers={"Authorization": token},
                        json={"name": "endless", "type": "view", "viewQuery": ENDLESS},
                        timeout=60,
                    )
                )
            except httpx.HTTPError as error:
                answers.append(error)

        stuck = threading.Thread(target=create_view)
        stuck.start()
        time.sleep(1.0)
        assert not answers, f"the endless query ended by itself: {answers}"
        began = time.monotonic()
        server.proc.terminate()
        code = server.proc.wait(timeout=30)
        took = time.monotonic() - began
        stuck.join(timeout=30)
        assert took < STOP_LIMIT, f"shutdown took {took:.1f}s\n{server.log()[-3000:]}"
        assert code in (0, -15), server.log()[-3000:]
        assert "keelbase stopped cleanly" in server.log()
    finally:
        server.stop()


@pytest.mark.skipif("sqlite" not in STORES, reason="SQLite not selected")
def test_sigterm_stops_a_stuck_statement_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stops_while_stuck(tmp_path / "kb_data", [], monkeypatch)


@pytest.mark.postgres
@pytest.mark.skipif("postgres" not in STORES, reason="PostgreSQL not selected")
def test_sigterm_stops_a_stuck_statement_postgres(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_postgres()
    with fresh_database() as url:
        _stops_while_stuck(tmp_path / "kb_data", ["--db", url], monkeypatch)
