"""Code hosts: GitHub, GitLab, Bitbucket, Gitee and Gitea/Forgejo.

GitHub, Gitea and Bitbucket show no verified email in the user answer: their
adapters read the account's primary verified address from ``USERINFO/emails``
(Gitee's from its ``/emails`` only when the user answer has no valid email).
"""

from __future__ import annotations

import re
from typing import Any

from keelbase.core.auth.oauth2_providers.spec import (
    MappedUser,
    ProviderSpec,
    UserRefused,
    text,
)

# Go's is.EmailFormat, near enough: one @, something on each side, no spaces.
EMAIL_FORMAT = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def _github(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "name"),
        username=text(raw, "login"),
        avatar_url=text(raw, "avatar_url"),
    )


def _gitlab(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    confirmed = text(raw, "confirmed_at")
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "name"),
        username=text(raw, "username"),
        avatar_url=text(raw, "avatar_url"),
        email=text(raw, "email") if RFC3339.match(confirmed) else "",
    )


def _bitbucket(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    if text(raw, "account_status") != "active":
        raise UserRefused("the Bitbucket user is not active")
    return MappedUser(
        id=text(raw, "uuid"),
        name=text(raw, "display_name"),
        username=text(raw, "username"),
        avatar_url=text(raw, "links", "avatar", "href"),
    )


def _gitee(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    email = text(raw, "email")
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "name"),
        username=text(raw, "login"),
        avatar_url=text(raw, "avatar_url"),
        email=email if EMAIL_FORMAT.match(email) else "",
    )


def _gitea(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    if raw.get("active") is not True:
        raise UserRefused("user account is not active")
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "full_name"),
        username=text(raw, "login"),
        avatar_url=text(raw, "avatar_url"),
    )


SPECS = (
    ProviderSpec(
        "github", "GitHub", 7,
        auth_url="https://github.com/login/oauth/authorize",
        token_url="https://github.com/login/oauth/access_token",
        user_info_url="https://api.github.com/user",
        scopes=("read:user", "user:email"),
        map_user=_github,
    ),
    ProviderSpec(
        "gitlab", "GitLab", 8,
        auth_url="https://gitlab.com/oauth/authorize",
        token_url="https://gitlab.com/oauth/token",
        user_info_url="https://gitlab.com/api/v4/user",
        scopes=("read_user",),
        map_user=_gitlab,
    ),
    ProviderSpec(
        "bitbucket", "Bitbucket", 9,
        auth_url="https://bitbucket.org/site/oauth2/authorize",
        token_url="https://bitbucket.org/site/oauth2/access_token",
        user_info_url="https://api.bitbucket.org/2.0/user",
        scopes=("account",),
        pkce=False,
        map_user=_bitbucket,
    ),
    ProviderSpec(
        "gitee", "Gitee", 10,
        auth_url="https://gitee.com/oauth/authorize",
        token_url="https://gitee.com/oauth/token",
        user_info_url="https://gitee.com/api/v5/user",
        scopes=("user_info", "emails"),
        map_user=_gitee,
    ),
    ProviderSpec(
        "gitea", "Gitea/Forgejo", 11,
        auth_url="https://gitea.com/login/oauth/authorize",
        token_url="https://gitea.com/login/oauth/access_token",
        user_info_url="https://gitea.com/api/v1/user",
        scopes=("read:user", "user:email"),
        map_user=_gitea,
    ),
)  # fmt: skip
