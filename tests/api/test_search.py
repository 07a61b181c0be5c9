"""Full-text search through the filter language: ``search('words')`` and ``sort=-@rank``.

A table of reads over one world (posts with ``search.fields``), then the
schema changes that must keep the index right, each in a world of its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from keelbase.core.request_info import SYSTEM
from keelbase.errors import BadRequestError
from tests.api.conftest import serving
from tests.api.scenario import Scenario, World, params, run
from tests.api.worlds import Template

POSTS = "/api/collections/posts/records"


def make_world(world: World) -> None:
    """Authors (Bob's name not listable), posts searchable by title and body, notes not."""
    su = "superuser"

    def create(url: str, body: dict[str, Any], key: str = "") -> None:
        response = world.request("POST", url, su, json=body)
        assert response.status_code == 200, response.text
        if key:
            world.ids[key] = response.json()["id"]

    create(
        "/api/collections",
        {
            "name": "authors",
            "listRule": "name != 'Bob'",
            "viewRule": "",
            "fields": [{"name": "name", "type": "text"}],
        },
        "authors",
    )
    create(
        "/api/collections",
        {
            "name": "posts",
            "listRule": "published = true || owner = @request.auth.id",
            "viewRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "body", "type": "editor"},
                {"name": "status", "type": "text"},
                {"name": "secret", "type": "text", "hidden": True},
                {"name": "price", "type": "number"},
                {"name": "qty", "type": "number"},
                {"name": "published", "type": "bool"},
                {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_"},
                {"name": "author", "type": "relation", "collectionId": world.ids["authors"]},
            ],
            "search": {"fields": ["title", "body"]},
        },
    )
    create(
        "/api/collections",
        {"name": "notes", "listRule": "", "fields": [{"name": "text", "type": "text"}]},
    )
    create("/api/collections", {"name": "locked", "fields": [{"name": "n", "type": "number"}]})
    create("/api/collections/authors/records", {"name": "Ann"}, "ann")
    create("/api/collections/authors/records", {"name": "Bob"}, "bob")
    posts = [
        (
            "red",
            "Red apples",
            "<p>apples fresh from the orchard</p>",
            "open",
            10,
            2,
            True,
            "user1",
            "ann",
        ),
        ("green", "Green apples", "<p>sour fruit</p>", "open", 5.5, 1, False, "user1", "bob"),
        (
            "banana",
            "Bananas",
            "<p>yellow fruit with apples nearby</p>",
            "closed",
            3,
            10,
            True,
            "user2",
            "ann",
        ),
        ("plan", "Secret apple plan", "<p>hush</p>", "closed", 1, 1, False, "user2", ""),
    ]
    for key, title, body, status, price, qty, published, owner, author in posts:
        create(
            POSTS,
            {
                "title": title,
                "body": body,
                "status": status,
                "secret": "apples " + key,
                "price": price,
                "qty": qty,
                "published": published,
                "owner": world.ids[owner],
                "author": world.ids[author] if author else "",
            },
            key,
        )


@pytest.fixture(scope="module")
def template(base: Template, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    with base.extend(tmp_path_factory.mktemp("search") / "kb_data", make_world) as extended:
        yield extended


def listing(
    name: str, who: str, filter: str, status: int = 200, sort: str = "", **extra: Any
) -> Scenario:
    url = f"{POSTS}?perPage=50&filter={quote(filter)}"
    if sort:
        url += f"&sort={quote(sort)}"
    return Scenario(name, "GET", url, who, status=status, **extra)


def titles(*names: str) -> dict[str, Any]:
    return {"items": [{"title": n} for n in names], "totalItems": len(names)}


SCENARIOS = [
    listing(
        "a guest finds only published posts",
        "guest",
        "search('apples')",
        contains={"totalItems": 2},
    ),
    listing(
        "their owner finds the unpublished one too",
        "user1",
        "search('APPLES')",
        contains={"totalItems": 3},
    ),
    listing(
        "a superuser finds every post", "superuser", "search('apples')", contains={"totalItems": 3}
    ),
    listing(
        "whole words: apple is not apples",
        "superuser",
        "search('apple')",
        contains=titles("Secret apple plan"),
    ),
    listing(
        "every word must be there",
        "guest",
        "search('apples orchard')",
        contains=titles("Red apples"),
    ),
    listing("one field only", "guest", "search(title, 'apples')", contains=titles("Red apples")),
    listing(
        "html of an editor field is words too",
        "guest",
        "search(body, 'yellow')",
        contains=titles("Bananas"),
    ),
    listing(
        "with other conditions",
        "guest",
        "search('apples') && price < 5",
        contains=titles("Bananas"),
    ),
    listing(
        "inside an OR",
        "superuser",
        "search('hush') || status = 'open'",
        sort="title",
        contains=titles("Green apples", "Red apples", "Secret apple plan"),
    ),
    listing(
        "most relevant first",
        "guest",
        "search('apples')",
        sort="-@rank",
        contains=titles("Red apples", "Bananas"),
    ),
    listing(
        "least relevant first",
        "guest",
        "search('apples')",
        sort="@rank",
        contains=titles("Bananas", "Red apples"),
    ),
    listing(
        "hidden fields are not searched",
        "superuser",
        "search('banana')",
        contains={"totalItems": 0},
    ),
    listing(
        "FTS syntax is words, never operators",
        "guest",
        "search('apples\" OR \"x* NEAR(a b) title:apples')",
        contains={"totalItems": 0},
    ),
    listing("quotes and stars only", "guest", "search('\"*^')", 400),
    listing("an empty text", "guest", "search('')", 400),
    listing(
        "too many words", "guest", "search('" + " ".join(f"w{i}" for i in range(40)) + "')", 400
    ),
    listing("a number is no text", "guest", "search(5)", 400),
    listing("a field that is not searchable", "guest", "search(status, 'open')", 400),
    listing("an unknown field", "guest", "search(nope, 'open')", 400),
    listing("three arguments", "guest", "search(title, 'a', 'b')", 400),
    listing("search compared", "guest", "search('apples') = true", 400),
    listing("another function alone", "guest", "strftime('%Y')", 400),
    listing("rank without search", "guest", "title != ''", 400, sort="-@rank"),
    Scenario(
        "a collection without search fields",
        "GET",
        "/api/collections/notes/records?filter=" + quote("search('x')"),
        "superuser",
        status=400,
        contains={"data": {"filter": {"code": "validation_invalid_value"}}},
    ),
    Scenario(
        "the option is in the collection's JSON",
        "GET",
        "/api/collections/posts",
        "superuser",
        contains={"search": {"fields": ["title", "body"]}},
    ),
    Scenario(
        "collections without it have no key",
        "GET",
        "/api/collections/notes",
        "superuser",
        absent=("search",),
    ),
]


def field_of(name: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": "text", **options}


def define(
    name: str, fields: list[dict[str, Any]], search: Any, status: int = 400, **extra: Any
) -> Scenario:
    return Scenario(
        name,
        "POST",
        "/api/collections",
        "superuser",
        body={"name": "bad", "fields": fields, "search": search},
        status=status,
        **extra,
    )


SCENARIOS += [
    define("search on an unknown field", [field_of("a")], {"fields": ["b"]}),
    define("search on a number field", [{"name": "n", "type": "number"}], {"fields": ["n"]}),
    define("search on a hidden field", [field_of("a", hidden=True)], {"fields": ["a"]}),
    define("search on the id", [field_of("a")], {"fields": ["id"]}),
    define("search on a field named rank", [field_of("rank")], {"fields": ["rank"]}),
    define(
        "a field named rowid beside searchable ones",
        [field_of("rowid"), field_of("a")],
        {"fields": ["a"]},
        200,
        after=(
            Scenario(
                "a record of it is found",
                "POST",
                "/api/collections/bad/records",
                "superuser",
                body={"rowid": "zzz", "a": "needle"},
            ),
            Scenario(
                "and searched",
                "GET",
                "/api/collections/bad/records?filter=" + quote("search('needle')") + "&sort=-@rank",
                "superuser",
                contains={"totalItems": 1, "items": [{"rowid": "zzz"}]},
            ),
        ),
    ),
    define("search as a bare list", [field_of("a")], ["a"]),
    define("search with names that are not text", [field_of("a")], {"fields": [1]}),
    define("search null is none", [field_of("a")], None, 200),
    Scenario(
        "a view cannot be searchable",
        "POST",
        "/api/collections",
        "superuser",
        body={
            "name": "v",
            "type": "view",
            "viewQuery": "select id, title from posts",
            "search": {"fields": ["title"]},
        },
        status=400,
    ),
]


@params(SCENARIOS)
def test_search(world: World, scenario: Scenario) -> None:
    run(world, scenario)


def found(world: World, filter: str, who: str = "superuser") -> list[str]:
    response = world.request("GET", f"{POSTS}?perPage=50&sort=title&filter={quote(filter)}", who)
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def patch_posts(world: World, body: dict[str, Any]) -> dict[str, Any]:
    response = world.request("PATCH", "/api/collections/posts", "superuser", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_writes_keep_the_index(world: World) -> None:
    red = f"{POSTS}/{world.ids['red']}"
    assert world.request("PATCH", red, "superuser", json={"title": "Blue plums"}).status_code == 200
    assert found(world, "search('plums')") == ["Blue plums"]
    assert found(world, "search(title, 'red')") == []
    assert found(world, "search('orchard')") == ["Blue plums"]  # the body was left as it was
    made = world.request("POST", POSTS, "superuser", json={"title": "Cherry pie"})
    assert made.status_code == 200
    assert found(world, "search('cherry')") == ["Cherry pie"]
    assert world.request("DELETE", red, "superuser").status_code == 204
    assert found(world, "search('plums')") == []
    settings = {"batch": {"enabled": True, "maxRequests": 5}}
    assert world.request("PATCH", "/api/settings", "superuser", json=settings).status_code == 200
    batch = world.request(
        "POST",
        "/api/batch",
        "superuser",
        json={"requests": [{"method": "POST", "url": POSTS, "body": {"title": "Batch melon"}}]},
    )
    assert batch.status_code == 200, batch.text
    assert found(world, "search('melon')") == ["Batch melon"]


def test_other_fields_change_beside_the_index(world: World) -> None:
    """Dropping, renaming and adding fields that are not searchable leaves the index alone."""
    fields = [f for f in patch_posts(world, {})["fields"] if f["name"] != "status"]
    for field in fields:
        if field["name"] == "qty":
            field["name"] = "quantity"
    fields.append({"name": "extra", "type": "text"})
    collection = patch_posts(world, {"fields": fields})
    assert collection["search"] == {"fields": ["title", "body"]}
    assert found(world, "search('orchard')") == ["Red apples"]
    red = f"{POSTS}/{world.ids['red']}"
    changed = world.request("PATCH", red, "superuser", json={"quantity": 5, "extra": "x"})
    assert changed.status_code == 200, changed.text
    assert world.request("PATCH", red, "superuser", json={"body": "pears"}).status_code == 200
    assert found(world, "search('orchard')") == []
    assert found(world, "search('pears')") == ["Red apples"]


def test_renames_and_field_changes_keep_the_index(world: World) -> None:
    collection = patch_posts(world, {})
    fields = collection["fields"]
    for field in fields:
        if field["name"] == "title":
            field["name"] = "headline"
    collection = patch_posts(world, {"fields": fields})
    assert collection["search"] == {"fields": ["headline", "body"]}
    headline = quote("search(headline, 'red')")
    listed = world.request("GET", f"{POSTS}?filter={headline}", "superuser")
    assert listed.status_code == 200, listed.text
    assert [i["headline"] for i in listed.json()["items"]] == ["Red apples"]

    collection = patch_posts(world, {"name": "articles"})
    assert collection["search"] == {"fields": ["headline", "body"]}
    url = "/api/collections/articles/records?filter=" + quote("search('orchard')")
    assert world.request("GET", url, "superuser").json()["totalItems"] == 1

    # The searchable field removed from the list: its words leave the index.
    patch = world.request(
        "PATCH", "/api/collections/articles", "superuser", json={"search": {"fields": ["body"]}}
    )
    assert patch.status_code == 200, patch.text
    gone = "/api/collections/articles/records?filter=" + quote("search('red')")
    assert world.request("GET", gone, "superuser").json()["totalItems"] == 0
    added = world.request(
        "POST", "/api/collections/articles/records", "superuser", json={"body": "kiwi"}
    )
    assert added.status_code == 200
    kiwi = "/api/collections/articles/records?filter=" + quote("search('kiwi')")
    assert world.request("GET", kiwi, "superuser").json()["totalItems"] == 1

    # A searchable field deleted from the collection leaves the list.
    fields = [f for f in patch.json()["fields"] if f["name"] != "body"]
    dropped = world.request(
        "PATCH", "/api/collections/articles", "superuser", json={"fields": fields}
    )
    assert dropped.status_code == 200, dropped.text
    assert "search" not in dropped.json()
    nothing = world.request("GET", kiwi, "superuser")
    assert nothing.status_code == 400

    # Deleted, and made again under the same name: nothing of the old index is in the way.
    assert world.request("DELETE", "/api/collections/articles", "superuser").status_code == 204
    again = world.request(
        "POST",
        "/api/collections",
        "superuser",
        json={
            "name": "articles",
            "fields": [field_of("headline")],
            "search": {"fields": ["headline"]},
        },
    )
    assert again.status_code == 200, again.text
    made = world.request(
        "POST", "/api/collections/articles/records", "superuser", json={"headline": "Fig jam"}
    )
    assert made.status_code == 200
    fig = "/api/collections/articles/records?filter=" + quote("search('fig')")
    assert world.request("GET", fig, "superuser").json()["totalItems"] == 1


def test_the_option_survives_export_and_import(world: World) -> None:
    exported = world.request("GET", "/api/collections?perPage=100", "superuser").json()["items"]
    posts = next(c for c in exported if c["name"] == "posts")
    posts["search"] = {"fields": ["body"]}
    imported = world.request(
        "PUT", "/api/collections/import", "superuser", json={"collections": [posts]}
    )
    assert imported.status_code == 204, imported.text
    assert found(world, "search('yellow')") == ["Bananas"]
    assert found(world, "search('red')") == []


def test_realtime_checks_refuse_search(tmp_path: Path, db_url: str) -> None:
    """A realtime filter checks a one-row copy of the record, which no index holds: a
    ``search(...)`` there is refused (the hub then delivers nothing), never an SQL error."""

    async def main() -> None:
        async with serving(tmp_path / "kb_data", db_url) as (app, _client):
            await app.collections.create(
                {
                    "name": "memos",
                    "listRule": "",
                    "fields": [{"name": "text", "type": "text"}],
                    "search": {"fields": ["text"]},
                }
            )
            memos = app.records.collection("memos")
            made = await app.records.create(memos, {"text": "hello there"}, SYSTEM)
            record = (await app.records.find_by_filter(memos, "id = {:id}", {"id": made["id"]}))[0]
            with pytest.raises(BadRequestError):
                await app.records.record_matches(record, "", SYSTEM, "search('hello')")
            # Server code's own lookups may search.
            found = await app.records.find_by_filter(memos, "search({:q})", {"q": "HELLO"})
            assert [r.id for r in found] == [made["id"]]

    asyncio.run(main())
