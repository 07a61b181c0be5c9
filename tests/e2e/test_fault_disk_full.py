"""The disk full under the data folder (issue 17): ``keelbase serve`` keeps its data on
a 4 MB tmpfs the test mounts; the test fills it with uploads, deletes them, then
fills it with a file of its own.

Writes then fail with a clear 503 in PocketBase's error shape (never a 500), reads
and the health check go on, writes work again once space is freed, and SQLite's
``PRAGMA integrity_check`` finds the database intact.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
SIZE = "4m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        reason = f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _shape(response: httpx.Response) -> None:
    """A failed write: a 4xx or a 503, in PocketBase's error shape."""
    assert response.status_code != 500 and (
        400 <= response.status_code < 500 or response.status_code == 503
    ), (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"status", "message", "data"} and body["status"] == response.status_code


def _fill(path: Path) -> None:
    with open(path, "wb", buffering=0) as out:  # unbuffered: nothing left to fail on close
        try:
            while True:
                out.write(b"\0" * 65536)
        except OSError:
            pass


def test_full_disk_gives_clear_errors_keeps_reads_and_recovers(small_disk: Path) -> None:
    data_dir = small_disk / "kb_data"
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
                   check=True, capture_output=True)  # fmt: skip
    server = ServerProcess(data_dir)
    try:
        token = httpx.post(server.url + "/api/collections/_superusers/auth-with-password",
                           json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
        made = httpx.post(server.url + "/api/collections", headers={"Authorization": token}, json={
            "name": "docs", "listRule": "", "viewRule": "", "createRule": "", "deleteRule": "",
            "fields": [{"name": "title", "type": "text", "max": 200000},
                       {"name": "doc", "type": "file", "maxSize": 8 << 20}]})  # fmt: skip
        assert made.status_code == 200, made.text
        with httpx.Client(base_url=server.url, timeout=10) as client:
            first = client.post("/api/collections/docs/records", json={"title": "kept"})
            assert first.status_code == 200, first.text

            # uploads until the disk refuses one
            failed: list[httpx.Response] = []
            uploaded: list[str] = []
            for n in range(40):
                answer = client.post("/api/collections/docs/records", data={"title": f"u{n}"},
                                     files={"doc": (f"f{n}.bin", os.urandom(512 * 1024))})  # fmt: skip
                if answer.status_code != 200:
                    failed.append(answer)
                    break
                uploaded.append(answer.json()["id"])
            assert failed, "4 MB took 20 MB of uploads: the disk never filled"
            _shape(failed[0])
            assert failed[0].status_code == 503, failed[0].text
            parts = list((data_dir / "storage").rglob("*.part"))
            assert not parts, f"a failed upload left {parts}"
            # deleting records (and so their files) needs next to no space and frees it
            for record_id in uploaded:
                gone = client.delete(f"/api/collections/docs/records/{record_id}")
                assert gone.status_code == 204, gone.text

            # then every last byte taken by a filler, and plain JSON writes
            _fill(small_disk / "filler")
            writes = [
                client.post("/api/collections/docs/records", json={"title": "x" * 100_000})
                for _ in range(5)
            ]
            refused = [w for w in writes if w.status_code != 200]
            assert refused, "writes still succeeded on a full disk"
            for answer in refused:
                _shape(answer)
            assert any(w.status_code == 503 for w in refused), [w.text for w in refused]

            # reads go on
            listed = client.get("/api/collections/docs/records", params={"filter": "title='kept'"})
            assert listed.status_code == 200 and listed.json()["totalItems"] == 1
            assert client.get("/api/health").status_code == 200

            # space freed: writes work again
            (small_disk / "filler").unlink()
            again = client.post("/api/collections/docs/records", json={"title": "after"})
            assert again.status_code == 200, again.text
            uploaded = client.post("/api/collections/docs/records", data={"title": "file after"},
                                   files={"doc": ("after.bin", b"after")})  # fmt: skip
            assert uploaded.status_code == 200, uploaded.text
            assert client.get(f"/api/files/docs/{uploaded.json()['id']}/"
                              f"{uploaded.json()['doc']}").content == b"after"  # fmt: skip
        log = server.log()
        assert "unhandled error" not in log, log[-4000:]
        assert server.proc.poll() is None
    finally:
        server.stop()
    with sqlite3.connect(data_dir / "data.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
