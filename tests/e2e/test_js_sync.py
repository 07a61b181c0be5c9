"""The sync client (``clients/js-sync``) in Node against a real ``keelbase serve``, on both stores.

The Node tests (``clients/js-sync/test/*.test.mjs``, ``node:test``) go offline,
write, reload (memory and a file), come back, edit one record from two devices and
lose access to records (through the record, the user's auth record, a related
record); this test starts the server with a superuser and fails with Node's
output when any of them fails.

The package is plain JavaScript with hand-written TypeScript declarations
(``src/index.d.ts``): ``tsc --noEmit`` checks them against a small typed app
(``test/types/check.ts``), and the names they declare must be what the modules export.
"""

from __future__ import annotations

import json
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
    assert passed is not None and int(passed.group(1)) >= 9, f"not every Node test ran:\n{output}"


def node_modules_or_skip() -> None:
    if not (CLIENT_DIR / "node_modules" / "typescript").is_dir():
        message = "clients/js-sync/node_modules is missing: run `npm ci` there (make test)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)


def test_type_declarations_compile_and_match_the_exports(node: str) -> None:  # noqa: F811
    node_modules_or_skip()
    done = subprocess.run(
        [node, "node_modules/typescript/bin/tsc", "-p", "."],
        cwd=CLIENT_DIR, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    declared = (CLIENT_DIR / "src" / "index.d.ts").read_text()
    names = set(re.findall(r"^export (?:class|function) (\w+)", declared, re.MULTILINE))
    methods = {
        cls: set(re.findall(r"^  (\w+)\(", body, re.MULTILINE)) - {"constructor"}
        for cls, body in re.findall(
            r"^export class (\w+)[^{]*\{\n(.*?)^\}", declared, re.MULTILINE | re.DOTALL
        )
    }
    script = """
const m = await import('./src/index.js');
const out = {exports: Object.keys(m).sort(), members: {}};
for (const [name, value] of Object.entries(m)) {
  if (typeof value !== 'function' || !/^class /.test(String(value))) continue;
  out.members[name] = Object.getOwnPropertyNames(value.prototype).filter((k) => k !== 'constructor');
}
console.log(JSON.stringify(out));
"""
    done = subprocess.run(
        [node, "--input-type=module", "-e", script],
        cwd=CLIENT_DIR, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    runtime = json.loads(done.stdout)
    # defaultStore is internal to the modules; everything index.js exports is declared.
    assert names == set(runtime["exports"])
    assert set(methods) == set(runtime["members"])
    for cls, present in runtime["members"].items():
        # Every declared method exists (SyncClient's own helpers, push, settle, ..., stay
        # undeclared).
        assert methods[cls] <= set(present), (cls, methods[cls] - set(present))
