"""CORS and security headers, encoded once at start (used by ``KeelbaseApp``)."""

from __future__ import annotations

from starlette.types import Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"x-xss-protection", b"1; mode=block"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_METHODS = b"GET,HEAD,PUT,PATCH,POST,DELETE"


# Browsers hide response headers from scripts unless named here; the id lets a
# client quote the request it is complaining about.
_EXPOSED = (b"access-control-expose-headers", b"X-Request-Id")


def cors_extra(allowed: bytes | None, any_origin: bool) -> list[tuple[bytes, bytes]]:
    if allowed is None:
        return []
    if any_origin:
        return [(b"access-control-allow-origin", allowed), _EXPOSED]
    return [(b"access-control-allow-origin", allowed), (b"vary", b"Origin"), _EXPOSED]


async def preflight(
    send: Send,
    allowed: bytes | None,
    requested_headers: bytes,
    request_id: tuple[bytes, bytes],
    has_origin: bool = True,
) -> None:
    """Answer a CORS preflight as PocketBase does: 204 with what may be sent (403 for an
    origin not allowed); an OPTIONS request without an Origin gets a bare 204."""
    if not has_origin:
        headers = [(b"vary", b"Origin"), request_id]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    headers = [*SECURITY_HEADERS, (b"vary", b"Origin"), request_id]
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
