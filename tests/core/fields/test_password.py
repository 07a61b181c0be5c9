"""``password``: PocketBase's PasswordField (core/field_password.go); hashing is the auth service's."""

from __future__ import annotations

import pytest

from keelbase.core.fields import FieldInvalid, PasswordField


def plain_problem(field: PasswordField, plain: str) -> FieldInvalid | None:
    try:
        field.validate_plain(plain)
    except FieldInvalid as error:
        return error
    return None


def test_length_counts_characters_as_pocketbase_does() -> None:
    """PocketBase counts runes, so that a password of accented letters is not cut short."""
    field = PasswordField(name="password", min=8)
    assert plain_problem(field, "é" * 71) is None  # 142 bytes, 71 characters
    long = plain_problem(field, "é" * 72)
    assert long is not None and long.to_json() == {
        "code": "validation_max_text_constraint", "message": "Must be less than 71 character(s)."
    }  # fmt: skip
    short = plain_problem(field, "é" * 7)
    assert short is not None and short.to_json() == {
        "code": "validation_min_text_constraint", "message": "Must be at least 8 character(s)."
    }  # fmt: skip


def test_max_and_pattern() -> None:
    field = PasswordField(name="password", max=10, pattern=r"\d")
    assert plain_problem(field, "abcdefgh1") is None
    assert plain_problem(field, "abcdefghijk1").code == "validation_max_text_constraint"  # type: ignore[union-attr]
    assert plain_problem(field, "abcdefgh").code == "validation_invalid_format"  # type: ignore[union-attr]


def test_required_checks_the_hash() -> None:
    with pytest.raises(FieldInvalid, match="Cannot be blank"):
        PasswordField(name="password", required=True).check("")
    PasswordField(name="password", required=True).check("$argon2id$...")


@pytest.mark.parametrize(
    ("options", "errors"),
    [({"max": 72}, {"max"}), ({"cost": 3}, {"cost"}), ({"cost": 32}, {"cost"}),
     ({"cost": 0, "max": 71}, set()), ({"cost": 10}, set())],
)  # fmt: skip
def test_definition_errors(options: dict[str, int], errors: set[str]) -> None:
    assert set(PasswordField(name="password", **options).definition_errors()) == errors
