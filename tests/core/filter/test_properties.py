"""Property tests: any text either compiles or is a FilterError, and values never reach SQL text."""

from __future__ import annotations

import sqlite3
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from keelbase.core.filter import FilterError, parse
from keelbase.core.filter.compiler import compile_filter
from keelbase.core.records.resolver import RecordResolver
from keelbase.core.request_info import RequestInfo
from keelbase.store.ddl import create_table
from keelbase.store.sqlite_dialect import SqliteDialect
from tests.core.filter.test_compiler import ANN, POSTS, SCHEMA

IDENTIFIERS = st.sampled_from(
    ["title", "views", "tags", "tags:each", "tags:length", "readers.name", "author.name:lower", "meta.k",
     "comments_via_post.msg", "@request.auth.id", "@request.body.title", "@request.query.q", "@now",
     "@collection.comments.msg", "id", "secret"]
)  # fmt: skip
OPERATORS = st.sampled_from(["=", "!=", ">", ">=", "<", "<=", "~", "!~", "?=", "?!=", "?~", "?>"])
# Marked values: if one shows up in the SQL text, a value reached SQL unbound.
MARKED = st.text(alphabet=string.ascii_letters, min_size=3, max_size=8).map(lambda s: f"ZQ{s}QZ")


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[str, list[str]]:
    value = draw(MARKED)
    quote = draw(st.sampled_from(["'", '"']))
    left = draw(IDENTIFIERS)
    if draw(st.booleans()):
        return f"{left} {draw(OPERATORS)} {quote}{value}{quote}", [value]
    return f"{left} {draw(OPERATORS)} {draw(IDENTIFIERS)}", []


@st.composite
def filters(draw: st.DrawFn) -> tuple[str, list[str]]:
    parts = draw(st.lists(comparisons(), min_size=1, max_size=5))
    text = parts[0][0]
    values = list(parts[0][1])
    for part, marked in parts[1:]:
        joiner = draw(st.sampled_from([" && ", " || "]))
        text = f"({text}){joiner}{part}" if draw(st.booleans()) else f"{text}{joiner}{part}"
        values.extend(marked)
    return text, values


def _resolver() -> RecordResolver:
    info = RequestInfo(auth=ANN, query={"q": "ZQqueryQZ"}, body={"title": "ZQbodyQZ"})
    return RecordResolver(SCHEMA, POSTS, SqliteDialect(), info)


@settings(max_examples=300, deadline=None)
@given(filters())
def test_values_are_always_bound(case: tuple[str, list[str]]) -> None:
    text, values = case
    resolver = _resolver()
    try:
        expr = parse(text)
        assert expr is not None
        sql = compile_filter(expr, resolver)
    except FilterError:
        return
    full = sql + " " + resolver.join_sql()
    for value in [*values, "ZQqueryQZ", "ZQbodyQZ"]:
        assert value not in full, f"{value!r} reached the SQL text: {full}"
    # and the SQL is valid: SQLite runs it against the real tables
    conn = sqlite3.connect(":memory:")
    for collection in SCHEMA:
        conn.execute(create_table(collection, "sqlite"))
    conn.execute(
        f'SELECT 1 FROM "posts" "posts" {resolver.join_sql()} WHERE {sql}', resolver.params.values
    )


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_any_text_compiles_or_is_a_filter_error(text: str) -> None:
    try:
        expr = parse(text)
        if expr is not None:
            compile_filter(expr, _resolver())
    except FilterError:
        pass
