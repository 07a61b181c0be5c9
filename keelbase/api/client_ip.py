"""The client's IP address, as PocketBase's ``RealIP`` finds it.

Behind a proxy the socket's peer is the proxy, so the settings may name
headers (``X-Forwarded-For``, ``X-Real-IP``…) to read instead. Those headers
are only trusted when configured: anyone can send them.
"""

from __future__ import annotations

import ipaddress

from starlette.types import Scope

from keelbase.services.settings import TrustedProxy


def client_ip(scope: Scope, proxy: TrustedProxy) -> str:
    """The first valid address among the trusted headers, else the socket's peer."""
    if proxy.headers:
        wanted = {name.lower().encode("latin-1") for name in proxy.headers}
        for name, raw in scope.get("headers", ()):
            if name not in wanted:
                continue
            parts = [p.strip() for p in raw.decode("latin-1").split(",") if p.strip()]
            if not parts:
                continue
            candidate = parts[0] if proxy.useLeftmostIP else parts[-1]
            try:
                return str(ipaddress.ip_address(candidate))
            except ValueError:
                continue
    client = scope.get("client")
    return str(client[0]) if client else ""
