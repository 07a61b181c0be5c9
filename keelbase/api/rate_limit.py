"""Rate limits at the HTTP edge: the client's IP, its auth, and the check before routing.

The app calls ``enforce`` only while ``rateLimits.enabled`` is on (``install``
keeps that in step with the settings), so with limits off a request pays one
attribute check and nothing else.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.types import Scope

from keelbase.api.request import token_of
from keelbase.core.rate_limits import client_ip as resolve_ip

if TYPE_CHECKING:
    from keelbase.api.application import KeelbaseApp
    from keelbase.app import App
    from keelbase.services.settings import Settings


def client_ip(app: App, scope: Scope) -> str:
    """The client's IP, from the trusted proxy headers when the settings name some."""
    peer = scope.get("client")
    remote = str(peer[0]) if peer else ""
    limits = app.rate_limits
    if not limits.trusted_headers:
        return remote
    return resolve_ip(scope["headers"], remote, limits.trusted_headers, limits.use_leftmost_ip)


async def enforce(app: App, scope: Scope) -> None:
    """Raise ``TooManyRequestsError`` when this request is over its rule's allowance."""
    token = token_of(Request(scope))
    auth = await app.auth.record_from_token(token) if token else None
    await app.rate_limits.check_request(scope["method"], scope["path"], client_ip(app, scope), auth)


def install(app: App, asgi: KeelbaseApp) -> None:
    """Check every request while limits are on; check none while they are off."""

    def use(settings: Settings) -> None:
        asgi.guard = partial(enforce, app) if settings.rateLimits.enabled else None

    use(app.settings.current)
    app.settings.on_change(use)
