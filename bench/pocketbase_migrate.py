"""Time ``keelbase migrate`` from a PocketBase folder with many records.

    .venv/bin/python -m bench.pocketbase_migrate [RECORDS] [--postgres]

The real PocketBase 0.40.6 creates the schema (a collection with text,
number, bool, json, date and relation fields, and one user); the records are
then written straight into its SQLite file (PocketBase stopped), which is how
100,000 rows are made in seconds. Prints the time of the whole command
(snapshot, export, import with verification) to SQLite, and to PostgreSQL
with ``--postgres``.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sqlite3
import string
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.differential.servers import start_pocketbase
from tests.e2e.pocketbase_app import superuser_headers

ALPHABET = string.ascii_lowercase + string.digits


def make_folder(root: Path, count: int) -> Path:
    server = start_pocketbase(root)
    try:
        with server.client() as client:
            su = superuser_headers(client)
            created = client.post(
                "/api/collections",
                headers=su,
                json={
                    "name": "items",
                    "listRule": "",
                    "fields": [
                        {"name": "title", "type": "text"},
                        {"name": "amount", "type": "number"},
                        {"name": "done", "type": "bool"},
                        {"name": "meta", "type": "json"},
                        {"name": "due", "type": "date"},
                        {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                        {"name": "created", "type": "autodate", "onCreate": True},
                        {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
                    ],
                },
            )
            assert created.status_code == 200, created.text
            user = client.post(
                "/api/collections/users/records",
                json={
                    "email": "u@example.com",
                    "password": "pass-12345",
                    "passwordConfirm": "pass-12345",
                },
            ).json()
    finally:
        server.stop()
    db = sqlite3.connect(server.data_dir / "data.db")
    rng = random.Random(1)
    stamp = "2025-01-02 03:04:05.678Z"
    rows = (
        (
            "".join(rng.choices(ALPHABET, k=15)),
            f"item {n}",
            n * 0.5,
            n % 2,
            json.dumps({"n": n, "tags": ["a", "b"]}),
            stamp,
            user["id"],
            stamp,
            stamp,
        )
        for n in range(count)
    )
    with db:
        db.executemany(
            "INSERT INTO items (id, title, amount, done, meta, due, owner, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    db.close()
    return server.data_dir


def timed(*args: str) -> float:
    """Wall time of the command; its CPU time (less sensitive to a busy machine) is printed."""
    cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "migrate", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(done.stderr)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = after.ru_utime - cpu.ru_utime + after.ru_stime - cpu.ru_stime
    print(done.stdout.strip().splitlines()[0])
    print(f"  CPU time of keelbase migrate: {used:.1f}s")
    return elapsed


def main() -> None:
    count = int(next((a for a in sys.argv[1:] if a.isdigit()), "100000"))
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        source = make_folder(root, count)
        print(
            f"PocketBase folder with {count} records made in {time.perf_counter() - started:.1f}s"
        )
        seconds = timed("--from", str(source), "--to", str(root / "kb_data"))
        print(f"migrate to SQLite: {seconds:.1f}s ({count / seconds:.0f} records/s)")
        if "--postgres" in sys.argv:
            from tests.pg import fresh_database

            with fresh_database() as url:
                seconds = timed("--from", str(source), "--to", url, "--dir", str(root / "pg"))
                print(f"migrate to PostgreSQL: {seconds:.1f}s ({count / seconds:.0f} records/s)")


if __name__ == "__main__":
    main()
