"""Brute-force protection for password sign-in, always on.

Independent of the ``rateLimits`` settings (which a user may leave off), two
counts guard ``auth-with-password``:

- per identity (collection + identity, case-insensitive): every attempt counts
  before the password is checked, a correct password clears the count, and
  past ``IDENTITY_LIMIT`` attempts in ``WINDOW`` seconds the identity answers
  429 until the window ends. Unknown identities are counted the same way, so
  the answer never tells whether an account exists;
- per client IP: past ``IP_LIMIT`` failed or refused attempts in ``WINDOW``
  seconds, whatever the identities, that IP's sign-ins answer 429 without
  counting against any identity (so a locked-out client cannot go on locking
  other people's accounts).

The counters are the guard's own: saving the rate-limit settings does not
reset them.

Identities are stored hashed, so counters (in Redis too) hold no e-mail addresses.
"""

from __future__ import annotations

import hashlib
import logging

from keelbase.adapters.counters import Counters
from keelbase.core.rate_limits import limit_key
from keelbase.errors import TooManyRequestsError

log = logging.getLogger("keelbase.login_guard")

IDENTITY_LIMIT = 10
IP_LIMIT = 100
WINDOW = 300


class LoginGuard:
    def __init__(
        self,
        counters: Counters,
        identity_limit: int = IDENTITY_LIMIT,
        ip_limit: int = IP_LIMIT,
        window: int = WINDOW,
    ) -> None:
        self.counters = counters
        self.identity_limit = identity_limit
        self.ip_limit = ip_limit
        self.window = window

    @staticmethod
    def _identity_key(collection_id: str, identity: str) -> str:
        digest = hashlib.sha256(f"{collection_id}\0{identity.strip().lower()}".encode())
        return "bf:id:" + digest.hexdigest()[:40]

    async def attempt(self, collection_id: str, identity: str, ip: str) -> None:
        """Count an attempt; raise ``TooManyRequestsError`` when the identity or IP is locked.

        The IP is checked first, and a locked IP's attempts touch no identity, so
        one client can keep only a handful of accounts locked (each attempt past
        an identity's limit also counts against its IP) instead of thousands.
        """
        try:
            if ip and await self.counters.count("bf:ip:" + limit_key(ip)) >= self.ip_limit:
                raise TooManyRequestsError()
            attempts = await self.counters.hit(
                self._identity_key(collection_id, identity), self.window
            )
            if attempts > self.identity_limit:
                if ip:
                    await self.counters.hit("bf:ip:" + limit_key(ip), self.window)
                raise TooManyRequestsError()
        except TooManyRequestsError:
            raise
        except Exception:
            log.exception("sign-in counters unavailable; attempt let through")

    async def failed(self, ip: str) -> None:
        if not ip:
            return
        try:
            await self.counters.hit("bf:ip:" + limit_key(ip), self.window)
        except Exception:
            log.exception("sign-in counters unavailable; failure not counted")

    async def succeeded(self, collection_id: str, identity: str) -> None:
        try:
            await self.counters.reset(self._identity_key(collection_id, identity))
        except Exception:
            log.exception("sign-in counters unavailable; count not cleared")
