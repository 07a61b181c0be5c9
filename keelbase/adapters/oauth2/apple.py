"""Sign in with Apple: no user endpoint; the user is the signed ``id_token``.

The token's signature is checked against Apple's published keys, its issuer
must be Apple and its audience the client id (the Services ID). Apple sends
the user's name once, on the first consent, as a ``user`` form field of its
``form_post`` redirect: ``/api/oauth2-redirect`` keeps it for a minute and
the sign-in that follows uses it. The client secret is the JWT you sign with
your Apple key (it expires at most after six months).
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import AuthUser, Provider, Token, as_bool, as_str
from keelbase.adapters.oauth2.id_token import check_claims, unverified_claims, verify_signature

ISSUER = "https://appleid.apple.com"
JWKS_URL = "https://appleid.apple.com/auth/keys"


class Apple(Provider):
    name = "apple"
    display_name = "Apple"
    default_auth_url = "https://appleid.apple.com/auth/authorize"
    default_token_url = "https://appleid.apple.com/auth/token"
    scopes = ("name", "email")
    auth_params = {"response_mode": "form_post"}

    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        claims = unverified_claims(token.id_token)
        issuer = self.config.extra.get("issuer")
        check_claims(claims, self.config.clientId, [issuer if isinstance(issuer, str) else ISSUER])
        jwks_url = self.config.extra.get("jwksURL")
        await verify_signature(
            self.http,
            token.id_token,
            jwks_url if isinstance(jwks_url, str) and jwks_url else JWKS_URL,
        )
        return claims

    def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        return AuthUser(
            id=as_str(raw.get("sub")),
            email=as_str(raw.get("email")) if as_bool(raw.get("email_verified")) else "",
        )
