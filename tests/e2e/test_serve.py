"""The real ``keelbase serve`` process starts, answers and stops cleanly."""

import contextlib
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port


def test_serve_answers_and_shuts_down_gracefully(server: ServerProcess) -> None:
    response = httpx.get(server.url + "/api/health")
    assert response.status_code == 200
    assert response.json()["message"] == "API is healthy."
    # uvicorn re-raises the SIGTERM it handled, after the graceful shutdown.
    assert server.stop() in (0, -15)
    assert "keelbase stopped cleanly" in server.log()


def test_global_flags_before_the_command_and_serve_flags(tmp_path: Path) -> None:
    """``keelbase --dir X serve --hooksDir H --indexFallback=false``, as with PocketBase."""
    data = tmp_path / "somewhere" / "kb_data"
    public = tmp_path / "somewhere" / "kb_public"
    public.mkdir(parents=True)
    (public / "index.html").write_text("<h1>app</h1>")
    hooks = tmp_path / "my_hooks"
    hooks.mkdir()
    (hooks / "routes.py").write_text(
        "def setup(app):\n"
        "    @app.route('/api/hello', methods=['GET'])\n"
        "    async def hello(e):\n"
        "        return {'hello': 'hi'}\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keelbase", "--dir", str(data), "serve",
         "--http", f"127.0.0.1:{port}", "--hooksDir", str(hooks), "--indexFallback=false"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        assert (data / "data.db").exists()
        assert httpx.get(url + "/api/hello").json() == {"hello": "hi"}
        assert httpx.get(url + "/").text == "<h1>app</h1>"
        assert httpx.get(url + "/some/spa/route").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def _installer_links(log: str) -> list[str]:
    return re.findall(r"http://127\.0\.0\.1:\d+/_/#/install/([A-Za-z0-9_-]+)", log)


def test_a_fresh_server_prints_a_link_that_creates_the_first_superuser(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "kb_data")
    try:
        links = _installer_links(server.log())
        assert len(links) == 1, server.log()
        body = {"token": links[0], "email": "owner@example.com",
                "password": "a-long-secret", "passwordConfirm": "a-long-secret"}  # fmt: skip
        assert httpx.post(server.url + "/api/installer", json=body).status_code == 204
        signed = httpx.post(
            server.url + "/api/collections/_superusers/auth-with-password",
            json={"identity": body["email"], "password": body["password"]},
        )
        assert signed.status_code == 200
        assert links[0] not in (tmp_path / "kb_data" / "data.db").read_bytes().decode("latin-1")
    finally:
        server.stop()
    # with a superuser, a restart prints no link
    again = ServerProcess(tmp_path / "kb_data")
    try:
        assert _installer_links(again.log()) == []
    finally:
        again.stop()


def test_several_workers_print_one_link(tmp_path: Path) -> None:
    # without Redis: the workers share through the local hub; the link is in the database
    server = ServerProcess(tmp_path / "kb_data", "--workers", "2", ready_timeout=90)
    try:
        links = _installer_links(server.log())
        assert len(links) == 1, server.log()
        body = {"token": links[0], "email": "owner@example.com",
                "password": "a-long-secret", "passwordConfirm": "a-long-secret"}  # fmt: skip
        # every worker knows it: check it several times (connections land on either worker)
        for _ in range(6):
            assert httpx.post(server.url + "/api/installer/check", json={"token": links[0]},
                              headers={"Connection": "close"}).status_code == 204  # fmt: skip
        assert httpx.post(server.url + "/api/installer", json=body).status_code == 204
    finally:
        server.stop()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_the_cycle_collector_is_off_while_starting_and_on_once_serving(
    tmp_path: Path, workers: str
) -> None:
    """``python -m keelbase serve`` (and each of its workers) starts without Python's cycle
    collector (nothing to free, much to scan) and turns it on, with the start's survivors
    frozen, once its app started; pydantic does not look for plugins."""
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "gc_state.py").write_text(
        "import gc, os\n"
        "AT_LOAD = gc.isenabled()\n"
        "def setup(app):\n"
        "    @app.route('/api/gc', methods=['GET'])\n"
        "    async def state(e):\n"
        "        return {'atLoad': AT_LOAD, 'now': gc.isenabled(), 'frozen': gc.get_freeze_count(),\n"
        "                'plugins': os.environ.get('PYDANTIC_DISABLE_PLUGINS')}\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{port}", "--hooksDir", str(hooks), "--workers", workers],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if k != "PYDANTIC_DISABLE_PLUGINS"},
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/api/gc"
        state: dict[str, object] = {}
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and state.get("now") is not True:
            with contextlib.suppress(httpx.HTTPError):
                state = httpx.get(url, timeout=1).json()
            time.sleep(0.1)
        assert state["atLoad"] is False  # hooks load during the start
        assert state["now"] is True
        assert isinstance(state["frozen"], int) and state["frozen"] > 10_000
        assert state["plugins"] == "__all__"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
