"""The ``smtp`` settings each act on the SMTP conversation (a real aiosmtpd server)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from keelbase import App
from keelbase.adapters.mail import MailError
from tests.conftest import free_port

pytestmark = pytest.mark.anyio


@dataclass
class Seen:
    """What the server saw: AUTH mechanisms with their credentials, EHLO names, mails."""

    logins: list[tuple[str, str, str]] = field(default_factory=list)
    helo: list[str] = field(default_factory=list)
    mails: int = 0

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((mechanism, data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password == b"s3cret")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.helo.append(session.host_name)
        self.mails += 1
        return "250 OK"


@pytest.fixture
def server() -> Iterator[tuple[int, Seen]]:
    seen = Seen()
    port = free_port()
    controller = Controller(
        seen,
        hostname="127.0.0.1",
        port=port,
        authenticator=seen.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield port, seen
    finally:
        controller.stop()


async def configure(app: App, port: int, **smtp: Any) -> None:
    await app.settings.update(
        {"smtp": {"enabled": True, "host": "127.0.0.1", "port": port, **smtp}}
    )


@pytest.mark.parametrize(
    ("method", "expected"), [("", "PLAIN"), ("PLAIN", "PLAIN"), ("LOGIN", "LOGIN")]
)
async def test_username_password_and_auth_method(
    app: App, server: tuple[int, Seen], method: str, expected: str
) -> None:
    port, seen = server
    await configure(app, port, username="mailer", password="s3cret", authMethod=method)
    await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>")
    assert seen.logins == [(expected, "mailer", "s3cret")]
    assert seen.mails == 1


async def test_a_wrong_password_is_refused_by_the_server(
    app: App, server: tuple[int, Seen]
) -> None:
    port, seen = server
    await configure(app, port, username="mailer", password="wrong")
    with pytest.raises(MailError):
        await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>")
    assert seen.mails == 0


async def test_no_username_no_auth(app: App, server: tuple[int, Seen]) -> None:
    port, seen = server
    await configure(app, port)
    await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>")
    assert seen.logins == [] and seen.mails == 1


async def test_local_name_is_the_ehlo_name(app: App, server: tuple[int, Seen]) -> None:
    port, seen = server
    await configure(app, port, localName="mail.acme.test")
    await app.mailer.send("a@example.com", "Hello", "<p>Hi</p>")
    assert seen.helo == ["mail.acme.test"]


async def test_tls_means_implicit_tls(app: App, server: tuple[int, Seen]) -> None:
    """This server speaks plain SMTP: with ``tls`` on, the TLS handshake fails, nothing is sent."""
    port, seen = server
    await configure(app, port, tls=True)
    with pytest.raises(MailError):
        await asyncio.wait_for(app.mailer.send("a@example.com", "Hello", "<p>Hi</p>"), 35)
    assert seen.mails == 0
