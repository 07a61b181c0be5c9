"""Sign in with Apple: no user endpoint; the user is the signed ``id_token``.

The token's signature is checked against Apple's published keys, its issuer
must be Apple and its audience the client id (the Services ID). Apple sends
the user's name once, on the first consent, as a ``user`` form field of its
``form_post`` redirect: ``/api/oauth2-redirect`` keeps it for a minute and
the sign-in that follows uses it. The client secret is the JWT you sign with
your Apple key (``POST /api/settings/apple/generate-client-secret`` makes one;
it expires at most after six months).
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import Provider, Token
from keelbase.adapters.oauth2.id_token import check_claims, unverified_claims, verify_signature

ISSUER = "https://appleid.apple.com"
JWKS_URL = "https://appleid.apple.com/auth/keys"


class Apple(Provider):
    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        claims = unverified_claims(token.id_token)
        issuer = self.config.extra.get("issuer")
        check_claims(
            claims,
            self.config.clientId,
            [issuer if isinstance(issuer, str) else ISSUER],
            expiry_required=True,
        )
        jwks_url = self.config.extra.get("jwksURL")
        await verify_signature(
            self.http,
            token.id_token,
            jwks_url if isinstance(jwks_url, str) and jwks_url else JWKS_URL,
        )
        return claims
