"""Checks of an auth collection's OAuth2 providers, with PocketBase's error codes.

The provider names Keelbase can sign in with live here, so that core can
refuse a name no adapter implements; ``keelbase.adapters.oauth2`` has one
adapter per name.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth.options import AuthOptions
from keelbase.errors import field_error, required_error

PROVIDER_NAMES = frozenset({"google", "github", "microsoft", "apple", "oidc", "oidc2", "oidc3"})


def oauth2_errors(options: AuthOptions) -> dict[str, Any]:
    """Per-provider errors keyed by position, as PocketBase reports them (empty when valid)."""
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
        if entry:
            errors[str(position)] = entry
    return {"providers": errors} if errors else {}
