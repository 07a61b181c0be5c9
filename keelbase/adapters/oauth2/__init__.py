"""OAuth2 providers behind one interface, by the names collections use.

``provider_for(config, http)`` builds the provider for a configured name from
its spec (``keelbase.core.auth.oauth2_providers.SPECS``); most are the plain
``Provider``, the few that need more requests have a class in ``CUSTOM``.
"""

from __future__ import annotations

import httpx

from keelbase.adapters.oauth2.apple import Apple
from keelbase.adapters.oauth2.base import AuthUser, Provider, ProviderError, Token
from keelbase.adapters.oauth2.code_hosts import Bitbucket, Gitee, PrimaryEmailList
from keelbase.adapters.oauth2.microsoft import Microsoft
from keelbase.adapters.oauth2.oidc import OIDC
from keelbase.core.auth.oauth2_providers import SPECS
from keelbase.core.auth.options import OAuth2Provider

CUSTOM: dict[str, type[Provider]] = {
    "apple": Apple,
    "microsoft": Microsoft,
    "oidc": OIDC,
    "oidc2": OIDC,
    "oidc3": OIDC,
    "github": PrimaryEmailList,
    "gitea": PrimaryEmailList,
    "bitbucket": Bitbucket,
    "gitee": Gitee,
}

__all__ = ["CUSTOM", "AuthUser", "Provider", "ProviderError", "Token", "provider_for"]


def provider_for(config: OAuth2Provider, http: httpx.AsyncClient | None) -> Provider | None:
    spec = SPECS.get(config.name)
    if spec is None:
        return None
    return CUSTOM.get(config.name, Provider)(spec, config, http)
