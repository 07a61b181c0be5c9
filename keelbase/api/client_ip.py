"""The client's IP address, as PocketBase's ``RealIP`` finds it.

Behind a proxy the socket's peer is the proxy, so the settings may name
headers (``X-Forwarded-For``, ``X-Real-IP``…) to read instead. Those headers
are only trusted when configured: anyone can send them. One reading for
everything (request info, login alerts, rate limits and sign-in counters), so
a client cannot look like one address to one and another to the other.
"""

from __future__ import annotations

from starlette.types import Scope

from keelbase.core.rate_limits import client_ip as resolve_ip
from keelbase.services.settings import TrustedProxy


def client_ip(scope: Scope, proxy: TrustedProxy) -> str:
    """The address the trusted proxy headers give (see ``resolve_ip``), else the peer's."""
    peer = scope.get("client")
    remote = str(peer[0]) if peer else ""
    if not proxy.headers:
        return remote
    return resolve_ip(scope.get("headers", ()), remote, proxy.headers, proxy.useLeftmostIP)
