"""Every HTTP request in a Sentry scope of its own, whose events name the request.

Put around ``KeelbaseApp``'s request path only when Sentry is on; the module
imports ``sentry_sdk``, so nothing imports it otherwise. The scope keeps one
request's breadcrumbs from showing in another's report. Its events carry the
request id as the ``request_id`` tag (the answer's ``X-Request-Id``) and the
route template as the transaction; with ``pii`` also the user (IP, auth record)
and the request (URL, headers without credentials).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import sentry_sdk
from starlette.types import ASGIApp, Receive, Scope, Send

from keelbase.api.application import REQUEST_ID_KEY, ROUTE_KEY

# Never sent, whatever the PII setting: they are credentials, not personal data.
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


class ErrorTracking:
    def __init__(self, app: ASGIApp, pii: bool, user_ip: Callable[[Scope], str]) -> None:
        self.app = app
        self.pii = pii
        self.user_ip = user_ip

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        with sentry_sdk.isolation_scope() as isolation:
            isolation.add_event_processor(partial(self._describe, scope))
            await self.app(scope, receive, send)

    def _describe(self, scope: Scope, event: Any, hint: Any) -> Any:
        tags = event.setdefault("tags", {})
        tags["http.method"] = scope["method"]
        request_id = scope.get(REQUEST_ID_KEY)
        if request_id:
            tags["request_id"] = request_id
        route = scope.get(ROUTE_KEY)
        if route:
            event["transaction"] = route
            event["transaction_info"] = {"source": "route"}
        if self.pii:
            event["user"] = _user(scope, self.user_ip(scope))
            event["request"] = _request(scope)
        return event


def _user(scope: Scope, ip: str) -> dict[str, str]:
    user = {"ip_address": ip}
    info = scope.get("keelbase.info")
    if info is not None and info.auth is not None:
        user["id"] = info.auth.id
        user["collection"] = info.auth.collection.name
    return user


def _request(scope: Scope) -> dict[str, Any]:
    headers = {
        name.decode("latin-1"): value.decode("latin-1")
        for name, value in scope["headers"]
        if name.decode("latin-1") not in _SECRET_HEADERS
    }
    host = headers.get("host", "")
    return {
        "method": scope["method"],
        "url": f"{scope.get('scheme', 'http')}://{host}{scope['path']}",
        "query_string": scope.get("query_string", b"").decode("latin-1"),
        "headers": headers,
    }
