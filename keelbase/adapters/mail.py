"""Sending mail over SMTP with aiosmtplib (STARTTLS or TLS, optional login)."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

import aiosmtplib


@dataclass(frozen=True)
class SmtpOptions:
    host: str
    port: int
    username: str = ""
    password: str = ""
    tls: bool = False  # implicit TLS (port 465); otherwise STARTTLS when the server offers it
    auth_method: str = ""
    local_name: str = ""


class MailError(Exception):
    """The mail could not be handed to the SMTP server; the message says why."""


async def send_smtp(
    options: SmtpOptions,
    sender: tuple[str, str],
    to: list[str],
    subject: str,
    html: str,
    text: str = "",
    headers: dict[str, str] | None = None,
) -> None:
    message = EmailMessage()
    message["From"] = formataddr(sender)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid()
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text or "This message is HTML only.")
    message.add_alternative(html, subtype="html")
    try:
        await aiosmtplib.send(
            message,
            hostname=options.host,
            port=options.port,
            username=options.username or None,
            password=options.password or None,
            use_tls=options.tls,
            start_tls=None if not options.tls else False,
            local_hostname=options.local_name or None,
            timeout=30,
        )
    except (aiosmtplib.SMTPException, OSError) as error:
        raise MailError(str(error)) from error
