"""The app's VAPID key pair: made once, on first need, and kept in ``_params``.

Browsers bind a push subscription to the public key they were given
(``applicationServerKey``), so the pair must never change behind their back:
the first node to need it creates it under a row lock and every later caller
reads that one. The private key never leaves this module's callers.

With ``--encryptionEnv`` the private key is stored encrypted as the settings are
(AES-256-GCM, ``settings_cipher``), under ``privateKeyEncrypted``; a key stored
in clear before the option was given is encrypted at the next start. Without
the encryption key an encrypted private key cannot be read: sending refuses
with a clear error (the public key stays readable).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from keelbase.core import settings_cipher
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
    # Imported here: a server that sends no push message never needs cryptography.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    private = key.private_numbers().private_value.to_bytes(32, "big")
    return VapidKeys(b64url(public), b64url(private))


class VapidKeyError(RuntimeError):
    """The stored private key is encrypted and cannot be read with the key given (or none)."""


async def load_or_create(store: Store, encryption_key: str = "") -> VapidKeys:
    async with store.read() as conn:
        value = await system.get_param(conn, PARAM)
    if _valid(value) and not _needs_sealing(value, encryption_key):
        return _opened(value, encryption_key)
    async with store.transaction() as conn:
        value = await system.lock_param(conn, store.dialect, PARAM, now_string())
        if _valid(value):  # made before (by another node, or before --encryptionEnv)
            keys = _opened(value, encryption_key)
            if not _needs_sealing(value, encryption_key):
                return keys
        else:
            keys = generate()
        await system.set_param(conn, PARAM, _stored(keys, encryption_key), now_string())
        return keys


def _stored(keys: VapidKeys, encryption_key: str) -> dict[str, str]:
    if not encryption_key:
        return {"publicKey": keys.public_key, "privateKey": keys.private_key}
    sealed = settings_cipher.encrypt(keys.private_key.encode(), encryption_key)
    return {"publicKey": keys.public_key, "privateKeyEncrypted": sealed}


def _opened(value: dict[str, str], encryption_key: str) -> VapidKeys:
    if isinstance(value.get("privateKey"), str):
        return VapidKeys(value["publicKey"], value["privateKey"])
    if not encryption_key:
        raise VapidKeyError(
            "the stored VAPID private key is encrypted: start with --encryptionEnv naming "
            "the environment variable that holds its key"
        )
    try:
        private = settings_cipher.decrypt(value["privateKeyEncrypted"], encryption_key)
    except settings_cipher.CipherError as error:
        raise VapidKeyError(
            "the stored VAPID private key cannot be decrypted with this key (a wrong key?)"
        ) from error
    return VapidKeys(value["publicKey"], private.decode())


def _needs_sealing(value: dict[str, str], encryption_key: str) -> bool:
    return bool(encryption_key) and isinstance(value.get("privateKey"), str)


def _valid(value: object) -> bool:
    return (
        isinstance(value, dict)
        and isinstance(value.get("publicKey"), str)
        and (
            isinstance(value.get("privateKey"), str)
            or isinstance(value.get("privateKeyEncrypted"), str)
        )
    )
