"""Generic OpenID Connect ("oidc", "oidc2", "oidc3"): every URL comes from the config.

The user comes from ``userInfoURL`` when set, else from the ``id_token``
(checked against ``extra.issuers`` and, when ``extra.jwksURL`` is set, its
signature). ``email`` counts only when ``email_verified`` says so.
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import Provider, Token
from keelbase.adapters.oauth2.id_token import check_claims, unverified_claims, verify_signature


class OIDC(Provider):
    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        if self.user_info_url:
            return await super().fetch_raw_user(token)
        claims = unverified_claims(token.id_token)
        issuers = self.config.extra.get("issuers")
        allowed = [i for i in issuers if isinstance(i, str)] if isinstance(issuers, list) else []
        check_claims(claims, self.config.clientId, allowed)
        jwks_url = self.config.extra.get("jwksURL")
        if isinstance(jwks_url, str) and jwks_url:
            await verify_signature(self.http, token.id_token, jwks_url)
        return claims
