"""The one way Keelbase reports a failure to a client.

Hierarchy::

    ApiError(status, message, data)     any 4xx/5xx answer in PocketBase's shape
    ├── BadRequestError   400
    ├── UnauthorizedError 401
    │   └── MfaRequiredError  401 ``{"mfaId": ...}``: sign in again with another method
    ├── ForbiddenError    403
    ├── NotFoundError     404
    ├── TooLargeError     413
    └── TooManyRequestsError 429

``data`` maps a field name to ``{"code": ..., "message": ...}`` (or to a nested
mapping of the same shape); the api layer serialises it unchanged. Any other
exception is a bug and becomes a 500 with a generic message.
"""

from __future__ import annotations

from typing import Any

# Messages PocketBase gives for the common cases (checked against 0.40.6).
MSG_BAD_REQUEST = "Something went wrong while processing your request."
MSG_NOT_FOUND = "The requested resource wasn't found."
MSG_FORBIDDEN = "You are not allowed to perform this request."
MSG_SUPERUSER_ONLY = "Only superusers can perform this action."
MSG_UNAUTHORIZED = "The request requires valid record authorization token."
MSG_MISSING_COLLECTION = "Missing collection context."
MSG_INTERNAL = "Something went wrong while processing your request."
MSG_TOO_LARGE = "Request entity too large."  # PocketBase sentenizes its messages
MSG_TOO_MANY = "Too Many Requests."
MSG_LOAD = "An error occurred while loading the submitted data."

# Field error codes and messages, as PocketBase's validators name them.
CODE_REQUIRED = "validation_required"
CODE_NOT_UNIQUE = "validation_not_unique"
CODE_INVALID_VALUE = "validation_invalid_value"
CODE_IN_INVALID = "validation_in_invalid"
CODE_IS_EMAIL = "validation_is_email"
CODE_LENGTH_OUT_OF_RANGE = "validation_length_out_of_range"
CODE_VALUES_MISMATCH = "validation_values_mismatch"
MSG_REQUIRED = "Cannot be blank."
MSG_IN_INVALID = "Must be a valid value."
MSG_IS_EMAIL = "Must be a valid email address."


def field_error(code: str, message: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """One field's entry in ``ApiError.data``: ``{code, message}``, and ``params`` when the
    message was made from a template (PocketBase's SDKs and dashboards read them)."""
    out: dict[str, Any] = {"code": code, "message": message}
    if params is not None:
        out["params"] = params
    return out


def required_error() -> dict[str, Any]:
    """The error of a field that must not be blank."""
    return field_error(CODE_REQUIRED, MSG_REQUIRED)


class ApiError(Exception):
    """An answer for the client: status, message and per-field errors."""

    status: int = 400

    def __init__(
        self,
        status: int | None = None,
        message: str = MSG_BAD_REQUEST,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message
        self.data: dict[str, Any] = data or {}

    def to_json(self) -> dict[str, Any]:
        return {"data": self.data, "message": self.message, "status": self.status}

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.status}, {self.message!r}, {self.data!r})"


class BadRequestError(ApiError):
    status = 400

    def __init__(self, message: str = MSG_BAD_REQUEST, data: dict[str, Any] | None = None) -> None:
        super().__init__(400, message, data)


class UnauthorizedError(ApiError):
    status = 401

    def __init__(self, message: str = MSG_UNAUTHORIZED, data: dict[str, Any] | None = None) -> None:
        super().__init__(401, message, data)


class MfaRequiredError(UnauthorizedError):
    """A first factor passed but the collection wants a second one.

    PocketBase answers this with a bare ``{"mfaId": ...}`` (no error envelope),
    which its SDKs read to continue the sign-in.
    """

    def __init__(self, mfa_id: str) -> None:
        super().__init__("Multi-factor authentication required.")
        self.mfa_id = mfa_id

    def to_json(self) -> dict[str, Any]:
        return {"mfaId": self.mfa_id}


class ForbiddenError(ApiError):
    status = 403

    def __init__(self, message: str = MSG_FORBIDDEN, data: dict[str, Any] | None = None) -> None:
        super().__init__(403, message, data)


class NotFoundError(ApiError):
    status = 404

    def __init__(self, message: str = MSG_NOT_FOUND, data: dict[str, Any] | None = None) -> None:
        super().__init__(404, message, data)


class ConflictError(ApiError):
    """The record is no longer at the version the client expected (sync's ``If-Match``)."""

    status = 409

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(409, message, data)


class GoneError(ApiError):
    """A sync cursor the change log can no longer serve: the client starts again."""

    status = 410

    def __init__(self, message: str, data: dict[str, Any] | None = None) -> None:
        super().__init__(410, message, data)


class TooLargeError(ApiError):
    status = 413

    def __init__(self, message: str = MSG_TOO_LARGE, data: dict[str, Any] | None = None) -> None:
        super().__init__(413, message, data)


class TooManyRequestsError(ApiError):
    status = 429

    def __init__(self, message: str = MSG_TOO_MANY, data: dict[str, Any] | None = None) -> None:
        super().__init__(429, message, data)


class ValidationError(BadRequestError):
    """Field errors collected while validating input; ``data`` holds them."""
