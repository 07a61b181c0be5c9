"""What each provider's user answer may claim: only verified emails find or verify accounts."""

from __future__ import annotations

import asyncio

from keelbase.adapters.oauth2.base import Token
from keelbase.adapters.oauth2.microsoft import Microsoft
from keelbase.core.auth.oauth2_providers import SPECS
from keelbase.core.auth.options import OAuth2Provider


def test_microsoft_mail_is_never_taken_as_a_verified_email() -> None:
    provider = Microsoft(
        SPECS["microsoft"], OAuth2Provider(name="microsoft", clientId="c", clientSecret="s"), None
    )
    raw = {"id": "tenant-user-1", "displayName": "Mallory", "mail": "alice@example.com"}
    user = asyncio.run(provider.user_from(raw, Token(access_token="t")))
    assert (user.id, user.name, user.email) == ("tenant-user-1", "Mallory", "")
