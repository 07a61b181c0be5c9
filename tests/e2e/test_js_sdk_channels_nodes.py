"""Broadcast and presence with the JS SDK's realtime client and two nodes over Redis.

Starts two ``keelbase serve`` nodes on one data folder joined by Redis (the
fixture of ``test_realtime_channels_nodes.py``) and runs
``tests/e2e/sdk_nodes/*.test.mjs`` with ``node --test`` against them; fails with
Node's output when a Node test fails. Skips without ``node`` unless in CI.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_js_sdk import E2E_DIR, REPO_ROOT, in_ci, tail
from tests.e2e.test_js_sdk import node as node
from tests.e2e.test_realtime_channels_nodes import nodes as nodes
from tests.e2e.test_realtime_nodes import data_dir as data_dir
from tests.e2e.test_realtime_nodes import redis_url as redis_url

TESTS = E2E_DIR / "sdk_nodes"


def test_js_sdk_channels_across_two_nodes(
    node: str,
    nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    if not (E2E_DIR / "node_modules" / "pocketbase").is_dir():
        if in_ci():
            pytest.fail("tests/e2e/node_modules is missing: run `npm install` in tests/e2e")
        pytest.skip("tests/e2e/node_modules is missing")
    first, second = nodes
    env = {**os.environ, "KB_URL": first.url, "KB_URL_2": second.url, "NO_COLOR": "1"}
    done = subprocess.run(
        [
            node,
            "--test",
            "--test-reporter=spec",
            "--test-force-exit",
            str(TESTS.relative_to(REPO_ROOT)),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, (
        f"the JS SDK channel tests failed:\n{output}\n"
        f"--- first node ---\n{tail(first.log())}\n--- second node ---\n{tail(second.log())}"
    )
    passed = re.search(r"^\S*\s*pass (\d+)", output, re.MULTILINE)
    assert passed is not None and int(passed.group(1)) == 2, output
