"""A real SMTP server (aiosmtpd) that keeps every mail it receives, for tests.

``MailCatcher`` runs in its own thread; tests wait for a mail (to an address,
or the n-th of all) and read the token or the OTP code out of its HTML.
``serve_http`` also offers the mails as JSON (``GET /mails?to=ADDRESS``) for
tests in other processes (the JS SDK).
"""

from __future__ import annotations

import email
import email.policy
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from aiosmtpd.controller import Controller

from tests.conftest import free_port

JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")
CODE = re.compile(r"<strong>(\d+)</strong>")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    html: str


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    return part.get_content() if part is not None else ""


def token_in(message: EmailMessage) -> str:
    found = JWT.search(html_of(message))
    assert found is not None, f"no token in the mail {message['Subject']!r}"
    return found.group(0)


class MailCatcher:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.delay = 0.0  # seconds the server waits before accepting each mail
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._http: ThreadingHTTPServer | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        if self.delay:
            await asyncio.sleep(self.delay)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def start(self) -> MailCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """The ``count``-th mail to ``address``, waiting for it to arrive."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no mail #{count} to {address} within {timeout}s")

    @property
    def mails(self) -> list[Mail]:
        with self._lock:
            messages = list(self.messages)
        return [Mail(str(m["To"]), str(m["Subject"]), html_of(m)) for m in messages]

    def wait(self, count: int, timeout: float = 10.0) -> list[Mail]:
        """Every mail so far, once at least ``count`` arrived (they are sent in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            assert time.monotonic() < deadline, f"expected {count} mails, got {self.mails!r}"
            time.sleep(0.02)
        return self.mails

    def quiet(self, count: int, seconds: float = 0.6) -> None:
        """Check that no more than ``count`` mails arrive within ``seconds``."""
        time.sleep(seconds)
        assert len(self.messages) == count, [m.subject + " to " + m.to for m in self.mails]

    @staticmethod
    def code(mail: Mail) -> str:
        match = CODE.search(mail.html)
        assert match, mail.html
        return match.group(1)

    def smtp_settings(self) -> dict[str, Any]:
        return {"smtp": {"enabled": True, "host": "127.0.0.1", "port": self.port}}

    def serve_http(self) -> str:
        """Start ``GET /mails?to=ADDRESS`` -> ``[{to, subject, html, token}]``; returns its URL."""
        catcher = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = parse_qs(urlparse(self.path).query)
                address = query.get("to", [""])[0]
                mails = [
                    {
                        "to": str(m["To"]),
                        "subject": str(m["Subject"]),
                        "html": html_of(m),
                        "token": (JWT.search(html_of(m)) or [""])[0],
                    }
                    for m in catcher.to(address)
                ]
                body = json.dumps(mails).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._http = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._http.server_address[1]}"


@contextmanager
def running_catcher() -> Iterator[MailCatcher]:
    catcher = MailCatcher().start()
    try:
        yield catcher
    finally:
        catcher.stop()
