"""The ``oauth2`` part of ``auth-methods``: the enabled providers, each with its logo, a
fresh ``state``, PKCE pair and consent URL (``redirect_uri`` left empty for the client to
append); and PocketBase's catalogue of every provider for ``meta/oauth2-providers``.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth.options import OAuth2Provider
from keelbase.core.collections.collection import Collection
from keelbase.core.ids import random_string
from keelbase.core.request_info import SUPERUSERS

ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def enabled_providers(collection: Collection) -> list[OAuth2Provider]:
    """The providers a client may use; none when OAuth2 is off (always off for superusers)."""
    options = collection.auth
    if options is None or not options.oauth2.enabled or collection.name == SUPERUSERS:
        return []
    from keelbase.adapters.oauth2 import provider_for  # httpx and every provider: on first use

    return [p for p in options.oauth2.providers if provider_for(p, None) is not None]


def oauth2_methods(collection: Collection) -> dict[str, Any]:
    """The ``oauth2`` part of ``auth-methods``: a fresh state and PKCE pair per provider."""
    options = collection.auth
    enabled = bool(options and options.oauth2.enabled and collection.name != SUPERUSERS)
    listed: list[dict[str, Any]] = []
    from keelbase.adapters.oauth2 import provider_for

    for config in enabled_providers(collection):
        provider = provider_for(config, None)
        assert provider is not None
        state = random_string(30, ALPHANUMERIC)
        verifier = challenge = method = ""
        if provider.pkce:
            verifier = random_string(43, ALPHANUMERIC)
            from authlib.oauth2.rfc7636 import create_s256_code_challenge  # loaded when used

            challenge = create_s256_code_challenge(verifier)
            method = "S256"
        url = provider.build_auth_url(state, challenge)
        listed.append({
            "name": config.name, "displayName": provider.title, "logo": provider.logo, "state": state,
            "authURL": url, "authUrl": url,
            "codeVerifier": verifier, "codeChallenge": challenge, "codeChallengeMethod": method,
        })  # fmt: skip
    return {"providers": listed, "enabled": enabled}


def provider_catalog() -> list[dict[str, str]]:
    """PocketBase's ``meta/oauth2-providers``: every provider, enabled anywhere or not."""
    from keelbase.core.auth.oauth2_providers import catalog  # not needed at start

    return catalog()
