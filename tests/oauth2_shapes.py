"""Each OAuth2 provider's user answer, by shape, and what Keelbase must read from it.

The shapes follow each provider's API documentation and PocketBase's
``tools/auth`` (the fields it reads). ``tests/oidc_provider.py`` serves them:
``user`` at the provider's user endpoint, ``emails`` at its emails endpoint,
``token_extra`` inside the token answer. ``email`` says how a provider vouches
for an address: "flag" (per user: the unverified variant must give no email),
"trusted" (it only shows confirmed addresses), "none" (never an email).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

User = Callable[[str, bool], dict[str, Any]]


@dataclass
class Shape:
    name: str
    user: User
    id: str
    display: str = ""  # the mapped name
    username: str = ""
    avatar: str = ""
    email: str = "flag"
    emails: Callable[[str, bool], Any] | None = None
    token_extra: Callable[[str], dict[str, Any]] = field(default=lambda email: {})
    pkce: bool = True
    # what the user request must carry: (method, headers that must be present)
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)


def _oidc(name: str) -> Shape:
    return Shape(
        name,
        lambda e, v: {"sub": f"{name}-sub", "name": "Olly Dc", "preferred_username": "olly",
                      "picture": "https://idp.example/p.png", "email": e, "email_verified": v},
        f"{name}-sub", "Olly Dc", "olly", "https://idp.example/p.png",
    )  # fmt: skip


SHAPES: list[Shape] = [
    Shape("apple", lambda e, v: {"sub": "001.apple", "email": e,
                                 "email_verified": "true" if v else "false"}, "001.apple"),
    Shape("google", lambda e, v: {"sub": "1098", "name": "Gina Google", "email": e,
                                  "picture": "https://lh3.googleusercontent.com/a/x",
                                  "email_verified": v}, "1098", "Gina Google",
          avatar="https://lh3.googleusercontent.com/a/x"),
    Shape("microsoft", lambda e, v: {"id": "ms-1", "displayName": "Mia Soft", "mail": e},
          "ms-1", "Mia Soft", email="none"),
    Shape("yandex", lambda e, v: {"id": "1000034426", "login": "yuri", "real_name": "Yuri Y",
                                  "default_email": e, "is_avatar_empty": False,
                                  "default_avatar_id": "131652443"},
          "1000034426", "Yuri Y", "yuri",
          "https://avatars.yandex.net/get-yapic/131652443/islands-200", email="trusted"),
    Shape("facebook", lambda e, v: {"id": "10158", "name": "Fay Book", "email": e, "picture": {
              "data": {"url": "https://fb.example/p.jpg", "height": 200, "width": 200}}},
          "10158", "Fay Book", avatar="https://fb.example/p.jpg", email="trusted"),
    Shape("instagram2", lambda e, v: {"id": "17841", "user_id": "9001", "username": "ivy",
                                      "name": "Ivy Gram", "account_type": "BUSINESS",
                                      "profile_picture_url": "https://ig.example/p.jpg"},
          "9001", "Ivy Gram", "ivy", "https://ig.example/p.jpg", email="none",
          token_extra=lambda e: {"permissions": ["instagram_business_basic"]}),
    Shape("github", lambda e, v: {"id": 583231, "login": "octocat", "name": "The Octocat",
                                  "avatar_url": "https://avatars.example/u/1", "email": None},
          "583231", "The Octocat", "octocat", "https://avatars.example/u/1",
          emails=lambda e, v: [{"email": "old@example.com", "primary": False, "verified": True},
                               {"email": e, "primary": True, "verified": v}]),
    Shape("gitlab", lambda e, v: {"id": 101, "username": "gabe", "name": "Gabe Lab", "email": e,
                                  "avatar_url": "https://gitlab.example/a.png",
                                  "confirmed_at": "2012-05-23T09:05:22.000Z" if v else None},
          "101", "Gabe Lab", "gabe", "https://gitlab.example/a.png"),
    Shape("bitbucket", lambda e, v: {"uuid": "{b1b1}", "username": "bitbob",
                                     "display_name": "Bob Bucket", "account_status": "active",
                                     "links": {"avatar": {"href": "https://bb.example/a"}}},
          "{b1b1}", "Bob Bucket", "bitbob", "https://bb.example/a", pkce=False,
          emails=lambda e, v: {"values": [{"email": e, "is_primary": True,
                                           "is_confirmed": v}]}),
    Shape("gitee", lambda e, v: {"id": 7, "login": "geet", "name": "Gee Tee", "email": None,
                                 "avatar_url": "https://gitee.example/a.png"},
          "7", "Gee Tee", "geet", "https://gitee.example/a.png",
          emails=lambda e, v: [{"email": e, "state": "confirmed" if v else "unconfirmed",
                                "scope": ["primary", "committed"]}]),
    Shape("gitea", lambda e, v: {"id": 3, "login": "tea", "full_name": "Tea Gitea", "email": e,
                                 "avatar_url": "https://gitea.example/a", "active": True},
          "3", "Tea Gitea", "tea", "https://gitea.example/a",
          emails=lambda e, v: [{"email": e, "verified": v, "primary": True}]),
    Shape("discord", lambda e, v: {"id": "80351", "username": "nelly", "discriminator": "1337",
                                   "global_name": None, "avatar": "8342", "verified": v,
                                   "email": e},
          "80351", "nelly#1337", "nelly", "https://cdn.discordapp.com/avatars/80351/8342.png"),
    Shape("twitter", lambda e, v: {"data": {"id": "2244", "name": "X Dev", "username": "xdev",
                                            "profile_image_url": "https://x.example/p.jpg",
                                            "confirmed_email": e}},
          "2244", "X Dev", "xdev", "https://x.example/p.jpg", email="trusted"),
    Shape("kakao", lambda e, v: {"id": 123456789, "properties": {
              "nickname": "kako", "profile_image": "http://kakao.example/p.jpg"},
              "kakao_account": {"email": e, "is_email_valid": True, "is_email_verified": v}},
          "123456789", "", "kako", "http://kakao.example/p.jpg"),
    Shape("vk", lambda e, v: {"response": [{"id": 210700286, "first_name": "Lindsey",
                                            "last_name": "Stirling", "screen_name": "lindsey",
                                            "photo_max": "https://vk.example/p.jpg"}]},
          "210700286", "Lindsey Stirling", "lindsey", "https://vk.example/p.jpg",
          email="trusted", pkce=False, token_extra=lambda e: {"email": e, "user_id": 210700286}),
    Shape("linear", lambda e, v: {"data": {"viewer": {
              "id": "lin-1", "displayName": "lina", "name": "Lina Ear", "email": e,
              "avatarUrl": "https://linear.example/a.png", "active": True}}},
          "lin-1", "Lina Ear", "lina", "https://linear.example/a.png", email="trusted",
          pkce=False, method="POST"),
    Shape("notion", lambda e, v: {"object": "user", "id": "bot-1", "type": "bot", "bot": {
              "owner": {"type": "user", "user": {
                  "id": "notion-1", "name": "Nora Tion", "avatar_url": "https://notion.example/a",
                  "person": {"email": e}}}, "workspace_name": "WS"}},
          "notion-1", "Nora Tion", avatar="https://notion.example/a", email="trusted",
          headers={"notion-version": "2022-06-28"}),
    Shape("monday", lambda e, v: {"data": {"me": {
              "id": "4012689", "enabled": True, "name": "Mona Day", "email": e,
              "is_verified": v, "photo_small": "https://monday.example/p.png"}}},
          "4012689", "Mona Day", avatar="https://monday.example/p.png", method="POST"),
    Shape("lark", lambda e, v: {"code": 0, "data": {"union_id": "on_d89", "name": "Lark Lee",
                                                    "avatar_url": "https://lark.example/a.png"}},
          "on_d89", "Lark Lee", avatar="https://lark.example/a.png", email="none"),
    Shape("box", lambda e, v: {"type": "user", "id": "11446498", "name": "Aaron Box",
                               "login": e, "status": "active",
                               "avatar_url": "https://box.example/avatar"},
          "11446498", "Aaron Box", avatar="https://box.example/avatar", email="trusted"),
    Shape("spotify", lambda e, v: {"id": "wizzler", "display_name": "JM Wizzler", "email": e,
                                   "images": [{"url": "https://scdn.example/i.jpg"}]},
          "wizzler", "JM Wizzler", avatar="https://scdn.example/i.jpg", email="none"),
    Shape("trakt", lambda e, v: {"user": {"username": "justin", "name": "Justin N",
                                          "ids": {"slug": "justin", "uuid": "b658"},
                                          "images": {"avatar": {"full": "https://t.example/a"}}}},
          "b658", "Justin N", "justin", "https://t.example/a", email="none",
          headers={"trakt-api-version": "2", "trakt-api-key": "$clientId"}),
    Shape("twitch", lambda e, v: {"data": [{"id": "141981764", "login": "twitchdev",
                                            "display_name": "TwitchDev", "email": e,
                                            "profile_image_url": "https://tw.example/p.png"}]},
          "141981764", "TwitchDev", "twitchdev", "https://tw.example/p.png", email="trusted",
          headers={"client-id": "$clientId"}),
    Shape("patreon", lambda e, v: {"data": {"id": "12345", "type": "user", "attributes": {
              "email": e, "full_name": "Pat Reon", "vanity": "pat",
              "image_url": "https://patreon.example/a.png", "is_email_verified": v}}},
          "12345", "Pat Reon", "pat", "https://patreon.example/a.png"),
    Shape("strava", lambda e, v: {"id": 134815, "username": "marianne_t",
                                  "firstname": "Marianne", "lastname": "T",
                                  "profile": "https://strava.example/large.jpg"},
          "134815", "Marianne T", "marianne_t",
          "https://strava.example/large.jpg", email="none"),
    Shape("wakatime", lambda e, v: {"data": {"id": "wk-1", "display_name": "Waka Tim",
                                             "username": "wakatim", "email": e,
                                             "is_email_confirmed": v, "photo_public": True,
                                             "photo": "https://wakatime.example/photo"}},
          "wk-1", "Waka Tim", "wakatim", "https://wakatime.example/photo"),
    Shape("livechat", lambda e, v: {"account_id": "lc-1", "name": "Liv Chat", "email": e,
                                    "email_verified": v,
                                    "avatar_url": "https://livechat.example/a.png"},
          "lc-1", "Liv Chat", avatar="https://livechat.example/a.png"),
    Shape("mailcow", lambda e, v: {"id": "mc-1", "username": "mo@mail.example.com", "email": e,
                                   "full_name": "Mo Cow", "active": 1},
          "mc-1", "Mo Cow", "mo", email="trusted"),
    Shape("planningcenter", lambda e, v: {"data": {"type": "Person", "id": "pc-1", "attributes": {
              "status": "active", "name": "Plan Ning", "avatar": "https://pco.example/a.png"}}},
          "pc-1", "Plan Ning", avatar="https://pco.example/a.png", email="none"),
    _oidc("oidc"),
    _oidc("oidc2"),
    _oidc("oidc3"),
]  # fmt: skip

BY_NAME = {shape.name: shape for shape in SHAPES}
FLAGGED = [shape.name for shape in SHAPES if shape.email == "flag"]


def provider_entries(url: str, client_id: str, client_secret: str) -> list[dict[str, Any]]:
    """A collection's ``oauth2.providers`` with every provider pointed at the test server."""
    entries = []
    for shape in SHAPES:
        entry: dict[str, Any] = {
            "name": shape.name, "clientId": client_id, "clientSecret": client_secret,
            "authURL": f"{url}/authorize", "tokenURL": f"{url}/token",
            "userInfoURL": f"{url}/api/{shape.name}/user",
        }  # fmt: skip
        if shape.name == "apple":
            entry.update(userInfoURL="", extra={"jwksURL": f"{url}/jwks", "issuer": url})
        entries.append(entry)
    return entries
