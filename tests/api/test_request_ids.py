"""Every answer carries an ``X-Request-Id``; a well-formed incoming one is kept.

The id is what ties a user's complaint to the server's log: an unhandled error
is logged with it, and the client that got the 500 has it in the header.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from keelbase import App, Config, RecordEvent
from keelbase.core.request_outcome import current_request_id

GENERATED = re.compile(r"[0-9a-f]{24}")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = App(Config(data_dir=tmp_path / "kb_data"))

    @app.on_record_create("users")
    async def explode(e: RecordEvent) -> None:
        raise RuntimeError("a bug in a hook")

    with TestClient(app.asgi, raise_server_exceptions=False) as test_client:
        yield test_client


def test_every_answer_has_a_new_id(client: TestClient) -> None:
    answers = [
        client.get("/api/health"),
        client.get("/api/does-not-exist"),
        client.get("/api/collections/users/records/nope"),
        client.post("/api/collections/users/records", content=b"{not json"),
    ]
    ids = [answer.headers["x-request-id"] for answer in answers]
    assert all(GENERATED.fullmatch(value) for value in ids), ids
    assert len(set(ids)) == len(ids)


def test_a_well_formed_incoming_id_is_kept(client: TestClient) -> None:
    for incoming in ("abc-123", "0f5e.7:trace_ID", "x" * 128):
        answer = client.get("/api/health", headers={"X-Request-Id": incoming})
        assert answer.headers["x-request-id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    ["", "two words", "<script>alert(1)</script>", "x" * 129, "a;b=c", "\t"],
)
def test_a_malformed_incoming_id_is_replaced(client: TestClient, incoming: str) -> None:
    answer = client.get("/api/health", headers={"X-Request-Id": incoming})
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def test_a_preflight_has_an_id_too(client: TestClient) -> None:
    answer = client.options(
        "/api/health",
        headers={"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
    )
    assert answer.status_code == 204
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def test_a_500_is_logged_with_the_id_its_answer_carries(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="keelbase.api"):
        answer = client.post(
            "/api/collections/users/records",
            json={
                "email": "a@example.com",
                "password": "Passw0rd123",
                "passwordConfirm": "Passw0rd123",
            },
            headers={"X-Request-Id": "complaint-42"},
        )
    assert answer.status_code == 500
    assert answer.headers["x-request-id"] == "complaint-42"
    assert "bug in a hook" not in answer.text  # the traceback stays in the log
    logged = [r for r in caplog.records if "complaint-42" in r.getMessage()]
    assert logged and logged[0].exc_info is not None


def test_browsers_may_read_the_id_on_cors_answers(client: TestClient, tmp_path: Path) -> None:
    """Without Access-Control-Expose-Headers a page's script cannot see the header."""
    answer = client.get("/api/health", headers={"Origin": "https://app.example.com"})
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["access-control-expose-headers"] == "X-Request-Id"

    listed = App(Config(data_dir=tmp_path / "listed", origins=["https://app.example.com"]))
    with TestClient(listed.asgi) as listed_client:
        allowed = listed_client.get("/api/health", headers={"Origin": "https://app.example.com"})
        refused = listed_client.get("/api/health", headers={"Origin": "https://evil.example"})
        same_site = listed_client.get("/api/health")
    assert allowed.headers["access-control-expose-headers"] == "X-Request-Id"
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    for answer in (refused, same_site):
        assert "access-control-allow-origin" not in answer.headers
        assert "access-control-expose-headers" not in answer.headers


def test_the_id_is_known_to_code_inside_the_request_only(tmp_path: Path) -> None:
    """Log formatters read the current request's id; it does not outlive the request."""
    app = App(Config(data_dir=tmp_path / "kb_data"))
    seen: list[str] = []

    @app.on_record_create("users")
    async def note(e: RecordEvent) -> None:
        seen.append(current_request_id.get())
        await e.next()

    with TestClient(app.asgi) as test_client:
        answer = test_client.post(
            "/api/collections/users/records",
            json={
                "email": "a@example.com",
                "password": "Passw0rd123",
                "passwordConfirm": "Passw0rd123",
            },
            headers={"X-Request-Id": "req-7"},
        )
    assert answer.status_code == 200, answer.text
    assert seen == ["req-7"]

    async def in_this_task() -> str:
        # httpx's ASGI transport runs the app in the caller's own task and context
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://kb") as caller:
            answer = await caller.get("/api/health", headers={"X-Request-Id": "req-8"})
        assert answer.headers["x-request-id"] == "req-8"
        return current_request_id.get()

    assert asyncio.run(in_this_task()) == ""
