"""``search('words')``: parsed as a condition of its own; its words never carry query syntax."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keelbase.core.filter import (
    And,
    FilterError,
    Function,
    Identifier,
    Literal,
    Or,
    Predicate,
    parse,
)
from keelbase.core.filter.search import MAX_WORDS, search_words
from keelbase.store.sqlite_dialect import SqliteDialect


def test_a_function_alone_is_a_predicate() -> None:
    assert parse("search('a b')") == Predicate(Function("search", (Literal("a b"),)))
    expr = parse("search(title, 'x') && (n > 1 || search('y'))")
    assert isinstance(expr, And)
    assert expr.items[0] == Predicate(Function("search", (Identifier("title"), Literal("x"))))
    inner = expr.items[1]
    assert isinstance(inner, Or)
    assert isinstance(inner.items[1], Predicate)


def test_a_compared_function_stays_a_comparison() -> None:
    expr = parse("geoDistance(a, b, 1, 2) < 5")
    assert not isinstance(expr, Predicate)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Red  Apples", ("red", "apples")),
        ('apples" OR "x*', ("apples", "or", "x")),
        ("NEAR(a b) title:c", ("near", "a", "b", "title", "c")),
        ("a_b-c", ("a", "b", "c")),
        ("café 42 café", ("café", "42")),
    ],
)
def test_words(text: str, words: tuple[str, ...]) -> None:
    assert search_words(text) == words


@pytest.mark.parametrize(
    "text", ["", "  ", '"*^:', "_", " ".join(f"w{i}" for i in range(MAX_WORDS + 1)), "a" * 101]
)
def test_no_words_or_too_many_are_errors(text: str) -> None:
    with pytest.raises(FilterError):
        search_words(text)


@given(st.text(max_size=200))
def test_any_text_is_a_safe_fts5_query_or_an_error(text: str) -> None:
    """Whatever a client sends, FTS5 never sees an operator: the query runs or is a FilterError."""
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE VIRTUAL TABLE f USING fts5(a, b, tokenize='unicode61 remove_diacritics 2')"
    )
    conn.execute("INSERT INTO f VALUES ('or near and not', 'x')")
    try:
        words = search_words(text)
    except FilterError:
        return
    dialect = SqliteDialect()
    for column in (None, "a"):
        query = dialect.search_query(words, column)
        conn.execute("SELECT rowid FROM f WHERE f MATCH ?", (query,)).fetchall()
