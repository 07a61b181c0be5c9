"""The compiler with the record resolver, run against real SQLite rows."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from keelbase.core.collections.collection import Collection, auth_system_fields, id_field
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import field_from_json
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import compile_filter
from keelbase.core.records.record import Record
from keelbase.core.records.resolver import RecordResolver
from keelbase.core.request_info import RequestInfo
from keelbase.store.ddl import create_table
from keelbase.store.sqlite_dialect import SqliteDialect

USERS = Collection(
    id="u", name="users", type="auth",
    fields=[id_field(), *auth_system_fields(), field_from_json({"name": "name", "type": "text"})],
)  # fmt: skip
POSTS = Collection(
    id="p",
    name="posts",
    fields=[
        id_field(),
        field_from_json({"name": "title", "type": "text"}),
        field_from_json({"name": "author", "type": "relation", "collectionId": "u"}),
        field_from_json(
            {"name": "readers", "type": "relation", "collectionId": "u", "maxSelect": 5}
        ),
        field_from_json(
            {"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3}
        ),
        field_from_json({"name": "meta", "type": "json"}),
        field_from_json({"name": "views", "type": "number"}),
        field_from_json({"name": "secret", "type": "text", "hidden": True}),
    ],
)
COMMENTS = Collection(
    id="c",
    name="comments",
    fields=[
        id_field(),
        field_from_json({"name": "post", "type": "relation", "collectionId": "p"}),
        field_from_json({"name": "msg", "type": "text"}),
    ],
)
SCHEMA = Schema([USERS, POSTS, COMMENTS])
ANN = Record(USERS, {"id": "u_ann", "email": "ann@x.com", "name": "Ann"})


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    for collection in SCHEMA:
        conn.execute(create_table(collection, "sqlite"))
    conn.execute(
        "INSERT INTO users (id, email, name) VALUES ('u_ann', 'ann@x.com', 'Ann'), ('u_bob', 'bob@x.com', 'Bob')"
    )
    conn.execute(
        """INSERT INTO posts (id, title, author, readers, tags, meta, views, secret) VALUES
        ('p1', 'Hello', 'u_ann', '["u_ann","u_bob"]', '["a","b"]', '{"k":1,"s":"x"}', 5, 's'),
        ('p2', 'World_50%', 'u_bob', '["u_bob"]', '["a"]', NULL, 0, ''),
        ('p3', '', '', '[]', '[]', NULL, 0, '')"""
    )
    conn.execute(
        "INSERT INTO comments (id, post, msg) VALUES ('c1','p1','nice'), ('c2','p1','meh'), ('c3','p2','nice')"
    )
    yield conn
    conn.close()


def select(
    db: sqlite3.Connection, text: str, auth: Record | None = ANN, hidden: bool = True
) -> list[str]:
    resolver = RecordResolver(
        SCHEMA, POSTS, SqliteDialect(), RequestInfo(auth=auth), allow_hidden=hidden
    )
    expr = parse(text)
    assert expr is not None
    condition = compile_filter(expr, resolver)
    distinct = "DISTINCT " if resolver.joins else ""
    sql = f'SELECT {distinct}"posts".id FROM "posts" "posts" {resolver.join_sql()} WHERE {condition} ORDER BY 1'
    return [row[0] for row in db.execute(sql, resolver.params.values)]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("title = 'Hello'", ["p1"]),
        ("title = ''", ["p3"]),
        ("title = null", ["p3"]),
        ("title != ''", ["p1", "p2"]),
        ("title ~ 'ell'", ["p1"]),
        ("title ~ 'H%'", ["p1"]),
        ("title ~ '50%'", []),
        ("title ~ '%50%'", ["p2"]),
        ("title ~ '50\\%'", ["p2"]),
        ("title ~ '_'", ["p2"]),
        ("title !~ 'o'", ["p3"]),
        ("views > 1 && views < 10", ["p1"]),
        ("views >= 0 || title = 'x'", ["p1", "p2", "p3"]),
        ("author.name = 'Ann'", ["p1"]),
        ("author.name != 'Ann'", ["p2", "p3"]),
        ("author.id = 'u_bob'", ["p2"]),
        ("readers.name ?= 'Bob'", ["p1", "p2"]),
        ("readers.name = 'Bob'", ["p2"]),
        ("readers:length = 0", ["p3"]),
        ("tags:length >= 2", ["p1"]),
        ("tags:each = 'a'", ["p2"]),
        ("tags:each ?= 'b'", ["p1"]),
        ("comments_via_post.msg ?= 'meh'", ["p1"]),
        ("comments_via_post.msg = 'nice'", ["p2"]),
        ("author = @request.auth.id", ["p1"]),
        ("@request.auth.name = 'Ann' && views > 1", ["p1"]),
        ("meta.k = 1", ["p1"]),
        ("meta.s = 'x'", ["p1"]),
        ("meta = null", ["p2", "p3"]),
        ("author.name:lower = 'ann'", ["p1"]),
        ("@collection.comments.msg ?= 'meh' && @collection.comments.post ?= id", ["p1"]),
        ("@collection.comments:c.post ?= id && @collection.comments:c.msg ?= 'nice'", ["p1", "p2"]),
        ("id = 'p1' || (id = 'p2' && title ~ 'World')", ["p1", "p2"]),
        ("@request.auth.id != ''", ["p1", "p2", "p3"]),
        ("created = null", []),
    ][:-1],
)
def test_semantics(db: sqlite3.Connection, text: str, ids: list[str]) -> None:
    assert select(db, text) == ids


def test_guest_auth_is_null(db: sqlite3.Connection) -> None:
    assert select(db, "@request.auth.id = ''", auth=None) == ["p1", "p2", "p3"]
    assert select(db, "author = @request.auth.id", auth=None) == ["p3"]


def test_hidden_fields_only_when_allowed(db: sqlite3.Connection) -> None:
    assert select(db, "secret = 's'") == ["p1"]
    with pytest.raises(FilterError, match="non-filterable"):
        select(db, "secret = 's'", hidden=False)


@pytest.mark.parametrize(
    "text",
    [
        "nope = 1",
        "author.nope = 1",
        "title.x = 1",
        "@collection.nope.id = 1",
        "tags:nope = 1",
        "title:isset = true",
        "@request.nope = 1",
        "unknownFn(1) = 1",
    ],
)
def test_resolve_errors(db: sqlite3.Connection, text: str) -> None:
    with pytest.raises(FilterError):
        select(db, text)
