"""Reading an OpenID Connect ``id_token``: its claims, checked as PocketBase checks them.

The token came straight from the provider over TLS, so its signature check is
optional for generic OIDC (done when a ``jwksURL`` is configured) and always
done for Apple. ``iat``/``exp``/``nbf`` allow five minutes of clock skew.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import orjson

from keelbase.adapters.oauth2.base import TIMEOUT, ProviderError

LEEWAY = 300
ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def unverified_claims(id_token: str) -> dict[str, Any]:
    # joserfc (and cryptography under it) load on the first sign-in that needs them
    from joserfc import jws
    from joserfc.errors import JoseError

    if not id_token:
        raise ProviderError("empty id_token")
    try:
        claims = orjson.loads(jws.extract_compact(id_token.encode()).payload)
    except (JoseError, ValueError) as error:
        raise ProviderError("malformed id_token") from error
    if not isinstance(claims, dict):
        raise ProviderError("malformed id_token")
    return claims


def check_claims(
    claims: dict[str, Any], audience: str, issuers: list[str], expiry_required: bool = False
) -> None:
    """``aud`` must name the client; the times must hold; ``iss`` must be listed (when given)."""
    audiences = claims.get("aud")
    listed = audiences if isinstance(audiences, list) else [audiences]
    if audience not in listed:
        raise ProviderError("id_token aud does not name this client")
    if expiry_required and claims.get("exp") is None:
        raise ProviderError("id_token has no exp")
    check_times(claims)
    if issuers and claims.get("iss") not in issuers:
        raise ProviderError("id_token iss is not one of the allowed issuers")


def check_times(claims: dict[str, Any]) -> None:
    """``exp`` not past, ``iat`` and ``nbf`` not ahead, each within the leeway (when present)."""
    now = time.time()
    for name, late in (("exp", False), ("iat", True), ("nbf", True)):
        value = claims.get(name)
        if value is None:
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ProviderError(f"id_token {name} is not a number")
        if late and value > now + LEEWAY:
            raise ProviderError(f"id_token {name} is in the future")
        if not late and value < now - LEEWAY:
            raise ProviderError("id_token expired")


async def verify_signature(http: httpx.AsyncClient | None, id_token: str, jwks_url: str) -> None:
    """Check the signature with the provider's published keys (by ``kid``)."""
    from joserfc import jwt
    from joserfc.errors import JoseError
    from joserfc.jwk import KeySet

    if http is None:
        raise ProviderError("no HTTP client")
    try:
        answer = await http.get(jwks_url, timeout=TIMEOUT)
    except (httpx.HTTPError, ValueError) as error:
        raise ProviderError(f"GET {jwks_url} failed: {type(error).__name__}") from error
    if answer.status_code >= 400:
        raise ProviderError(f"{jwks_url} answered {answer.status_code}")
    try:
        keys = KeySet.import_key_set(orjson.loads(answer.content))
        jwt.decode(id_token, keys, algorithms=ALGORITHMS)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ProviderError(f"id_token signature check failed: {type(error).__name__}") from error
