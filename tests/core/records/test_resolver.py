"""The records resolver: identifiers of filters and rules to columns, joins and bound values.

Structure is checked on the resolver itself; meaning by running the SQL on
SQLite rows (tests/core/filter/test_compiler.py covers the operators).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from keelbase.core.collections.collection import Collection, auth_system_fields, id_field
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import field_from_json
from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import NullFallback, compile_filter
from keelbase.core.records.record import Record
from keelbase.core.records.resolver import MAX_JOINS, RecordResolver, macro_values
from keelbase.core.request_info import RequestInfo
from keelbase.store.ddl import create_table
from keelbase.store.sqlite_dialect import SqliteDialect


def f(name: str, kind: str, **options: object) -> object:
    return field_from_json({"name": name, "type": kind, **options})


USERS = Collection(
    id="u", name="users", type="auth", listRule="id = @request.auth.id",
    fields=[id_field(), *auth_system_fields(), f("name", "text"), f("friend", "relation", collectionId="u")],
)  # fmt: skip
POSTS = Collection(
    id="p", name="posts", listRule="",
    fields=[
        id_field(), f("title", "text"), f("author", "relation", collectionId="u"),
        f("readers", "relation", collectionId="u", maxSelect=5),
        f("tags", "select", values=["a", "b", "c"], maxSelect=3), f("status", "select", values=["x"]),
        f("meta", "json"), f("views", "number"), f("secret", "text", hidden=True),
        f("spot", "geoPoint"),
    ],
)  # fmt: skip
COMMENTS = Collection(
    id="c", name="comments", listRule="",
    fields=[id_field(), f("post", "relation", collectionId="p"), f("msg", "text")],
)  # fmt: skip
STATS = Collection(  # one row per post: a back relation that does not multiply rows
    id="s", name="stats", listRule=None,
    fields=[id_field(), f("post", "relation", collectionId="p"), f("hits", "number")],
    indexes=["CREATE UNIQUE INDEX idx_stats_post ON stats (post)"],
)  # fmt: skip
SCHEMA = Schema([USERS, POSTS, COMMENTS, STATS])
ANN = Record(USERS, {"id": "u_ann", "email": "ann@x.com", "name": "Ann", "verified": True})
DIALECT = SqliteDialect()


def resolver(
    collection: Collection = POSTS, request: RequestInfo | None = None, **options: object
) -> RecordResolver:
    return RecordResolver(SCHEMA, collection, DIALECT, request, **options)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    for collection in SCHEMA:
        conn.execute(create_table(collection, "sqlite"))
    conn.executescript(
        """
        INSERT INTO users (id, email, emailVisibility, name, friend) VALUES
            ('u_ann', 'ann@x.com', 1, 'Ann', 'u_bob'), ('u_bob', 'bob@x.com', 0, 'Bob', '');
        INSERT INTO posts (id, title, author, readers, tags, meta, views) VALUES
            ('p1', 'Hello', 'u_ann', '["u_ann","u_bob"]', '["a","b"]', '{"k":1}', 5),
            ('p2', 'World', 'u_bob', '["u_bob"]', '["a"]', NULL, 0);
        INSERT INTO comments (id, post, msg) VALUES ('c1', 'p1', 'nice'), ('c2', 'p2', 'meh');
        """
    )
    yield conn
    conn.close()


def ids(db: sqlite3.Connection, text: str, r: RecordResolver) -> list[str]:
    expr = parse(text)
    assert expr is not None
    condition = " AND ".join([compile_filter(expr, r), *r.join_checks.values()])
    sql = (
        f'SELECT DISTINCT "{r.base_alias}".id FROM {r.table} "{r.base_alias}" {r.join_sql()} '
        f"WHERE {condition} ORDER BY 1"
    )
    return [row[0] for row in db.execute(sql, r.params.values)]


# Fields of the collection itself --------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind"),
    [("title", "text"), ("views", "number"), ("meta", "jsontext"), ("tags", "jsontext"),
     ("status", "text"), ("author", "text"), ("readers", "jsontext"), ("spot", "jsontext")],
)  # fmt: skip
def test_a_field_is_its_column_without_joins(name: str, kind: str) -> None:
    r = resolver()
    resolved = r.resolve(name)
    assert resolved.sql == f'"posts"."{name}"'
    assert resolved.kind == kind
    assert resolved.multi is None and not r.has_joins


def test_json_fields_compare_with_is_not_coalesce() -> None:
    assert resolver().resolve("meta").null_fallback is NullFallback.DISABLED
    assert resolver().resolve("title").null_fallback is NullFallback.AUTO


def test_table_and_alias_can_be_given() -> None:
    r = resolver(table='"tmp_posts"', base_alias="p0")
    assert r.resolve("title").sql == '"p0"."title"'
    assert r.table == '"tmp_posts"'


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope", 'unknown field "nope"'),
        ("title.x", 'field "title" is not a valid relation'),
        ("author.nope", 'unknown field "nope"'),
        ("@nope", 'failed to resolve field "@nope"'),
        ("title.", 'failed to resolve field "title."'),
        ("ti-tle", 'failed to resolve field "ti-tle"'),
        ("title:upper", "unknown modifier 'upper'"),
        ("title:lower:lower", "unknown modifier 'lower:lower'"),
        ("author:lower.name", "modifiers are allowed only at the end"),
    ],
)
def test_unknown_names_fail_with_the_reason(name: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        resolver().resolve(name)


def test_hidden_fields_only_where_allowed() -> None:
    assert resolver().resolve("secret").sql == '"posts"."secret"'  # rules see everything
    with pytest.raises(FilterError, match='non-filterable field "secret"'):
        resolver(allow_hidden=False).resolve("secret")


# Relations ----------------------------------------------------------------------------


def test_a_single_relation_is_one_left_join(db: sqlite3.Connection) -> None:
    r = resolver()
    resolved = r.resolve("author.name")
    assert resolved.sql == '"posts_author"."name"' and resolved.multi is None
    assert r.joins == {
        "posts_author": 'LEFT JOIN "users" "posts_author" ON "posts_author"."id" = "posts"."author"'
    }
    r.resolve("author.email")
    assert len(r.joins) == 1  # one join however often the path is used
    assert ids(db, "author.name = 'Bob'", resolver()) == ["p2"]


def test_the_id_of_a_single_relation_needs_no_join() -> None:
    r = resolver()
    assert r.resolve("author.id").sql == '"posts"."author"'
    assert not r.has_joins


def test_relations_chain() -> None:
    r = resolver()
    assert r.resolve("author.friend.name").sql == '"posts_author_friend"."name"'
    assert list(r.joins) == ["posts_author", "posts_author_friend"]


def test_a_multiple_relation_joins_its_items_and_matches_every_item(
    db: sqlite3.Connection,
) -> None:
    r = resolver()
    resolved = r.resolve("readers.name")
    assert list(r.joins) == ["posts_readers_je", "posts_readers"]
    assert "json_each" in r.joins["posts_readers_je"]
    assert resolved.multi is not None
    assert resolved.multi.subquery.startswith('SELECT "__mm_posts_readers"."name" AS mmv')
    assert resolved.multi.subquery.endswith('WHERE "__mm_posts"."id" = "posts"."id"')
    # "=" must hold for every reader, "?=" for any
    assert ids(db, "readers.name = 'Bob'", resolver()) == ["p2"]
    assert ids(db, "readers.name ?= 'Bob'", resolver()) == ["p1", "p2"]


def test_back_relations(db: sqlite3.Connection) -> None:
    r = resolver()
    resolved = r.resolve("comments_via_post.msg")
    assert r.joins["posts_comments_via_post"] == (
        'LEFT JOIN "comments" "posts_comments_via_post" '
        'ON "posts_comments_via_post"."post" = "posts"."id"'
    )
    assert resolved.multi is not None  # many comments per post
    assert ids(db, "comments_via_post.msg ?= 'meh'", resolver()) == ["p2"]
    # a unique index makes it one to one: no "every item" subquery
    assert resolver().resolve("stats_via_post.hits").multi is None
    assert resolver().resolve("comments_via_post").sql == '"posts_comments_via_post"."id"'


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("nope_via_post.msg", "failed to load back relation field 'nope_via_post' collection"),
        ("comments_via_msg.id", "invalid back relation field 'comments_via_msg'"),
        ("comments_via_nope.id", "invalid back relation field 'comments_via_nope'"),
    ],
)
def test_bad_back_relations(name: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        resolver().resolve(name)


def test_a_back_relation_must_point_here() -> None:
    with pytest.raises(FilterError, match="invalid collection reference"):
        resolver(USERS).resolve("comments_via_post.msg")


def test_depth_and_join_limits() -> None:
    with pytest.raises(FilterError, match="max nested relations"):
        resolver(USERS).resolve("friend." * 7 + "name")
    resolver(USERS).resolve("friend." * 6 + "name")
    r = resolver()
    with pytest.raises(FilterError, match=f"at most {MAX_JOINS} joins"):
        for n in range(MAX_JOINS + 1):
            r.resolve(f"@collection.users:a{n}.name")


# Modifiers --------------------------------------------------------------------------


def test_length_of_multi_valued_fields(db: sqlite3.Connection) -> None:
    resolved = resolver().resolve("tags:length")
    assert resolved.kind == "number" and "json_array_length" in resolved.sql
    assert ids(db, "tags:length = 2", resolver()) == ["p1"]
    assert ids(db, "readers:length = 1", resolver()) == ["p2"]
    with pytest.raises(FilterError, match="doesn't support :length"):
        resolver().resolve("title:length")


def test_each_joins_the_items(db: sqlite3.Connection) -> None:
    r = resolver()
    resolved = r.resolve("tags:each")
    assert resolved.sql == '"posts_tags_je".value'
    assert list(r.joins) == ["posts_tags_je"] and resolved.multi is not None
    assert ids(db, "tags:each = 'a'", resolver()) == ["p2"]
    with pytest.raises(FilterError, match="doesn't support multivalue operations"):
        resolver().resolve("views:each")


def test_lower() -> None:
    resolved = resolver().resolve("author.name:lower")
    assert resolved.sql == 'LOWER("posts_author"."name")' and resolved.kind == "text"


@pytest.mark.parametrize("modifier", ["isset", "changed"])
def test_isset_and_changed_are_for_the_body_only(modifier: str) -> None:
    with pytest.raises(FilterError, match=f":{modifier} modifier works only with @request.body"):
        resolver().resolve(f"title:{modifier}")


def test_json_paths_are_bound_parameters(db: sqlite3.Connection) -> None:
    r = resolver()
    resolved = r.resolve("meta.a.0.b")
    assert r.params.values == {"p0": "$.a[0].b"}

    assert resolved.kind == "json" and ":p0" in resolved.sql
    assert ids(db, "meta.k = 1", resolver()) == ["p1"]


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("meta.arr:each", "$.arreach"),
        ("meta.k:length", "$.klength"),
        ("meta.k:lower.0", "$.klower[0]"),
    ],
)
def test_json_path_keys_keep_only_identifier_characters(name: str, path: str) -> None:
    """As PocketBase: a modifier on a JSON path is part of the key (and ``:`` is dropped)."""
    r = resolver()
    r.resolve(name)
    assert list(r.params.values.values()) == [path]


# @request --------------------------------------------------------------------------------


def request(**kwargs: object) -> RequestInfo:
    return RequestInfo(**kwargs)  # type: ignore[arg-type]


def test_request_values_are_bound_never_written_into_the_sql() -> None:
    evil = "x' OR 1=1 --"
    r = resolver(request=request(query={"q": evil}, headers={"x_token": evil}, method="PATCH"))
    for name in ("@request.query.q", "@request.headers.x_token", "@request.method"):
        resolved = r.resolve(name)
        assert resolved.is_value and resolved.sql.startswith(":")
        assert evil not in resolved.sql
    assert list(r.params.values.values()) == [evil, evil, "PATCH"]


def test_missing_request_values_are_null() -> None:
    resolved = resolver(request=request()).resolve("@request.query.nope")
    assert (resolved.sql, resolved.kind) == ("NULL", "null")


def test_request_context_and_static_conversions() -> None:
    body = {"flag": True, "list": [1, "a"], "big": 2**70, "obj": {"a": 1}}
    r = resolver(request=request(body=body, context="oauth2"))
    r.resolve("@request.context")
    for name in ("flag", "list", "big", "obj"):
        r.resolve(f"@request.body.{name}")
    assert list(r.params.values.values()) == ["oauth2", 1, '[1,"a"]', float(2**70), '{"a":1}']


def test_a_number_field_in_the_body_is_compared_as_a_number() -> None:
    r = resolver(request=request(body={"views": "12", "title": "12"}))
    r.resolve("@request.body.views")
    r.resolve("@request.body.title")
    assert list(r.params.values.values()) == [12.0, "12"]


def test_body_modifiers() -> None:
    r = resolver(request=request(body={"title": "", "tags": ["a", "b"]}))
    assert r.resolve("@request.body.title:isset").raw_literal == "TRUE"
    assert r.resolve("@request.body.views:isset").raw_literal == "FALSE"
    assert r.resolve("@request.body.tags:length").sql == ":p0"
    assert r.params.values["p0"] == 2
    each = r.resolve("@request.body.tags:each")
    assert each.multi is not None and each.sql == '"__dataEach_tags_je".value'
    with pytest.raises(FilterError, match="doesn't support :length"):
        r.resolve("@request.body.title:length")


def test_changed_compares_the_body_with_the_stored_value(db: sqlite3.Connection) -> None:
    changed = resolver(request=request(body={"title": "Hello"}))
    assert ids(db, "@request.body.title:changed = true", changed) == ["p2"]
    not_sent = resolver(request=request(body={}))
    assert ids(db, "@request.body.title:changed = true", not_sent) == []


def test_relations_in_the_body_join_the_records_sent(db: sqlite3.Connection) -> None:
    r = resolver(request=request(body={"author": "u_bob"}))
    resolved = r.resolve("@request.body.author.name")
    assert resolved.sql == '"__data_users_author"."name"'
    assert r.joins["__data_users_author"].endswith('"__data_users_author"."id" IN (:p0)')
    assert ids(db, "@request.body.author.name = 'Bob'", resolver(request=r.request)) == [
        "p1", "p2"
    ]  # fmt: skip
    empty = resolver(request=request(body={"author": ""})).resolve("@request.body.author.name")
    assert empty.sql == "NULL"


def test_request_auth(db: sqlite3.Connection) -> None:
    r = resolver(request=request(auth=ANN))
    assert r.resolve("@request.auth.id").is_value
    assert r.resolve("@request.auth.collectionName").is_value
    assert list(r.params.values.values()) == ["u_ann", "users"]
    assert not r.has_joins
    # other auth fields are read from the auth record's row
    resolved = r.resolve("@request.auth.friend.name")
    assert resolved.sql == '"__auth_users_friend"."name"'
    assert ids(db, "author = @request.auth.id", resolver(request=request(auth=ANN))) == ["p1"]
    assert ids(db, "@request.auth.friend.name = 'Bob'", resolver(request=request(auth=ANN))) == [
        "p1", "p2"
    ]  # fmt: skip


def test_a_guest_has_a_null_auth() -> None:
    guest = resolver(request=request())
    for name in ("@request.auth.id", "@request.auth.name", "@request.auth.friend.name"):
        assert guest.resolve(name).sql == "NULL"


@pytest.mark.parametrize(
    "name", ["@request.nope.x", "@request.auth", "@request.query", "@request.query.x:each"]
)
def test_bad_request_names(name: str) -> None:
    with pytest.raises(FilterError):
        resolver(request=request()).resolve(name)


# @collection -------------------------------------------------------------------------------


def test_collection_joins_the_whole_collection(db: sqlite3.Connection) -> None:
    r = resolver()
    resolved = r.resolve("@collection.comments.msg")
    assert r.joins == {
        "__collection_comments": 'LEFT JOIN "comments" "__collection_comments" ON 1=1'
    }
    assert resolved.multi is not None  # always "every row" unless ?= is used
    aliased = resolver().resolve("@collection.comments:c.msg")
    assert aliased.sql == '"__collection_alias_c"."msg"'
    rule = "@collection.comments.post ?= id && @collection.comments.msg ?= 'nice'"
    assert ids(db, rule, resolver()) == ["p1"]


def test_collection_sees_hidden_fields_and_fails_clearly() -> None:
    assert resolver(allow_hidden=False).resolve("@collection.posts.secret").sql.endswith('"secret"')
    with pytest.raises(FilterError, match="failed to load collection 'nope'"):
        resolver().resolve("@collection.nope.id")
    with pytest.raises(FilterError, match="invalid @collection field path"):
        resolver().resolve("@collection.comments")


# A non-superuser's own filter: joined rows pass their list rule ---------------------------


def test_restricted_joins_apply_the_list_rule(db: sqlite3.Connection) -> None:
    r = resolver(request=request(auth=ANN), restrict_joins=True, allow_hidden=False)
    r.resolve("author.name")
    # as PocketBase: the rule is a condition on the whole row, not on the join
    assert "EXISTS" not in r.joins["posts_author"]
    assert 'EXISTS (SELECT 1 FROM "users"' in r.join_checks["posts_author"]
    # Ann may list only herself: Bob's posts do not match through his name
    names = resolver(request=request(auth=ANN), restrict_joins=True, allow_hidden=False)
    assert ids(db, "author.name = 'Bob'", names) == []
    # nor through any other comparison: a post by someone she cannot list is dropped
    others = resolver(request=request(auth=ANN), restrict_joins=True, allow_hidden=False)
    assert "p1" in ids(db, "author.name != 'zzz'", others)
    assert all(
        post == "p1" or post in ids(db, "author = ''", resolver())
        for post in ids(db, "author.name != 'zzz'", others)
    )
    assert ids(
        db, "author.name = 'Ann'", resolver(request=request(auth=ANN), restrict_joins=True)
    ) == ["p1"]


def test_restricted_joins_open_and_locked_rules() -> None:
    open_rule = resolver(restrict_joins=True)
    open_rule.resolve("comments_via_post.msg")
    assert "EXISTS" not in open_rule.joins["posts_comments_via_post"]  # listRule ""
    assert not open_rule.join_checks
    with pytest.raises(FilterError, match='"stats" fields can be accessed only by superusers'):
        resolver(restrict_joins=True).resolve("stats_via_post.hits")
    resolver().resolve("stats_via_post.hits")  # rules themselves may


def test_hidden_emails_do_not_match_for_others(db: sqlite3.Connection) -> None:
    others = resolver(request=request(auth=ANN), allow_hidden=False)
    resolved = others.resolve("author.email")
    assert resolved.after_build is not None and resolved.guarded is not None
    # Bob hides his email: a non-superuser's filter cannot find his posts by it
    assert ids(db, "author.email = 'bob@x.com'", resolver(allow_hidden=False)) == []
    assert ids(db, "author.email = 'ann@x.com'", resolver(allow_hidden=False)) == ["p1"]
    assert ids(db, "author.email = 'bob@x.com'", resolver()) == ["p2"]  # rules see it


# Date macros ---------------------------------------------------------------------------------


def test_macros_for_a_given_moment() -> None:
    moment = datetime(2024, 2, 29, 13, 14, 15, 678000, tzinfo=UTC)  # a Thursday
    assert macro_values(moment) == {
        "@now": "2024-02-29 13:14:15.678Z",
        "@yesterday": "2024-02-28 13:14:15.678Z",
        "@tomorrow": "2024-03-01 13:14:15.678Z",
        "@todayStart": "2024-02-29 00:00:00.000Z",
        "@todayEnd": "2024-02-29 23:59:59.999Z",
        "@monthStart": "2024-02-01 00:00:00.000Z",
        "@monthEnd": "2024-02-29 23:59:59.999Z",
        "@yearStart": "2024-01-01 00:00:00.000Z",
        "@yearEnd": "2024-12-31 23:59:59.999Z",
        "@second": 15, "@minute": 14, "@hour": 13,
        "@weekday": 4,  # Sunday is 0, as Go's time.Weekday
        "@day": 29, "@month": 2, "@year": 2024,
    }  # fmt: skip
    assert (
        macro_values(datetime(2024, 12, 31, tzinfo=UTC))["@monthEnd"] == "2024-12-31 23:59:59.999Z"
    )
    assert macro_values(datetime(2023, 1, 1, tzinfo=UTC))["@weekday"] == 0


def test_macros_are_bound_values() -> None:
    r = resolver()
    resolved = r.resolve_macro("@year")
    assert resolved is not None and resolved.is_value and resolved.kind == "number"
    assert r.params.values["p0"] == datetime.now(UTC).year
    assert r.resolve_macro("@nope") is None
