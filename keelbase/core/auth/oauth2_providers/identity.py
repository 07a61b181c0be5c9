"""Identity platforms: Apple, Google, Microsoft and generic OpenID Connect.

Apple and OIDC without a user endpoint read the user from the ``id_token``
(checked in ``keelbase.adapters.oauth2``); the claims map the same way as an
OIDC userinfo answer. Microsoft's email depends on the collection's
``extra.idTokenEmailClaim`` and is chosen by its adapter.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth.oauth2_providers.spec import (
    MappedUser,
    ProviderSpec,
    flag,
    loose_flag,
    text,
)


def _apple(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "sub"),
        name=text(raw, "name"),
        email=text(raw, "email") if loose_flag(raw.get("email_verified")) else "",
    )


def _google(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "sub"),
        name=text(raw, "name"),
        avatar_url=text(raw, "picture"),
        email=text(raw, "email") if flag(raw, "email_verified") else "",
    )


def _microsoft(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(id=text(raw, "id"), name=text(raw, "displayName"))


def _oidc(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "sub"),
        name=text(raw, "name"),
        username=text(raw, "preferred_username"),
        avatar_url=text(raw, "picture"),
        email=text(raw, "email") if loose_flag(raw.get("email_verified")) else "",
    )


def _oidc_spec(name: str) -> ProviderSpec:
    return ProviderSpec(name, "OIDC", 99, scopes=("openid", "email", "profile"), map_user=_oidc)


SPECS = (
    ProviderSpec(
        "apple", "Apple", 1,
        auth_url="https://appleid.apple.com/auth/authorize",
        token_url="https://appleid.apple.com/auth/token",
        scopes=("name", "email"),
        map_user=_apple,
        auth_params=(("response_mode", "form_post"),),
    ),
    ProviderSpec(
        "google", "Google", 2,
        auth_url="https://accounts.google.com/o/oauth2/v2/auth",
        token_url="https://oauth2.googleapis.com/token",
        user_info_url="https://www.googleapis.com/oauth2/v3/userinfo",
        scopes=(
            "https://www.googleapis.com/auth/userinfo.profile",
            "https://www.googleapis.com/auth/userinfo.email",
        ),
        map_user=_google,
    ),
    ProviderSpec(
        "microsoft", "Microsoft", 3,
        auth_url="https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
        token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",
        user_info_url="https://graph.microsoft.com/v1.0/me",
        scopes=("User.Read",),
        map_user=_microsoft,
    ),
    _oidc_spec("oidc"),
    _oidc_spec("oidc2"),
    _oidc_spec("oidc3"),
)  # fmt: skip
