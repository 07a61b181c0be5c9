"""Social and media networks: Facebook, Instagram, X/Twitter, Discord, Twitch, VK, Kakao,
Yandex, Patreon, Spotify and Strava.

As in PocketBase, Facebook, X/Twitter (``confirmed_email``), Twitch, Yandex and
VK (the email comes in VK's token answer) only ever show addresses they
confirmed, so their email counts as verified; Discord, Kakao and Patreon say
per user; Instagram, Spotify and Strava give none.
"""

from __future__ import annotations

from typing import Any

from keelbase.core.auth.oauth2_providers.spec import (
    MappedUser,
    ProviderSpec,
    UserRefused,
    first,
    flag,
    node,
    text,
)


def _facebook(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "name"),
        email=text(raw, "email"),
        avatar_url=text(raw, "picture", "data", "url"),
    )


def _instagram(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "user_id"),
        name=text(raw, "name"),
        username=text(raw, "username"),
        avatar_url=text(raw, "profile_picture_url"),
    )


def _twitter(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "data", "id"),
        name=text(raw, "data", "name"),
        username=text(raw, "data", "username"),
        email=text(raw, "data", "confirmed_email"),
        avatar_url=text(raw, "data", "profile_image_url"),
    )


def _discord(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    user_id, avatar = text(raw, "id"), text(raw, "avatar")
    username, discriminator = text(raw, "username"), text(raw, "discriminator")
    name = text(raw, "global_name")
    if not name:  # legacy accounts still carry a non-zero discriminator
        name = username
        if discriminator not in ("", "0"):
            name += "#" + discriminator
    return MappedUser(
        id=user_id,
        name=name,
        username=username,
        email=text(raw, "email") if flag(raw, "verified") else "",
        avatar_url=f"https://cdn.discordapp.com/avatars/{user_id}/{avatar}.png" if avatar else "",
    )


def _twitch(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    user = first(raw, "data")
    if not user:
        raise UserRefused("failed to fetch AuthUser data")
    return MappedUser(
        id=text(user, "id"),
        name=text(user, "display_name"),
        username=text(user, "login"),
        email=text(user, "email"),
        avatar_url=text(user, "profile_image_url"),
    )


def _vk(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    user = first(raw, "response")
    if not user:
        raise UserRefused("missing response entry")
    return MappedUser(
        id=text(user, "id"),
        name=f"{text(user, 'first_name')} {text(user, 'last_name')}".strip(),
        username=text(user, "screen_name"),
        avatar_url=text(user, "photo_max"),
        email=text(token, "email"),
    )


def _kakao(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    account = node(raw, "kakao_account")
    verified = flag(account, "is_email_valid") and flag(account, "is_email_verified")
    return MappedUser(
        id=text(raw, "id"),
        username=text(raw, "properties", "nickname"),
        avatar_url=text(raw, "properties", "profile_image"),
        email=text(account, "email") if verified else "",
    )


def _yandex(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    avatar = ""
    if not flag(raw, "is_avatar_empty"):
        avatar = (
            f"https://avatars.yandex.net/get-yapic/{text(raw, 'default_avatar_id')}/islands-200"
        )
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "real_name"),
        username=text(raw, "login"),
        email=text(raw, "default_email"),
        avatar_url=avatar,
    )


def _patreon(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    attributes = node(raw, "data", "attributes")
    return MappedUser(
        id=text(raw, "data", "id"),
        name=text(attributes, "full_name"),
        username=text(attributes, "vanity"),
        avatar_url=text(attributes, "image_url"),
        email=text(attributes, "email") if flag(attributes, "is_email_verified") else "",
    )


def _spotify(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    return MappedUser(
        id=text(raw, "id"),
        name=text(raw, "display_name"),
        avatar_url=text(first(raw, "images"), "url"),
    )


def _strava(raw: dict[str, Any], token: dict[str, Any]) -> MappedUser:
    user_id = text(raw, "id")
    return MappedUser(
        id="" if user_id == "0" else user_id,
        name=f"{text(raw, 'firstname')} {text(raw, 'lastname')}",
        username=text(raw, "username"),
        avatar_url=text(raw, "profile"),
    )


SPECS = (
    ProviderSpec(
        "yandex", "Yandex", 4,
        auth_url="https://oauth.yandex.com/authorize",
        token_url="https://oauth.yandex.com/token",
        user_info_url="https://login.yandex.ru/info",
        scopes=("login:email", "login:avatar", "login:info"),
        map_user=_yandex,
    ),
    ProviderSpec(
        "facebook", "Facebook", 5,
        auth_url="https://www.facebook.com/v3.2/dialog/oauth",
        token_url="https://graph.facebook.com/v3.2/oauth/access_token",
        user_info_url="https://graph.facebook.com/me?fields=name,email,picture.type(large)",
        scopes=("email",),
        map_user=_facebook,
    ),
    ProviderSpec(
        # "2": PocketBase's name since Instagram's old Basic Display API went away
        "instagram2", "Instagram", 6,
        auth_url="https://www.instagram.com/oauth/authorize",
        token_url="https://api.instagram.com/oauth/access_token",
        user_info_url=(
            "https://graph.instagram.com/me?fields=id,username,account_type,user_id,name,"
            "profile_picture_url,followers_count,follows_count,media_count"
        ),
        scopes=("instagram_business_basic",),
        map_user=_instagram,
        token_fields=("permissions",),
    ),
    ProviderSpec(
        "discord", "Discord", 12,
        auth_url="https://discord.com/api/oauth2/authorize",
        token_url="https://discord.com/api/oauth2/token",
        user_info_url="https://discord.com/api/users/@me",
        scopes=("identify", "email"),
        map_user=_discord,
    ),
    ProviderSpec(
        "twitter", "X/Twitter", 13,
        auth_url="https://x.com/i/oauth2/authorize",
        token_url="https://api.x.com/2/oauth2/token",
        user_info_url=(
            "https://api.x.com/2/users/me"
            "?user.fields=id,name,username,profile_image_url,confirmed_email"
        ),
        # tweet.read is unused, but X answers 403 on /2/users/me without it
        scopes=("users.read", "users.email", "tweet.read"),
        map_user=_twitter,
    ),
    ProviderSpec(
        "kakao", "Kakao", 14,
        auth_url="https://kauth.kakao.com/oauth/authorize",
        token_url="https://kauth.kakao.com/oauth/token",
        user_info_url="https://kapi.kakao.com/v2/user/me",
        scopes=("account_email", "profile_nickname", "profile_image"),
        map_user=_kakao,
    ),
    ProviderSpec(
        "vk", "ВКонтакте", 15,
        auth_url="https://oauth.vk.com/authorize",
        token_url="https://oauth.vk.com/access_token",
        user_info_url="https://api.vk.com/method/users.get?fields=photo_max,screen_name&v=5.131",
        scopes=("email",),
        pkce=False,  # VK refuses a request that carries PKCE parameters
        map_user=_vk,
    ),
    ProviderSpec(
        "spotify", "Spotify", 21,
        auth_url="https://accounts.spotify.com/authorize",
        token_url="https://accounts.spotify.com/api/token",
        user_info_url="https://api.spotify.com/v1/me",
        # no user-read-email: Spotify does not say whether the email is verified
        scopes=("user-read-private",),
        map_user=_spotify,
    ),
    ProviderSpec(
        "twitch", "Twitch", 23,
        auth_url="https://id.twitch.tv/oauth2/authorize",
        token_url="https://id.twitch.tv/oauth2/token",
        user_info_url="https://api.twitch.tv/helix/users",
        scopes=("user:read:email",),
        map_user=_twitch,
        client_id_headers=("Client-Id",),
    ),
    ProviderSpec(
        "patreon", "Patreon", 24,
        auth_url="https://www.patreon.com/oauth2/authorize",
        token_url="https://www.patreon.com/api/oauth2/token",
        user_info_url=(
            "https://www.patreon.com/api/oauth2/v2/identity"
            "?fields%5Buser%5D=full_name,email,vanity,image_url,is_email_verified"
        ),
        scopes=("identity", "identity[email]"),
        map_user=_patreon,
    ),
    ProviderSpec(
        "strava", "Strava", 25,
        auth_url="https://www.strava.com/oauth/authorize",
        token_url="https://www.strava.com/api/v3/oauth/token",
        user_info_url="https://www.strava.com/api/v3/athlete",
        scopes=("profile:read_all",),
        map_user=_strava,
    ),
)  # fmt: skip
