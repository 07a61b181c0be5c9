"""Sending mail over SMTP with aiosmtplib (STARTTLS or TLS, optional PLAIN or LOGIN auth).

aiosmtplib is imported by the first mail, not at start: a start pays for what it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import TYPE_CHECKING

if TYPE_CHECKING:
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
    import aiosmtplib

    message = EmailMessage()
    message["From"] = formataddr(sender)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid()
    for key, value in (headers or {}).items():
        message[key] = value
    message.set_content(text or "This message is HTML only.")
    message.add_alternative(html, subtype="html")
    client = aiosmtplib.SMTP(
        hostname=options.host,
        port=options.port,
        use_tls=options.tls,
        start_tls=None if not options.tls else False,
        local_hostname=options.local_name or None,
        timeout=30,
    )
    try:
        async with client:
            if options.username or options.password:
                await _login(client, options)
            await client.send_message(message)
    except (aiosmtplib.SMTPException, OSError) as error:
        raise MailError(str(error)) from error


async def _login(client: aiosmtplib.SMTP, options: SmtpOptions) -> None:
    """SMTP AUTH with the settings' method, as PocketBase: LOGIN when asked, else PLAIN."""
    if options.auth_method == "LOGIN":
        await client.auth_login(options.username, options.password)
    else:
        await client.auth_plain(options.username, options.password)
