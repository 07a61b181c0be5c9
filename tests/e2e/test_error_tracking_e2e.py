"""Sentry reports from a real ``keelbase serve``, received by a local HTTP endpoint.

The real ``sentry-sdk`` sends its envelopes to a DSN on this machine; the test
decodes them. A hook that raises becomes one event that names the request (the
``X-Request-Id`` the client got) and its route, and carries no personal data
unless ``KEELBASE_SENTRY_PII=true``. A failing cron job is reported too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess, free_port
from tests.telemetry_receivers import Receiver, receiving

pytestmark = pytest.mark.e2e

HOOKS = """
    from keelbase import RecordEvent

    def setup(app):
        @app.on_record_create("users")
        async def explode(e: RecordEvent) -> None:
            raise RuntimeError("a bug in a hook")

        async def broken_job():
            raise ValueError("a bug in a cron job")

        app.cron("broken", "*/1 * * * * *", broken_job)

        @app.route("/api/boom", methods=["GET"])
        async def boom(e):
            e.require_auth()
            raise RuntimeError("a bug in a route")
    """
ADMIN = ("admin@example.com", "Passw0rd123")
SIGN_UP = {
    "email": "bob.personal@example.com",
    "password": "Passw0rd123",
    "passwordConfirm": "Passw0rd123",
}
CREATE_ROUTE = "/api/collections/{collection}/records"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


def start(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch, pii: str
) -> ServerProcess:
    monkeypatch.setenv("KEELBASE_SENTRY_DSN", receiver.sentry_dsn)
    monkeypatch.setenv("KEELBASE_SENTRY_PII", pii)
    monkeypatch.setenv("KEELBASE_SENTRY_ENVIRONMENT", "staging")
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "explode.py").write_text(textwrap.dedent(HOOKS))
    subprocess.run([sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN,
                    "--dir", str(tmp_path / "kb_data")], check=True, capture_output=True)  # fmt: skip
    return ServerProcess(tmp_path / "kb_data")


def fail_signed_in(
    server: ServerProcess, receiver: Receiver
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A superuser's request that fails: the sign-in's answer and the event."""
    signed_in: dict[str, Any] = httpx.post(
        server.url + "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
    ).json()
    boom = httpx.get(server.url + "/api/boom", headers={"Authorization": signed_in["token"]})
    assert boom.status_code == 500
    return signed_in, request_event(receiver, boom.headers["x-request-id"])


def request_event(receiver: Receiver, request_id: str) -> dict[str, Any]:
    def find(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e.get("tags", {}).get("request_id") == request_id]

    found = find(receiver.wait_for(receiver.sentry_events, lambda events: bool(find(events))))
    assert len(found) == 1, receiver.sentry_events()
    return found[0]


def sign_up(server: ServerProcess) -> httpx.Response:
    answer = httpx.post(
        server.url + "/api/collections/users/records",
        json=SIGN_UP,
        headers={"Cookie": "session=cookie-value-1234", "User-Agent": "agent-5678"},
    )
    assert answer.status_code == 500
    assert "a bug in a hook" not in answer.text
    return answer


def test_a_failing_hook_is_reported_without_personal_data(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start(tmp_path, receiver, monkeypatch, pii="")
    try:
        answer = sign_up(server)
        event = request_event(receiver, answer.headers["x-request-id"])
        signed_in, with_auth = fail_signed_in(server, receiver)
        cron = receiver.wait_for(
            receiver.sentry_events,
            lambda events: any(e.get("logger") == "keelbase.cron" for e in events),
        )
    finally:
        server.stop()
    assert event["transaction"] == CREATE_ROUTE
    assert event["tags"]["http.method"] == "POST"
    assert event["release"] == "keelbase@0.1.0"
    assert event["environment"] == "staging"
    [exception] = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "a bug in a hook")
    assert exception["stacktrace"]["frames"]
    assert not any("vars" in frame for frame in exception["stacktrace"]["frames"])
    assert "user" not in event and "request" not in event
    sent = json.dumps(event)
    for personal in ("127.0.0.1", "bob.personal", "cookie-value-1234", "agent-5678", "Passw0rd"):
        assert personal not in sent, f"{personal} was sent"
    assert event["logentry"]["formatted"] == "unhandled error in %s %s (request %s)"
    assert "user" not in with_auth and "request" not in with_auth
    for secret in (signed_in["record"]["id"], signed_in["token"], ADMIN[0]):
        assert secret not in json.dumps(with_auth)

    [failed_job] = [e for e in cron if e.get("logger") == "keelbase.cron"][:1]
    assert failed_job["exception"]["values"][0]["type"] == "ValueError"
    assert failed_job["extra"]["cron_job"] == "broken"
    assert "request_id" not in failed_job.get("tags", {})


def test_with_pii_the_user_and_request_are_sent_but_never_credentials(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = start(tmp_path, receiver, monkeypatch, pii="true")
    try:
        answer = sign_up(server)
        event = request_event(receiver, answer.headers["x-request-id"])
        signed_in, with_auth = fail_signed_in(server, receiver)
    finally:
        server.stop()
    assert with_auth["user"]["id"] == signed_in["record"]["id"]
    assert with_auth["user"]["collection"] == "_superusers"
    assert "authorization" not in with_auth["request"]["headers"]
    assert signed_in["token"] not in json.dumps(with_auth)
    assert with_auth["transaction"] == "/api/boom"
    assert event["user"]["ip_address"] == "127.0.0.1"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/collections/users/records")
    assert event["request"]["headers"]["user-agent"] == "agent-5678"
    assert "cookie" not in event["request"]["headers"]
    assert "cookie-value-1234" not in json.dumps(event)
    assert event["logentry"]["formatted"].startswith("unhandled error in POST /api/collections/")


@pytest.mark.parametrize(
    ("dsn", "pii", "named"),
    [
        ("http://key@127.0.0.1:9/1", "maybe", "KEELBASE_SENTRY_PII"),
        ("http://127.0.0.1:9/1", "", "KEELBASE_SENTRY_DSN is not a Sentry DSN: Missing public key"),
    ],
)
def test_an_unclear_setting_is_refused(tmp_path: Path, dsn: str, pii: str, named: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "keelbase", "serve", "--dir", str(tmp_path / "kb_data"),
         "--http", f"127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "KEELBASE_SENTRY_DSN": dsn, "KEELBASE_SENTRY_PII": pii},
    )  # fmt: skip
    assert done.returncode == 2
    assert named in done.stderr
    assert "Traceback" not in done.stderr
