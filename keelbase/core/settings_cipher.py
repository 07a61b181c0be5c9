"""The settings' encryption at rest, byte for byte as PocketBase's ``security.Encrypt``.

AES-256-GCM with a 32-character key; the stored text is base64 (standard
alphabet, padded) of a random 12-byte nonce followed by the sealed data. A
data folder encrypted by either server can be read by the other with the same key.
"""

from __future__ import annotations

import base64
import binascii
import os

# cryptography is imported by the functions: only a data folder with an encryption key
# uses them, and its import costs a fresh server about 8 MB.

KEY_LENGTH = 32
NONCE_SIZE = 12


class CipherError(ValueError):
    """The text cannot be decrypted with this key (a wrong key, or not encrypted text)."""


def check_key(key: str) -> bytes:
    """The key as bytes; a ``ValueError`` unless it is 32 bytes (AES-256)."""
    raw = key.encode()
    if len(raw) != KEY_LENGTH:
        raise ValueError(f"the encryption key must be {KEY_LENGTH} characters, not {len(raw)}")
    return raw


def encrypt(data: bytes, key: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(NONCE_SIZE)
    return base64.b64encode(nonce + AESGCM(check_key(key)).encrypt(nonce, data, None)).decode()


def decrypt(text: str, key: str) -> bytes:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    try:
        sealed = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise CipherError("not encrypted text") from error
    nonce, body = sealed[:NONCE_SIZE], sealed[NONCE_SIZE:]
    try:
        return AESGCM(check_key(key)).decrypt(nonce, body, None)
    except (InvalidTag, ValueError) as error:
        raise CipherError("message authentication failed") from error
