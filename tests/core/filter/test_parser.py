"""The filter parser: precedence, literals, comments, functions and its errors."""

from __future__ import annotations

import pytest

from keelbase.core.filter import (
    And,
    Comparison,
    FilterError,
    Function,
    Identifier,
    Literal,
    Or,
    parse,
)


def test_and_binds_tighter_than_or() -> None:
    expr = parse("a = 1 || b = 2 && c = 3")
    assert isinstance(expr, Or)
    assert isinstance(expr.items[1], And)


def test_groups_and_comments() -> None:
    expr = parse("(a = 1 || b = 2) && c ~ 'x' // trailing comment\n")
    assert isinstance(expr, And)
    assert isinstance(expr.items[0], Or)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a = 'it\\'s'", "it's"),
        ('a = "say \\"hi\\""', 'say "hi"'),
        ("a = 'back\\\\slash'", "back\\\\slash"),
        ("a = 'keep\\n'", "keep\\n"),
        ("a = 12", 12),
        ("a = -1.5", -1.5),
        ("a = true", True),
        ("a = null", None),
    ],
)
def test_literals(text: str, value: object) -> None:
    expr = parse(text)
    assert isinstance(expr, Comparison)
    assert expr.right == Literal(value)


def test_operators_and_modifiers() -> None:
    expr = parse("tags:each ?!~ 'x'")
    assert expr == Comparison(Identifier("tags:each"), "?!~", Literal("x"))


def test_functions() -> None:
    expr = parse("geoDistance(loc.lon, loc.lat, 1, 2) < 10")
    assert isinstance(expr, Comparison)
    assert expr.left == Function(
        "geoDistance", (Identifier("loc.lon"), Identifier("loc.lat"), Literal(1), Literal(2))
    )


def test_empty_filter_is_none() -> None:
    assert parse("   // nothing\n") is None


@pytest.mark.parametrize(
    "text",
    [
        "a =",
        "a = 'x' &&",
        "((a = 1)",
        "a = 1)",
        "a == 1",
        "a = 'unterminated",
        "= 1",
        "a 1",
        "a = 1 b = 2",
        "a = 1.2.3",
        "a = $x",
        "f(a, = 1",
        "(" * 50 + "a = 1" + ")" * 50,
        " || ".join(["a = 1"] * 201),
        "a = '" + "x" * 20000 + "'",
    ],
)
def test_errors(text: str) -> None:
    with pytest.raises(FilterError):
        parse(text)
