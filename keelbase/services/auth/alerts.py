"""Login alerts: remember where each account signs in from, and mail on a new place.

As PocketBase does, when an auth collection has ``authAlert.enabled``, every
completed sign-in with a real method (password, OTP, OAuth2; not a refresh)
records its origin in ``_authOrigins``: a fingerprint, the MD5 of the client
IP + user agent (cut at 300 characters). A fingerprint the account has not
used before gets the ``authAlert`` mail, except on the account's very first
sign-in (nothing to compare with) or when it has no email. At most five
origins are kept per account; the least recently used go first.

None of this may fail a sign-in: errors are logged, and the mail goes out in
the background.
"""

from __future__ import annotations

import hashlib
import html
import logging

from keelbase.core.auth import mail_render
from keelbase.core.dates import now_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import ApiError
from keelbase.services.auth import refs as auth_refs
from keelbase.services.auth.mfa import NOT_A_FACTOR
from keelbase.services.mail.sender import Mailer
from keelbase.services.records.service import RecordsService
from keelbase.services.settings import SettingsService
from keelbase.store.base import UniqueViolation

log = logging.getLogger("keelbase.auth")
MAX_ORIGINS = 5
MAX_USER_AGENT = 300


def fingerprint(ip: str, user_agent: str) -> str:
    """PocketBase's origin fingerprint (MD5 as an identifier, not for secrecy)."""
    text = ip + user_agent[:MAX_USER_AGENT]
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class AuthAlerts:
    def __init__(self, records: RecordsService, mailer: Mailer, settings: SettingsService) -> None:
        self.records = records
        self.mailer = mailer
        self.settings = settings

    async def signed_in(self, record: Record, info: RequestInfo, method: str) -> None:
        """Note the origin of a completed sign-in; mail the owner if it is new. Never raises."""
        options = record.collection.auth
        if options is None or not options.authAlert.enabled or method in NOT_A_FACTOR:
            return
        try:
            await self._note_origin(record, info)
        except Exception:
            log.exception("login alert for %s failed", record.id)

    async def _note_origin(self, record: Record, info: RequestInfo) -> None:
        user_agent = str(info.headers.get("user_agent", ""))[:MAX_USER_AGENT]
        current = fingerprint(info.ip, user_agent)
        origins = await auth_refs.owned_by(self.records, auth_refs.AUTH_ORIGINS, record)
        known = next((o for o in origins if o.get("fingerprint") == current), None)
        if known is not None:
            known.data["updated"] = now_string()
            async with self.records.transaction() as conn:
                await self.records.save(conn, known, ["updated"])
            return
        for stale in origins[MAX_ORIGINS - 1 :]:
            await auth_refs.delete(self.records, stale)
        origin = auth_refs.new_ref_record(
            self.records, auth_refs.AUTH_ORIGINS, record, fingerprint=current
        )
        # Noting the origin is the claim (a unique index on owner + fingerprint): of
        # several sign-ins from one new place at once, only the one that noted it alerts.
        try:
            await self.records.insert_trusted(origin)
        except ApiError as error:
            if isinstance(error.__cause__, UniqueViolation):
                return
            raise
        if origins and record.get("email"):
            self._send_alert(record, f"{now_string()} - {info.ip} {user_agent}")

    def _send_alert(self, record: Record, alert_info: str) -> None:
        options = record.collection.auth
        assert options is not None
        meta = self.settings.current.meta
        subject, body = mail_render.render_record_mail(
            options.authAlert.emailTemplate,
            meta.appName,
            meta.appURL,
            record,
            {"{ALERT_INFO}": html.escape(alert_info)},
        )
        self.mailer.send_in_background(str(record.get("email")), subject, body)
