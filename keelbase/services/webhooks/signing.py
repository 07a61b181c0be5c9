"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A secret is ``whsec_`` and the base64 of its key bytes. Each message carries
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``:
``v1,`` and the base64 HMAC-SHA256, under the key, of ``id.timestamp.body``.
Receivers verify with the ``standardwebhooks`` or ``svix`` libraries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

PREFIX = "whsec_"
KEY_BYTES = 24  # Svix's secrets are 24 bytes; the spec asks for 24 to 64


def new_secret() -> str:
    return PREFIX + base64.b64encode(os.urandom(KEY_BYTES)).decode()


def secret_key(secret: str) -> bytes | None:
    """The key bytes of a ``whsec_`` secret, or None when it is not one (24 to 64 bytes)."""
    if not secret.startswith(PREFIX):
        return None
    try:
        key = base64.b64decode(secret[len(PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if 24 <= len(key) <= 64 else None


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = secret_key(secret)
    if key is None:
        raise ValueError("not a whsec_ secret")
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
