"""Checks of an auth collection's OAuth2 providers, with PocketBase's error codes.

The provider names come from ``keelbase.core.auth.oauth2_providers`` (the
table ``keelbase.adapters.oauth2`` builds its providers from), so a name no
provider implements is refused here.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from keelbase.core.auth.options import AuthOptions, OAuth2Provider
from keelbase.errors import field_error, required_error

__all__ = ["oauth2_errors"]

URL_FIELDS = ("authURL", "tokenURL", "userInfoURL")
HOST = re.compile(r"^[\w.:-]+$")


def oauth2_errors(options: AuthOptions) -> dict[str, Any]:
    """Per-provider errors keyed by position, as PocketBase reports them (empty when valid)."""
    if not options.oauth2.providers:
        return {}
    # The providers' table is imported by the first collection that names one, not at start.
    from keelbase.core.auth.oauth2_providers import PROVIDER_NAMES

    errors: dict[str, Any] = {}
    seen: set[str] = set()
    for position, provider in enumerate(options.oauth2.providers):
        entry: dict[str, Any] = {}
        if provider.name not in PROVIDER_NAMES:
            entry["name"] = field_error(
                "validation_missing_provider",
                f"Invalid or missing provider with name {provider.name}.",
                {"name": provider.name},
            )
        elif provider.name in seen:
            entry["name"] = field_error(
                "validation_duplicated_provider",
                f"The provider {provider.name} is already registered.",
                {"name": provider.name},
            )
        seen.add(provider.name)
        if not provider.clientId:
            entry["clientId"] = required_error()
        if not provider.clientSecret:
            entry["clientSecret"] = required_error()
        entry.update(_url_errors(provider))
        if entry:
            errors[str(position)] = entry
    return {"providers": errors} if errors else {}


def _url_errors(provider: OAuth2Provider) -> dict[str, Any]:
    return {
        name: field_error("validation_is_url", "Must be a valid URL.")
        for name in URL_FIELDS
        if getattr(provider, name) and not _looks_like_url(getattr(provider, name))
    }


def _looks_like_url(value: str) -> bool:
    """As lenient as PocketBase's ``is.URL``: any scheme or none, but a host and no spaces."""
    if any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value if "://" in value else "http://" + value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    return host is not None and HOST.match(host) is not None
