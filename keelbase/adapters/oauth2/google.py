"""Google: OpenID Connect userinfo; the email counts when Google says it is verified."""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import AuthUser, Provider, Token, as_bool, as_str


class Google(Provider):
    name = "google"
    display_name = "Google"
    default_auth_url = "https://accounts.google.com/o/oauth2/v2/auth"
    default_token_url = "https://oauth2.googleapis.com/token"
    default_user_info_url = "https://www.googleapis.com/oauth2/v3/userinfo"
    scopes = (
        "https://www.googleapis.com/auth/userinfo.profile",
        "https://www.googleapis.com/auth/userinfo.email",
    )

    def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        return AuthUser(
            id=as_str(raw.get("sub")),
            name=as_str(raw.get("name")),
            avatar_url=as_str(raw.get("picture")),
            email=as_str(raw.get("email")) if as_bool(raw.get("email_verified")) else "",
        )
