"""``keelbase serve --log-format json``: one JSON object per stderr line, uvicorn's lines included.

A log shipper reads stderr line by line, so a single line that is not JSON
(a traceback's continuation, uvicorn's own format) breaks it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port

pytestmark = pytest.mark.e2e

HOOKS = """
    import logging

    def setup(app):
        @app.route("/api/boom", methods=["GET"])
        async def boom(e):
            logging.getLogger("kb_hooks.boom").warning("about to fail")
            raise RuntimeError("a bug in a route")
    """


class Serve:
    """``keelbase serve`` with stdout and stderr kept apart."""

    def __init__(self, tmp_path: Path, *extra: str, env: dict[str, str] | None = None) -> None:
        hooks = tmp_path / "kb_hooks"
        hooks.mkdir(parents=True, exist_ok=True)
        (hooks / "boom.py").write_text(textwrap.dedent(HOOKS))
        self.url = f"http://127.0.0.1:{free_port()}"
        self.stderr_path = tmp_path / "stderr.log"
        with open(self.stderr_path, "wb") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "keelbase", "serve", "--http", self.url[7:],
                 "--dir", str(tmp_path / "kb_data"), *extra],
                stdout=subprocess.DEVNULL, stderr=stderr,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            assert self.proc.poll() is None, self.stderr()
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, self.stderr()
                time.sleep(0.05)

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self) -> list[dict[str, Any]]:
        """Stop the server; every stderr line, each parsed as JSON (the test fails on any other)."""
        self.proc.terminate()
        self.proc.wait(timeout=15)
        lines = self.stderr().splitlines()
        assert lines
        entries = []
        for line in lines:
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                pytest.fail(f"not a JSON line on stderr: {line!r}\n{self.stderr()}")
        return entries


def test_every_stderr_line_is_json_and_a_5xx_carries_its_request_id(tmp_path: Path) -> None:
    server = Serve(tmp_path, "--log-format", "json", "--dev")
    answer = httpx.get(server.url + "/api/boom")
    assert answer.status_code == 500
    httpx.get(server.url + "/api/collections/users/records/nope")
    entries = server.stop()

    request_id = answer.headers["x-request-id"]
    for entry in entries:
        assert {"time", "level", "logger", "message"} <= set(entry), entry
        assert entry["time"].endswith("Z")
        datetime.fromisoformat(entry["time"])
    [failure] = [e for e in entries if e["logger"] == "keelbase.api" and e["level"] == "ERROR"]
    assert failure["request_id"] == request_id
    assert "Traceback" in failure["exception"]
    assert "RuntimeError: a bug in a route" in failure["exception"]
    [warning] = [e for e in entries if e["logger"] == "kb_hooks.boom"]
    assert (warning["level"], warning["message"]) == ("WARNING", "about to fail")
    assert warning["request_id"] == request_id, "user code's lines inside a request name it"
    loggers = {entry["logger"] for entry in entries}
    assert {"uvicorn.error", "uvicorn.access", "keelbase.sql"} <= loggers, loggers
    access = [e for e in entries if e["logger"] == "uvicorn.access"]
    assert any("GET /api/boom" in e["message"] and "500" in e["message"] for e in access)
    outside = [e for e in entries if e["logger"] == "uvicorn.error"]
    assert all("request_id" not in e for e in outside)


def test_the_environment_chooses_json_and_text_stays_the_default(tmp_path: Path) -> None:
    server = Serve(tmp_path / "a", env={"KEELBASE_LOG_FORMAT": "json"})
    httpx.get(server.url + "/api/boom")
    entries = server.stop()
    assert any(e["logger"] == "keelbase.api" and "exception" in e for e in entries)

    server = Serve(tmp_path / "b")
    httpx.get(server.url + "/api/boom")
    server.proc.terminate()
    server.proc.wait(timeout=15)
    text = server.stderr()
    assert " ERROR keelbase.api: unhandled error in GET /api/boom" in text
    assert "Traceback (most recent call last):" in text


@pytest.mark.parametrize("flag", [["--log-format", "xml"], []])
def test_an_unknown_format_is_refused(tmp_path: Path, flag: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{free_port()}", *flag],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "KEELBASE_LOG_FORMAT": "xml"},
    )  # fmt: skip
    assert done.returncode == 2
    assert "xml" in done.stderr


def test_a_broken_hooks_file_is_reported_as_json(tmp_path: Path) -> None:
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "broken.py").write_text("def setup(app)\n    return None\n")
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{free_port()}", "--log-format", "json"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    [entry] = [json.loads(line) for line in done.stderr.splitlines()]
    assert entry["level"] == "ERROR"
    assert "broken.py failed to load" in entry["message"]
    assert "SyntaxError" in entry["message"]
