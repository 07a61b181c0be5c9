"""SMTP down, then back (issue 17): a real ``keelbase serve`` whose SMTP settings name
a port nobody listens on. Requests that send mail (verification, password reset)
still answer 204 at once; each failed attempt is logged; once a real SMTP server
(aiosmtpd) starts on that port, the retries deliver every mail, once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.mail_catcher import MailCatcher

pytestmark = pytest.mark.e2e

ADMIN = ("admin@example.com", "Passw0rd123")
USERS = ["alice@example.com", "bob@example.com"]
QUICK = 1.0  # seconds a mail-sending request may take while SMTP is down


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    data_dir = tmp_path / "kb_data"
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data_dir)],
                   check=True, capture_output=True)  # fmt: skip
    proc = ServerProcess(data_dir)
    yield proc
    proc.stop()


def test_smtp_down_keeps_requests_quick_and_mail_is_delivered_when_it_is_back(
    server: ServerProcess,
) -> None:
    catcher = MailCatcher()  # a free port, not listening yet
    token = httpx.post(server.url + "/api/collections/_superusers/auth-with-password",
                       json={"identity": ADMIN[0], "password": ADMIN[1]}).json()["token"]  # fmt: skip
    su = {"Authorization": token}
    assert httpx.patch(server.url + "/api/settings", headers=su,
                       json=catcher.smtp_settings()).status_code == 200  # fmt: skip
    for address in USERS:
        made = httpx.post(server.url + "/api/collections/users/records", headers=su, json={
            "email": address, "password": "Passw0rd123", "passwordConfirm": "Passw0rd123"})  # fmt: skip
        assert made.status_code == 200, made.text

    slowest = 0.0
    for address in USERS:
        for action in ("request-verification", "request-password-reset"):
            began = time.monotonic()
            answer = httpx.post(
                server.url + f"/api/collections/users/{action}", json={"email": address}
            )
            slowest = max(slowest, time.monotonic() - began)
            assert answer.status_code == 204, answer.text
    assert slowest < QUICK, f"a request waited {slowest:.2f}s on the missing SMTP server"
    deadline = time.monotonic() + 5
    while server.log().count("failed (attempt 1)") < 4:
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)
    assert catcher.messages == []

    catcher.start()  # SMTP is back: the next retry (2 s after the first try) delivers
    try:
        mails = catcher.wait(4, timeout=15)
        catcher.quiet(4, seconds=0.5)
    finally:
        catcher.stop()
    assert sorted((m.to, "reset" in m.subject.lower()) for m in mails) == sorted(
        (a, reset) for a in USERS for reset in (False, True)
    ), [(m.to, m.subject) for m in mails]
    assert "gave up sending" not in server.log()
    assert server.proc.poll() is None
