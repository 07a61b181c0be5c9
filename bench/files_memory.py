"""Peak memory of a real ``keelbase serve`` while a large file goes up and comes back down.

    .venv/bin/python -m bench.files_memory [SIZE_MB]

Prints the server's peak RSS (VmHWM) before, after the upload and after the
download. Streaming means the peak stays far below the file's size.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.conftest import ServerProcess

ADMIN = ("admin@example.com", "Passw0rd123")
CHUNK = 1 << 20


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def body(boundary: str, size: int) -> Iterator[bytes]:
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    block = bytes(range(256)) * (CHUNK // 256)
    sent = 0
    while sent < size:
        piece = block[: min(CHUNK, size - sent)]
        sent += len(piece)
        yield piece
    yield f"\r\n--{boundary}--\r\n".encode()


def main() -> None:
    size = int(sys.argv[1] if len(sys.argv) > 1 else 1024) * CHUNK
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "kb_data"
        subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
                       check=True, capture_output=True)  # fmt: skip
        server = ServerProcess(data_dir)
        try:
            pid = server.proc.pid
            client = httpx.Client(base_url=server.url, timeout=600)
            token = client.post("/api/collections/_superusers/auth-with-password",
                                json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
            headers = {"Authorization": token}
            client.post("/api/collections", headers=headers, json={
                "name": "big", "fields": [{"name": "f", "type": "file", "maxSize": size + CHUNK}]}).raise_for_status()  # fmt: skip
            idle = peak_rss_mb(pid)
            boundary = "kbbench"
            started = time.monotonic()
            response = client.post(
                "/api/collections/big/records",
                headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}",
                         "Content-Length": str(sum(len(b) for b in body(boundary, 0)) + size)},
                content=body(boundary, size),
            )  # fmt: skip
            response.raise_for_status()
            uploaded = time.monotonic() - started
            after_upload = peak_rss_mb(pid)
            record = response.json()
            started = time.monotonic()
            received = 0
            with client.stream("GET", f"/api/files/big/{record['id']}/{record['f']}") as download:
                for chunk in download.iter_bytes(CHUNK):
                    received += len(chunk)
            downloaded = time.monotonic() - started
            after_download = peak_rss_mb(pid)
            assert received == size, (received, size)
            print(f"file size:            {size / CHUNK:.0f} MiB")
            print(f"peak RSS idle:        {idle:.1f} MiB")
            print(
                f"peak RSS after upload:   {after_upload:.1f} MiB  ({size / CHUNK / uploaded:.0f} MiB/s)"
            )
            print(
                f"peak RSS after download: {after_download:.1f} MiB  ({size / CHUNK / downloaded:.0f} MiB/s)"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()
