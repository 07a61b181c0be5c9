"""``url``: PocketBase's URLField (core/field_url.go)."""

from __future__ import annotations

import pytest

from keelbase.core.fields import UrlField
from tests.core.fields.helpers import code, column, problem


@pytest.mark.parametrize(
    "value", ["https://example.com", "http://example.com:8080/a?b=c#d", "ftp://files.example.org/x"]
)
def test_valid_urls(value: str) -> None:
    assert code(UrlField(name="u"), value) is None


@pytest.mark.parametrize("value", ["example.com", "/relative/path", "https://", "http://a b.com"])
def test_invalid_urls(value: str) -> None:
    error = problem(UrlField(name="u"), value)
    assert error is not None and error.to_json() == {
        "code": "validation_invalid_url", "message": "Must be a valid url."
    }  # fmt: skip


def test_domains_are_the_host() -> None:
    only = UrlField(name="u", onlyDomains=["example.com"])
    assert code(only, "https://example.com/x") is None
    assert code(only, "https://evil.com/example.com") == "validation_url_domain_not_allowed"
    barred = UrlField(name="u", exceptDomains=["evil.com"])
    assert code(barred, "https://evil.com") == "validation_url_domain_not_allowed"
    assert code(barred, "https://good.com/?evil.com") is None


def test_empty_required_and_column() -> None:
    assert code(UrlField(name="u"), "") is None
    assert code(UrlField(name="u", required=True), "") == "validation_required"
    assert column(UrlField(name="u"), "postgresql") == "TEXT COLLATE \"C\" DEFAULT '' NOT NULL"
