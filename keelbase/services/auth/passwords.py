"""Password hashes: argon2id for new ones; bcrypt (as PocketBase stores them) still verifies.

Hashing is deliberately slow, so it always runs on a worker thread. argon2 and
bcrypt are imported with the first hash or check: a start makes none.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hmac
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher


# Made once, the whole answer: nothing invalidates it.
@functools.cache
def _argon2() -> PasswordHasher:
    """OWASP's minimum for argon2id: 19 MiB, 2 passes, 1 lane. Keeps a burst of sign-ups
    from costing gigabytes while staying far out of reach of offline guessing."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


@functools.cache
def _dummy_hash() -> str:
    """Compared against when the account does not exist, so both paths take as long.
    Made on first use, not at import: hashing takes tens of milliseconds of a start."""
    return _argon2().hash("keelbase-timing-equaliser")


def hash_password(plain: str) -> str:
    return _argon2().hash(plain)


def verify_password(plain: str, hashed: str) -> bool:
    if hashed.startswith("$argon2"):
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return _argon2().verify(hashed, plain)
        except (VerificationError, InvalidHashError):
            return False
    if hashed.startswith(("$2a$", "$2b$", "$2y$")):
        import bcrypt

        try:
            return bcrypt.checkpw(plain.encode()[:72], hashed.encode())
        except ValueError:
            return False
    # Unknown format: compare against the dummy so the timing does not tell.
    verify_dummy(plain)
    return False


def verify_dummy(plain: str) -> None:
    from argon2.exceptions import VerificationError

    with contextlib.suppress(VerificationError):
        _argon2().verify(_dummy_hash(), plain)


def needs_rehash(hashed: str) -> bool:
    """bcrypt hashes (and weaker argon2 parameters) are upgraded at the next sign-in."""
    if not hashed.startswith("$argon2"):
        return True
    return _argon2().check_needs_rehash(hashed)


def constant_time_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


async def hash_password_async(plain: str) -> str:
    return await asyncio.to_thread(hash_password, plain)


async def verify_password_async(plain: str, hashed: str | None) -> bool:
    if not hashed:
        await asyncio.to_thread(verify_dummy, plain)
        return False
    return await asyncio.to_thread(verify_password, plain, hashed)
