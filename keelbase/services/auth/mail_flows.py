"""Auth by mail: verification, password reset and email change, as PocketBase does them.

Each flow mails a single-purpose token (a JWT with its own ``type``) signed
with the record's ``tokenKey`` plus that type's collection secret, so a reset
password or a changed email (both rotate ``tokenKey``) ends every token issued
before, this one included: a reset link works once.

Requests for a verification or a password reset answer 204 whatever the
address: an unknown address sends nothing, a known one sends in the
background. Both paths do the same lookup and nothing slow, so the answer's
timing does not tell whether the address exists (the mail is built and sent
after the answer). A record gets one such mail per flow every two minutes
(PocketBase's resend guard, kept per process).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from keelbase.core.auth import mail_render
from keelbase.core.auth.options import EmailTemplate
from keelbase.core.collections.collection import Collection
from keelbase.core.fields import PasswordField, TextField
from keelbase.core.fields.base import FieldInvalid
from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import SUPERUSERS, RequestInfo
from keelbase.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    field_error,
    required_error,
)
from keelbase.services.auth.mail_forms import (
    BodyLoader,
    Errors,
    check_email,
    length,
    raise_if,
    strings,
)
from keelbase.services.auth.password import AuthService, tokens
from keelbase.services.auth.passwords import hash_password_async, verify_password_async
from keelbase.services.mail.sender import Mailer
from keelbase.services.settings import SettingsService

VERIFICATION = "verification"
PASSWORD_RESET = "passwordReset"
EMAIL_CHANGE = "emailChange"
RESEND_SECONDS = 120.0
log = logging.getLogger("keelbase.mail")

MSG_MISSING_COLLECTION = "Missing or invalid collection context."
MSG_NOT_AUTH_COLLECTION = "Missing or invalid auth collection context."
MSG_SUPERUSERS_VERIFIED = "All superusers are verified by default."
MSG_SUPERUSERS_EMAIL = "All superusers can change their emails directly."
MSG_NO_PASSWORD_AUTH = "The collection is not configured to allow password authentication."

INVALID_TOKEN = field_error("validation_invalid_token", "Invalid or expired token.")
COLLECTION_MISMATCH = field_error(
    "validation_token_collection_mismatch", "The provided token is for different auth collection."
)


def token_secret(collection: Collection, token_type: str) -> str | None:
    """The collection secret that signs tokens of ``token_type`` (None: not a known type)."""
    options = collection.auth
    if options is None:
        return None
    config = {
        tokens.AUTH: options.authToken,
        tokens.FILE: options.fileToken,
        VERIFICATION: options.verificationToken,
        PASSWORD_RESET: options.passwordResetToken,
        EMAIL_CHANGE: options.emailChangeToken,
    }.get(token_type)
    return None if config is None else config.secret


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, signature and expiry unchecked (only to read what it says)."""
    import jwt  # imported with the first token (see tokens.py)

    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": False})
    except jwt.PyJWTError:
        return {}
    return claims if isinstance(claims, dict) else {}


