"""The options of auth collections, with PocketBase's defaults.

Token secrets are kept in the store but never shown through the API.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from keelbase.core.auth import mail_templates as tpl
from keelbase.core.ids import random_string


def new_secret() -> str:
    return random_string(50, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class EmailTemplate(_Model):
    subject: str = ""
    body: str = ""


class TokenConfig(_Model):
    duration: int = 0
    secret: str = Field(default_factory=new_secret)

    def public(self) -> dict[str, Any]:
        return {"duration": self.duration}


class AuthAlert(_Model):
    enabled: bool = True
    emailTemplate: EmailTemplate = Field(
        default_factory=lambda: EmailTemplate(
            subject=tpl.AUTH_ALERT_SUBJECT, body=tpl.AUTH_ALERT_BODY
        )
    )


class MappedFields(_Model):
    id: str = ""
    name: str = ""
    username: str = ""
    avatarURL: str = ""


class OAuth2Provider(_Model):
    """One configured provider; ``clientSecret`` never leaves the server."""

    model_config = ConfigDict(extra="ignore", strict=True)
    pkce: bool | None = None
    name: str = ""
    clientId: str = ""
    clientSecret: str = ""
    authURL: str = ""
    tokenURL: str = ""
    userInfoURL: str = ""
    displayName: str = ""
    extra: dict[str, Any] = Field(default_factory=dict)

    @field_validator("extra", mode="before")
    @classmethod
    def _null_extra(cls, value: Any) -> Any:
        return {} if value is None else value


class OAuth2(_Model):
    providers: list[OAuth2Provider] = []
    mappedFields: MappedFields = Field(default_factory=MappedFields)
    enabled: bool = False


class PasswordAuth(_Model):
    enabled: bool = True
    identityFields: list[str] = Field(default_factory=lambda: ["email"])


class MFA(_Model):
    enabled: bool = False
    duration: int = 600
    rule: str = ""


class OTP(_Model):
    enabled: bool = False
    duration: int = 180
    length: int = 8
    emailTemplate: EmailTemplate = Field(
        default_factory=lambda: EmailTemplate(subject=tpl.OTP_SUBJECT, body=tpl.OTP_BODY)
    )


def _token(duration: int) -> Any:
    return Field(default_factory=lambda: TokenConfig(duration=duration))


TOKEN_KEYS = (
    "authToken",
    "passwordResetToken",
    "emailChangeToken",
    "verificationToken",
    "fileToken",
)


class AuthOptions(_Model):
    authRule: str | None = ""
    manageRule: str | None = None
    authAlert: AuthAlert = Field(default_factory=AuthAlert)
    oauth2: OAuth2 = Field(default_factory=OAuth2)
    passwordAuth: PasswordAuth = Field(default_factory=PasswordAuth)
    mfa: MFA = Field(default_factory=MFA)
    otp: OTP = Field(default_factory=OTP)
    authToken: TokenConfig = _token(432000)
    passwordResetToken: TokenConfig = _token(1800)
    emailChangeToken: TokenConfig = _token(1800)
    verificationToken: TokenConfig = _token(86400)
    fileToken: TokenConfig = _token(180)
    verificationTemplate: EmailTemplate = Field(
        default_factory=lambda: EmailTemplate(
            subject=tpl.VERIFICATION_SUBJECT, body=tpl.VERIFICATION_BODY
        )
    )
    resetPasswordTemplate: EmailTemplate = Field(
        default_factory=lambda: EmailTemplate(
            subject=tpl.RESET_PASSWORD_SUBJECT, body=tpl.RESET_PASSWORD_BODY
        )
    )
    confirmEmailChangeTemplate: EmailTemplate = Field(
        default_factory=lambda: EmailTemplate(
            subject=tpl.CONFIRM_EMAIL_CHANGE_SUBJECT, body=tpl.CONFIRM_EMAIL_CHANGE_BODY
        )
    )

    def to_json(self, with_secrets: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = self.model_dump()
        if not with_secrets:
            for key in TOKEN_KEYS:
                out[key] = getattr(self, key).public()
            for provider in out["oauth2"]["providers"]:
                provider.pop("clientSecret", None)
        return out

    def merged_with(self, data: dict[str, Any]) -> AuthOptions:
        """These options updated by a client's partial JSON; secrets survive unless given."""
        current = self.to_json(with_secrets=True)
        for key, value in data.items():
            if key not in type(self).model_fields:
                continue
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                merged = dict(current[key])
                merged.update(value)
                current[key] = merged
            else:
                current[key] = value
        _merge_providers(self.oauth2, current.get("oauth2"))
        return AuthOptions.model_validate(current)


def _merge_providers(before: OAuth2, after: Any) -> None:
    """As PocketBase: a provider sent again (by name) updates only the keys it names.

    Clients never see secrets, so a provider sent back without ``clientSecret``
    keeps its stored one; the same holds for its URLs, display name, PKCE flag
    and ``extra`` (whose keys merge). A key sent as null is reset to its default.
    """
    providers = after.get("providers") if isinstance(after, dict) else None
    if not isinstance(providers, list):
        return
    stored = {p.name: p.model_dump() for p in before.providers}
    for position, provider in enumerate(providers):
        name = provider.get("name") if isinstance(provider, dict) else None
        if not isinstance(provider, dict) or not isinstance(name, str) or name not in stored:
            continue
        merged = dict(stored[name])
        for key, value in provider.items():
            if value is None:
                merged.pop(key, None)
            elif key == "extra" and isinstance(value, dict):
                merged[key] = {**merged.get(key, {}), **value}
            else:
                merged[key] = value
        providers[position] = merged
