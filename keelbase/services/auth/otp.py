"""One-time passwords by mail: ``request-otp`` sends a code, ``auth-with-otp`` signs in with it.

As PocketBase does:

* the code (``otp.length`` digits) is stored only as a hash in ``_otps``,
  with the owner's ``collectionRef``/``recordRef``; it is valid for
  ``otp.duration`` seconds and for one sign-in;
* an unknown email is not revealed: the answer is the same ``{otpId}`` (a
  random id that matches nothing), no mail is sent, and the time spent is
  about the same (the hash a real request costs is computed anyway);
* the mail goes out in the background; once sent, the OTP remembers the
  address (``sentTo``); if it cannot be sent at all, the OTP is deleted;
* at most five requests per address in ten minutes (known or not; 429 after);
* more than nine live OTPs for one account: no new mail, and an id that
  matches nothing, exactly as for an unknown address;
* a successful OTP sign-in verifies the email the code was sent to, if that
  is still the account's email.

Wrong codes are limited per OTP: the fifth wrong one deletes it, and later
tries with that id answer 429 (PocketBase limits the attempts per account
with its rate limiter; the effect is the same). The counts live in the
app's counters, so with Redis every node sees the same attempts.
"""

from __future__ import annotations

import hashlib
from typing import Any

from keelbase.adapters.counters import Counters
from keelbase.core.auth import mail_render
from keelbase.core.collections.collection import Collection
from keelbase.core.dates import now_string
from keelbase.core.fields.email import is_email
from keelbase.core.ids import new_record_id, random_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import RequestInfo
from keelbase.errors import (
    MSG_LOAD,
    ApiError,
    BadRequestError,
    ForbiddenError,
    TooManyRequestsError,
    field_error,
    required_error,
)
from keelbase.services.auth import refs as auth_refs
from keelbase.services.auth.password import AuthService
from keelbase.services.auth.passwords import hash_password_async, verify_password_async
from keelbase.services.mail.sender import Mailer
from keelbase.services.settings import SettingsService

MSG_DISABLED = "The collection is not configured to allow OTP authentication."
MSG_VALIDATE = "An error occurred while validating the submitted data."
MSG_INVALID = "Invalid or expired OTP."
MSG_TOO_MANY = "Too many attempts, please try again later with a new OTP."
MAX_WRONG_CODES = 5
MAX_LIVE_OTPS = 9
REQUEST_LIMIT = 5  # OTP requests per address ...
REQUEST_WINDOW = 600  # ... in this many seconds
WRONG = "otp-wrong:"
SPENT = "otp-spent:"


def _length_error(limit: int) -> dict[str, Any]:
    return field_error(
        "validation_length_out_of_range",
        f"The length must be between 1 and {limit}.",
        {"max": limit, "min": 1},
    )


def _text(body: Any, name: str) -> str:
    """A string member of a JSON object body; anything else cannot be loaded."""
    if not isinstance(body, dict):
        raise BadRequestError(MSG_LOAD)
    value = body.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequestError(MSG_LOAD)
    return value


