"""The one-time link that creates the first superuser from the dashboard.

A fresh server has no superuser, so nobody can sign in to the dashboard. Like
PocketBase, ``keelbase serve`` then prints a link; unlike PocketBase, the token
in it is not a superuser's token: it can do one thing, create the first
superuser, once, within an hour. Only its hash is stored (in ``_params``), so
the database does not hold a usable credential, and every worker and node
agrees on it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

from keelbase.core.collections.system import SUPERUSERS
from keelbase.core.dates import now_string
from keelbase.core.fields.email import is_email
from keelbase.errors import (
    CODE_IS_EMAIL,
    CODE_LENGTH_OUT_OF_RANGE,
    CODE_VALUES_MISMATCH,
    MSG_IS_EMAIL,
    BadRequestError,
    ValidationError,
    field_error,
    required_error,
)
from keelbase.services.auth.superusers import SuperusersService
from keelbase.store import system

INSTALLER_KEY = "installer"
LIFETIME = 3600  # seconds a printed link works
_KEPT = 16  # links kept valid at once (a restart prints a new one; older ones still work)
MIN_PASSWORD, MAX_PASSWORD = 8, 71

MSG_INVALID_LINK = (
    "The installer link is invalid or has expired. Restart keelbase serve for a new one, "
    "or create a superuser with: keelbase superuser upsert EMAIL PASSWORD"
)
MSG_INSTALLED = "A superuser exists already: sign in instead."


class Installer:
    def __init__(self, superusers: SuperusersService) -> None:
        self.superusers = superusers

    @property
    def _store(self) -> Any:
        return self.superusers.records.store

    async def issue(self) -> str | None:
        """A new one-time token, or ``None`` when a superuser exists (no link needed)."""
        if await self.superusers.count() > 0:
            return None
        token = secrets.token_urlsafe(32)
        now = time.time()
        async with self._store.transaction() as conn:
            held = _valid(
                await system.lock_param(conn, self._store.dialect, INSTALLER_KEY, now_string()), now
            )
            held.append({"hash": _digest(token), "expires": now + LIFETIME})
            await system.set_param(conn, INSTALLER_KEY, held[-_KEPT:], now_string())
        return token

    async def check(self, token: Any) -> None:
        """Raise the client's 400 unless ``token`` can still create the first superuser."""
        async with self._store.read() as conn:
            held = _valid(await system.get_param(conn, INSTALLER_KEY), time.time())
            if not _matches(held, token):
                raise BadRequestError(MSG_INVALID_LINK)
            if await _superuser_count(conn) > 0:
                raise BadRequestError(MSG_INSTALLED)

    async def install(self, token: Any, body: dict[str, Any]) -> str:
        """Create the first superuser from ``body`` (email, password, passwordConfirm).

        The token row is locked while the count is checked and the account
        created: two browsers using the link at once create one superuser, and
        every token is gone afterwards.
        """
        email, password = _validated(body)
        async with self._store.transaction() as conn:
            now = time.time()
            stored = await system.lock_param(conn, self._store.dialect, INSTALLER_KEY, now_string())
            if not _matches(_valid(stored, now), token):
                raise BadRequestError(MSG_INVALID_LINK)
            if await _superuser_count(conn) > 0:
                raise BadRequestError(MSG_INSTALLED)
            await self.superusers.create(email, password)
            await system.set_param(conn, INSTALLER_KEY, [], now_string())
        return email


async def _superuser_count(conn: Any) -> int:
    return int(await conn.fetch_value(f'SELECT COUNT(*) FROM "{SUPERUSERS}"') or 0)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _valid(stored: Any, now: float) -> list[dict[str, Any]]:
    if not isinstance(stored, list):
        return []
    return [
        entry
        for entry in stored
        if isinstance(entry, dict)
        and isinstance(entry.get("hash"), str)
        and isinstance(entry.get("expires"), int | float)
        and entry["expires"] > now
    ]


def _matches(held: list[dict[str, Any]], token: Any) -> bool:
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    digest = _digest(token)
    return any(hmac.compare_digest(entry["hash"], digest) for entry in held)


def _validated(body: dict[str, Any]) -> tuple[str, str]:
    """The email and password, or PocketBase's field errors for them."""
    email, password, confirm = (body.get(k) for k in ("email", "password", "passwordConfirm"))
    errors: dict[str, Any] = {}
    if not isinstance(email, str) or not email.strip():
        errors["email"] = required_error()
    elif not is_email(email.strip()):
        errors["email"] = field_error(CODE_IS_EMAIL, MSG_IS_EMAIL)
    if not isinstance(password, str) or not password:
        errors["password"] = required_error()
    elif not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        errors["password"] = field_error(
            CODE_LENGTH_OUT_OF_RANGE,
            f"The length must be between {MIN_PASSWORD} and {MAX_PASSWORD}.",
            {"min": MIN_PASSWORD, "max": MAX_PASSWORD},
        )
    if confirm != password:
        errors["passwordConfirm"] = field_error(CODE_VALUES_MISMATCH, "Values don't match.")
    if errors:
        raise ValidationError("Failed to create record.", errors)
    assert isinstance(email, str) and isinstance(password, str)
    return email.strip(), password
