"""Settings encrypted at rest with ``--encryptionEnv`` (PocketBase's format), on both stores."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from keelbase import App, Config
from keelbase.cli import main
from keelbase.core import settings_cipher
from keelbase.services.settings import SettingsKeyError

pytestmark = pytest.mark.anyio

KEY = "0123456789abcdef0123456789abcdef"
OTHER_KEY = "fedcba9876543210fedcba9876543210"
VAR = "KB_TEST_SETTINGS_KEY"
SECRETS = {
    "smtp": {"password": "smtp-password-1"},
    "s3": {"secret": "s3-secret-2"},
    "backups": {"s3": {"secret": "backups-secret-3"}},
}


def config(tmp_path: Path, db_url: str, var: str = VAR) -> Config:
    return Config(data_dir=tmp_path / "kb_data", db_url=db_url, encryption_env=var)


async def stored(app: App) -> str:
    async with app.store.read() as conn:
        value = await conn.fetch_value('SELECT "value" FROM "_params" WHERE "id" = \'settings\'')
    return value.decode() if isinstance(value, bytes) else str(value)


async def test_stored_encrypted_and_read_back_with_the_key(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        await app.settings.update(SECRETS)
        raw = await stored(app)
    for secret in ("smtp-password-1", "s3-secret-2", "backups-secret-3", "appName"):
        assert secret not in raw
    plain = orjson.loads(settings_cipher.decrypt(raw, KEY))
    assert plain["smtp"]["password"] == "smtp-password-1"
    async with App(config(tmp_path, db_url)) as again:
        assert again.settings.current.s3.secret == "s3-secret-2"
        assert again.settings.current.backups.s3.secret == "backups-secret-3"


async def test_a_wrong_or_missing_key_refuses_to_start(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        await app.settings.update(SECRETS)
    monkeypatch.setenv(VAR, OTHER_KEY)
    with pytest.raises(SettingsKeyError, match="wrong key"):
        await App(config(tmp_path, db_url)).start()
    with pytest.raises(SettingsKeyError, match="encrypted"):
        await App(config(tmp_path, db_url, var="")).start()


async def test_plain_settings_are_encrypted_once_a_key_is_given(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with App(config(tmp_path, db_url, var="")) as app:
        await app.settings.update(SECRETS)
        assert "smtp-password-1" in await stored(app)
    monkeypatch.setenv(VAR, KEY)
    async with App(config(tmp_path, db_url)) as app:
        assert app.settings.current.smtp.password == "smtp-password-1"
        assert "smtp-password-1" not in await stored(app)


def test_the_key_must_be_set_and_32_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VAR, raising=False)
    with pytest.raises(ValueError, match="not set"):
        Config(encryption_env=VAR).encryption_key()
    monkeypatch.setenv(VAR, "short")
    with pytest.raises(ValueError, match="32 characters"):
        Config(encryption_env=VAR).encryption_key()


def test_cli_commands_say_error_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = str(tmp_path / "kb_data")
    # main() hands --encryptionEnv on to Config through this variable: restored afterwards
    monkeypatch.setenv("KEELBASE_ENCRYPTION_ENV", "")
    monkeypatch.setenv(VAR, KEY)
    assert main(["--encryptionEnv", VAR, "--dir", data, "superuser", "ips", "10.0.0.1"]) == 0
    monkeypatch.setenv(VAR, OTHER_KEY)
    capsys.readouterr()
    assert main(["--encryptionEnv", VAR, "superuser", "ips", "--dir", data]) == 1
    assert capsys.readouterr().err.startswith("Error: the stored settings cannot be decrypted")
    assert main(["serve", "--dir", data, "--encryptionEnv", VAR, "--http", "127.0.0.1:1"]) == 1
    assert capsys.readouterr().err.startswith("Error: the stored settings cannot be decrypted")
    # with workers: one error from the supervisor, before any worker starts
    assert main(["serve", "--dir", data, "--encryptionEnv", VAR, "--http", "127.0.0.1:1", "--workers", "2"]) == 1  # fmt: skip
    assert capsys.readouterr().err.startswith("Error: the stored settings cannot be decrypted")
    monkeypatch.setenv("KEELBASE_ENCRYPTION_ENV", "")
    assert main(["--dir", data, "serve", "--http", "127.0.0.1:1"]) == 1
    assert capsys.readouterr().err.startswith("Error: the stored settings are encrypted")
    monkeypatch.setenv(VAR, "too-short")
    assert main(["--encryptionEnv", VAR, "serve", "--dir", data]) == 1
    assert "must be 32 characters" in capsys.readouterr().err
