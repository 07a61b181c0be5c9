"""Signed tokens (HS256 JWTs) as PocketBase makes them.

PyJWT is imported by the functions, with the first token: it loads cryptography,
about 20 MB that a fresh server answering nothing but health checks does without.

Each token is signed with the record's ``tokenKey`` plus the collection's
secret for that token type, so changing a password (which rotates tokenKey)
or rotating the secret ends every token issued before.
"""

from __future__ import annotations

import time
from typing import Any

from keelbase.core.collections.collection import Collection
from keelbase.core.records.record import Record

AUTH = "auth"
ALGORITHM = "HS256"


def signing_key(record: Record, secret: str) -> str:
    return str(record.get("tokenKey", "")) + secret


def issue(
    record: Record,
    token_type: str,
    secret: str,
    duration: int,
    refreshable: bool = True,
    extra: dict[str, Any] | None = None,
) -> str:
    claims: dict[str, Any] = {
        "collectionId": record.collection.id,
        "exp": int(time.time()) + duration,
        "id": record.id,
        "type": token_type,
    }
    if token_type == AUTH:
        claims["refreshable"] = refreshable
    if extra:
        claims.update(extra)
    import jwt

    return jwt.encode(claims, signing_key(record, secret), algorithm=ALGORITHM)


def issue_auth(record: Record, refreshable: bool = True, duration: int | None = None) -> str:
    options = record.collection.auth
    assert options is not None
    return issue(
        record,
        AUTH,
        options.authToken.secret,
        duration if duration is not None else options.authToken.duration,
        refreshable,
    )


def unverified_claims(token: str) -> dict[str, Any] | None:
    """Claims read without checking the signature, only to find whose key checks it."""
    import jwt

    try:
        claims = jwt.decode(token, options={"verify_signature": False, "verify_exp": True})
    except jwt.PyJWTError:
        return None
    if not isinstance(claims, dict):
        return None
    if not all(
        isinstance(claims.get(k), str) and claims.get(k) for k in ("id", "collectionId", "type")
    ):
        return None
    return claims


def verify(token: str, record: Record, secret: str) -> dict[str, Any] | None:
    import jwt

    try:
        claims: dict[str, Any] = jwt.decode(
            token, signing_key(record, secret), algorithms=[ALGORITHM], options={"require": ["exp"]}
        )
    except jwt.PyJWTError:
        return None
    return claims


def auth_secret(collection: Collection) -> str:
    assert collection.auth is not None
    return collection.auth.authToken.secret


FILE = "file"


def issue_file(record: Record) -> str:
    """A short-lived token for protected files (``?token=``), never refreshable."""
    options = record.collection.auth
    assert options is not None
    return issue(record, FILE, options.fileToken.secret, options.fileToken.duration)
