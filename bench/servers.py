"""Starting Keelbase and the real PocketBase side by side for measurements."""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

ADMIN = ("admin@example.com", "Passw0rd123")
POCKETBASE = Path(sys.executable).parent / "pocketbase"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raise_fd_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """One server process on a free port with a fresh data folder and a superuser."""

    def __init__(
        self,
        kind: str,
        workdir: Path,
        cpu: int | str | None = None,
        db_url: str = "",
        port: int = 0,
        workers: int | None = None,
    ) -> None:
        """``kind``: ``pocketbase``, ``keelbase`` or ``keelbase-granian`` (Keelbase served by
        granian, ``--http-server granian``).
        ``cpu``: the cores it may use (taskset list: ``0`` or ``0,1``; None: all).
        ``workers``: Keelbase's ``--workers`` (None: its default, one per usable core)."""
        self.kind = kind
        self.data = workdir / f"{kind}_data"
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        data = self.data
        shutil.rmtree(data, ignore_errors=True)
        if kind == "pocketbase":
            prefix = [str(POCKETBASE)]
            extra = ["--automigrate=false"]
        else:
            prefix = [sys.executable, "-m", "keelbase"]
            extra = ["--db", db_url] if db_url else []
        serve_extra = ["--workers", str(workers)] if kind != "pocketbase" and workers else []
        if kind != "pocketbase":  # the kind says which, whatever KEELBASE_HTTP_SERVER says
            serve_extra += ["--http-server", "granian" if kind == "keelbase-granian" else "uvicorn"]
        subprocess.run(
            [*prefix, "superuser", "upsert", *ADMIN, "--dir", str(data), *extra],
            check=True,
            capture_output=True,
        )
        command = [*prefix, "serve", "--http", f"127.0.0.1:{self.port}", "--dir", str(data), *extra,
                   *serve_extra]  # fmt: skip
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        self.log = open(workdir / f"{kind}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_raise_fd_limit,
            env={k: v for k, v in {**os.environ, "PYTHONUNBUFFERED": "1"}.items() if k != "KEELBASE_WORKERS"},
        )  # fmt: skip
        self._wait_ready()
        self.token = httpx.post(self.url + "/api/collections/_superusers/auth-with-password",
                                json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} did not start (log in {self.log.name})")
            time.sleep(0.1)

    @property
    def server_pid(self) -> int:
        """The server's own pid (taskset execs, so it is the same process)."""
        return self.proc.pid

    def processes(self) -> list[int]:
        """The server and its descendants (Keelbase's workers, uvicorn's helpers)."""
        found, todo = [], [self.server_pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            for task in Path(f"/proc/{pid}/task").glob("*/children"):
                with suppress(OSError):
                    todo.extend(int(child) for child in task.read_text().split())
        return found

    def rss_mb(self) -> float:
        return self._status("VmRSS:")

    def peak_rss_mb(self) -> float:
        """The sum of every process's peak (an upper bound of the tree's peak)."""
        return self._status("VmHWM:")

    def _status(self, key: str) -> float:
        total = 0.0
        for pid in self.processes():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            total += next((int(x.split()[1]) / 1024 for x in lines if x.startswith(key)), 0.0)
        return total

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.processes():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class BareServer(Server):
    """The bare-stack ceiling app, reading a copy of Keelbase's data file."""

    def __init__(self, db_path: Path, workdir: Path, cpu: int | str | None = None) -> None:
        self.kind = "bare"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        copy = workdir / "bare.db"
        shutil.copy(db_path, copy)
        for suffix in ("-wal", "-shm"):
            source = Path(str(db_path) + suffix)
            if source.exists():
                shutil.copy(source, Path(str(copy) + suffix))
        command = [sys.executable, "-m", "bench.bare_app", str(copy), str(self.port)]
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        self.log = open(workdir / "bare.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            command, stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=_raise_fd_limit
        )
        self._wait_ready()
        self.token = ""


@contextmanager
def fresh_postgres(base_url: str, name: str) -> Iterator[str]:
    """A new PostgreSQL database for one run, dropped afterwards."""
    import asyncpg

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(base_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}"'))
    asyncio.run(run(f"CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8'"))
    try:
        yield base_url.rpartition("/")[0] + "/" + name
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
