"""Small checks shared by the mail-based auth forms, with PocketBase's codes and messages.

The forms are short (an email, a token, a password), so a field's first
failing rule is its error, as ozzo-validation reports it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from keelbase.core.fields.email import is_email
from keelbase.errors import MSG_LOAD, BadRequestError, field_error, required_error

MSG_VALIDATE = "An error occurred while validating the submitted data."

# Reads the request body when the service is ready for it (after the checks that come first).
BodyLoader = Callable[[], Awaitable[dict[str, Any]]]
Errors = dict[str, dict[str, Any]]


INVALID_EMAIL = field_error("validation_is_email", "Must be a valid email address.")


def length(low: int, high: int) -> dict[str, Any]:
    return field_error(
        "validation_length_out_of_range",
        f"The length must be between {low} and {high}.",
        {"max": high, "min": low},
    )


def strings(body: dict[str, Any], *names: str) -> dict[str, str]:
    """The named values as strings (absent or null is ""); any other type is a load error."""
    out: dict[str, str] = {}
    for name in names:
        value = body.get(name)
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise BadRequestError(MSG_LOAD)
        out[name] = value
    return out


def check_email(value: str) -> dict[str, Any] | None:
    """Required, 1 to 255 characters, an email address."""
    if not value:
        return required_error()
    if len(value) > 255:
        return length(1, 255)
    if not is_email(value):
        return INVALID_EMAIL
    return None


def raise_if(errors: Errors, message: str = MSG_VALIDATE) -> None:
    if errors:
        raise BadRequestError(message, errors)
