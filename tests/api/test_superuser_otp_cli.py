"""``keelbase superuser otp EMAIL``: a one-time password to sign in with, as PocketBase prints."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from keelbase import App, Config
from keelbase.cli import main
from tests.api.conftest import ADMIN


def test_otp_from_the_command_line_signs_in(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = Config(data_dir=tmp_path / "kb_data", db_url=db_url)
    where = ["--dir", str(config.data_dir), *(["--db", db_url] if db_url else [])]

    async def prepare(otp: bool) -> None:
        async with App(config) as app:
            await app.superusers.upsert(*ADMIN)
            await app.collections.update("_superusers", {"otp": {"enabled": otp}})

    asyncio.run(prepare(otp=False))
    assert main(["superuser", "otp", ADMIN[0], *where]) == 1
    assert "OTP auth is not enabled" in capsys.readouterr().err
    assert main(["superuser", "otp", "nobody@example.com", *where]) == 1
    assert "doesn't exist" in capsys.readouterr().err
    asyncio.run(prepare(otp=True))
    assert main(["superuser", "otp", ADMIN[0], *where]) == 0
    printed = capsys.readouterr().out
    otp_id = re.search(r"Id:\s+(\w+)", printed)
    code = re.search(r"Pass:\s+(\d+)", printed)
    assert otp_id and code and "Valid: 180s" in printed
    with TestClient(App(config).asgi) as client:
        signed = client.post(
            "/api/collections/_superusers/auth-with-otp",
            json={"otpId": otp_id.group(1), "password": code.group(1)},
        )
        assert signed.status_code == 200, signed.text
        assert signed.json()["record"]["email"] == ADMIN[0]
