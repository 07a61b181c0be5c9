"""OAuth2 client secrets (in the collections' options) encrypted at rest with
``--encryptionEnv``, on both stores; exports copy them as stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from keelbase import App, Config
from keelbase.core import settings_cipher
from keelbase.services.settings import SettingsKeyError
from keelbase.services.transfer.service import TransferService
from keelbase.store.system import SECRET_MARK
from tests.pg import fresh_database

pytestmark = pytest.mark.anyio

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
VAR = "KB_TEST_COLLECTION_SECRETS_KEY"
SECRET = "github-client-secret-1"
OAUTH2 = {
    "oauth2": {
        "enabled": True,
        "providers": [{"name": "github", "clientId": "client-1", "clientSecret": SECRET}],
    }
}


def config(folder: Path, db_url: str, var: str = VAR) -> Config:
    return Config(data_dir=folder / "kb_data", db_url=db_url, encryption_env=var)


async def stored_options(app: App) -> str:
    async with app.store.read() as conn:
        value = await conn.fetch_value(
            'SELECT "options" FROM "_collections" WHERE "name" = :name', {"name": "users"}
        )
    return value.decode() if isinstance(value, bytes) else str(value)


def secret_of(app: App) -> Any:
    users = app.collections.schema.get("users")
    assert users is not None
    return users.to_json(with_secrets=True)["oauth2"]["providers"][0]["clientSecret"]


async def test_client_secrets_are_stored_encrypted_and_read_back_with_the_key(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        await app.collections.update("users", OAUTH2)
        raw = await stored_options(app)
        assert secret_of(app) == SECRET  # in use as given
    assert SECRET not in raw
    sealed = orjson.loads(raw)["oauth2"]["providers"][0]["clientSecret"]
    assert sealed.startswith(SECRET_MARK)
    assert settings_cipher.decrypt(sealed[len(SECRET_MARK) :], KEY).decode() == SECRET
    async with App(config(tmp_path, db_url)) as again:
        assert secret_of(again) == SECRET
        # A change that does not resend the secret keeps it, still encrypted.
        await again.collections.update("users", {"listRule": ""})
        assert secret_of(again) == SECRET
        assert SECRET not in await stored_options(again)


async def test_a_wrong_or_missing_key_refuses_to_start(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        await app.collections.update("users", OAUTH2)
    monkeypatch.setenv(VAR, OTHER_KEY)
    with pytest.raises(SettingsKeyError, match="'users' could not be decrypted"):
        await App(config(tmp_path, db_url)).start()
    with pytest.raises(SettingsKeyError, match="'users' are encrypted; start with --encryption"):
        await App(config(tmp_path, db_url, var="")).start()


async def test_plain_secrets_are_encrypted_once_a_key_is_given(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with App(config(tmp_path, db_url, var="")) as app:
        await app.collections.update("users", OAUTH2)
        assert SECRET in await stored_options(app)
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        assert secret_of(app) == SECRET
        assert SECRET not in await stored_options(app)


@pytest.fixture
def target_url(db_url: str) -> Iterator[str]:
    """A second empty database of the same store."""
    if not db_url:
        yield ""
        return
    with fresh_database() as url:
        yield url


async def test_an_export_carries_them_encrypted_into_an_app_with_the_same_key(
    tmp_path: Path, db_url: str, target_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, KEY)
    archive = tmp_path / "app.kbapp.zip"
    async with App(config(tmp_path / "a", db_url)) as app:
        await app.collections.update("users", OAUTH2)
        await TransferService(app.store).export(archive)
    assert SECRET.encode() not in archive.read_bytes()
    async with App(config(tmp_path / "b", target_url)) as target:
        await TransferService(target.store).import_(archive, replace=True)
    async with App(config(tmp_path / "b", target_url)) as target:
        assert secret_of(target) == SECRET
        assert SECRET not in await stored_options(target)
