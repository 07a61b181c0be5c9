"""Microsoft (Entra ID / personal accounts): Graph's ``/me``, and the email by choice.

The tenant is part of ``authURL``/``tokenURL``; the defaults use ``common``.
Graph's ``mail`` is whatever a tenant's admin typed, never verified, so unlike
PocketBase (which takes it by default) it is never the user's email here: with
``common`` anyone can create a tenant whose user claims someone else's address
and would be linked to that account (the "nOAuth" takeover). It stays readable
in ``meta.rawUser``.

``extra.idTokenEmailClaim`` (as in PocketBase) takes the email from the
``id_token`` instead, and adds the ``openid`` scope to get one:
``verified_primary_email`` (that claim), ``email_and_xms_edov`` (``email`` when
``xms_edov`` says the domain owner verified it), ``any_verified`` (the first,
else the second) or ``email`` (the plain claim: only for a single tenant you trust).
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import AuthUser, Provider, ProviderError, Token
from keelbase.adapters.oauth2.id_token import check_times, unverified_claims
from keelbase.core.auth.oauth2_providers.spec import loose_flag, text
from keelbase.core.auth.options import OAuth2Provider

EMAIL_CLAIM = "idTokenEmailClaim"
EMAIL_CLAIMS = ("any_verified", "verified_primary_email", "email_and_xms_edov", "email")


class Microsoft(Provider):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.email_claim and "openid" not in self.scopes:
            self.scopes = (*self.scopes, "openid")

    @property
    def email_claim(self) -> str:
        config: OAuth2Provider = self.config
        value = config.extra.get(EMAIL_CLAIM)
        return value if isinstance(value, str) else ""

    async def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        user = await super().user_from(raw, token)
        choice = self.email_claim
        if choice not in EMAIL_CLAIMS:
            return user
        try:
            claims = unverified_claims(token.id_token)
            check_times(claims)
        except ProviderError:
            return user  # as PocketBase: no usable id_token, no email
        primary = text(claims, "verified_primary_email")
        domain_verified = text(claims, "email") if loose_flag(claims.get("xms_edov")) else ""
        user.email = {
            "any_verified": primary or domain_verified,
            "verified_primary_email": primary,
            "email_and_xms_edov": domain_verified,
            "email": text(claims, "email"),
        }[choice]
        return user
