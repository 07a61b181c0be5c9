"""Work and productivity apps: Linear, Notion, monday.com, Lark, Box, Trakt, WakaTime,
LiveChat, mailcow and Planning Center.

Linear and monday.com are GraphQL APIs (the user is a ``POST``ed query);
Notion, Trakt want extra headers. As in PocketBase, Linear, Notion, Box and
mailcow only give addresses their users confirmed, so their email counts as
verified; monday.com, WakaTime and LiveChat say per user; Lark, Trakt and
Planning Center give none. mailcow has no public instance: its URLs are yours.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth.oauth2_providers.spec import (
    MappedUser,
    ProviderSpec,
    UserRefused,
    flag,
    node,
    text,
)


def _linear(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    viewer = node(raw, "data", "viewer")
    if not flag(viewer, "active"):
        raise UserRefused("the Linear user account is not active")
    return MappedUser(
        id=text(viewer, "id"),
        name=text(viewer, "name"),
        username=text(viewer, "displayName"),
        email=text(viewer, "email"),
        avatar_url=text(viewer, "avatarUrl"),
    )


def _notion(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    owner = node(raw, "bot", "owner", "user")
    return MappedUser(
        id=text(owner, "id"),
        name=text(owner, "name"),
        email=text(owner, "person", "email"),
        avatar_url=text(owner, "avatar_url"),
    )


def _monday(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    me = node(raw, "data", "me")
    if not flag(me, "enabled"):
        raise UserRefused("the monday.com user account is not enabled")
    return MappedUser(
        id=text(me, "id"),
        name=text(me, "name"),
        avatar_url=text(me, "photo_small"),
        email=text(me, "email") if flag(me, "is_verified") else "",
    )


def _lark(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "data", "union_id"),
        name=text(raw, "data", "name"),
        avatar_url=text(raw, "data", "avatar_url"),
    )


def _box(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    status = text(raw, "status")
    if status != "active":
        raise UserRefused(f"Box user account is not active (status: {status!r})")
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "name"),
        avatar_url=text(raw, "avatar_url"),
        email=text(raw, "login"),  # Box signs in only users who verified it
    )


def _trakt(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    user = node(raw, "user")
    return MappedUser(
        id=text(user, "ids", "uuid"),
        name=text(user, "name"),
        username=text(user, "username"),
        avatar_url=text(user, "images", "avatar", "full"),
    )


def _wakatime(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    data = node(raw, "data")
    return MappedUser(
        id=text(data, "id"),
        name=text(data, "display_name"),
        username=text(data, "username"),
        email=text(data, "email") if flag(data, "is_email_confirmed") else "",
        avatar_url=text(data, "photo") if flag(data, "photo_public") else "",
    )


def _livechat(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "account_id"),
        name=text(raw, "name"),
        avatar_url=text(raw, "avatar_url"),
        email=text(raw, "email") if flag(raw, "email_verified") else "",
    )


def _mailcow(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    active = node(raw, "active")
    if isinstance(active, bool) or active != 1:
        raise UserRefused("the mailcow user is not active")
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "full_name"),
        username=text(raw, "username").split("@")[0],
        email=text(raw, "email"),
    )


def _planningcenter(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    attributes = node(raw, "data", "attributes")
    if text(attributes, "status") != "active":
        raise UserRefused("the user is not active")
    return MappedUser(
        id=text(raw, "data", "id"),
        name=text(attributes, "name"),
        avatar_url=text(attributes, "avatar"),
    )


JSON = (("Content-Type", "application/json"),)

SPECS = (
    ProviderSpec(
        "linear", "Linear", 16,
        auth_url="https://linear.app/oauth/authorize",
        token_url="https://api.linear.app/oauth/token",
        user_info_url="https://api.linear.app/graphql",
        scopes=("read",),
        pkce=False,  # Linear refuses a request that carries PKCE parameters
        map_user=_linear,
        user_info_body='{"query": "query Me { viewer { id displayName name email avatarUrl active } }"}',
    ),
    ProviderSpec(
        "notion", "Notion", 17,
        auth_url="https://api.notion.com/v1/oauth/authorize",
        token_url="https://api.notion.com/v1/oauth/token",
        user_info_url="https://api.notion.com/v1/users/me",
        map_user=_notion,
        user_info_headers=(("Notion-Version", "2022-06-28"),),
    ),
    ProviderSpec(
        "monday", "monday.com", 18,
        auth_url="https://auth.monday.com/oauth2/authorize",
        token_url="https://auth.monday.com/oauth2/token",
        user_info_url="https://api.monday.com/v2",
        scopes=("me:read",),
        map_user=_monday,
        user_info_body='{"query": "query { me { id enabled name email is_verified photo_small }}"}',
    ),
    ProviderSpec(
        "lark", "Lark", 19,
        auth_url="https://accounts.feishu.cn/open-apis/authen/v1/authorize",
        token_url="https://open.feishu.cn/open-apis/authen/v2/oauth/token",
        user_info_url="https://open.feishu.cn/open-apis/authen/v1/user_info",
        map_user=_lark,
    ),
    ProviderSpec(
        "box", "Box", 20,
        auth_url="https://account.box.com/api/oauth2/authorize",
        token_url="https://api.box.com/oauth2/token",
        user_info_url="https://api.box.com/2.0/users/me",
        scopes=("root_readonly",),
        map_user=_box,
    ),
    ProviderSpec(
        "trakt", "Trakt", 22,
        auth_url="https://trakt.tv/oauth/authorize",
        token_url="https://api.trakt.tv/oauth/token",
        user_info_url="https://api.trakt.tv/users/settings",
        map_user=_trakt,
        user_info_headers=(*JSON, ("trakt-api-version", "2")),
        client_id_headers=("trakt-api-key",),
    ),
    ProviderSpec(
        "wakatime", "WakaTime", 26,
        auth_url="https://wakatime.com/oauth/authorize",
        token_url="https://wakatime.com/oauth/token",
        user_info_url="https://wakatime.com/api/v1/users/current",
        scopes=("email",),
        map_user=_wakatime,
    ),
    ProviderSpec(
        "livechat", "LiveChat", 27,
        auth_url="https://accounts.livechat.com/",
        token_url="https://accounts.livechat.com/token",
        user_info_url="https://accounts.livechat.com/v2/accounts/me",
        map_user=_livechat,
    ),
    ProviderSpec("mailcow", "mailcow", 28, scopes=("profile",), map_user=_mailcow),
    ProviderSpec(
        "planningcenter", "Planning Center", 29,
        auth_url="https://api.planningcenteronline.com/oauth/authorize",
        token_url="https://api.planningcenteronline.com/oauth/token",
        user_info_url="https://api.planningcenteronline.com/people/v2/me",
        scopes=("people",),
        map_user=_planningcenter,
    ),
)  # fmt: skip
