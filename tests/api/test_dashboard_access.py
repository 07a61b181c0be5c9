"""``GET /api/dashboard/collections``: the collections an editor's dashboard offers."""

from __future__ import annotations

from typing import Any

from tests.api.scenario import World


def _make(world: World, body: dict[str, Any]) -> None:
    made = world.client.post("/api/collections", json=body, headers=world.headers("superuser"))
    assert made.status_code == 200, made.text


def test_editors_see_collections_open_to_listing_without_rules_or_hidden_fields(
    world: World,
) -> None:
    _make(world, {
        "name": "notes", "type": "base",
        "listRule": "owner = @request.auth.id", "viewRule": "owner = @request.auth.id",
        "createRule": '@request.auth.id != ""', "updateRule": None, "deleteRule": None,
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "secret", "type": "text", "hidden": True},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        ],
    })  # fmt: skip
    _make(world, {"name": "private", "type": "base", "fields": [{"name": "x", "type": "text"}]})
    _make(world, {"name": "notes_view", "type": "view", "listRule": "",
                  "viewQuery": "SELECT id, title FROM notes"})  # fmt: skip

    assert world.client.get("/api/dashboard/collections").status_code == 401
    answer = world.client.get("/api/dashboard/collections", headers=world.headers("user1"))
    assert answer.status_code == 200, answer.text
    items = {c["name"]: c for c in answer.json()["items"]}
    # users' list rule in the base world is "id = @request.auth.id": listed too.
    assert "users" in items and "private" not in items and "_superusers" not in items
    notes = items["notes"]
    assert [f["name"] for f in notes["fields"]] == ["id", "title", "owner"]
    assert notes["access"] == {
        "list": True, "view": True, "create": True, "update": False, "delete": False,
    }  # fmt: skip
    assert not any(key.endswith("Rule") for key in notes)
    assert items["notes_view"]["access"] == {
        "list": True, "view": False, "create": False, "update": False, "delete": False,
    }  # fmt: skip
    # The records API still applies the rules: user1 lists only its own notes.
    other = world.client.post(
        "/api/collections/notes/records",
        json={"title": "theirs", "owner": world.ids["user2"]},
        headers=world.headers("user2"),
    )
    assert other.status_code == 200, other.text
    listed = world.client.get("/api/collections/notes/records", headers=world.headers("user1"))
    assert listed.json()["items"] == []


def test_a_hidden_field_is_not_named_in_another_fields_options(world: World) -> None:
    """A vector field embedding a hidden text field: the editor sees the vector field,
    but not the hidden field's name in its ``embedFrom``."""
    _make(world, {
        "name": "docs_hidden", "type": "base", "listRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "salaryNotes", "type": "text", "hidden": True},
            {"name": "embedding", "type": "vector", "dimensions": 8,
             "embedFrom": ["title", "salaryNotes"]},
        ],
    })  # fmt: skip
    answer = world.client.get("/api/dashboard/collections", headers=world.headers("user1"))
    assert answer.status_code == 200, answer.text
    docs = next(c for c in answer.json()["items"] if c["name"] == "docs_hidden")
    embedding = next(f for f in docs["fields"] if f["name"] == "embedding")
    assert embedding["embedFrom"] == ["title"]
    assert "salaryNotes" not in answer.text


def test_the_sign_in_page_lists_auth_collections_that_sign_in_by_name_only(world: World) -> None:
    _make(world, {"name": "staff", "type": "auth", "fields": []})
    _make(world, {
        "name": "locked", "type": "auth", "fields": [],
        "passwordAuth": {"enabled": False}, "otp": {"enabled": False},
    })  # fmt: skip
    _make(world, {
        "name": "by_code", "type": "auth", "fields": [],
        "passwordAuth": {"enabled": False}, "otp": {"enabled": True},
    })  # fmt: skip
    # Public: nobody is signed in at the sign-in page.
    answer = world.client.get("/api/dashboard/auth-collections")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"items": [{"name": "by_code"}, {"name": "staff"}, {"name": "users"}]}
