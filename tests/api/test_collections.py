"""/api/collections: create, view, update, delete, import, scaffolds and their errors."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import serving, superuser_headers, world_of
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

FIELDS = [
    {"name": "title", "type": "text", "min": 2, "max": 50},
    {"name": "body", "type": "editor"},
    {"name": "views", "type": "number", "min": 0},
    {"name": "published", "type": "bool"},
    {"name": "contact", "type": "email"},
    {"name": "site", "type": "url"},
    {"name": "when", "type": "date"},
    {"name": "status", "type": "select", "values": ["draft", "live"]},
    {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
    {"name": "meta", "type": "json"},
    {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
    {"name": "readers", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 5},
    {"name": "cover", "type": "file"},
    {"name": "location", "type": "geoPoint"},
    {"name": "created", "type": "autodate", "onCreate": True},
    {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
]

# A new app: only the system collections and users.
NEW_APP = [
    Scenario(
        "list as guest is 401",
        "GET",
        "/api/collections",
        status=401,
        contains={"message": "The request requires valid record authorization token."},
    ),
    Scenario(
        "list as user is 403",
        "GET",
        "/api/collections",
        who="user1",
        status=403,
        contains={"message": "The authorized record is not allowed to perform this action."},
    ),
    Scenario(
        "list system collections",
        "GET",
        "/api/collections?perPage=100&sort=name&fields=name",
        who="superuser",
        contains={
            "totalItems": 6,
            "items": [
                {"name": "_authOrigins"},
                {"name": "_externalAuths"},
                {"name": "_mfas"},
                {"name": "_otps"},
                {"name": "_superusers"},
                {"name": "users"},
            ],
        },
    ),
    Scenario(
        "list with filter",
        "GET",
        "/api/collections?filter=type%3D'auth'&fields=name&sort=-name",
        who="superuser",
        contains={"items": [{"name": "users"}, {"name": "_superusers"}]},
    ),
    Scenario(
        "list with bad filter",
        "GET",
        "/api/collections?filter=nope%3D1",
        who="superuser",
        status=400,
        contains={"message": "Something went wrong while processing your request."},
    ),
    Scenario(
        "create with every field type",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "posts",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "deleteRule": "",
            "fields": FIELDS,
            "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
        },
        contains={
            "id": "pbc_1125843985",
            "name": "posts",
            "type": "base",
            "system": False,
            "listRule": "",
            "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
        },
        save={"posts": "id"},
    ),
    Scenario(
        "view unknown is 404",
        "GET",
        "/api/collections/nope",
        who="superuser",
        status=404,
        contains={"message": "The requested resource wasn't found."},
    ),
    Scenario(
        "invalid name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "bad name!"},
        status=400,
        contains={"data": {"name": {"code": "validation_match_invalid"}}},
    ),
    # Issue 17, defect 4: names are ASCII \w only, as in PocketBase (Cyrillic, CJK refused).
    Scenario(
        "non-ASCII collection name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "тест"},
        status=400,
        contains={"data": {"name": {"code": "validation_match_invalid"}}},
    ),
    Scenario(
        "CJK collection name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "名前", "type": "base"},
        status=400,
        contains={"data": {"name": {"code": "validation_match_invalid"}}},
    ),
    Scenario(
        "non-ASCII field name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x_names", "fields": [{"name": "名前", "type": "text"}]},
        status=400,
        contains={"data": {"fields": {"1": {"name": {"code": "validation_match_invalid"}}}}},
    ),
    Scenario(
        "empty name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": ""},
        status=400,
        contains={"data": {"name": {"code": "validation_required"}}},
    ),
    Scenario(
        "invalid type",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x1", "type": "nope"},
        status=400,
        contains={"data": {"type": {"code": "validation_in_invalid"}}},
    ),
    Scenario(
        "reserved field name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x2", "fields": [{"name": "expand", "type": "text"}]},
        status=400,
        contains={"data": {"fields": {"1": {"name": {"code": "validation_not_in_invalid"}}}}},
    ),
    Scenario(
        "unknown field type",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x3", "fields": [{"name": "a", "type": "nope"}]},
        status=400,
        contains={"message": "Failed to load the submitted data due to invalid formatting."},
    ),
    Scenario(
        "relation to missing collection",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x4", "fields": [{"name": "r", "type": "relation", "collectionId": "nope"}]},
        status=400,
        contains={
            "data": {
                "fields": {
                    "1": {"collectionId": {"code": "validation_field_relation_missing_collection"}}
                }
            }
        },
    ),
    Scenario(
        "select without values",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x5", "fields": [{"name": "s", "type": "select"}]},
        status=400,
        contains={"data": {"fields": {"1": {"values": {"code": "validation_required"}}}}},
    ),
    Scenario(
        "bad rule",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x6", "listRule": "nope = 1"},
        status=400,
        contains={
            "data": {
                "listRule": {
                    "code": "validation_invalid_rule",
                    "message": 'Invalid rule. Raw error: invalid left operand "nope" - unknown field "nope".',
                }
            }
        },
    ),
    Scenario(
        "bad rule syntax",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x7", "listRule": "id ==== 1"},
        status=400,
        contains={"data": {"listRule": {"code": "validation_invalid_rule"}}},
    ),
    Scenario(
        "bad index",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x8", "indexes": ["not an index"]},
        status=400,
        contains={"data": {"indexes": {"0": {"code": "validation_invalid_index_expression"}}}},
    ),
    Scenario(
        "index on missing column",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "x9", "indexes": ["CREATE INDEX idx_x9 ON x9 (nope)"]},
        status=400,
        contains={"data": {"indexes": {"0": {"code": "validation_invalid_index_expression"}}}},
    ),
    Scenario(
        "malformed JSON",
        "POST",
        "/api/collections",
        who="superuser",
        raw=b'{"name": "x",,}',
        status=400,
        contains={"message": "Failed to load the collection type data due to invalid formatting."},
    ),
    Scenario(
        "rename system collection refused",
        "PATCH",
        "/api/collections/_superusers",
        who="superuser",
        body={"name": "admins"},
        status=400,
        contains={"data": {"name": {"code": "validation_collection_system_name_change"}}},
    ),
    Scenario(
        "delete system refused",
        "DELETE",
        "/api/collections/_superusers",
        who="superuser",
        status=400,
    ),
    Scenario(
        "scaffolds",
        "GET",
        "/api/collections/meta/scaffolds",
        who="superuser",
        contains={"base": {"type": "base"}, "auth": {"type": "auth"}, "view": {"type": "view"}},
    ),
    Scenario("scaffolds as guest", "GET", "/api/collections/meta/scaffolds", status=401),
    Scenario(
        "import",
        "PUT",
        "/api/collections/import",
        who="superuser",
        body={"collections": [{"name": "imported", "fields": [{"name": "a", "type": "text"}]}]},
        status=204,
    ),
    Scenario(
        "import empty",
        "PUT",
        "/api/collections/import",
        who="superuser",
        body={"collections": []},
        status=400,
        contains={"data": {"collections": {"code": "validation_required"}}},
    ),
    Scenario(
        "import bad rolls back",
        "PUT",
        "/api/collections/import",
        who="superuser",
        body={"collections": [{"name": "imp_ok"}, {"name": "imp_bad", "listRule": "nope = 1"}]},
        status=400,
        contains={"message": "Failed to import collections."},
        after=(
            Scenario(
                "import rolled back", "GET", "/api/collections/imp_ok", who="superuser", status=404
            ),
        ),
    ),
]

RENAME_TO_ARTICLES = Scenario(
    "rename to articles",
    "PATCH",
    "/api/collections/posts",
    who="superuser",
    body={"name": "articles"},
)
DELETE_TAGGED = Scenario(
    "delete tagged", "DELETE", "/api/collections/tagged", who="superuser", status=204
)

# An app with collections: posts (every field type), a view of it, and tags_c with a
# tag, referenced by tagged.
SETUP = [
    Scenario(
        "posts",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "posts",
            "listRule": "",
            "viewRule": "",
            "createRule": "",
            "updateRule": "",
            "deleteRule": "",
            "fields": FIELDS,
            "indexes": ["CREATE UNIQUE INDEX idx_posts_title ON posts (title)"],
        },
        save={"posts": "id"},
    ),
    Scenario(
        "posts_titles",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "posts_titles", "type": "view", "viewQuery": "select id, title from posts"},
    ),
    Scenario(
        "tags collection",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "tags_c", "fields": [{"name": "name", "type": "text"}]},
        save={"tags_c": "id"},
    ),
    Scenario(
        "tagged collection",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "tagged",
            "fields": [{"name": "t", "type": "relation", "collectionId": "$tags_c"}],
        },
    ),
    Scenario(
        "a tag", "POST", "/api/collections/tags_c/records", who="superuser", body={"name": "x"}
    ),
]

WITH_COLLECTIONS = [
    Scenario(
        "view by name",
        "GET",
        "/api/collections/posts?fields=id,name",
        who="superuser",
        contains={"id": "$posts", "name": "posts"},
    ),
    Scenario(
        "view by id",
        "GET",
        "/api/collections/$posts?fields=name",
        who="superuser",
        contains={"name": "posts"},
    ),
    Scenario(
        "duplicate name",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "POSTS"},
        status=400,
        contains={
            "message": "Failed to create collection.",
            "data": {"name": {"code": "validation_collection_name_exists"}},
        },
    ),
    Scenario(
        "add a field and rename one",
        "PATCH",
        "/api/collections/posts",
        who="superuser",
        body={
            "fields": [
                *FIELDS[:2],
                {**FIELDS[2], "name": "hits", "id": "number300981383"},
                *FIELDS[3:],
                {"name": "slug", "type": "text"},
            ]
        },
        contains={"name": "posts"},
    ),
    Scenario(
        "rename collection",
        "PATCH",
        "/api/collections/posts",
        who="superuser",
        body={"name": "articles"},
        contains={"name": "articles", "id": "$posts"},
        after=(
            Scenario("the old name is gone", "GET", "/api/collections/posts/records", status=404),
            Scenario("the new name lists", "GET", "/api/collections/articles/records"),
            Scenario(
                "the view over it still lists",
                "GET",
                "/api/collections/posts_titles/records",
                who="superuser",
            ),
        ),
    ),
    Scenario(
        "rename back",
        "PATCH",
        "/api/collections/articles",
        who="superuser",
        body={"name": "posts"},
        contains={"name": "posts"},
        before=(RENAME_TO_ARTICLES,),
        after=(Scenario("the table has its name back", "GET", "/api/collections/posts/records"),),
    ),
    Scenario(
        "change type refused",
        "PATCH",
        "/api/collections/posts",
        who="superuser",
        body={"type": "view"},
        status=400,
    ),
    Scenario(
        "view collection",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "posts_view",
            "type": "view",
            "listRule": "",
            "viewQuery": "select id, title, views from posts",
        },
        contains={
            "type": "view",
            "viewQuery": "select id, title, views from posts",
            "fields": [
                {"name": "id"},
                {"name": "title", "type": "text"},
                {"name": "views", "type": "number"},
            ],
        },
    ),
    Scenario(
        "view query without id",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "bad_view", "type": "view", "viewQuery": "select title from posts"},
        status=400,
        contains={"data": {"viewQuery": {"code": "validation_invalid_view_query"}}},
    ),
    Scenario(
        "view query on missing table",
        "POST",
        "/api/collections",
        who="superuser",
        body={"name": "bad_view", "type": "view", "viewQuery": "select id from nowhere"},
        status=400,
        contains={"data": {"viewQuery": {"code": "validation_invalid_view_query"}}},
    ),
    Scenario(
        "delete referenced refused",
        "DELETE",
        "/api/collections/tags_c",
        who="superuser",
        status=400,
        contains={
            "message": "Failed to delete collection probably due to existing reference in tagged."
        },
    ),
    Scenario(
        "delete referencing", "DELETE", "/api/collections/tagged", who="superuser", status=204
    ),
    Scenario(
        "delete again is 404",
        "DELETE",
        "/api/collections/tagged",
        who="superuser",
        status=404,
        before=(DELETE_TAGGED,),
    ),
    Scenario(
        "truncate view refused",
        "DELETE",
        "/api/collections/posts_titles/truncate",
        who="superuser",
        status=400,
    ),
    Scenario(
        "truncate",
        "DELETE",
        "/api/collections/tags_c/truncate",
        who="superuser",
        status=204,
        after=(
            Scenario(
                "no tag is left",
                "GET",
                "/api/collections/tags_c/records",
                who="superuser",
                contains={"totalItems": 0},
            ),
        ),
    ),
]


@pytest.fixture(scope="module")
def collections_template(
    base: Template, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("collections") / "kb_data", *SETUP) as extended:
        yield extended


@pytest.fixture
def collections_world(
    collections_template: Template, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[World]:
    yield from world_of(collections_template, request, tmp_path)


@params(NEW_APP)
def test_new_app(world: World, scenario: Scenario) -> None:
    run(world, scenario)


@params(WITH_COLLECTIONS)
def test_with_collections(collections_world: World, scenario: Scenario) -> None:
    run(collections_world, scenario)


def test_schema_change_keeps_data(world: World) -> None:
    created = world.request(
        "POST",
        "/api/collections",
        "superuser",
        json={
            "name": "keep",
            "fields": [
                {"name": "a", "type": "text"},
                {"name": "n", "type": "select", "values": ["x", "y"]},
            ],
        },
    )
    assert created.status_code == 200, created.text
    record = world.request(
        "POST", "/api/collections/keep/records", "superuser", json={"a": "v", "n": "y"}
    )
    assert record.status_code == 200, record.text
    fields = created.json()["fields"]
    fields[1]["name"] = "b"  # rename a -> b
    fields[2]["maxSelect"] = 2  # single -> multiple
    fields.append({"name": "c", "type": "number"})
    updated = world.request("PATCH", "/api/collections/keep", "superuser", json={"fields": fields})
    assert updated.status_code == 200, updated.text
    after = world.request(
        "GET", f"/api/collections/keep/records/{record.json()['id']}", "superuser"
    ).json()
    assert after["b"] == "v"
    assert after["n"] == ["y"]
    assert after["c"] == 0
    assert "a" not in after


def test_an_index_the_database_refuses_is_the_one_blamed(world: World) -> None:
    """PocketBase (core/collection_record_table_sync.go, createCollectionIndexes) names
    the index that failed: ``indexes.N`` with "Failed to create index NAME - ..."."""
    unknown_function = world.request("POST", "/api/collections", "superuser", json={
        "name": "blame_fn", "fields": [{"name": "title", "type": "text"}],
        "indexes": ["CREATE INDEX idx_blame_fn_bad ON blame_fn (no_such_function(title))",
                    "CREATE INDEX idx_blame_fn_ok ON blame_fn (title)"]})  # fmt: skip
    assert unknown_function.status_code == 400, unknown_function.text
    errors = unknown_function.json()["data"]
    assert list(errors) == ["indexes"] and list(errors["indexes"]) == ["0"], errors
    assert errors["indexes"]["0"]["code"] == "validation_invalid_index_expression"
    assert errors["indexes"]["0"]["message"].startswith(
        "Failed to create index idx_blame_fn_bad - "
    )

    made = world.request("POST", "/api/collections", "superuser", json={
        "name": "blame_dups", "createRule": "", "fields": [{"name": "title", "type": "text"}]})  # fmt: skip
    assert made.status_code == 200, made.text
    for _ in range(2):
        world.request("POST", "/api/collections/blame_dups/records", json={"title": "same"})
    duplicates = world.request("PATCH", "/api/collections/blame_dups", "superuser", json={
        "indexes": ["CREATE UNIQUE INDEX idx_blame_dups_u ON blame_dups (title)",
                    "CREATE INDEX idx_blame_dups_ok ON blame_dups (title)"]})  # fmt: skip
    assert duplicates.status_code == 400, duplicates.text
    errors = duplicates.json()["data"]
    assert list(errors) == ["indexes"] and list(errors["indexes"]) == ["0"], errors
    assert errors["indexes"]["0"]["message"].startswith(
        "Failed to create index idx_blame_dups_u - "
    )


def test_a_field_a_view_reads_cannot_be_removed_and_no_index_takes_the_blame(
    world: World,
) -> None:
    """PocketBase answers 400 "Failed to update collection. Raw error: ..." with no field
    errors (SQLite refuses the DROP COLUMN because of the view)."""
    source = world.request("POST", "/api/collections", "superuser", json={
        "name": "vsrc", "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "text"}],
        "indexes": ["CREATE INDEX idx_vsrc_body ON vsrc (body)"]})  # fmt: skip
    assert source.status_code == 200, source.text
    view = world.request("POST", "/api/collections", "superuser", json={
        "name": "vsrc_titles", "type": "view", "viewQuery": "SELECT id, title FROM vsrc"})  # fmt: skip
    assert view.status_code == 200, view.text
    fields = [f for f in source.json()["fields"] if f["name"] != "title"]
    removed = world.request("PATCH", "/api/collections/vsrc", "superuser", json={"fields": fields})
    assert removed.status_code == 400, removed.text
    assert removed.json()["data"] == {}
    message = removed.json()["message"]
    assert message.startswith("Failed to update collection. Raw error: \n"), message
    assert "title" in message, message
    still = world.request("GET", "/api/collections/vsrc", "superuser").json()
    assert "title" in [f["name"] for f in still["fields"]]
    assert (
        world.request("GET", "/api/collections/vsrc_titles/records", "superuser").status_code == 200
    )


def test_a_view_left_behind_by_a_rename_is_reported(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """PocketBase saves the change and logs a warning naming the view whose query no
    longer works (core/collection_model.go, after resaveViewsWithChangedFields)."""
    source = world.request("POST", "/api/collections", "superuser", json={
        "name": "rsrc", "fields": [{"name": "title", "type": "text"}]})  # fmt: skip
    assert source.status_code == 200, source.text
    view = world.request("POST", "/api/collections", "superuser", json={
        "name": "rsrc_titles", "type": "view", "viewQuery": "SELECT id, title FROM rsrc"})  # fmt: skip
    assert view.status_code == 200, view.text
    fields = source.json()["fields"]
    next(f for f in fields if f["name"] == "title")["name"] = "heading"
    with caplog.at_level(logging.WARNING, logger="keelbase.collections"):
        renamed = world.request(
            "PATCH", "/api/collections/rsrc", "superuser", json={"fields": fields}
        )
    assert renamed.status_code == 200, renamed.text
    warnings = [r.getMessage() for r in caplog.records if r.name == "keelbase.collections"]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(
        "Dependent view collection(s) may need to be updated after rsrc collection change"
    )
    assert "[rsrc_titles]" in warnings[0]
    # the view the database had is kept (SQLite and PostgreSQL follow the rename in it)
    listed = world.request("GET", "/api/collections/rsrc_titles/records", "superuser")
    assert listed.status_code == 200, listed.text


def test_concurrent_updates_of_one_collection_all_stay(tmp_path: Path, fresh_db_url: str) -> None:
    """Each update applies to the collection as the previous one left it: five requests
    that each set one rule leave all five set."""
    rules = {
        "listRule": "title != 'list'",
        "viewRule": "title != 'view'",
        "createRule": "title != 'create'",
        "updateRule": "title != 'update'",
        "deleteRule": "title != 'delete'",
    }

    async def main() -> None:
        async with serving(tmp_path / "kb_data", fresh_db_url) as (app, client):
            headers = await superuser_headers(app, client)
            await app.collections.create(
                {"name": "notes", "fields": [{"name": "title", "type": "text"}]}
            )
            answers = await asyncio.gather(
                *(
                    client.patch("/api/collections/notes", json={rule: text}, headers=headers)
                    for rule, text in rules.items()
                )
            )
            assert [a.status_code for a in answers] == [200] * len(rules)
            final = (await client.get("/api/collections/notes", headers=headers)).json()
            assert {rule: final[rule] for rule in rules} == rules

    asyncio.run(main())
