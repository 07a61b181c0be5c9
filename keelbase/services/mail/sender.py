"""Mail: one ``send`` through the ``mail_send`` hooks, then SMTP with the current settings.

``send_in_background`` keeps mail off the request path: it retries a failed
send a few times and logs what finally fails, so a broken mail server never
turns into an error for the user who triggered the mail.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from keelbase.adapters.mail import MailError, SmtpOptions, send_smtp
from keelbase.events import MailEvent
from keelbase.hooks import Hooks
from keelbase.services.metrics.meter import Meter
from keelbase.services.settings import SettingsService

log = logging.getLogger("keelbase.mail")
RETRY_DELAYS = (2.0, 10.0, 60.0)
# Mails being sent or waiting for a retry at once; past it a new mail is dropped
# (and logged) so an SMTP server down for long cannot grow memory without bound.
MAX_PENDING = 1000
# Told, after a background send, the recipients it reached (``[]``: a hook
# cancelled it) or ``None`` when every attempt failed.
SendDone = Callable[[list[str] | None], Awaitable[None]]


class Mailer:
    def __init__(self, settings: SettingsService, hooks: Hooks, meter: Meter | None = None) -> None:
        self.settings = settings
        self.hooks = hooks
        self.meter = meter or Meter()
        self._background: set[asyncio.Task[None]] = set()

    async def send(self, to: list[str] | str, subject: str, html: str, text: str = "") -> list[str]:
        """Send now; raises ``MailError`` when SMTP is off or refuses the mail.

        Returns the recipients the mail went to after the hooks had their say
        (``[]`` when a hook cancelled it).
        """
        current = self.settings.current
        event = MailEvent(
            to=[to] if isinstance(to, str) else list(to),
            subject=subject,
            html=html,
            text=text,
            sender=current.meta.senderAddress,
        )
        delivered: list[str] = []

        async def deliver(e: MailEvent) -> None:
            smtp = self.settings.current.smtp
            if not smtp.enabled:
                raise MailError("SMTP is not enabled in the settings")
            options = SmtpOptions(
                smtp.host,
                smtp.port,
                smtp.username,
                smtp.password,
                smtp.tls,
                smtp.authMethod,
                smtp.localName,
            )
            await send_smtp(
                options,
                (current.meta.senderName, e.sender),
                e.to,
                e.subject,
                e.html,
                e.text,
                e.headers,
            )
            delivered.extend(e.to)

        try:
            await self.hooks.mail_send.trigger(event, deliver)
        except Exception:
            self.meter.mail("failed")
            raise
        self.meter.mail("sent" if delivered else "cancelled")
        return delivered

    def send_in_background(
        self,
        to: list[str] | str,
        subject: str,
        html: str,
        text: str = "",
        done: SendDone | None = None,
    ) -> None:
        if len(self._background) >= MAX_PENDING:
            log.error("%d mails already wait for SMTP; dropped %r to %s", MAX_PENDING, subject, to)
            self.meter.mail("failed")
            return
        task = asyncio.create_task(self._send_with_retries(to, subject, html, text, done))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _send_with_retries(
        self, to: list[str] | str, subject: str, html: str, text: str, done: SendDone | None
    ) -> None:
        delivered: list[str] | None = None
        last_error: MailError | None = None
        for attempt, delay in enumerate((0.0, *RETRY_DELAYS)):
            await asyncio.sleep(delay)
            try:
                delivered = await self.send(to, subject, html, text)
                break
            except MailError as error:
                last_error = error
                log.warning("sending %r failed (attempt %d): %s", subject, attempt + 1, error)
            except Exception:
                # a failing ``mail_send`` hook: a bug that another attempt would meet again
                log.exception("sending %r to %s failed in a mail hook", subject, to)
                break
        else:
            log.error("gave up sending %r to %s", subject, to, exc_info=last_error)
        if done is not None:
            try:
                await done(delivered)
            except Exception:
                log.exception("after sending %r", subject)

    async def close(self) -> None:
        """Wait briefly for mail still being sent, then give up on it."""
        if self._background:
            await asyncio.wait(self._background, timeout=5)
        for task in self._background:
            task.cancel()
