"""Password hashes: argon2id for new ones; bcrypt (as PocketBase stores them) still verifies.

Hashing is deliberately slow, so it always runs on a worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac

import bcrypt
from argon2 import PasswordHasher as Argon2Hasher
from argon2 import exceptions as argon2_errors

# OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane. Keeps a burst of sign-ups
# from costing gigabytes while staying far out of reach of offline guessing.
_ARGON2 = Argon2Hasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the account does not exist, so both paths take as long.
    Made on first use, not at import: hashing takes tens of milliseconds of a start."""
    return _ARGON2.hash("keelbase-timing-equaliser")


def hash_password(plain: str) -> str:
    return _ARGON2.hash(plain)


def verify_password(plain: str, hashed: str) -> bool:
    if hashed.startswith("$argon2"):
        try:
            return _ARGON2.verify(hashed, plain)
        except (argon2_errors.VerificationError, argon2_errors.InvalidHashError):
            return False
    if hashed.startswith(("$2a$", "$2b$", "$2y$")):
        try:
            return bcrypt.checkpw(plain.encode()[:72], hashed.encode())
        except ValueError:
            return False
    # Unknown format: compare against the dummy so the timing does not tell.
    verify_dummy(plain)
    return False


def verify_dummy(plain: str) -> None:
    with contextlib.suppress(argon2_errors.VerificationError):
        _ARGON2.verify(_dummy_hash(), plain)


def needs_rehash(hashed: str) -> bool:
    """bcrypt hashes (and weaker argon2 parameters) are upgraded at the next sign-in."""
    if not hashed.startswith("$argon2"):
        return True
    return _ARGON2.check_needs_rehash(hashed)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def hash_password_async(plain: str) -> str:
    return await asyncio.to_thread(hash_password, plain)


async def verify_password_async(plain: str, hashed: str | None) -> bool:
    if not hashed:
        await asyncio.to_thread(verify_dummy, plain)
        return False
    return await asyncio.to_thread(verify_password, plain, hashed)
