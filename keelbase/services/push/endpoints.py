"""A browser's PushSubscription JSON checked, and its endpoint kept off private networks.

The endpoint is a URL the client chooses and the server later POSTs to, so it
is held to what browsers hand out: ``https``, a public address. Tests (and apps
whose push service runs inside their network) allow private ones explicitly.
"""

from __future__ import annotations

import asyncio
import binascii
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from keelbase.errors import BadRequestError, field_error, required_error
from keelbase.services.push.keys import b64url_decode
from keelbase.services.push.subscriptions import PushSubscription

MAX_ENDPOINT = 2048


def parse_subscription(body: Any, allow_private: bool) -> PushSubscription:
    """The subscription a body describes; a 400 naming each bad field otherwise."""
    errors: dict[str, Any] = {}
    body = body if isinstance(body, dict) else {}
    endpoint = body.get("endpoint")
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    if not isinstance(endpoint, str) or not endpoint:
        errors["endpoint"] = required_error()
    elif not is_url_text(endpoint) or not _acceptable_url(endpoint, allow_private):
        errors["endpoint"] = field_error(
            "validation_invalid_url", "Must be the https URL of a push service."
        )
    key_errors: dict[str, Any] = {}
    p256dh, auth = keys.get("p256dh"), keys.get("auth")
    if not _key_of(p256dh, 65, b"\x04"):
        key_errors["p256dh"] = field_error(
            "validation_invalid_key", "Must be a base64url P-256 public key (65 bytes)."
        )
    if not _key_of(auth, 16):
        key_errors["auth"] = field_error(
            "validation_invalid_key", "Must be a base64url authentication secret (16 bytes)."
        )
    if key_errors:
        errors["keys"] = key_errors
    if errors:
        raise BadRequestError("Invalid push subscription.", errors)
    return PushSubscription(str(endpoint), str(p256dh), str(auth))


def is_url_text(endpoint: str) -> bool:
    """Printable ASCII without spaces, as URLs are sent (and as every store can keep)."""
    return (
        0 < len(endpoint) <= MAX_ENDPOINT
        and endpoint.isascii()
        and endpoint.isprintable()
        and " " not in endpoint
    )


def _key_of(value: Any, size: int, prefix: bytes = b"") -> bool:
    if not isinstance(value, str) or len(value) > 200:
        return False
    try:
        raw = b64url_decode(value.replace("+", "-").replace("/", "_"))
    except (binascii.Error, ValueError):
        return False
    return len(raw) == size and raw.startswith(prefix)


def _acceptable_url(url: str, allow_private: bool) -> bool:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    return parts.scheme == "https" or (allow_private and parts.scheme == "http")


async def is_public(url: str) -> bool:
    """True when every address the endpoint's host resolves to is a public one."""
    host = urlsplit(url).hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}
        return bool(addresses) and all(ipaddress.ip_address(a).is_global for a in addresses)
    except (OSError, UnicodeError, ValueError):
        return False