class OtpService:
    def __init__(
        self, auth: AuthService, mailer: Mailer, settings: SettingsService, counters: Counters
    ) -> None:
        self.auth = auth
        self.records = auth.records
        self.mailer = mailer
        self.settings = settings
        # Wrong codes per OTP, and OTPs spent by them: in Redis when configured, so
        # every node counts the same attempts.
        self.counters = counters

    @staticmethod
    def ensure_enabled(collection: Collection) -> None:
        """PocketBase refuses a collection without OTP before it reads the body."""
        if collection.auth is None or not collection.auth.otp.enabled:
            raise ForbiddenError(MSG_DISABLED)

    # request-otp ------------------------------------------------------------

    async def request(self, collection: Collection, body: Any) -> dict[str, str]:
        options = collection.auth
        assert options is not None
        self.ensure_enabled(collection)
        email = _text(body, "email")
        if not email:
            raise BadRequestError(MSG_VALIDATE, {"email": required_error()})
        if len(email) > 255:
            raise BadRequestError(MSG_VALIDATE, {"email": _length_error(255)})
        if not is_email(email):
            raise BadRequestError(
                MSG_VALIDATE,
                {"email": field_error("validation_is_email", "Must be a valid email address.")},
            )
        # Counted by the address asked for, known or not: the limit tells nothing,
        # and each OTP gives only a few guesses, so this caps the guesses per account.
        requests = await self.counters.hit(_request_key(collection, email), REQUEST_WINDOW)
        if requests > REQUEST_LIMIT:
            raise TooManyRequestsError()
        record = await self.records.find_first(collection, "email", email)
        otp_id = await self._issue(record) if record is not None else ""
        if not otp_id:
            # Spend the hash a real request costs, so the timing does not tell.
            await hash_password_async(random_string(options.otp.length, "0123456789"))
            otp_id = new_record_id()
        return {"otpId": otp_id}

    async def _issue(self, record: Record) -> str:
        options = record.collection.auth
        assert options is not None
        duration = options.otp.duration
        await auth_refs.delete_older_than(
            self.records, auth_refs.OTPS, record.collection.id, duration
        )
        code = random_string(options.otp.length, "0123456789")
        otp = auth_refs.new_ref_record(self.records, auth_refs.OTPS, record)
        async with self.records.transaction() as conn:
            # The account's row locked: concurrent requests count and insert one at a time,
            # so together they never pass the limit.
            if await self.records.find_locked(conn, record.collection, record.id) is None:
                return ""
            live = [
                otp
                for otp in await auth_refs.owned_by(self.records, auth_refs.OTPS, record, conn)
                if not auth_refs.has_expired(otp, duration)
            ]
            if len(live) > MAX_LIVE_OTPS:
                # No new mail; answered like an unknown address (a fresh id that matches
                # nothing) rather than with the newest id, whose repeats would tell.
                return ""
            await self.records.insert_trusted(otp, plain_password=code)
        self._send(record, otp, code)
        return otp.id

    def _send(self, record: Record, otp: Record, code: str) -> None:
        options = record.collection.auth
        assert options is not None
        meta = self.settings.current.meta
        subject, html = mail_render.render_record_mail(
            options.otp.emailTemplate,
            meta.appName,
            meta.appURL,
            record,
            {"{OTP_ID}": otp.id, "{OTP}": code},
        )

        async def done(delivered: list[str] | None) -> None:
            if delivered is None:
                await self._forget_unsent(otp)
            elif delivered:
                await self._note_sent_to(otp.id, delivered[0])

        self.mailer.send_in_background(str(record.get("email")), subject, html, done=done)

    async def _forget_unsent(self, otp: Record) -> None:
        """A code that never reached anyone is of no use: drop it."""
        await auth_refs.delete(self.records, otp)

    async def _note_sent_to(self, otp_id: str, address: str) -> None:
        otp = await auth_refs.find(self.records, auth_refs.OTPS, otp_id)
        if otp is None or otp.get("sentTo"):
            return
        otp.data.update(sentTo=address, updated=now_string())
        async with self.records.transaction() as conn:
            await self.records.save(conn, otp, ["sentTo", "updated"])

    # auth-with-otp ----------------------------------------------------------

    async def auth_with_otp(
        self, collection: Collection, body: Any, info: RequestInfo, expand: str = ""
    ) -> dict[str, Any]:
        options = collection.auth
        assert options is not None
        self.ensure_enabled(collection)
        otp_id, code = _text(body, "otpId"), _text(body, "password")
        errors: dict[str, Any] = {}
        if not otp_id:
            errors["otpId"] = required_error()
        elif len(otp_id) > 255:
            errors["otpId"] = _length_error(255)
        if not code:
            errors["password"] = required_error()
        elif len(code) > 71:
            errors["password"] = _length_error(71)
        if errors:
            raise BadRequestError(MSG_VALIDATE, errors)

        if await self.counters.count(SPENT + otp_id):
            raise ApiError(429, MSG_TOO_MANY)
        duration = options.otp.duration
        otp = await auth_refs.find(self.records, auth_refs.OTPS, otp_id)
        if otp is not None and otp.get("collectionRef") != collection.id:
            otp = None
        if otp is not None and auth_refs.has_expired(otp, duration):
            await auth_refs.delete(self.records, otp)
            otp = None
        record = None
        if otp is not None:
            record = await self.records.find_by_id(collection, str(otp.get("recordRef", "")))
        # Unknown, expired and foreign ids cost a hash and count wrong codes like real
        # ones, so neither the timing nor the 429 tells which ids belong to an account.
        hashed = otp.get("password") if otp is not None and record is not None else None
        if not await verify_password_async(code, hashed) or otp is None or record is None:
            await self._count_wrong(otp_id, otp, duration)
            raise BadRequestError(MSG_INVALID)
        # Deleting is the claim: of two requests racing with the right code, one wins.
        if not await auth_refs.delete(self.records, otp):
            raise BadRequestError(MSG_INVALID)
        await self.counters.reset(WRONG + otp.id)
        await self._verify_email(record, str(otp.get("sentTo", "")))
        return await self.auth.auth_response(
            record, info.with_body({}), expand, context="otp", mfa_id=body.get("mfaId")
        )

    async def _verify_email(self, record: Record, sent_to: str) -> None:
        """The code reached the account's current email: that proves the address.

        Checked again as the flag is written (``expect``): an email changed since the
        record was read is not the one the code reached, and stays unverified.
        """
        if record.get("verified") or not sent_to or record.get("email") != sent_to:
            return
        record.data.update(verified=True, updated=now_string())
        async with self.records.transaction() as conn:
            if await self.records.save(
                conn, record, ["verified", "updated"], expect={"email": sent_to}
            ):
                self.records.notify_auth_change(conn, record)

    async def _count_wrong(self, otp_id: str, otp: Record | None, duration: int) -> None:
        window = max(duration, 1)
        if await self.counters.hit(WRONG + otp_id, window) < MAX_WRONG_CODES:
            return
        await self.counters.reset(WRONG + otp_id)
        await self.counters.hit(SPENT + otp_id, window)
        if otp is not None:
            await auth_refs.delete(self.records, otp)


def _request_key(collection: Collection, email: str) -> str:
    digest = hashlib.sha256(f"{collection.id}\0{email.strip().lower()}".encode())
    return "otp-req:" + digest.hexdigest()[:40]
