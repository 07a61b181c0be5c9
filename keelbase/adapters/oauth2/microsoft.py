"""Microsoft (Entra ID / personal accounts): Graph's ``/me``.

The tenant is part of ``authURL``/``tokenURL``; the defaults use ``common``.
Graph's ``mail`` is whatever a tenant's admin typed, never verified, so it is
not the user's email here: with ``common`` anyone can create a tenant whose
user claims someone else's address and would be linked to that account (the
"nOAuth" takeover). It stays readable in ``meta.rawUser``.
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import AuthUser, Provider, Token, as_str


class Microsoft(Provider):
    name = "microsoft"
    display_name = "Microsoft"
    default_auth_url = "https://login.microsoftonline.com/common/oauth2/v2.0/authorize"
    default_token_url = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
    default_user_info_url = "https://graph.microsoft.com/v1.0/me"
    scopes = ("User.Read",)

    def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        return AuthUser(
            id=as_str(raw.get("id")),
            name=as_str(raw.get("displayName")),
        )
