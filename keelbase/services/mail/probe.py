"""``POST /api/settings/test/email``: send one of the auth mails to check the mail settings.

The mail is built from an auth collection's template (``_superusers`` unless
``collection`` names another) for a made-up record whose visible text fields
read ``__pb_test_<name>__``, as PocketBase does, and goes out now, through the
``mail_send`` hooks: a failure is a 400 with the mail server's reason.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth import mail_render
from keelbase.core.dates import now_string
from keelbase.core.fields import AutodateField, BoolField, NumberField
from keelbase.core.ids import random_string
from keelbase.core.records.record import Record
from keelbase.core.request_info import SUPERUSERS
from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.services.auth.mail_flows import AuthMailService
from keelbase.services.auth.mail_forms import (
    BodyLoader,
    Errors,
    check_email,
    length,
    raise_if,
    strings,
)

TEMPLATES = ("verification", "password-reset", "email-change", "otp", "login-alert")
MSG_FAILED = "Failed to send the test email."
TEST_OTP = "123456"
TEST_OTP_ID = "_PB_TEST_OTP_ID_"


class MailProbe:
    def __init__(self, auth_mail: AuthMailService) -> None:
        self.auth_mail = auth_mail

    async def send(self, load: BodyLoader) -> None:
        values = strings(await load(), "email", "template", "collection")
        email, template, name = values["email"], values["template"], values["collection"]
        errors: Errors = {}
        found = None
        if len(name) > 255:
            errors["collection"] = length(1, 255)
        else:
            found = self.auth_mail.records.schema.get(name or SUPERUSERS)
            if found is None or not found.is_auth:
                errors["collection"] = field_error(
                    "validation_invalid_auth_collection",
                    "Must be a valid auth collection id or name.",
                )
        problem = check_email(email)
        if problem:
            errors["email"] = problem
        if not template:
            errors["template"] = required_error()
        elif template not in TEMPLATES:
            errors["template"] = field_error("validation_in_invalid", "Must be a valid value.")
        raise_if(errors, MSG_FAILED)
        assert found is not None
        record = Record(found, _test_data(found.fields, email))
        subject, html = self._compose(record, template, email)
        try:
            await self.auth_mail.mailer.send(email, subject, html)
        except Exception as failure:  # MailError, refused connections, bad addresses
            reason = str(failure).rstrip(".") or type(failure).__name__
            raise BadRequestError(f"{MSG_FAILED} Raw error: \n{reason}.") from failure

    def _compose(self, record: Record, template: str, email: str) -> tuple[str, str]:
        mails = self.auth_mail
        options = record.collection.auth
        assert options is not None
        if template == "verification":
            return mails.verification_mail(record)
        if template == "password-reset":
            return mails.password_reset_mail(record)
        if template == "email-change":
            return mails.email_change_mail(record, email)
        if template == "otp":
            extra = {mail_render.OTP: TEST_OTP, mail_render.OTP_ID: TEST_OTP_ID}
            return mails.compose(record, options.otp.emailTemplate, extra)
        info = f"{now_string()} - TEST_IP TEST_USER_AGENT"
        return mails.compose(
            record, options.authAlert.emailTemplate, {mail_render.ALERT_INFO: info}
        )


def _test_data(fields: list[Any], email: str) -> dict[str, Any]:
    """PocketBase's stand-in record: each visible field set to ``__pb_test_<name>__``."""
    data: dict[str, Any] = {}
    for field in fields:
        if field.hidden:
            continue
        if isinstance(field, BoolField):
            data[field.name] = False
        elif isinstance(field, NumberField):
            data[field.name] = 0
        elif isinstance(field, AutodateField):
            data[field.name] = ""
        elif field.type in ("text", "email", "url", "editor", "select", "relation", "file"):
            data[field.name] = f"__pb_test_{field.name}__"
        else:
            data[field.name] = ""
    data["id"] = "__pb_test_id__"
    data["tokenKey"] = random_string(50)
    data["email"] = email
    return data
