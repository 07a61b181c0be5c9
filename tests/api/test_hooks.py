"""Hooks, routes and record helpers through the HTTP API of an in-process app.

For each event: a handler that changes data, one that stops the action with an
ApiError, and one that fails with an unexpected error (a 500 with a generic
message, and nothing committed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from keelbase import (
    ApiError,
    App,
    AuthEvent,
    Config,
    ListEvent,
    RecordCommitEvent,
    RecordEvent,
    RequestEvent,
    RouteEvent,
    ViewEvent,
)
from keelbase.services.auth import refs as auth_refs
from tests.api.conftest import ADMIN, PASSWORD


class Boom(Exception):
    """An unexpected failure inside a handler."""


@pytest.fixture
def hooked(tmp_path: Path, fresh_db_url: str) -> Iterator[tuple[App, TestClient, dict[str, str]]]:
    app = App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))
    seen: list[Any] = []
    app.seen = seen  # type: ignore[attr-defined]

    @app.on_record_create("posts")
    async def slug_and_guard(e: RecordEvent) -> None:
        title = str(e.record.get("title"))
        if title == "stop":
            raise ApiError(
                400, "Titles may not be 'stop'.", {"title": {"code": "no_stop", "message": "No."}}
            )
        if title == "boom":
            raise Boom("handler bug")
        e.record.data["slug"] = title.lower().replace(" ", "-")
        await e.next()
        seen.append(("created", e.record.id))  # after next: the stored record

    @app.on_record_update("posts")
    async def audit(e: RecordEvent) -> None:
        assert e.original is not None
        if e.record.get("title") == "frozen":
            raise ApiError(403, "This post is frozen.")
        await e.next()
        await app.create_record("audit", {"post": e.record.id, "before": e.original.get("title"),
                                          "after": e.record.get("title")})  # fmt: skip

    @app.on_record_delete("posts")
    async def keep_pinned(e: RecordEvent) -> None:
        if e.record.get("title") == "pinned":
            raise ApiError(400, "Pinned posts stay.")
        await e.next()

    @app.on_record_after_create("posts")
    async def after_commit(e: RecordCommitEvent) -> None:
        seen.append(("committed", e.record.id))
        if e.record.get("title") == "after-fail":
            raise Boom("after commit failures are only logged")

    @app.on_records_list("posts")
    async def count_header(e: ListEvent) -> None:
        await e.next()
        e.result["hookSaw"] = len(e.result["items"])

    @app.on_record_view("posts")
    async def hide_secret_title(e: ViewEvent) -> None:
        await e.next()
        if e.result.get("title") == "classified":
            e.result["title"] = "[redacted]"

    @app.on_record_auth("users")
    async def no_banned(e: AuthEvent) -> None:
        if e.record.get("name") == "banned":
            raise ApiError(403, "Banned.")
        await e.next()
        e.result["meta"] = {"welcome": True}

    @app.on_request()
    async def tag(e: RequestEvent) -> None:
        if e.request.headers.get("x-block") == "1":
            raise ApiError(429, "Blocked by a hook.")
        await e.next()
        assert e.response is not None
        e.response.headers["x-hooked"] = "yes"

    @app.route("/api/stats", methods=["GET"])
    async def stats(e: RouteEvent) -> dict[str, Any]:
        e.require_superuser()
        posts = await app.find_records("posts", limit=1000)
        return {"posts": len(posts)}

    @app.route("/api/me", methods=["GET"])
    async def me(e: RouteEvent) -> dict[str, Any]:
        e.require_auth()
        return {"id": e.auth.id, "collection": e.auth.collection.name}

    @app.route("/api/public/{name}", methods=["POST"])
    async def greet(e: RouteEvent) -> dict[str, Any]:
        body = await e.body()
        return {"hello": e.path_params["name"], "body": body}

    async def setup() -> None:
        async with app:
            await app.superusers.upsert(*ADMIN)
            await app.collections.create({"name": "posts", "listRule": "", "viewRule": "", "createRule": "",
                                          "updateRule": "", "deleteRule": "",
                                          "fields": [{"name": "title", "type": "text"},
                                                     {"name": "slug", "type": "text"}]})  # fmt: skip
            await app.collections.create({"name": "audit", "fields": [
                {"name": "post", "type": "text"}, {"name": "before", "type": "text"},
                {"name": "after", "type": "text"}]})  # fmt: skip

    asyncio.run(setup())
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        tokens = {
            "superuser": client.post(
                "/api/collections/_superusers/auth-with-password",
                json={"identity": ADMIN[0], "password": ADMIN[1]},
            ).json()["token"]
        }
        yield app, client, tokens


def test_create_hooks(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    app, client, _ = hooked
    created = client.post("/api/collections/posts/records", json={"title": "Hello World"})
    assert created.status_code == 200, created.text
    assert created.json()["slug"] == "hello-world"
    record_id = created.json()["id"]
    assert ("created", record_id) in app.seen  # type: ignore[attr-defined]
    assert ("committed", record_id) in app.seen  # type: ignore[attr-defined]

    stopped = client.post("/api/collections/posts/records", json={"title": "stop"})
    assert stopped.status_code == 400
    assert stopped.json() == {"data": {"title": {"code": "no_stop", "message": "No."}},
                              "message": "Titles may not be 'stop'.", "status": 400}  # fmt: skip

    failed = client.post("/api/collections/posts/records", json={"title": "boom"})
    assert failed.status_code == 500
    assert "Traceback" not in failed.text and "handler bug" not in failed.text
    listed = client.get(
        "/api/collections/posts/records", params={"filter": "title = 'boom' || title = 'stop'"}
    )
    assert listed.json()["items"] == [], "a stopped or failed create stores nothing"

    after = client.post("/api/collections/posts/records", json={"title": "after-fail"})
    assert after.status_code == 200, "a failing after-commit handler does not undo the commit"


def test_update_and_delete_hooks(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    _, client, tokens = hooked
    record = client.post("/api/collections/posts/records", json={"title": "one"}).json()
    updated = client.patch(f"/api/collections/posts/records/{record['id']}", json={"title": "two"})
    assert updated.status_code == 200
    audit = client.get(
        "/api/collections/audit/records", headers={"Authorization": tokens["superuser"]}
    ).json()
    assert [(a["before"], a["after"]) for a in audit["items"]] == [("one", "two")]
    frozen = client.patch(
        f"/api/collections/posts/records/{record['id']}", json={"title": "frozen"}
    )
    assert frozen.status_code == 403 and frozen.json()["message"] == "This post is frozen."
    assert client.get(f"/api/collections/posts/records/{record['id']}").json()["title"] == "two"

    pinned = client.post("/api/collections/posts/records", json={"title": "pinned"}).json()
    refused = client.delete(f"/api/collections/posts/records/{pinned['id']}")
    assert refused.status_code == 400
    assert client.get(f"/api/collections/posts/records/{pinned['id']}").status_code == 200
    assert client.delete(f"/api/collections/posts/records/{record['id']}").status_code == 204


def test_list_view_and_request_hooks(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    _, client, _ = hooked
    client.post("/api/collections/posts/records", json={"title": "classified"})
    listed = client.get("/api/collections/posts/records")
    assert listed.json()["hookSaw"] == 1
    assert listed.headers["x-hooked"] == "yes"
    record_id = listed.json()["items"][0]["id"]
    assert client.get(f"/api/collections/posts/records/{record_id}").json()["title"] == "[redacted]"
    blocked = client.get("/api/health", headers={"x-block": "1"})
    assert blocked.status_code == 429 and blocked.json()["message"] == "Blocked by a hook."


def test_auth_hook(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    _, client, _ = hooked
    for name in ("ok", "banned"):
        client.post("/api/collections/users/records", json={
            "email": f"{name}@example.com", "password": PASSWORD, "passwordConfirm": PASSWORD, "name": name})  # fmt: skip
    ok = client.post(
        "/api/collections/users/auth-with-password",
        json={"identity": "ok@example.com", "password": PASSWORD},
    )
    assert ok.status_code == 200 and ok.json()["meta"] == {"welcome": True}
    banned = client.post("/api/collections/users/auth-with-password",
                         json={"identity": "banned@example.com", "password": PASSWORD})  # fmt: skip
    assert banned.status_code == 403 and banned.json()["message"] == "Banned."


def test_custom_routes(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    _, client, tokens = hooked
    client.post("/api/collections/posts/records", json={"title": "a"})
    assert client.get("/api/stats").status_code == 401
    stats = client.get("/api/stats", headers={"Authorization": tokens["superuser"]})
    assert stats.json() == {"posts": 1}
    assert client.get("/api/me").status_code == 401
    me = client.get("/api/me", headers={"Authorization": tokens["superuser"]})
    assert me.json()["collection"] == "_superusers"
    greeting = client.post("/api/public/ann", json={"x": 1})
    assert greeting.json() == {"hello": "ann", "body": {"x": 1}}
    assert (
        client.post(
            "/api/public/ann", content=b"{broken", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )


def test_filter_params_are_bound_safely(hooked: tuple[App, TestClient, dict[str, str]]) -> None:
    app, client, _ = hooked
    client.post("/api/collections/posts/records", json={"title": 'quote " and \\ back'})

    async def find() -> list[dict[str, Any]]:
        return await app.find_records(
            "posts", filter="title = {:t}", params={"t": 'quote " and \\ back'}
        )

    assert len(client.portal.call(find)) == 1  # type: ignore[union-attr]

    async def hostile() -> list[dict[str, Any]]:
        return await app.find_records("posts", filter="title = {:t}", params={"t": "x' || id != '"})

    assert client.portal.call(hostile) == []  # type: ignore[union-attr]


def test_deleting_an_auth_record_deletes_what_it_owns_through_the_hooks(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """Its OAuth2 links, MFAs, OTPs and origins go in the same transaction, through the
    delete hooks (PocketBase's recordRefHooks, core/auth_origin_model.go): a hook sees
    each one, and a hook that refuses one keeps the user."""
    app = App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))
    owned = ("_externalAuths", "_mfas", "_otps", "_authOrigins")
    deleted: list[tuple[str, str]] = []
    committed: list[str] = []

    @app.on_record_delete(*owned)
    async def seen(e: RecordEvent) -> None:
        if e.record.get("provider") == "keep-me":
            raise ApiError(400, "This link stays.")
        await e.next()
        deleted.append((e.collection.name, str(e.record.get("recordRef"))))

    @app.on_record_after_delete("_externalAuths")
    async def after(e: RecordCommitEvent) -> None:
        committed.append(str(e.record.get("providerId")))

    async def owner_with_everything(email: str, provider: str) -> str:
        user = await app.create_record(
            "users", {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD}
        )
        for name, values in (
            ("_externalAuths", {"provider": provider, "providerId": f"{email}-at-{provider}"}),
            ("_mfas", {"method": "password"}),
            ("_otps", {"sentTo": email}),
            ("_authOrigins", {"fingerprint": f"print-{email}"}),
        ):
            ref = auth_refs.new_ref_record(app.records, name, user, **values)
            await app.records.insert_trusted(
                ref, plain_password="123456" if name == "_otps" else None
            )
        return user.id

    async def setup() -> tuple[str, str]:
        async with app:
            await app.superusers.upsert(*ADMIN)
            return (
                await owner_with_everything("gone@example.com", "google"),
                await owner_with_everything("kept@example.com", "keep-me"),
            )

    gone, kept = asyncio.run(setup())
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        root = client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]

        def delete(user_id: str) -> Any:
            return client.delete(
                f"/api/collections/users/records/{user_id}", headers={"Authorization": root}
            )

        def remaining(user_id: str) -> list[str]:
            async def count() -> list[str]:
                names = []
                for name in owned:
                    names += [name for r in await app.find_records(name, limit=100)
                              if r["recordRef"] == user_id]  # fmt: skip
                return names

            return list(client.portal.call(count))  # type: ignore[union-attr]

        assert delete(gone).status_code == 204
        assert sorted(deleted) == sorted((name, gone) for name in owned)
        assert committed == ["gone@example.com-at-google"]
        assert remaining(gone) == []

        deleted.clear()
        refused = delete(kept)
        assert (refused.status_code, refused.json()["message"]) == (400, "This link stays.")
        assert client.get(f"/api/collections/users/records/{kept}",
                          headers={"Authorization": root}).status_code == 200  # fmt: skip
        assert sorted(remaining(kept)) == sorted(owned), "nothing of it was deleted"


def test_a_handler_that_never_calls_next_stops_the_action_with_pocketbases_answer(
    tmp_path: Path, fresh_db_url: str
) -> None:
    """PocketBase 0.40.6 (apis/record_crud.go): when an onRecordCreate/Update/Delete
    handler returns without e.next(), nothing is stored and the request still
    succeeds: create and update answer 200 with the record as it stood (a create's
    generated id was never stored, so it 404s; no created/updated), delete 204."""
    app = App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))
    committed: list[str] = []

    @app.on_record_create("posts")
    @app.on_record_update("posts")
    async def skip_create_or_update(e: RecordEvent) -> None:
        if e.record.get("title") != "skip":
            await e.next()

    @app.on_record_delete("posts")
    async def skip_delete(e: RecordEvent) -> None:
        if e.record.get("title") != "kept":
            await e.next()

    @app.on_record_after_create("posts")
    @app.on_record_after_update("posts")
    @app.on_record_after_delete("posts")
    async def after(e: RecordCommitEvent) -> None:
        committed.append(e.action)

    async def setup() -> None:
        async with app:
            await app.collections.create({"name": "posts", "listRule": "", "viewRule": "",
                                          "createRule": "", "updateRule": "", "deleteRule": "",
                                          "fields": [{"name": "title", "type": "text"},
                                                     {"name": "created", "type": "autodate", "onCreate": True},
                                                     {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True}]})  # fmt: skip

    asyncio.run(setup())
    posts = "/api/collections/posts/records"
    with TestClient(app.asgi, raise_server_exceptions=False) as client:
        skipped = client.post(posts, json={"title": "skip"})
        assert skipped.status_code == 200, skipped.text
        body = skipped.json()
        assert (body["title"], body["created"], body["updated"]) == ("skip", "", "")
        assert len(body["id"]) == 15, "an id is given out, as PocketBase does..."
        assert client.get(f"{posts}/{body['id']}").status_code == 404, "...but never stored"
        assert client.get(posts).json()["totalItems"] == 0

        kept = client.post(posts, json={"title": "kept"}).json()
        changed = client.patch(f"{posts}/{kept['id']}", json={"title": "skip"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["title"] == "skip", "the answer shows the change..."
        assert changed.json()["updated"] == kept["updated"]
        assert client.get(f"{posts}/{kept['id']}").json()["title"] == "kept", "...not stored"

        deleted = client.delete(f"{posts}/{kept['id']}")
        assert deleted.status_code == 204
        assert client.get(f"{posts}/{kept['id']}").status_code == 200, "nothing was deleted"
    assert committed == ["create"], "only the create that went on reached the commit hooks"
