"""GitHub: ``/user`` for the profile; a private email comes from ``/user/emails``.

GitHub's ``/user`` shows only a public email, and not whether it is verified,
so the primary verified address of ``/user/emails`` is preferred when the
token may read it (scope ``user:email``).
"""

from __future__ import annotations

from typing import Any

from keelbase.adapters.oauth2.base import AuthUser, Provider, ProviderError, Token, as_str

EMAILS_URL = "https://api.github.com/user/emails"


class GitHub(Provider):
    name = "github"
    display_name = "GitHub"
    default_auth_url = "https://github.com/login/oauth/authorize"
    default_token_url = "https://github.com/login/oauth/access_token"
    default_user_info_url = "https://api.github.com/user"
    scopes = ("read:user", "user:email")

    async def fetch_raw_user(self, token: Token) -> dict[str, Any]:
        raw = await super().fetch_raw_user(token)
        email = await self._primary_verified_email(token)
        if email:
            raw = {**raw, "email": email}
        return raw

    async def _primary_verified_email(self, token: Token) -> str:
        """The primary verified address; "" when the token may not read it."""
        emails_url = self.config.extra.get("emailsURL")
        url = emails_url if isinstance(emails_url, str) and emails_url else EMAILS_URL
        try:
            emails = await self.get_json(url, token)
        except ProviderError:
            return ""  # no user:email scope: keep what /user shows
        if not isinstance(emails, list):
            return ""
        for entry in emails:
            if (
                isinstance(entry, dict)
                and entry.get("primary") is True
                and entry.get("verified") is True
            ):
                return as_str(entry.get("email"))
        return ""

    def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        return AuthUser(
            id=as_str(raw.get("id")),
            name=as_str(raw.get("name")),
            username=as_str(raw.get("login")),
            email=as_str(raw.get("email")),
            avatar_url=as_str(raw.get("avatar_url")),
        )
