"""The app's VAPID key pair: made once, on first need, and kept in ``_params``.

Browsers bind a push subscription to the public key they were given
(``applicationServerKey``), so the pair must never change behind their back:
the first node to need it creates it under a row lock and every later caller
reads that one. The private key never leaves this module's callers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keelbase.core.dates import now_string
from keelbase.store import system
from keelbase.store.base import Store

PARAM = "push_vapid"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class VapidKeys:
    public_key: str  # the uncompressed P-256 point, base64url: the browser's applicationServerKey
    private_key: str  # the private scalar, base64url (what py_vapid's ``from_raw`` reads)

    def __repr__(self) -> str:  # never print the private key
        return f"VapidKeys(public_key={self.public_key!r})"


def generate() -> VapidKeys:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64url(public), b64url(private))


async def load_or_create(store: Store) -> VapidKeys:
    async with store.read() as conn:
        value = await system.get_param(conn, PARAM)
    if _valid(value):
        return VapidKeys(value["publicKey"], value["privateKey"])
    async with store.transaction() as conn:
        value = await system.lock_param(conn, store.dialect, PARAM, now_string())
        if _valid(value):  # another node made them meanwhile
            return VapidKeys(value["publicKey"], value["privateKey"])
        keys = generate()
        await system.set_param(
            conn,
            PARAM,
            {"publicKey": keys.public_key, "privateKey": keys.private_key},
            now_string(),
        )
        return keys


def _valid(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("publicKey"), str)
        and isinstance(value.get("privateKey"), str)
    )
