"""A real SMTP server (aiosmtpd) that keeps every mail it receives, for auth mail tests."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from email.message import Message
from pathlib import Path
from typing import Any

from tests.conftest import free_port

CODE = re.compile(r"<strong>(\d+)</strong>")


@dataclass
class Mail:
    to: str
    subject: str
    html: str


@dataclass
class Inbox:
    port: int
    mails: list[Mail] = field(default_factory=list)

    def wait(self, count: int, timeout: float = 10.0) -> list[Mail]:
        """Wait until at least ``count`` mails arrived (they are sent in the background)."""
        deadline = time.monotonic() + timeout
        while len(self.mails) < count:
            assert time.monotonic() < deadline, f"expected {count} mails, got {self.mails!r}"
            time.sleep(0.02)
        return self.mails

    def quiet(self, count: int, seconds: float = 0.6) -> None:
        """Check that no more than ``count`` mails arrive within ``seconds``."""
        time.sleep(seconds)
        assert len(self.mails) == count, [m.subject + " to " + m.to for m in self.mails]

    def code(self, mail: Mail) -> str:
        match = CODE.search(mail.html)
        assert match, mail.html
        return match.group(1)

    def smtp_settings(self) -> dict[str, Any]:
        return {"smtp": {"enabled": True, "host": "127.0.0.1", "port": self.port}}


def _html(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode()
    return str(message.get_payload())


@contextmanager
def running_inbox(folder: Path | None = None) -> Iterator[Inbox]:
    """Serve SMTP on a free port; with ``folder``, also write each mail there as JSON
    (``<n>.json``: to, subject, html) for tests in other processes (the Node SDK tests)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message as MessageHandler

    inbox = Inbox(free_port())

    class Catcher(MessageHandler):  # type: ignore[misc]
        def handle_message(self, message: Message) -> None:
            mail = Mail(str(message["To"]), str(message["Subject"]), _html(message))
            inbox.mails.append(mail)
            if folder is not None:
                path = folder / f"{len(inbox.mails)}.json"
                path.with_suffix(".tmp").write_text(json.dumps(asdict(mail)))
                path.with_suffix(".tmp").replace(path)

    controller = Controller(Catcher(), hostname="127.0.0.1", port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()
