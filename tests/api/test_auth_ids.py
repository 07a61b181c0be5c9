"""Auth records are told apart by their collection *and* id.

Record ids are unique across auth collections for records created through the
API, but not necessarily for data that arrived otherwise (an import, rows
written before the check existed): two auth records may share an id. Whatever
is cached per auth record (realtime rule answers, checked tokens) is keyed by
both, so one of them never gets what was decided for the other.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from keelbase import ApiError, App
from keelbase.core.records.record import Record
from tests.api.conftest import ADMIN, PASSWORD
from tests.api.sse import SseStream

pytestmark = pytest.mark.anyio

SHARED_ID = "sharedid0000001"
SECRET_ID = "topsecret000001"
MANAGERS_ONLY = '@request.auth.collectionName = "managers"'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def http(app: App) -> AsyncIterator[httpx.AsyncClient]:
    async with app:
        await app.superusers.upsert(*ADMIN)
        transport = httpx.ASGITransport(app=app.asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def sign_in(http: httpx.AsyncClient, collection: str, email: str, password: str) -> str:
    answer = await http.post(
        f"/api/collections/{collection}/auth-with-password",
        json={"identity": email, "password": password},
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


async def create(
    http: httpx.AsyncClient, token: str, collection: str, body: dict[str, Any]
) -> dict[str, Any]:
    answer = await http.post(
        f"/api/collections/{collection}/records", json=body, headers={"Authorization": token}
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def give_id(app: App, collection: str, old: str, new: str) -> None:
    """Change a record's id behind the API's back, as an import of older data could."""
    async with app.store.transaction() as conn:
        await conn.execute(
            f'UPDATE "{collection}" SET "id" = :new WHERE "id" = :old', {"new": new, "old": old}
        )


async def managers_and_a_user_sharing_an_id(http: httpx.AsyncClient, app: App) -> str:
    """A ``managers`` auth collection whose record has the id of a ``users`` record.

    Returns the superuser's token.
    """
    root = await sign_in(http, "_superusers", *ADMIN)
    made = await http.post(
        "/api/collections",
        json={"name": "managers", "type": "auth"},
        headers={"Authorization": root},
    )
    assert made.status_code == 200, made.text
    account = {"password": PASSWORD, "passwordConfirm": PASSWORD}
    manager = await create(http, root, "managers", {"email": "m@example.com", **account})
    user = await create(http, root, "users", {"email": "u@example.com", **account})
    await give_id(app, "managers", manager["id"], SHARED_ID)
    await give_id(app, "users", user["id"], SHARED_ID)
    return root


async def test_a_stream_sharing_an_id_with_another_auth_collection_gets_only_its_own_events(
    app: App, http: httpx.AsyncClient
) -> None:
    root = await managers_and_a_user_sharing_an_id(http, app)
    made = await http.post("/api/collections", headers={"Authorization": root}, json={
        "name": "secrets", "listRule": MANAGERS_ONLY, "viewRule": MANAGERS_ONLY,
        "fields": [{"name": "text", "type": "text"}]})  # fmt: skip
    assert made.status_code == 200, made.text
    manager_token = await sign_in(http, "managers", "m@example.com", PASSWORD)
    user_token = await sign_in(http, "users", "u@example.com", PASSWORD)

    # A manager's stream before and after the user's: whichever is judged first,
    # its answer must not be reused for the other collection's record.
    streams = {
        "manager 1": (await SseStream(app).open(), manager_token),
        "user": (await SseStream(app).open(), user_token),
        "manager 2": (await SseStream(app).open(), manager_token),
    }
    try:
        topics = ["secrets/*", f"secrets/{SECRET_ID}"]
        for stream, token in streams.values():
            subscribed = await http.post(
                "/api/realtime",
                json={"clientId": stream.client_id, "subscriptions": topics},
                headers={"Authorization": token},
            )
            assert subscribed.status_code == 204, subscribed.text
        await create(http, root, "secrets", {"id": SECRET_ID, "text": "launch codes"})
        received = {name: await stream.received() for name, (stream, _) in streams.items()}
    finally:
        for stream, _ in streams.values():
            await stream.close()

    assert received["user"] == [], "the list and view rules refuse users"
    for name in ("manager 1", "manager 2"):
        assert sorted(topic for topic, _ in received[name]) == sorted(topics), name
        assert all(data["record"]["text"] == "launch codes" for _, data in received[name])


async def test_a_stream_cannot_switch_to_another_collections_record_with_the_same_id(
    app: App, http: httpx.AsyncClient
) -> None:
    await managers_and_a_user_sharing_an_id(http, app)
    user_token = await sign_in(http, "users", "u@example.com", PASSWORD)
    manager_token = await sign_in(http, "managers", "m@example.com", PASSWORD)
    stream = await SseStream(app).open()
    try:
        first = await http.post(
            "/api/realtime",
            json={"clientId": stream.client_id, "subscriptions": ["users/*"]},
            headers={"Authorization": user_token},
        )
        assert first.status_code == 204, first.text
        switched = await http.post(
            "/api/realtime",
            json={"clientId": stream.client_id, "subscriptions": ["managers/*"]},
            headers={"Authorization": manager_token},
        )
    finally:
        await stream.close()
    assert switched.status_code == 403, switched.text
    assert switched.json()["message"] == (
        "The current and the previous request authorization don't match."
    )


async def test_a_change_to_one_auth_record_keeps_the_cached_tokens_of_its_namesake(
    app: App, http: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = await managers_and_a_user_sharing_an_id(http, app)
    manager_token = await sign_in(http, "managers", "m@example.com", PASSWORD)
    user_token = await sign_in(http, "users", "u@example.com", PASSWORD)
    refresh = "/api/collections/{}/auth-refresh"
    for collection, token in (("managers", manager_token), ("users", user_token)):
        answer = await http.post(refresh.format(collection), headers={"Authorization": token})
        assert answer.status_code == 200, answer.text  # both tokens checked and cached now

    lookups: list[tuple[str, str]] = []
    find_by_id = app.records.find_by_id

    async def counted(collection: Any, record_id: str) -> Any:
        lookups.append((collection.name, record_id))
        return await find_by_id(collection, record_id)

    monkeypatch.setattr(app.records, "find_by_id", counted)
    new_password = {"password": "An0therPassw0rd", "passwordConfirm": "An0therPassw0rd"}
    changed = await http.patch(
        f"/api/collections/users/records/{SHARED_ID}",
        json=new_password,
        headers={"Authorization": root},
    )
    assert changed.status_code == 200, changed.text
    lookups.clear()

    ended = await http.post(refresh.format("users"), headers={"Authorization": user_token})
    assert ended.status_code == 401, "the user's password changed: her token ends"
    kept = await http.post(refresh.format("managers"), headers={"Authorization": manager_token})
    assert kept.status_code == 200, kept.text
    assert ("managers", SHARED_ID) not in lookups, "the manager's token stayed cached"


async def test_a_new_auth_record_cannot_take_an_id_another_auth_collection_has(
    app: App, http: httpx.AsyncClient
) -> None:
    """PocketBase's cross-check (core/record_model.go, onRecordSaveExecute)."""
    root = await sign_in(http, "_superusers", *ADMIN)
    auth = {"Authorization": root}
    for definition in (
        {"name": "managers", "type": "auth"},
        {"name": "members", "type": "auth", "createRule": ""},
        {"name": "notes", "createRule": "", "fields": [{"name": "text", "type": "text"}]},
    ):
        made = await http.post("/api/collections", json=definition, headers=auth)
        assert made.status_code == 200, made.text
    account = {"password": PASSWORD, "passwordConfirm": PASSWORD}
    await create(http, root, "managers", {"id": SHARED_ID, "email": "m@example.com", **account})
    superuser_id = (await http.get("/api/collections/_superusers/records", headers=auth)).json()[
        "items"
    ][0]["id"]
    taken = {
        "data": {
            "id": {
                "code": "validation_invalid_auth_id",
                "message": "Invalid or duplicated auth record id.",
            }
        },
        "message": "Failed to create record.",
        "status": 400,
    }
    for collection, record_id, token in (
        ("users", SHARED_ID, root),  # a superuser may set ids, not this one
        ("members", superuser_id, ""),  # a guest sign-up cannot shadow a superuser
        ("_superusers", SHARED_ID, root),
    ):
        answer = await http.post(
            f"/api/collections/{collection}/records",
            json={"id": record_id, "email": f"new-{collection}@example.com", **account},
            headers={"Authorization": token} if token else {},
        )
        assert (answer.status_code, answer.json()) == (400, taken), (collection, answer.text)
    # field errors come first, as in PocketBase; the same collection's clash stays a unique error
    invalid = await http.post(
        "/api/collections/users/records",
        json={"id": SHARED_ID, "email": "not-an-email", **account},
        headers=auth,
    )
    assert set(invalid.json()["data"]) == {"email"}, invalid.text
    same = await http.post(
        "/api/collections/managers/records",
        json={"id": SHARED_ID, "email": "m2@example.com", **account},
        headers=auth,
    )
    assert same.json()["data"]["id"]["code"] == "validation_not_unique", same.text
    # records of other types may share ids with auth records
    await create(http, root, "notes", {"id": SHARED_ID, "text": "hi"})
    # and so are the server's own inserts (a superuser made from the CLI)
    superusers = app.records.collection("_superusers")
    data = {f.name: f.empty() for f in superusers.fields}
    data.update(id=SHARED_ID, email="cli@example.com", verified=True)
    with pytest.raises(ApiError) as clash:
        await app.records.insert_trusted(Record(superusers, data), plain_password=PASSWORD)
    assert clash.value.data == taken["data"]
