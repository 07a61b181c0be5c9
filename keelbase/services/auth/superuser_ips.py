"""``superuserIPs``: the addresses superusers may sign in and act from.

PocketBase checks it in three places, and so does Keelbase: every request that
carries a superuser's token (``api/superuser_ips.py``, before routing), every
superuser sign-in (``AuthService.auth_response``), and a protected file's
superuser file token, which from elsewhere counts as no token at all. An empty
list allows every address. The client's address is the one the rate limits
see (``trustedProxy``), so a proxy in front cannot be a way around it.
"""

from __future__ import annotations

from collections.abc import Sequence

from keelbase.core.rate_limits import in_networks, parse_networks
from keelbase.errors import ForbiddenError
from keelbase.services.settings import SettingsService


def allows(entries: Sequence[str], ip: str) -> bool:
    """PocketBase's ``isIPInList`` for a non-empty list: ``ip`` is one of them or in one's subnet."""
    return in_networks(ip, parse_networks(entries))


class SuperuserIPs:
    """The current ``superuserIPs`` setting, applied."""

    def __init__(self, settings: SettingsService) -> None:
        self.settings = settings

    @property
    def active(self) -> bool:
        return bool(self.settings.current.superuserIPs)

    def allowed(self, ip: str) -> bool:
        entries = self.settings.current.superuserIPs
        return not entries or allows(entries, ip)

    def check(self, ip: str) -> None:
        """PocketBase's plain 403 when a superuser acts from an address not listed."""
        if not self.allowed(ip):
            raise ForbiddenError()
