"""What a provider is, as data: its endpoints, scopes, PKCE default and how to read its user.

A ``ProviderSpec`` holds everything PocketBase hard-codes per provider in
``tools/auth``; its ``map_user`` turns the provider's user JSON (and the token
answer, for the few that put the user's email there) into a ``MappedUser``.
Mapping is pure: fetching lives in ``keelbase.adapters.oauth2``.

``MappedUser.email`` is the email the provider vouches for, or "": only that
email may find, link or verify an existing account. A provider that reports an
unverified address maps it to "".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from keelbase.core.auth.oauth2_providers.logos import LOGOS


class UserRefused(ValueError):
    """The provider's answer is not a user who may sign in (inactive, missing, malformed)."""


@dataclass
class MappedUser:
    id: str
    name: str = ""
    username: str = ""
    email: str = ""
    avatar_url: str = ""


UserMapper = Callable[[dict[str, Any], dict[str, Any]], MappedUser]


def _no_mapping(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    raise UserRefused("this provider maps its user in its adapter")


@dataclass(frozen=True)
class ProviderSpec:
    """One provider's defaults; a collection's provider config overrides the URLs and PKCE.

    ``user_info_body`` makes the user request a JSON ``POST`` (GraphQL APIs);
    ``user_info_headers`` are sent with it, and each of ``client_id_headers``
    carries the client id (APIs that want the app named besides the token).
    ``token_fields`` are copied from the token answer into ``rawUser`` when the
    user answer lacks them.
    """

    name: str
    display_name: str
    order: int
    auth_url: str = ""
    token_url: str = ""
    user_info_url: str = ""
    scopes: tuple[str, ...] = ()
    pkce: bool = True
    map_user: UserMapper = _no_mapping
    auth_params: tuple[tuple[str, str], ...] = ()
    user_info_body: str = ""
    user_info_headers: tuple[tuple[str, str], ...] = ()
    client_id_headers: tuple[str, ...] = ()
    token_fields: tuple[str, ...] = field(default=())

    @property
    def logo(self) -> str:
        return LOGOS.get(self.name, "")


# Reading provider JSON the way Go's typed decoding does, without its errors for odd types.


def node(raw: Any, *path: str) -> Any:
    """The value at ``path`` in nested objects, or None when any step is missing."""
    value = raw
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text(raw: Any, *path: str) -> str:
    """A string (or a number, as text) at ``path``; anything else is ""."""
    value = node(raw, *path)
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float | str):
        return str(value)
    return ""


def flag(raw: Any, *path: str) -> bool:
    """A JSON boolean that must be ``true`` itself (a typed ``bool`` field in PocketBase)."""
    return node(raw, *path) is True


def loose_flag(value: Any) -> bool:
    """Go's ``cast.ToBool``: ``email_verified`` may come as a bool, a number or "true"."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true")
    if isinstance(value, bool):
        return value
    return isinstance(value, int | float) and value != 0


def first(raw: Any, *path: str) -> dict[str, Any]:
    """The first object of the list at ``path`` ({} when there is none)."""
    value = node(raw, *path)
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return value[0]
    return {}
