"""CORS and security headers in one pure ASGI middleware.

One wrapper around ``send`` instead of two, and headers encoded once at start:
this runs on every request, so it stays as small as it can.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_SECURITY = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"


class HeadersMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.any_origin = "*" in origins
        self.origins = {o.encode() for o in origins}

    def _allowed(self, origin: bytes) -> bytes | None:
        if self.any_origin:
            return b"*"
        return origin if origin in self.origins else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = b""
        requested_headers = b""
        preflight_method = False
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"access-control-request-method":
                preflight_method = True
            elif name == b"access-control-request-headers":
                requested_headers = value
        allowed = self._allowed(origin) if origin else None
        if scope["method"] == "OPTIONS" and origin and preflight_method:
            headers = [*_SECURITY, (b"vary", b"Origin")]
            status = 403
            if allowed is not None:
                status = 204
                headers += [
                    (b"access-control-allow-origin", allowed),
                    (b"access-control-allow-methods", _METHODS),
                    (b"access-control-max-age", b"86400"),
                ]
                if requested_headers:
                    headers.append((b"access-control-allow-headers", requested_headers))
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        extra = list(_SECURITY)
        if allowed is not None:
            extra.append((b"access-control-allow-origin", allowed))
            if not self.any_origin:
                extra.append((b"vary", b"Origin"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
