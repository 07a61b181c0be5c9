"""The mailer through a real SMTP server (aiosmtpd), and the mail_send hooks."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from keelbase import App, MailEvent
from keelbase.adapters.mail import MailError
from tests.conftest import free_port
from tests.mail_catcher import running_catcher

pytestmark = pytest.mark.anyio


@pytest.fixture
def smtp() -> Iterator[tuple[int, list[Any]]]:
    """A real SMTP server's port, and the mails it received so far."""
    with running_catcher() as catcher:
        yield catcher.port, catcher.messages


async def test_send_change_and_cancel(app: App, smtp: tuple[int, list[Any]]) -> None:
    port, received = smtp
    with pytest.raises(MailError):
        await app.mailer.send("a@example.com", "off", "<p>smtp is off</p>")
    await app.settings.update({"smtp": {"enabled": True, "host": "127.0.0.1", "port": port},
                               "meta": {"senderAddress": "noreply@example.com", "senderName": "Acme"}})  # fmt: skip

    @app.on_mail_send()
    async def brand(e: MailEvent) -> None:
        if "cancel" in e.subject:
            return
        e.subject = f"[Acme] {e.subject}"
        await e.next()

    await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>", "Hi")
    await app.mailer.send("a@example.com", "please cancel", "<p>no</p>")
    await asyncio.sleep(0.2)
    assert [m["Subject"] for m in received] == ["[Acme] Hello"]
    assert received[0]["From"] == "Acme <noreply@example.com>"


async def test_background_send_retries_then_logs(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    import keelbase.services.mail.sender as mail

    mail.RETRY_DELAYS = (0.01, 0.01)  # type: ignore[misc]
    await app.settings.update({"smtp": {"enabled": True, "host": "127.0.0.1", "port": free_port()}})
    app.mailer.send_in_background("a@example.com", "lost", "<p>x</p>")
    await asyncio.sleep(0.5)
    assert "gave up sending 'lost'" in caplog.text


async def test_send_tells_where_the_mail_went(
    app: App, smtp: tuple[int, list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``send`` returns the recipients after the hooks; background sends report it to ``done``."""
    import keelbase.services.mail.sender as mail

    port, received = smtp
    await app.settings.update({"smtp": {"enabled": True, "host": "127.0.0.1", "port": port}})

    @app.on_mail_send()
    async def reroute(e: MailEvent) -> None:
        if "cancel" in e.subject:
            return
        e.to = ["b@example.com"]
        await e.next()

    assert await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>") == ["b@example.com"]
    assert await app.mailer.send("a@example.com", "cancel me", "<p>no</p>") == []
    reports: list[list[str] | None] = []

    async def done(delivered: list[str] | None) -> None:
        reports.append(delivered)

    app.mailer.send_in_background("a@example.com", "Again", "<p>x</p>", done=done)
    await asyncio.sleep(0.3)
    monkeypatch.setattr(mail, "RETRY_DELAYS", (0.01,))
    await app.settings.update({"smtp": {"port": free_port()}})
    app.mailer.send_in_background("a@example.com", "Lost", "<p>x</p>", done=done)
    await asyncio.sleep(0.5)
    assert reports == [["b@example.com"], None]
    assert [m["To"] for m in received] == ["b@example.com", "b@example.com"]
