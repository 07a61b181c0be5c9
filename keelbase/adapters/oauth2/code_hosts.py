"""Code hosts whose verified email needs a second request: GitHub, Gitea, Bitbucket, Gitee.

Their user answers show at most a public address, without saying whether it
is verified; the account's primary *verified* address comes from an emails
endpoint beside the user endpoint. A token not allowed to read it (401, 403,
404) only leaves the email empty, as in PocketBase.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

from keelbase.adapters.oauth2.base import AuthUser, Provider, ProviderError, Token, json_of
from keelbase.core.auth.oauth2_providers.code_hosts import EMAIL_FORMAT
from keelbase.core.auth.oauth2_providers.spec import flag, node, text

NO_ACCESS = (401, 403, 404)


class PrimaryEmailList(Provider):
    """GitHub and Gitea: ``USERINFO/emails`` lists ``{email, primary, verified}``."""

    async def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        user = await super().user_from(raw, token)
        answer = await self.authorized("GET", self.user_info_url + "/emails", token, {})
        if answer.status_code in NO_ACCESS:
            return user
        emails = json_of(answer)
        user.email = next(
            (
                text(entry, "email")
                for entry in (emails if isinstance(emails, list) else [])
                if flag(entry, "primary") and flag(entry, "verified")
            ),
            "",
        )
        return user


class Bitbucket(Provider):
    """``USERINFO/emails`` pages ``{values: [{email, is_primary, is_confirmed}]}``."""

    async def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        user = await super().user_from(raw, token)
        answer = await self.authorized("GET", self.user_info_url + "/emails", token, {})
        if answer.status_code >= 400:
            return user
        values = node(json_of(answer), "values")
        user.email = next(
            (
                text(entry, "email")
                for entry in (values if isinstance(values, list) else [])
                if flag(entry, "is_primary") and flag(entry, "is_confirmed")
            ),
            "",
        )
        return user


class Gitee(Provider):
    """The user's ``email`` when it is one; else the confirmed primary of ``/emails``
    (beside the user endpoint: ``https://gitee.com/api/v5/emails`` by default)."""

    async def user_from(self, raw: dict[str, Any], token: Token) -> AuthUser:
        user = await super().user_from(raw, token)
        if user.email:
            return user
        answer = await self.authorized("GET", urljoin(self.user_info_url, "emails"), token, {})
        if answer.status_code in NO_ACCESS:
            return user
        try:
            emails = json_of(answer)
        except ProviderError:  # as PocketBase: an unreadable list is no email
            return user
        for entry in emails if isinstance(emails, list) else []:
            scopes = node(entry, "scope")
            if (
                text(entry, "state") == "confirmed"
                and isinstance(scopes, list)
                and "primary" in scopes
                and EMAIL_FORMAT.match(text(entry, "email"))
            ):
                user.email = text(entry, "email")
                break
        return user
