"""OAuth2 providers behind one interface, by the names collections use.

``provider_for(config, http)`` returns the adapter for a configured provider;
the names match ``keelbase.core.auth.oauth2.PROVIDER_NAMES``.
"""

from __future__ import annotations

import httpx

from keelbase.adapters.oauth2.apple import Apple
from keelbase.adapters.oauth2.base import AuthUser, Provider, ProviderError, Token
from keelbase.adapters.oauth2.github import GitHub
from keelbase.adapters.oauth2.google import Google
from keelbase.adapters.oauth2.microsoft import Microsoft
from keelbase.adapters.oauth2.oidc import OIDC
from keelbase.core.auth.options import OAuth2Provider

PROVIDERS: dict[str, type[Provider]] = {
    "google": Google,
    "github": GitHub,
    "microsoft": Microsoft,
    "apple": Apple,
    "oidc": OIDC,
    "oidc2": OIDC,
    "oidc3": OIDC,
}

__all__ = ["PROVIDERS", "AuthUser", "Provider", "ProviderError", "Token", "provider_for"]


def provider_for(config: OAuth2Provider, http: httpx.AsyncClient | None) -> Provider | None:
    kind = PROVIDERS.get(config.name)
    return kind(config, http) if kind is not None else None
