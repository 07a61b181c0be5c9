"""The sync client (``clients/js-sync``) in Node against a real ``keelbase serve``, on both stores.

The Node tests (``clients/js-sync/test/*.test.mjs``, ``node:test``) go offline,
write, reload, come back, edit one record from two devices and lose access to
records; this test starts the server with a superuser and fails with Node's
output when any of them fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_js_sdk import in_ci, node, tail  # noqa: F401 - node is a fixture

pytestmark = pytest.mark.e2e

CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js-sync"
ADMIN_EMAIL = "sync-admin@example.com"
ADMIN_PASSWORD = "sync-admin-pass-123"


def start_server(data_dir: Path, db_url: str) -> ServerProcess:
    data_dir.mkdir(parents=True, exist_ok=True)
    store = ["--db", db_url] if db_url else []
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", ADMIN_EMAIL, ADMIN_PASSWORD,
         "--dir", str(data_dir), *store],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return ServerProcess(data_dir, *store)


@pytest.fixture
def sync_server(tmp_path: Path, db_url: str) -> Iterator[ServerProcess]:
    server = start_server(tmp_path / "kb_data", db_url)
    try:
        yield server
    finally:
        server.stop()


def test_sync_client_in_node(node: str, sync_server: ServerProcess) -> None:  # noqa: F811
    if not (CLIENT_DIR / "node_modules" / "pocketbase").is_dir():
        message = "clients/js-sync/node_modules is missing: run `npm install` there (make test)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    env = {
        **os.environ,
        "KB_URL": sync_server.url,
        "KB_ADMIN_EMAIL": ADMIN_EMAIL,
        "KB_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "NO_COLOR": "1",
    }
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec", "--test-force-exit", "test/"],
        cwd=CLIENT_DIR, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{output}\n--- server log ---\n{tail(sync_server.log())}"
    passed = re.search(r"^\S*\s*pass (\d+)", output, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) >= 5, f"not every Node test ran:\n{output}"
