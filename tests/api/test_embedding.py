"""Keelbase mounted inside another ASGI application, started by that application's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from keelbase import App, Config


def test_mount_in_a_starlette_app(tmp_path: Path, fresh_db_url: str) -> None:
    kb = App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))

    @kb.route("/api/ping")
    async def ping(e: object) -> dict[str, str]:
        return {"pong": "yes"}

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with kb:
            await kb.superusers.upsert("admin@example.com", "Passw0rd123")
            yield

    async def home(request: Request) -> JSONResponse:
        users = await kb.find_records("users")
        return JSONResponse({"home": True, "users": len(users)})

    outer = Starlette(routes=[Route("/", home), Mount("/kb", app=kb.asgi)], lifespan=lifespan)
    with TestClient(outer) as client:
        assert client.get("/").json() == {"home": True, "users": 0}
        assert client.get("/kb/api/health").json()["message"] == "API is healthy."
        assert client.get("/kb/api/ping").json() == {"pong": "yes"}
        signed = client.post("/kb/api/collections/_superusers/auth-with-password",
                             json={"identity": "admin@example.com", "password": "Passw0rd123"})  # fmt: skip
        assert signed.status_code == 200
        assert client.post("/kb/api/collections/users/records", json={
            "email": "a@example.com", "password": "Passw0rd123", "passwordConfirm": "Passw0rd123"}).status_code == 200  # fmt: skip
        assert client.get("/").json()["users"] == 1
