"""Shared fixtures: an in-process app, a real ``keelbase serve`` process, and an S3 server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest
from starlette.testclient import TestClient

from keelbase import App, Config
from tests.pg import STORES, fresh_database

# Apps and servers commit without syncing (``--durability normal``) unless a test asks for
# full: a sync per commit doubles the API tests' time. tests/store/ (SqliteStore's own
# default is full) and the durability tests cover full.
os.environ.setdefault("KEELBASE_DURABILITY", "normal")
# Every other ``keelbase serve`` a test starts (subprocess.run, the differential and browser
# servers) runs one process, as before serve's default became one worker per core; the
# tests of several workers pass ``--workers`` themselves.
os.environ.setdefault("KEELBASE_WORKERS", "1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=STORES)
def fresh_db_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty database of the test's own: "" (SQLite) or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield ""
        return
    with fresh_database() as url:
        yield url


@pytest.fixture
def db_url(fresh_db_url: str) -> str:
    """The test's own empty database, for tests that start their own app."""
    return fresh_db_url


@pytest.fixture
def app(tmp_path: Path) -> App:
    return App(Config(data_dir=tmp_path / "kb_data"))


@pytest.fixture
def client(app: App) -> Iterator[TestClient]:
    with TestClient(app.asgi, raise_server_exceptions=False) as test_client:
        yield test_client


class ServerProcess:
    """A ``keelbase serve`` child process on a free loopback port."""

    def __init__(self, data_dir: Path, *extra: str, ready_timeout: float = 20.0) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir.parent / f"server-{self.port}.log"
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "keelbase",
                "serve",
                "--http",
                f"127.0.0.1:{self.port}",
                "--dir",
                str(data_dir),
                # one process unless the test asks for workers: serve's default is one per core
                *(() if "--workers" in extra else ("--workers", "1")),
                *extra,
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            self._wait_ready(ready_timeout)
        except BaseException:
            self.stop()  # a server that did not come up in time must not outlive the test
            raise

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"keelbase serve exited early:\n{self.log()}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"keelbase serve did not answer in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.terminate()
        try:
            code = self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._log.close()
        return code


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path / "kb_data")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    binary = Path(sys.executable).parent / "moto_server"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1)
            break
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moto_server did not start:\n{log.read_text()}") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def bucket(s3_server: str) -> str:
    name = f"kb-test-{time.monotonic_ns()}"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    client.create_bucket(Bucket=name)
    return name
