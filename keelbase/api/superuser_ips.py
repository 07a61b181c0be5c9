"""``superuserIPs`` at the HTTP edge: a superuser's token from elsewhere is a 403.

As PocketBase's ``superuserIPsWhitelist`` middleware, for every route (realtime,
files, batch and user routes included), after the rate limits. The app checks
requests only while the list is non-empty (``install``), so without it a request
pays one attribute check.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import Scope

from keelbase.api.client_ip import client_ip
from keelbase.api.request import token_of
from keelbase.core.collections.system import SUPERUSERS

if TYPE_CHECKING:
    from keelbase.api.application import KeelbaseApp
    from keelbase.app import App
    from keelbase.services.settings import Settings


async def enforce(app: App, scope: Scope) -> None:
    """Raise ``ForbiddenError`` for a valid superuser token from an address not listed."""
    token = token_of(Request(scope))
    if not token:
        return
    auth = await app.auth.record_from_token(token)
    if auth is None or auth.collection.name != SUPERUSERS:
        return
    app.superuser_ips.check(client_ip(scope, app.settings.current.trustedProxy))


def install(app: App, asgi: KeelbaseApp) -> None:
    """Check superuser requests while the list has entries; check none while it is empty."""

    def use(settings: Settings) -> None:
        asgi.superuser_guard = partial(enforce, app) if settings.superuserIPs else None

    use(app.settings.current)
    app.settings.on_change(use)
