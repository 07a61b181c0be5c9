"""/api/collections/{c}/records: CRUD, list parameters, expand, fields, modifiers, cascade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from keelbase.store.postgres import PgStore
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

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
            "fields": [
                {"name": "title", "type": "text", "max": 20},
                {"name": "body", "type": "editor"},
                {"name": "views", "type": "number", "max": 1000},
                {"name": "tags", "type": "select", "values": ["a", "b", "c", "d"], "maxSelect": 3},
                {"name": "status", "type": "select", "values": ["draft", "live"]},
                {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
                {
                    "name": "readers",
                    "type": "relation",
                    "collectionId": "_pb_users_auth_",
                    "maxSelect": 5,
                },
                {"name": "meta", "type": "json"},
                {"name": "secret", "type": "text", "hidden": True},
                {"name": "slug", "type": "text"},
                {"name": "created", "type": "autodate", "onCreate": True},
            ],
            "indexes": ["CREATE UNIQUE INDEX idx_slug ON posts (slug) WHERE slug != ''"],
        },
        save={"posts": "id"},
    ),
    Scenario(
        "comments",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "comments",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "post", "type": "relation", "collectionId": "$posts", "required": True},
                {"name": "text", "type": "text"},
            ],
        },
    ),
    Scenario(
        "likes",
        "POST",
        "/api/collections",
        who="superuser",
        body={
            "name": "likes",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {
                    "name": "post",
                    "type": "relation",
                    "collectionId": "$posts",
                    "cascadeDelete": True,
                }
            ],
        },
    ),
    Scenario(
        "p1",
        "POST",
        "/api/collections/posts/records",
        who="superuser",
        body={
            "title": "Hello",
            "body": "<p>Some <b>rich</b> text that is long</p>",
            "views": 10,
            "tags": ["a", "b"],
            "status": "live",
            "author": "$user1",
            "readers": ["$user1", "$user2"],
            "meta": {"k": 1},
            "secret": "s3cr3t",
            "slug": "hello",
        },
        save={"p1": "id"},
    ),
    Scenario(
        "p2",
        "POST",
        "/api/collections/posts/records",
        who="superuser",
        body={"title": "World", "views": 5, "tags": ["a"], "author": "$user2", "slug": "world"},
        save={"p2": "id"},
    ),
    Scenario(
        "p3",
        "POST",
        "/api/collections/posts/records",
        who="superuser",
        body={"title": "Empty"},
        save={"p3": "id"},
    ),
    Scenario(
        "c1",
        "POST",
        "/api/collections/comments/records",
        who="superuser",
        body={"post": "$p1", "text": "nice"},
        save={"c1": "id"},
    ),
    Scenario(
        "c2",
        "POST",
        "/api/collections/comments/records",
        who="superuser",
        body={"post": "$p1", "text": "meh"},
    ),
    Scenario(
        "like",
        "POST",
        "/api/collections/likes/records",
        who="superuser",
        body={"post": "$p2"},
        save={"like": "id"},
    ),
]

SCENARIOS = [
    Scenario(
        "unknown collection",
        "GET",
        "/api/collections/nope/records",
        status=404,
        contains={"message": "Missing collection context."},
    ),
    Scenario(
        "list all",
        "GET",
        "/api/collections/posts/records?sort=title&fields=title",
        contains={
            "page": 1,
            "perPage": 30,
            "totalItems": 3,
            "totalPages": 1,
            "items": [{"title": "Empty"}, {"title": "Hello"}, {"title": "World"}],
        },
        events={"*": 0, "request": 1, "records_list": 1},
    ),
    Scenario(
        "hidden field absent for guests",
        "GET",
        "/api/collections/posts/records/$p1",
        absent=("secret",),
        contains={"title": "Hello", "collectionName": "posts"},
    ),
    Scenario(
        "hidden field shown to superusers",
        "GET",
        "/api/collections/posts/records/$p1",
        who="superuser",
        contains={"secret": "s3cr3t"},
    ),
    Scenario(
        "empty values",
        "GET",
        "/api/collections/posts/records/$p3",
        contains={
            "body": "",
            "views": 0,
            "tags": [],
            "status": "",
            "author": "",
            "readers": [],
            "meta": None,
        },
    ),
    Scenario(
        "page and perPage",
        "GET",
        "/api/collections/posts/records?sort=title&perPage=2&page=2&fields=title",
        contains={
            "page": 2,
            "perPage": 2,
            "totalItems": 3,
            "totalPages": 2,
            "items": [{"title": "World"}],
        },
    ),
    Scenario(
        "skipTotal",
        "GET",
        "/api/collections/posts/records?skipTotal=1&fields=id",
        contains={"totalItems": -1, "totalPages": -1},
    ),
    Scenario(
        "perPage clamped",
        "GET",
        "/api/collections/posts/records?perPage=5000&fields=id",
        contains={"perPage": 1000},
    ),
    Scenario(
        "perPage zero is default",
        "GET",
        "/api/collections/posts/records?perPage=0&page=-1&fields=id",
        contains={"perPage": 30, "page": 1},
    ),
    Scenario(
        "perPage not a number", "GET", "/api/collections/posts/records?perPage=abc", status=400
    ),
    Scenario(
        "sort desc",
        "GET",
        "/api/collections/posts/records?sort=-views,title&fields=title",
        contains={"items": [{"title": "Hello"}, {"title": "World"}, {"title": "Empty"}]},
    ),
    Scenario(
        "sort by relation path",
        "GET",
        "/api/collections/posts/records?sort=-author.name,title&fields=title",
        who="superuser",
        contains={"items": [{"title": "World"}, {"title": "Hello"}, {"title": "Empty"}]},
    ),
    Scenario(
        "sorting by a relation the guest may not list drops the rows linked to it",
        "GET",
        "/api/collections/posts/records?sort=-author.name,title&fields=title",
        # as PocketBase: the related collection's list rule applies to the whole row
        contains={"items": [{"title": "Empty"}], "totalItems": 1},
    ),
    Scenario("sort unknown field", "GET", "/api/collections/posts/records?sort=nope", status=400),
    Scenario(
        "sort random and rowid",
        "GET",
        "/api/collections/posts/records?sort=@random,@rowid&fields=id",
        contains={"totalItems": 3},
    ),
    Scenario(
        "filter equals",
        "GET",
        "/api/collections/posts/records?filter=title%3D'Hello'&fields=title",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter like",
        "GET",
        "/api/collections/posts/records?filter=title~'orl'&fields=title",
        contains={"items": [{"title": "World"}]},
    ),
    Scenario(
        "filter relation path",
        "GET",
        "/api/collections/posts/records?filter=author.name%3D'user2'&fields=title",
        who="superuser",
        contains={"items": [{"title": "World"}]},
    ),
    Scenario(
        "filter relation path sees only rows the user may list",
        "GET",
        "/api/collections/posts/records?filter=author.name%3D'user2'&fields=title",
        who="user1",
        contains={"items": []},
    ),
    Scenario(
        "filter relation path on the user's own row",
        "GET",
        "/api/collections/posts/records?filter=author.name%3D'user2'&fields=title",
        who="user2",
        contains={"items": [{"title": "World"}]},
    ),
    Scenario(
        "filter any-of multi relation",
        "GET",
        "/api/collections/posts/records?filter=readers.name%3F%3D'user2'&fields=title",
        who="superuser",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter back relation",
        "GET",
        "/api/collections/posts/records?filter=comments_via_post.text%3F%3D'meh'&fields=title",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter json path",
        "GET",
        "/api/collections/posts/records?filter=meta.k%3D1&fields=title",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter length modifier",
        "GET",
        "/api/collections/posts/records?filter=tags:length%3E1&fields=title",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter each modifier",
        "GET",
        "/api/collections/posts/records?filter=tags:each%3D'a'&fields=title",
        contains={"items": [{"title": "World"}]},
    ),
    Scenario(
        "filter empty",
        "GET",
        "/api/collections/posts/records?filter=author%3D''&fields=title",
        contains={"items": [{"title": "Empty"}]},
    ),
    Scenario(
        "filter on hidden field as guest",
        "GET",
        "/api/collections/posts/records?filter=secret%3D's3cr3t'",
        status=400,
    ),
    Scenario(
        "filter on hidden field as superuser",
        "GET",
        "/api/collections/posts/records?filter=secret%3D's3cr3t'&fields=title",
        who="superuser",
        contains={"items": [{"title": "Hello"}]},
    ),
    Scenario(
        "filter unknown field",
        "GET",
        "/api/collections/posts/records?filter=nope%3D1",
        status=400,
        contains={
            "message": "Something went wrong while processing your request.",
            "data": {"filter": {"code": "validation_invalid_value"}},
        },
    ),
    Scenario(
        "filter syntax error", "GET", "/api/collections/posts/records?filter=title%3D", status=400
    ),
    Scenario(
        "filter with @collection as guest",
        "GET",
        "/api/collections/posts/records?filter=@collection.posts.id%3D''",
        status=403,
    ),
    Scenario(
        "fields with nested expand and excerpt",
        "GET",
        "/api/collections/posts/records/$p1?expand=author&fields=id,expand.author.name,body:excerpt(9,true)",
        who="user1",
        contains={"id": "$p1", "body": "Some rich...", "expand": {"author": {"name": "user1"}}},
    ),
    Scenario(
        "expand single, multi and back relation",
        "GET",
        "/api/collections/posts/records/$p1?expand=author,readers,comments_via_post&"
        "fields=expand.author.id,expand.readers.id,expand.comments_via_post.text",
        who="superuser",
        contains={
            "expand": {
                "author": {"id": "$user1"},
                "readers": [{"id": "$user1"}, {"id": "$user2"}],
                "comments_via_post": [{"text": "nice"}, {"text": "meh"}],
            }
        },
    ),
    Scenario(
        "expand hidden by rule gives empty expand",
        "GET",
        "/api/collections/posts/records/$p2?expand=author",
        contains={"expand": {}},
    ),
    Scenario(
        "expand unknown field is ignored",
        "GET",
        "/api/collections/posts/records/$p2?expand=nope",
        absent=("expand",),
    ),
    Scenario(
        "view missing",
        "GET",
        "/api/collections/posts/records/doesnotexist123",
        status=404,
        contains={"message": "The requested resource wasn't found."},
    ),
    Scenario(
        "create validation errors",
        "POST",
        "/api/collections/posts/records",
        status=400,
        body={
            "title": "x" * 21,
            "views": 5000,
            "tags": ["a", "z"],
            "status": "nope",
            "author": "missing00000000",
        },
        contains={
            "message": "Failed to create record.",
            "data": {
                "title": {"code": "validation_max_text_constraint"},
                "views": {"code": "validation_max_number_constraint"},
                "tags": {"code": "validation_invalid_value"},
                "status": {"code": "validation_invalid_value"},
                "author": {"code": "validation_missing_rel_records"},
            },
        },
        events={"*": 0, "request": 1, "record_create": 1},  # nothing committed
    ),
    Scenario(
        "unique index violation",
        "POST",
        "/api/collections/posts/records",
        body={"slug": "hello"},
        status=400,
        contains={"data": {"slug": {"code": "validation_not_unique"}}},
    ),
    Scenario(
        "custom id",
        "POST",
        "/api/collections/posts/records",
        body={"id": "abcdefghij12345"},
        contains={"id": "abcdefghij12345"},
    ),
    Scenario(
        "custom id too short",
        "POST",
        "/api/collections/posts/records",
        body={"id": "short"},
        status=400,
        contains={"data": {"id": {"code": "validation_min_text_constraint"}}},
    ),
    Scenario(
        "duplicate id",
        "POST",
        "/api/collections/posts/records",
        body={"id": "$p1"},
        status=400,
        contains={"data": {"id": {"code": "validation_not_unique"}}},
    ),
    Scenario(
        "coercion",
        "POST",
        "/api/collections/posts/records?fields=title,views,tags,status",
        body={"title": 123, "views": "12", "tags": "b", "status": ["draft", "live"]},
        contains={"title": "123", "views": 12, "tags": ["b"], "status": "live"},
        events={"*": 0, "request": 1, "record_create": 1, "record_create_commit": 1},
    ),
    Scenario(
        "number modifiers",
        "PATCH",
        "/api/collections/posts/records/$p1?fields=views",
        body={"views+": 5, "+views": 100},
        contains={"views": 15},
        events={"*": 0, "request": 1, "record_update": 1, "record_update_commit": 1},
    ),
    Scenario(
        "number subtract",
        "PATCH",
        "/api/collections/posts/records/$p1?fields=views",
        body={"views-": 2.5},
        contains={"views": 7.5},
    ),
    Scenario(
        "select append dedupes",
        "PATCH",
        "/api/collections/posts/records/$p1?fields=tags",
        body={"tags+": ["b", "c"]},
        contains={"tags": ["a", "b", "c"]},
    ),
    Scenario(
        "select append over max",
        "PATCH",
        "/api/collections/posts/records/$p1",
        body={"+tags": ["c", "d"]},
        status=400,
        contains={
            "message": "Failed to update record.",
            "data": {"tags": {"code": "validation_too_many_values"}},
        },
    ),
    Scenario(
        "select remove then prepend",
        "PATCH",
        "/api/collections/posts/records/$p1?fields=tags",
        body={"tags-": ["a"], "+tags": "d"},
        contains={"tags": ["d", "b"]},
    ),
    Scenario(
        "relation remove",
        "PATCH",
        "/api/collections/posts/records/$p1?fields=readers",
        body={"readers-": "$user1"},
        contains={"readers": ["$user2"]},
    ),
    Scenario(
        "update missing",
        "PATCH",
        "/api/collections/posts/records/doesnotexist123",
        body={"title": "x"},
        status=404,
        events={"*": 0, "request": 1},
    ),
    Scenario(
        "delete refused by required relation",
        "DELETE",
        "/api/collections/posts/records/$p1",
        status=400,
        contains={
            "message": "Failed to delete record. Make sure that the record is not part "
            "of a required relation reference."
        },
        events={"*": 0, "request": 1, "record_delete": 1},
        after=(
            Scenario(
                "p1 still there",
                "GET",
                "/api/collections/posts/records/$p1?fields=id",
                contains={"id": "$p1"},
            ),
        ),
    ),
    Scenario(
        "delete cascades",
        "DELETE",
        "/api/collections/posts/records/$p2",
        status=204,
        # the like that cascades is deleted through the hooks too, as in PocketBase
        events={"*": 0, "request": 1, "record_delete": 2, "record_delete_commit": 2},
        after=(
            Scenario(
                "cascaded like is gone", "GET", "/api/collections/likes/records/$like", status=404
            ),
        ),
    ),
    Scenario(
        "delete missing", "DELETE", "/api/collections/posts/records/doesnotexist123", status=404
    ),
]


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("records") / "kb_data", *SETUP) as extended:
        yield extended


@params(SCENARIOS)
def test_records(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def test_expand_reads_relations_in_batches(world: World) -> None:
    """Expanding many records costs one query per relation, not one per record."""
    for index in range(20):
        response = world.request(
            "POST",
            "/api/collections/comments/records",
            "superuser",
            json={"post": world.ids["p1"], "text": f"bulk {index}"},
        )
        assert response.status_code == 200
    store = world.client.app.state.keelbase.store  # type: ignore[attr-defined]
    statements: list[str] = []
    if isinstance(store, PgStore):
        original = store.statement

        async def counting_statement(conn, sql):  # type: ignore[no-untyped-def]
            statements.append(sql)
            return await original(conn, sql)

        store.statement = counting_statement  # type: ignore[method-assign]
    else:
        original = store._thread_reader

        def counting_reader():  # type: ignore[no-untyped-def]
            conn = original()
            conn.set_trace_callback(statements.append)
            return conn

        store._thread_reader = counting_reader
        budget, store.inline_budget = store.inline_budget, 0  # every read on a traced thread
    try:
        response = world.request(
            "GET", "/api/collections/comments/records?perPage=50&expand=post.author", "superuser"
        )
    finally:
        if isinstance(store, PgStore):
            store.statement = original  # type: ignore[method-assign]
        else:
            store._thread_reader = original
            store.inline_budget = budget
    assert response.status_code == 200
    items = response.json()["items"]
    assert len(items) >= 20
    assert all(item["expand"]["post"]["expand"]["author"]["id"] for item in items)
    selects = [
        s
        for s in statements
        if s.lstrip().upper().startswith(("SELECT", "WITH"))
        and '"_params"' not in s  # the once-a-second schema and settings check, not this request
    ]
    # list + count + one query for posts + one for their authors
    assert len(selects) <= 4, selects
