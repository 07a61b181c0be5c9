"""Uploads against a real server: a body cut off half way changes nothing and leaves no file."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import ServerProcess

ADMIN = ("admin@example.com", "Passw0rd123")


def test_cut_off_upload_changes_nothing(tmp_path: Path) -> None:
    data_dir = tmp_path / "kb_data"
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
        check=True,
        capture_output=True,
    )
    server = ServerProcess(data_dir)
    try:
        token = httpx.post(
            server.url + "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        created = httpx.post(
            server.url + "/api/collections",
            headers={"Authorization": token},
            json={
                "name": "up",
                "createRule": "",
                "fields": [{"name": "f", "type": "file", "maxSize": 50_000_000}],
            },
        )
        assert created.status_code == 200, created.text

        boundary = "kbboundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        declared = len(head) + 10_000_000
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(
                (
                    f"POST /api/collections/up/records HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {declared}\r\n\r\n"
                ).encode()
                + head
                + b"x" * 1_000_000
            )
            time.sleep(0.3)
        # the server must not have stored anything, and must still answer
        time.sleep(0.5)
        listing = httpx.get(
            server.url + "/api/collections/up/records", headers={"Authorization": token}
        )
        assert listing.status_code == 200
        assert listing.json()["totalItems"] == 0
        storage = data_dir / "storage"
        assert not storage.exists() or not any(p.is_file() for p in storage.rglob("*"))
    finally:
        assert server.stop() in (0, -15)
