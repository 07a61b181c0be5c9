"""User code from kb_hooks/ in a real ``keelbase serve``: loading, errors, --dev reload,
cron once per tick across two nodes, and mail caught by a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.mail_catcher import running_catcher

ADMIN = ("admin@example.com", "Passw0rd123")


def make_data(tmp_path: Path, hooks: dict[str, str]) -> Path:
    data = tmp_path / "kb_data"
    folder = tmp_path / "kb_hooks"
    folder.mkdir()
    for name, source in hooks.items():
        (folder / name).write_text(textwrap.dedent(source))
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data)],
                   check=True, capture_output=True)  # fmt: skip
    return data


def token(url: str) -> str:
    response = httpx.post(url + "/api/collections/_superusers/auth-with-password",
                          json={"identity": ADMIN[0], "password": ADMIN[1]})  # fmt: skip
    return str(response.json()["token"])


def test_a_broken_hooks_file_stops_the_start(tmp_path: Path) -> None:
    data = make_data(tmp_path, {"broken.py": "def setup(app)\n    return None\n"})
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(data), "--http", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1
    assert "broken.py failed to load" in done.stderr
    assert "SyntaxError" in done.stderr
    assert "Traceback" in done.stderr


def test_hooks_routes_and_dev_reload(tmp_path: Path) -> None:
    data = make_data(tmp_path, {"greet.py": '''
        from keelbase import RouteEvent

        def setup(app):
            @app.route("/api/greet", methods=["GET"])
            async def greet(e: RouteEvent):
                return {"greeting": "hello"}
        '''})  # fmt: skip
    server = ServerProcess(data, "--dev")
    try:
        assert httpx.get(server.url + "/api/greet").json() == {"greeting": "hello"}
        hooks_file = tmp_path / "kb_hooks" / "greet.py"
        time.sleep(1.1)  # a new modification time
        hooks_file.write_text(hooks_file.read_text().replace('"hello"', '"bonjour"'))
        deadline = time.monotonic() + 10
        while httpx.get(server.url + "/api/greet").json().get("greeting") != "bonjour":
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        # a broken edit unloads the file and says why; fixing it brings it back
        time.sleep(1.1)
        hooks_file.write_text("def setup(app):\n    raise RuntimeError('half written')\n")
        deadline = time.monotonic() + 10
        while httpx.get(server.url + "/api/greet").status_code != 404:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.2)
        assert "half written" in server.log()
    finally:
        server.stop()


CRON_HOOKS = {"tick.py": '''
    import time

    def setup(app):
        async def tick():
            await app.create_record("ticks", {"node": app.config.http, "at": int(time.time())})

        app.cron("tick", "*/1 * * * * *", tick)
    '''}  # fmt: skip


def test_cron_runs_once_per_tick_with_two_nodes(tmp_path: Path) -> None:
    data = make_data(tmp_path, CRON_HOOKS)
    first = ServerProcess(data)
    second = ServerProcess(data)
    try:
        headers = {"Authorization": token(first.url)}
        created = httpx.post(first.url + "/api/collections", headers=headers, json={
            "name": "ticks", "fields": [{"name": "node", "type": "text"}, {"name": "at", "type": "number"}]})  # fmt: skip
        assert created.status_code == 200, created.text
        deadline = time.monotonic() + 20  # a loaded CI machine may be slow to start ticking
        while True:
            listed = httpx.get(
                first.url + "/api/collections/ticks/records?perPage=1000&sort=at", headers=headers
            ).json()
            if len(listed["items"]) >= 3 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        ticks = [item["at"] for item in listed["items"]]
        assert len(ticks) >= 3, listed
        assert len(ticks) == len(set(ticks)), "a tick ran on both nodes"
        crons = httpx.get(first.url + "/api/crons", headers=headers).json()
        assert crons[0] == {"id": "tick", "expression": "*/1 * * * * *"}
        system = {"__pbDBOptimize__", "__pbMFACleanup__", "__pbOTPCleanup__", "__pbLogsCleanup__"}
        assert system <= {job["id"] for job in crons[1:]}
        assert httpx.post(first.url + "/api/crons/tick", headers=headers).status_code == 204
        assert httpx.post(first.url + "/api/crons/nope", headers=headers).status_code == 404
        assert httpx.get(first.url + "/api/crons").status_code == 401
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def smtp_server() -> Iterator[tuple[int, list[object]]]:
    """A real SMTP server's port, and the mails it received so far."""
    with running_catcher() as catcher:
        yield catcher.port, catcher.messages


def test_welcome_mail_after_sign_up(tmp_path: Path, smtp_server: tuple[int, list[object]]) -> None:
    port, received = smtp_server
    data = make_data(tmp_path, {"welcome.py": '''
        from keelbase import RecordCommitEvent

        def setup(app):
            @app.on_record_after_create("users")
            async def welcome(e: RecordCommitEvent):
                app.mailer.send_in_background(
                    e.record.get("email"), "Welcome!", f"<p>Hello {e.record.get('name')}</p>"
                )
        '''})  # fmt: skip
    server = ServerProcess(data)
    try:
        headers = {"Authorization": token(server.url)}
        settings = httpx.patch(server.url + "/api/settings", headers=headers, json={
            "smtp": {"enabled": True, "host": "127.0.0.1", "port": port},
            "meta": {"senderName": "Keelbase", "senderAddress": "noreply@example.com"}})  # fmt: skip
        assert settings.status_code == 200, settings.text
        signed_up = httpx.post(server.url + "/api/collections/users/records", json={
            "email": "new@example.com", "password": "Passw0rd123", "passwordConfirm": "Passw0rd123", "name": "Ann"})  # fmt: skip
        assert signed_up.status_code == 200
        deadline = time.monotonic() + 10
        while not received:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.1)
        message = received[0]
        assert message["To"] == "new@example.com"  # type: ignore[index]
        assert message["Subject"] == "Welcome!"  # type: ignore[index]
        assert "noreply@example.com" in message["From"]  # type: ignore[index]
    finally:
        server.stop()
