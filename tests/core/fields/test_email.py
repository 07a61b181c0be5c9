"""``email``: PocketBase's EmailField (core/field_email.go), with the domain lists."""

from __future__ import annotations

import pytest

from keelbase.core.fields import EmailField
from tests.core.fields.helpers import code, column, problem


@pytest.mark.parametrize(
    "value",
    ["a@example.com", "first.last+tag@sub.example.co", "x_y-z@localhost", "o'neil@example.org"],
)
def test_valid_addresses(value: str) -> None:
    assert code(EmailField(name="e"), value) is None


@pytest.mark.parametrize(
    "value",
    ["plain", "@example.com", "a@", "a b@example.com", "a@exa mple.com", "a@-example.com",
     "a@example..com", "x" * 250 + "@example.com"],
)  # fmt: skip
def test_invalid_addresses(value: str) -> None:
    error = problem(EmailField(name="e"), value)
    assert error is not None
    assert error.to_json() == {
        "code": "validation_is_email", "message": "Must be a valid email address."
    }  # fmt: skip


def test_empty_and_required() -> None:
    assert code(EmailField(name="e"), "") is None
    assert code(EmailField(name="e", required=True), "") == "validation_required"


def test_only_domains() -> None:
    field = EmailField(name="e", onlyDomains=["example.com"])
    assert code(field, "a@example.com") is None
    assert code(field, "a@sub.example.com") == "validation_email_domain_not_allowed"
    assert code(field, "a@other.com") == "validation_email_domain_not_allowed"
    # PocketBase compares domains as written; here a domain matches in any case
    assert code(field, "a@EXAMPLE.com") is None


def test_except_domains() -> None:
    field = EmailField(name="e", exceptDomains=["spam.test"])
    assert code(field, "a@example.com") is None
    error = problem(field, "a@spam.test")
    assert error is not None and error.to_json() == {
        "code": "validation_email_domain_not_allowed", "message": "Email domain is not allowed."
    }  # fmt: skip


def test_options_json_and_column() -> None:
    json = EmailField(name="e", exceptDomains=["a.com"]).to_json()
    assert (json["exceptDomains"], json["onlyDomains"]) == (["a.com"], [])
    assert column(EmailField(name="e"), "sqlite") == "TEXT DEFAULT '' NOT NULL"


def test_domain_list_definitions_as_pocketbase_checks_them() -> None:
    """Each list must hold domains (every bad item is named) and only one list may be set."""
    assert EmailField(name="e", onlyDomains=["example.com", "a.b.io"]).definition_errors() == {}
    bad = EmailField(name="e", exceptDomains=["ok.com", "not a domain", "x"]).definition_errors()
    domain = {"code": "validation_is_domain", "message": "Must be a valid domain."}
    assert bad == {"exceptDomains": {"1": domain, "2": domain}}
    both = EmailField(name="e", exceptDomains=["a.com"], onlyDomains=["b.com"]).definition_errors()
    blank = {"code": "validation_empty", "message": "Must be blank."}
    assert both == {"exceptDomains": blank, "onlyDomains": blank}
