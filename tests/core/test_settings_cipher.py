"""The settings cipher is PocketBase's: each reads what the other wrote."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from keelbase.core import settings_cipher

KEY = "0123456789abcdef0123456789abcdef"
POCKETBASE = Path(sys.executable).parent / "pocketbase"


def test_round_trip_and_fresh_nonces() -> None:
    one = settings_cipher.encrypt(b'{"a":1}', KEY)
    assert one != settings_cipher.encrypt(b'{"a":1}', KEY)
    assert settings_cipher.decrypt(one, KEY) == b'{"a":1}'
    with pytest.raises(settings_cipher.CipherError):
        settings_cipher.decrypt(one, KEY[::-1])
    with pytest.raises(settings_cipher.CipherError):
        settings_cipher.decrypt("not base64!", KEY)


@pytest.mark.skipif(not POCKETBASE.exists(), reason="the reference PocketBase is not installed")
def test_reads_what_pocketbase_encrypted(tmp_path: Path) -> None:
    data = tmp_path / "pb_data"
    env = {**os.environ, "PB_TEST_KEY": KEY}
    subprocess.run(
        [str(POCKETBASE), "superuser", "upsert", "a@example.com", "Passw0rd123",
         "--dir", str(data), "--encryptionEnv", "PB_TEST_KEY"],
        env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    with sqlite3.connect(data / "data.db") as db:
        (value,) = db.execute("SELECT value FROM _params WHERE id = 'settings'").fetchone()
    text = value.decode() if isinstance(value, bytes) else value
    assert "appName" not in text
    assert "appName" in orjson.loads(settings_cipher.decrypt(text, KEY))["meta"]