class AuthMailService:
    def __init__(self, auth: AuthService, mailer: Mailer, settings: SettingsService) -> None:
        self.auth = auth
        self.records = auth.records
        self.mailer = mailer
        self.settings = settings
        # "flow:collectionId:recordId" -> monotonic time until which no new mail goes out.
        self._resend: dict[str, float] = {}

    # Collections and tokens -------------------------------------------------

    def auth_collection(self, id_or_name: str, unknown: str = MSG_MISSING_COLLECTION) -> Collection:
        collection = self.records.schema.get(id_or_name)
        if collection is None:
            raise NotFoundError(unknown)
        if not collection.is_auth or collection.auth is None:
            raise NotFoundError(MSG_NOT_AUTH_COLLECTION)
        return collection

    def issue(self, record: Record, token_type: str, extra: dict[str, Any] | None = None) -> str:
        options = record.collection.auth
        assert options is not None
        config = {
            VERIFICATION: options.verificationToken,
            PASSWORD_RESET: options.passwordResetToken,
            EMAIL_CHANGE: options.emailChangeToken,
        }[token_type]
        claims = {"email": str(record.get("email", "")), **(extra or {})}
        return tokens.issue(record, token_type, config.secret, config.duration, extra=claims)

    async def record_from_token(self, token: str, token_type: str) -> Record | None:
        """The auth record a valid, unexpired token of ``token_type`` was issued for."""
        claims = tokens.unverified_claims(token) if token else None
        if claims is None or claims.get("type") != token_type:
            return None
        collection = self.records.schema.by_id(claims["collectionId"])
        if collection is None or not collection.is_auth:
            return None
        secret = token_secret(collection, token_type)
        record = await self.records.find_by_id(collection, claims["id"])
        if record is None or secret is None or tokens.verify(token, record, secret) is None:
            return None
        return record

    # Mail -------------------------------------------------------------------

    def compose(
        self, record: Record, template: EmailTemplate, extra: dict[str, str]
    ) -> tuple[str, str]:
        """Subject and HTML body of ``template`` for ``record``."""
        meta = self.settings.current.meta
        return mail_render.render_record_mail(template, meta.appName, meta.appURL, record, extra)

    def verification_mail(self, record: Record) -> tuple[str, str]:
        assert record.collection.auth is not None
        token = self.issue(record, VERIFICATION)
        template = record.collection.auth.verificationTemplate
        return self.compose(record, template, {mail_render.TOKEN: token})

    def password_reset_mail(self, record: Record) -> tuple[str, str]:
        assert record.collection.auth is not None
        token = self.issue(record, PASSWORD_RESET)
        template = record.collection.auth.resetPasswordTemplate
        return self.compose(record, template, {mail_render.TOKEN: token})

    def email_change_mail(self, record: Record, new_email: str) -> tuple[str, str]:
        assert record.collection.auth is not None
        token = self.issue(record, EMAIL_CHANGE, {"newEmail": new_email})
        template = record.collection.auth.confirmEmailChangeTemplate
        return self.compose(record, template, {mail_render.TOKEN: token})

    def _may_send(self, flow: str, record: Record) -> bool:
        now = time.monotonic()
        if len(self._resend) > 10_000:
            self._resend = {k: t for k, t in self._resend.items() if t > now}
        key = f"{flow}:{record.collection.id}:{record.id}"
        if self._resend.get(key, 0.0) > now:
            return False
        self._resend[key] = now + RESEND_SECONDS
        return True

    def _forget_sent(self, flow: str, record: Record) -> None:
        self._resend.pop(f"{flow}:{record.collection.id}:{record.id}", None)

    def _mail_later(self, record: Record, build: Callable[[Record], tuple[str, str]]) -> None:
        """Build and send the mail after the answer: a known address costs the request no more."""

        def send() -> None:
            try:
                subject, html = build(record)
                self.mailer.send_in_background(str(record.get("email")), subject, html)
            except Exception:
                log.exception("building the %s mail failed", record.collection.name)

        asyncio.get_running_loop().call_soon(send)

    async def _requested_record(self, collection: Collection, load: BodyLoader) -> Record | None:
        """The record whose address a request-* body names; errors for a bad body."""
        values = strings(await load(), "email")
        problem = check_email(values["email"])
        raise_if({"email": problem} if problem else {})
        return await self.records.find_first(collection, "email", values["email"])

    # Verification ------------------------------------------------------------

    async def request_verification(self, collection_name: str, load: BodyLoader) -> None:
        collection = self.auth_collection(collection_name)
        if collection.name == SUPERUSERS:
            raise BadRequestError(MSG_SUPERUSERS_VERIFIED)
        record = await self._requested_record(collection, load)
        if record is None or record.get("verified"):
            return
        if self._may_send(VERIFICATION, record):
            self._mail_later(record, self.verification_mail)

    async def confirm_verification(self, collection_name: str, load: BodyLoader) -> None:
        collection = self.auth_collection(collection_name)
        if collection.name == SUPERUSERS:
            raise BadRequestError(MSG_SUPERUSERS_VERIFIED)
        token = strings(await load(), "token")["token"]
        if not token:
            raise_if({"token": required_error()})
        email = claims_of(token).get("email")
        if not isinstance(email, str) or not email:
            raise_if(
                {
                    "token": field_error(
                        "validation_invalid_token_claims", "Missing email token claim."
                    )
                }
            )
        record = await self.record_from_token(token, VERIFICATION)
        if record is None:
            raise_if({"token": INVALID_TOKEN})
        assert record is not None and collection.auth is not None
        if record.collection.id != collection.id:
            raise_if({"token": COLLECTION_MISMATCH})
        if record.get("email") != email:
            raise_if(
                {
                    "token": field_error(
                        "validation_token_email_mismatch",
                        "The record email doesn't match with the requested token claims.",
                    )
                }
            )
        if not record.get("verified"):
            signed_with = {"tokenKey": record.get("tokenKey")}
            record.data["verified"] = True
            changed = ["verified"]
            if not collection.auth.passwordAuth.enabled:
                # As PocketBase: a random password guards against pre-hijacked accounts.
                record.data["password"] = await hash_password_async(random_string(30))
                record.data["tokenKey"] = _new_token_key(collection)
                changed += ["password", "tokenKey"]
            claimed = await self.records.update_trusted(
                record, changed, "An error occurred while saving the verified state.", signed_with
            )
            if not claimed:  # the tokenKey changed since the token was checked
                raise_if({"token": INVALID_TOKEN})
        self._forget_sent(VERIFICATION, record)

    # Password reset ------------------------------------------------------------

    async def request_password_reset(self, collection_name: str, load: BodyLoader) -> None:
        collection = self.auth_collection(collection_name)
        assert collection.auth is not None
        if not collection.auth.passwordAuth.enabled:
            raise BadRequestError(MSG_NO_PASSWORD_AUTH)
        record = await self._requested_record(collection, load)
        if record is not None and self._may_send(PASSWORD_RESET, record):
            self._mail_later(record, self.password_reset_mail)

    async def confirm_password_reset(self, collection_name: str, load: BodyLoader) -> None:
        collection = self.auth_collection(collection_name)
        values = strings(await load(), "token", "password", "passwordConfirm")
        token, password = values["token"], values["password"]
        errors: Errors = {}
        record: Record | None = None
        if not token:
            errors["token"] = required_error()
        else:
            record = await self.record_from_token(token, PASSWORD_RESET)
            if record is None:
                errors["token"] = INVALID_TOKEN
            elif record.collection.id != collection.id:
                errors["token"] = COLLECTION_MISMATCH
        field = collection.field("password")
        low = max(field.min, 1) if isinstance(field, PasswordField) else 1
        if not password:
            errors["password"] = required_error()
        elif not low <= len(password) <= 255:
            errors["password"] = length(low, 255)
        if not values["passwordConfirm"]:
            errors["passwordConfirm"] = required_error()
        elif values["passwordConfirm"] != password:
            errors["passwordConfirm"] = field_error(
                "validation_values_mismatch", "Values don't match."
            )
        raise_if(errors)
        assert record is not None
        if isinstance(field, PasswordField):
            try:
                field.validate_plain(password)  # the field's own length and pattern
            except FieldInvalid as invalid:
                data = {"password": invalid.to_json()}
                raise BadRequestError("Failed to set new password.", data) from invalid
        signed_with = {"tokenKey": record.get("tokenKey")}
        record.data["password"] = await hash_password_async(password)
        record.data["tokenKey"] = _new_token_key(collection)
        changed = ["password", "tokenKey"]
        if not record.get("verified") and claims_of(token).get("email") == record.get("email"):
            record.data["verified"] = True  # the mail reached its owner: the address is theirs
            changed.append("verified")
        # The token is single-use: it was signed with this tokenKey, which the reset
        # rotates; of two requests racing with one token, only one may set a password.
        claimed = await self.records.update_trusted(
            record, changed, "Failed to set new password.", signed_with
        )
        if not claimed:
            raise_if({"token": INVALID_TOKEN})
        self._forget_sent(PASSWORD_RESET, record)

    # Email change -----------------------------------------------------------------

    async def request_email_change(
        self, collection_name: str, info: RequestInfo, load: BodyLoader
    ) -> None:
        collection = self.auth_collection(collection_name)
        record = info.auth
        if record is None:
            raise UnauthorizedError()
        if record.collection.id != collection.id:
            raise ForbiddenError(
                f"The request requires auth record from {record.collection.name} collection."
            )
        if collection.name == SUPERUSERS:
            raise BadRequestError(MSG_SUPERUSERS_EMAIL)
        new_email = strings(await load(), "newEmail")["newEmail"]
        problem = check_email(new_email)
        if problem is None and new_email == record.get("email"):
            problem = field_error("validation_not_in_invalid", "Must not be in list.")
        if problem is None:
            found = await self.records.find_first(collection, "email", new_email)
            if found is not None and found.id != record.id:
                problem = field_error("validation_invalid_new_email", "Invalid new email address.")
        raise_if({"newEmail": problem} if problem else {})
        subject, html = self.email_change_mail(record, new_email)
        try:
            await self.mailer.send(new_email, subject, html)
        except Exception as failure:  # MailError and the mail server's own surprises
            raise BadRequestError("Failed to request email change.") from failure

    async def confirm_email_change(self, collection_name: str, load: BodyLoader) -> None:
        collection = self.auth_collection(collection_name)
        if collection.name == SUPERUSERS:
            raise BadRequestError(MSG_SUPERUSERS_EMAIL)
        values = strings(await load(), "token", "password")
        token, password = values["token"], values["password"]
        record, new_email, token_error = await self._email_change_target(collection, token)
        errors: Errors = {}
        if not token:
            errors["token"] = required_error()
        elif token_error is not None:
            errors["token"] = token_error
        if not password:
            errors["password"] = required_error()
        elif len(password) > 100:
            errors["password"] = length(1, 100)
        elif record is None or not await verify_password_async(password, record.get("password")):
            errors["password"] = field_error(
                "validation_invalid_password", "Missing or invalid auth record password."
            )
        raise_if(errors)
        assert record is not None
        signed_with = {"tokenKey": record.get("tokenKey")}
        record.data["email"] = new_email
        record.data["verified"] = True
        record.data["tokenKey"] = _new_token_key(collection)
        claimed = await self.records.update_trusted(
            record,
            ["email", "verified", "tokenKey"],
            "Failed to confirm email change.",
            signed_with,
        )
        if not claimed:  # another change (this token or an older one) won the race
            raise_if({"token": INVALID_TOKEN})

    async def _email_change_target(
        self, collection: Collection, token: str
    ) -> tuple[Record | None, str, dict[str, Any] | None]:
        """The record and new address an email-change token names, or why it names none."""
        new_email = claims_of(token).get("newEmail") if token else None
        if not isinstance(new_email, str) or not new_email:
            payload = field_error(
                "validation_invalid_token_payload", "Invalid token payload - newEmail must be set."
            )
            return None, "", payload
        record = await self.record_from_token(token, EMAIL_CHANGE)
        if record is None:
            return None, "", INVALID_TOKEN
        if record.collection.id != collection.id:
            return None, "", COLLECTION_MISMATCH
        if await self.records.find_first(collection, "email", new_email) is not None:
            taken = field_error(
                "validation_invalid_token_email", "The new email address is invalid."
            )
            return None, "", taken
        return record, new_email, None


def _new_token_key(collection: Collection) -> str:
    field = collection.field("tokenKey")
    if isinstance(field, TextField) and field.autogeneratePattern:
        return field.generate()
    return random_string(50)
