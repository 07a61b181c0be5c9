"""Every OAuth2 provider PocketBase 0.40 offers, by the names collections use.

One table (``SPECS``) of ``ProviderSpec`` entries, grouped by kind in the
modules beside this one; ``keelbase.adapters.oauth2`` builds a working provider
from a spec and a collection's config. ``catalog()`` is PocketBase's list of
``/api/collections/meta/oauth2-providers``: by PocketBase's order, then name.
"""

from __future__ import annotations

from keelbase.core.auth.oauth2_providers import code_hosts, identity, social, work
from keelbase.core.auth.oauth2_providers.spec import MappedUser, ProviderSpec, UserRefused

SPECS: dict[str, ProviderSpec] = {
    spec.name: spec for group in (identity, code_hosts, social, work) for spec in group.SPECS
}
PROVIDER_NAMES = frozenset(SPECS)

__all__ = ["PROVIDER_NAMES", "SPECS", "MappedUser", "ProviderSpec", "UserRefused", "catalog"]


def catalog() -> list[dict[str, str]]:
    """Name, display name and logo of every provider, in PocketBase's order."""
    ordered = sorted(SPECS.values(), key=lambda spec: (spec.order, spec.name))
    return [
        {"name": spec.name, "displayName": spec.display_name, "logo": spec.logo} for spec in ordered
    ]
