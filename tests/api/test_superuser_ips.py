"""``superuserIPs``: superusers sign in and act only from the listed addresses.

The test client's address is not an IP, so the client's address comes from
``X-Forwarded-For`` (``trustedProxy``), as it would behind a proxy.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from keelbase import App, Config
from keelbase.cli import main
from tests.api.conftest import ADMIN
from tests.api.scenario import Scenario, World, params, run

XFF = "X-Forwarded-For"
FORBIDDEN = {"status": 403, "message": "You are not allowed to perform this request.", "data": {}}
SIGN_IN = "/api/collections/_superusers/auth-with-password"
LOGIN = {"identity": ADMIN[0], "password": ADMIN[1]}


def only(*entries: str) -> Scenario:
    """Allow superusers only from ``entries``; the client's IP is read from X-Forwarded-For."""
    return Scenario(
        f"allow only {entries}",
        "PATCH",
        "/api/settings",
        "superuser",
        body={"superuserIPs": list(entries), "trustedProxy": {"headers": [XFF]}},
    )


def from_ip(ip: str) -> dict[str, str]:
    return {XFF: ip}


LOCKED = (only("10.1.1.1", "192.168.0.0/24"),)

SCENARIOS = [
    Scenario(
        "settings from another address",
        "GET",
        "/api/settings",
        "superuser",
        headers=from_ip("10.1.1.2"),
        before=LOCKED,
        status=403,
        contains=FORBIDDEN,
    ),
    Scenario(
        "settings without a proxy header (the peer is not listed)",
        "GET",
        "/api/settings",
        "superuser",
        before=LOCKED,
        status=403,
        contains=FORBIDDEN,
    ),
    Scenario(
        "settings from the listed address",
        "GET",
        "/api/settings",
        "superuser",
        headers=from_ip("10.1.1.1"),
        before=LOCKED,
        contains={"superuserIPs": ["10.1.1.1", "192.168.0.0/24"]},
    ),
    Scenario(
        "a record list from inside the listed subnet",
        "GET",
        "/api/collections/users/records",
        "superuser",
        headers=from_ip("192.168.0.77"),
        before=LOCKED,
    ),
    Scenario(
        "records as a superuser from elsewhere",
        "GET",
        "/api/collections/users/records",
        "superuser",
        headers=from_ip("192.168.1.77"),
        before=LOCKED,
        status=403,
        contains=FORBIDDEN,
    ),
    Scenario(
        "sign-in from elsewhere",
        "POST",
        SIGN_IN,
        body=LOGIN,
        headers=from_ip("10.9.9.9"),
        before=LOCKED,
        status=403,
        contains=FORBIDDEN,
        absent=("token",),
    ),
    Scenario(
        "sign-in from the listed address",
        "POST",
        SIGN_IN,
        body=LOGIN,
        headers=from_ip("10.1.1.1"),
        before=LOCKED,
        contains={"record": {"email": ADMIN[0]}},
    ),
    Scenario(
        "a wrong password from elsewhere is still the usual 400",
        "POST",
        SIGN_IN,
        body={**LOGIN, "password": "wrong-one"},
        headers=from_ip("10.9.9.9"),
        before=LOCKED,
        status=400,
    ),
    Scenario(
        "users are not affected",
        "GET",
        "/api/collections/users/records",
        "user1",
        headers=from_ip("10.9.9.9"),
        before=LOCKED,
    ),
    Scenario(
        "a user signs in from anywhere",
        "POST",
        "/api/collections/users/auth-with-password",
        body={"identity": "user1@example.com", "password": ADMIN[1]},
        headers=from_ip("10.9.9.9"),
        before=LOCKED,
    ),
    Scenario(
        "a guest request with a superuser's IP list on",
        "GET",
        "/api/health",
        headers=from_ip("10.9.9.9"),
        before=LOCKED,
    ),
    Scenario(
        "clearing the list from the listed address lets everyone in again",
        "PATCH",
        "/api/settings",
        "superuser",
        body={"superuserIPs": []},
        headers=from_ip("10.1.1.1"),
        before=LOCKED,
        after=(Scenario("settings again", "GET", "/api/settings", "superuser"),),
    ),
    Scenario(
        "bad entries",
        "PATCH",
        "/api/settings",
        "superuser",
        body={"superuserIPs": ["10.0.0.1", "", "nope", "10.0.0.0/33", "::1", "fe80::/10"]},
        status=400,
        contains={
            "message": "An error occurred while saving the new settings.",
            "data": {
                "superuserIPs": {
                    "1": {"code": "validation_required"},
                    "2": {"code": "validation_invlaid_ip_or_subnet"},
                    "3": {"code": "validation_invlaid_ip_or_subnet"},
                }
            },
        },
    ),
    Scenario(
        "not a list of strings",
        "PATCH",
        "/api/settings",
        "superuser",
        body={"superuserIPs": "10.0.0.1"},
        status=400,
    ),
]


@params(SCENARIOS)
def test_superuser_ips(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_only_bad_entries_are_reported(world: World) -> None:
    answer = world.request(
        "PATCH", "/api/settings", "superuser", json={"superuserIPs": ["::1", "x", "fe80::/10"]}
    )
    assert answer.status_code == 400
    assert set(answer.json()["data"]["superuserIPs"]) == {"1"}


def test_cli_shows_sets_and_resets(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A locked-out owner gets back in from the server's shell."""
    where = ["--dir", str(tmp_path / "kb_data"), *(["--db", db_url] if db_url else [])]

    def cli(*args: str) -> tuple[int, str, str]:
        code = main(["superuser", "ips", *args, *where])
        out = capsys.readouterr()
        return code, out.out, out.err

    code, out, _ = cli()
    assert code == 0 and "every address" in out
    code, out, _ = cli("10.1.1.1", "10.2.0.0/16")
    assert code == 0 and "10.1.1.1" in out and "10.2.0.0/16" in out
    assert asyncio.run(_stored(tmp_path, db_url)) == ["10.1.1.1", "10.2.0.0/16"]
    code, _, err = cli("not-an-ip")
    assert code == 1 and "'not-an-ip': Invalid IP or CIDR subnet." in err
    assert asyncio.run(_stored(tmp_path, db_url)) == ["10.1.1.1", "10.2.0.0/16"]
    code, out, _ = cli("--reset")
    assert code == 0 and "every address" in out
    assert asyncio.run(_stored(tmp_path, db_url)) == []


async def _stored(tmp_path: Path, db_url: str) -> Any:
    async with App(Config(data_dir=tmp_path / "kb_data", db_url=db_url)) as app:
        return app.settings.current.superuserIPs


def test_protected_file_token_of_a_superuser_elsewhere_is_no_token(files_world: World) -> None:
    w = files_world
    created = w.client.post(
        "/api/collections/docs/records",
        headers=w.headers("user1"),
        data={"owner": w.ids["user1"]},
        files=[("secret", ("s.txt", b"classified", "text/plain"))],
    ).json()
    url = f"/api/files/docs/{created['id']}/{created['secret']}"
    token = w.client.post("/api/files/token", headers=w.headers("superuser")).json()["token"]
    run(w, only("10.1.1.1"))
    assert (
        w.client.get(url, params={"token": token}, headers=from_ip("10.1.1.1")).status_code == 200
    )
    assert (
        w.client.get(url, params={"token": token}, headers=from_ip("10.1.1.9")).status_code == 404
    )
