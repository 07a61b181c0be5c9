"""The providers' table: PocketBase's names, order and defaults; mapping edge cases.

Every provider's full mapping runs through HTTP in ``tests/api/test_oauth2_providers.py``;
these are the corners of single providers' rules, as PocketBase's code has them.
"""

from __future__ import annotations

from typing import Any

import pytest

from keelbase.core.auth.oauth2_providers import SPECS, UserRefused, catalog
from keelbase.core.auth.oauth2_providers.spec import loose_flag, text

NO_PKCE = {"bitbucket", "vk", "linear"}
CONFIGURED_BY_USER = {"mailcow", "oidc", "oidc2", "oidc3"}  # no public endpoints


def test_there_are_pocketbases_32_providers_in_its_order() -> None:
    names = [entry["name"] for entry in catalog()]
    assert len(names) == 32 and names[0] == "apple" and names[-3:] == ["oidc", "oidc2", "oidc3"]
    assert sorted(names) == sorted(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_spec_defaults_are_complete(name: str) -> None:
    spec = SPECS[name]
    assert spec.logo.startswith("<svg") and spec.display_name
    assert spec.pkce is (name not in NO_PKCE)
    if name in CONFIGURED_BY_USER:
        assert not spec.auth_url and not spec.token_url
        return
    assert spec.auth_url.startswith("https://") and spec.token_url.startswith("https://")
    assert name == "apple" or spec.user_info_url.startswith("https://")


def user(name: str, raw: dict[str, Any], token: dict[str, Any] | None = None) -> Any:
    return SPECS[name].map_user(raw, token or {})


def test_discord_name_falls_back_to_the_username_and_a_legacy_discriminator() -> None:
    base = {"id": "1", "username": "nelly", "avatar": None, "verified": True, "email": "n@x.io"}
    assert user("discord", {**base, "global_name": "Nelly"}).name == "Nelly"
    assert user("discord", {**base, "discriminator": "0"}).name == "nelly"
    assert user("discord", {**base, "discriminator": "1337"}).name == "nelly#1337"
    assert user("discord", base).avatar_url == ""
    assert user("discord", {**base, "verified": "true"}).email == "", "a JSON true, not text"


def test_gitlab_email_needs_a_confirmation_date() -> None:
    raw = {"id": 5, "email": "g@x.io"}
    assert user("gitlab", {**raw, "confirmed_at": "2021-01-01T00:00:00+02:00"}).email == "g@x.io"
    for confirmed in (None, "", "yesterday", "2021-01-01"):
        assert user("gitlab", {**raw, "confirmed_at": confirmed}).email == ""


def test_strava_has_no_id_zero_and_a_name_of_two_parts() -> None:
    mapped = user("strava", {"id": 0, "firstname": "Ann", "lastname": ""})
    assert (mapped.id, mapped.name) == ("", "Ann ")


def test_mailcow_needs_active_1_and_keeps_the_local_part_as_username() -> None:
    raw = {"id": "m", "username": "mo@mail.example", "email": "mo@mail.example"}
    assert user("mailcow", {**raw, "active": 1}).username == "mo"
    for active in (0, True, "1", None):
        with pytest.raises(UserRefused):
            user("mailcow", {**raw, "active": active})


def test_kakao_email_must_be_valid_and_verified() -> None:
    account = {"email": "k@x.io", "is_email_valid": True, "is_email_verified": True}
    assert user("kakao", {"id": 1, "kakao_account": account}).email == "k@x.io"
    invalid = {**account, "is_email_valid": False}
    assert user("kakao", {"id": 1, "kakao_account": invalid}).email == ""


def test_wakatime_avatar_only_when_public_and_yandex_only_when_set() -> None:
    data = {"id": "w", "photo": "https://p", "photo_public": False}
    assert user("wakatime", {"data": data}).avatar_url == ""
    assert user("yandex", {"id": "y", "is_avatar_empty": True}).avatar_url == ""


def test_vk_email_comes_from_the_token_answer() -> None:
    raw = {"response": [{"id": 7, "first_name": "", "last_name": "Solo"}]}
    mapped = user("vk", raw, {"email": "v@x.io"})
    assert (mapped.id, mapped.name, mapped.email) == ("7", "Solo", "v@x.io")
    assert user("vk", raw).email == ""


def test_microsoft_mail_is_not_an_email_and_spotify_gives_none() -> None:
    assert user("microsoft", {"id": "m", "displayName": "M", "mail": "a@x.io"}).email == ""
    assert user("spotify", {"id": "s", "email": "s@x.io"}).email == ""


def test_odd_json_types_read_as_go_reads_them() -> None:
    assert text({"id": 583231}, "id") == "583231" and text({"id": 1.0}, "id") == "1"
    assert text({"id": True}, "id") == "" and text({"id": [1]}, "id") == ""
    assert text({"a": "x"}, "a", "b") == "" and text(None, "a") == ""
    assert [loose_flag(v) for v in (True, "true", "T", 1, "false", 0, None, "yes")] == [
        True, True, True, True, False, False, False, False,
    ]  # fmt: skip
