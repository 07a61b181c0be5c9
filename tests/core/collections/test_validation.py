"""Collection definitions checked as PocketBase's core/collection_validate.go checks them.

What needs the database (a view's query, an index that SQL refuses) is the
collections service's check: tests/api/test_collections.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from keelbase.core.collections.collection import Collection
from keelbase.core.collections.json import collection_from_json
from keelbase.core.collections.schema import Schema
from keelbase.core.collections.system import initial_collections
from keelbase.core.collections.validation import validate_collection
from keelbase.store.sqlite_dialect import SqliteDialect

DIALECT = SqliteDialect()
POSTS: dict[str, Any] = {
    "name": "posts",
    "fields": [
        {"name": "title", "type": "text"},
        {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_"},
    ],
    "indexes": ["CREATE INDEX idx_posts_title ON posts (title)"],
}


def schema(*extra: dict[str, Any]) -> Schema:
    return Schema([*initial_collections(), *(collection_from_json(e) for e in extra)])


def errors_of(data: dict[str, Any], in_schema: Schema | None = None) -> dict[str, Any]:
    """The errors of a new collection made from ``data``."""
    return validate_collection(collection_from_json(data), None, in_schema or schema(), DIALECT)


def update_errors(old: Collection, changes: dict[str, Any], in_schema: Schema) -> dict[str, Any]:
    return validate_collection(collection_from_json(changes, old), old, in_schema, DIALECT)


def code(errors: dict[str, Any], *path: str) -> str:
    value: Any = errors
    for key in path:
        value = value[key]
    return str(value["code"])


def test_a_good_collection_has_no_errors() -> None:
    assert errors_of(POSTS) == {}
    assert errors_of({"name": "members", "type": "auth"}) == {}
    assert errors_of({"name": "v", "type": "view", "viewQuery": "select id from posts"}) == {}


# Names ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "validation_required"),
        ("x" * 256, "validation_length_too_long"),
        ("bad name", "validation_match_invalid"),
        ("bad-name", "validation_match_invalid"),
        ("posts_via_tags", "validation_found_via"),
        ("POSTS_VIA_tags", "validation_found_via"),
        ("x_via_!", "validation_found_via"),  # PocketBase looks for _via_ before the format
        ("USERS", "validation_collection_name_exists"),  # unique in any case
        ("_pb_users_auth_", "validation_collection_name_id_duplicate"),
        ("_collections", "validation_collection_name_invalid"),
        ("sqlite_stat1", "validation_collection_name_invalid"),
        ("_params", "validation_collection_name_invalid"),
        ("_kbChanges", "validation_collection_name_invalid"),  # the sync log, in any case
        ("_KBROWCOUNTS", "validation_collection_name_invalid"),  # PostgreSQL's row counts
    ],
)
def test_bad_names(name: str, expected: str) -> None:
    assert code(errors_of({"name": name}), "name") == expected


def test_name_messages() -> None:
    assert errors_of({"name": "USERS"})["name"] == {
        "code": "validation_collection_name_exists",
        "message": "Collection name must be unique (case insensitive).",
    }
    assert errors_of({"name": "x" * 256})["name"]["params"] == {"max": 255}
    assert errors_of({"name": "x" * 255}) == {}


def test_system_collections_keep_their_names() -> None:
    users = schema().get("_superusers")
    assert users is not None
    errors = update_errors(users, {"name": "admins"}, schema())
    assert code(errors, "name") == "validation_collection_system_name_change"
    # an ordinary collection may be renamed, also to a name only differing in case
    current = schema(POSTS)
    posts = current.get("posts")
    assert posts is not None
    assert update_errors(posts, {"name": "Posts"}, current) == {}


def test_ids() -> None:
    assert code(errors_of({**POSTS, "id": "_pb_users_auth_"}), "id") == (
        "validation_invalid_or_existing_id"
    )
    assert code(errors_of({**POSTS, "id": "bad id"}), "id") == "validation_invalid_or_existing_id"
    assert errors_of({**POSTS, "id": "my_posts_1"}) == {}


def test_type_cannot_change() -> None:
    current = schema(POSTS)
    posts = current.get("posts")
    assert posts is not None
    changed = collection_from_json({**POSTS, "type": "auth"})
    changed.id = posts.id
    errors = validate_collection(changed, posts, current, DIALECT)
    assert code(errors, "type") == "validation_collection_type_change"


# Fields ------------------------------------------------------------------------------------


def field_errors(*fields: dict[str, Any], kind: str = "base") -> Any:
    return errors_of({"name": "things", "type": kind, "fields": list(fields)}).get("fields")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("", "validation_required"),
        ("x" * 101, "validation_length_too_long"),
        ("a b", "validation_match_invalid"),
        ("a.b", "validation_match_invalid"),
        ("expand", "validation_not_in_invalid"),
        ("collectionId", "validation_not_in_invalid"),
        ("collectionName", "validation_not_in_invalid"),
        ("null", "validation_not_in_invalid"),
        ("true", "validation_not_in_invalid"),
        ("_rowid_", "validation_not_in_invalid"),
        ("a_via_b", "validation_found_via"),
    ],
)
def test_bad_field_names(name: str, expected: str) -> None:
    # fields are keyed by position; 0 is the id field every collection gets
    assert code(field_errors({"name": name, "type": "text"}), "1", "name") == expected


def test_auth_collections_reserve_password_confirmations() -> None:
    for name in ("passwordConfirm", "oldPassword"):
        errors = field_errors({"name": name, "type": "text"}, kind="auth")
        assert errors is not None
        position = next(iter(errors))
        assert code(errors, position, "name") == "validation_not_in_invalid"
    assert field_errors({"name": "passwordConfirm", "type": "text"}) is None


def test_duplicated_field_names_in_any_case() -> None:
    errors = field_errors({"name": "title", "type": "text"}, {"name": "TITLE", "type": "text"})
    assert errors == {
        "2": {
            "name": {
                "code": "validation_duplicated_field_name",
                "message": "Duplicated or invalid field name TITLE.",
                "params": {"fieldName": "TITLE"},
            }
        }
    }


def test_a_field_definition_error_is_keyed_by_position() -> None:
    errors = field_errors({"name": "n", "type": "number", "min": 5, "max": 1})
    assert code(errors, "1", "max") == "validation_min_greater_equal_than_required"


def test_the_id_field_is_required() -> None:
    collection = collection_from_json(POSTS)
    collection.fields = [f for f in collection.fields if f.name != "id"]
    collection.reindex()
    errors = validate_collection(collection, None, schema(), DIALECT)
    assert errors["fields"] == {
        "code": "validation_missing_primary_key",
        "message": 'Missing or invalid "id" PK field.',
    }


def test_relations() -> None:
    missing = field_errors({"name": "r", "type": "relation", "collectionId": "nope"})
    assert code(missing, "1", "collectionId") == "validation_field_relation_missing_collection"
    # a relation to the collection itself, which does not exist yet
    assert errors_of({"name": "posts", "id": "posts_id", "fields": [
        {"name": "parent", "type": "relation", "collectionId": "posts_id"}]}) == {}  # fmt: skip
    view = {"name": "names", "type": "view", "viewQuery": "select id from users"}
    to_view = errors_of(
        {"name": "x", "fields": [{"name": "r", "type": "relation", "collectionId": "names"}]},
        schema(view),
    )
    assert to_view["fields"] != {}  # "names" is its name, not its id
    view_id = collection_from_json(view).id
    to_view = errors_of(
        {"name": "x", "fields": [{"name": "r", "type": "relation", "collectionId": view_id}]},
        schema(view),
    )
    assert code(to_view, "fields", "1", "collectionId") == (
        "validation_relation_field_non_view_base_collection"
    )


def test_changes_to_existing_fields() -> None:
    current = schema(POSTS)
    posts = current.get("posts")
    assert posts is not None
    fields = [f.to_json() for f in posts.fields]
    # the relation may not point elsewhere
    moved = [*fields[:2], {**fields[2], "collectionId": "_pb_users_auth_x"}]
    assert "fields" in update_errors(posts, {"fields": moved}, current)
    retargeted = [*fields[:2], {**fields[2], "collectionId": "pbc_3142635823"}]  # _superusers
    errors = update_errors(posts, {"fields": retargeted}, current)
    assert code(errors, "fields", "2", "collectionId") == "validation_field_relation_change"


def test_a_field_type_cannot_change() -> None:
    """PocketBase (ensureNoFieldsTypeChange) keys the error by the field's position."""
    current = schema(POSTS)
    posts = current.get("posts")
    assert posts is not None
    fields = [f.to_json() for f in posts.fields]
    fields[1] = {**fields[1], "type": "number"}
    errors = update_errors(posts, {"fields": fields}, current)
    assert errors["fields"] == {
        "1": {"code": "validation_field_type_change", "message": "Field type cannot be changed."}
    }


def test_system_fields_are_neither_removed_nor_renamed() -> None:
    """PocketBase (ensureNoSystemFieldsChange) answers for the fields as a whole."""
    current = schema()
    expected = {
        "code": "validation_system_field_change",
        "message": "System fields cannot be deleted or renamed.",
    }
    mfas = current.get("_mfas")
    assert mfas is not None
    removed = [f.to_json() for f in mfas.fields if f.name != "method"]
    assert update_errors(mfas, {"fields": removed}, current)["fields"] == expected
    users = current.get("users")
    assert users is not None
    fields = [f.to_json() for f in users.fields]
    renamed = [{**f, "name": "mail"} if f["name"] == "email" else f for f in fields]
    assert update_errors(users, {"fields": renamed}, current)["fields"] == expected
    # an auth collection's system fields come back when left out
    without = [f for f in fields if f["name"] != "email"]
    assert update_errors(users, {"fields": without}, current) == {}


# Indexes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indexes", "expected"),
    [
        (["not an index"], {"0": "validation_invalid_index_expression"}),
        (["CREATE INDEX idx_a ON posts (nope)"], {"0": "validation_invalid_index_expression"}),
        (["CREATE INDEX idx_a ON posts (title)", "CREATE INDEX IDX_A ON posts (author)"],
         {"1": "validation_duplicated_index_name"}),
        (["CREATE INDEX idx_a ON posts (title)", "CREATE INDEX idx_b ON posts (title)"],
         {"1": "validation_duplicated_index_definition"}),
        (["CREATE INDEX idx_otps_collectionRef_recordRef ON posts (title)"],
         {"0": "validation_existing_index_name"}),
    ],
)  # fmt: skip
def test_bad_indexes(indexes: list[str], expected: dict[str, str]) -> None:
    errors = errors_of({**POSTS, "indexes": indexes})
    assert {k: v["code"] for k, v in errors["indexes"].items()} == expected


def test_good_indexes() -> None:
    indexes = [
        "CREATE UNIQUE INDEX idx_a ON posts (title) WHERE title != ''",
        "CREATE INDEX idx_b ON posts (lower(title), `author`)",  # expressions are SQL's to judge
        "CREATE INDEX idx_c ON posts (title COLLATE NOCASE DESC)",
    ]
    assert errors_of({**POSTS, "indexes": indexes}) == {}


def test_an_index_name_used_by_another_collection_is_named() -> None:
    errors = errors_of(
        {**POSTS, "indexes": ["CREATE INDEX idx_email__pb_users_auth_ ON posts (title)"]}
    )
    assert errors["indexes"]["0"]["params"] == {"usedTableName": "users"}


# Views --------------------------------------------------------------------------------------


def test_views_have_no_indexes_and_their_fields_are_not_checked() -> None:
    view = {"name": "v", "type": "view", "viewQuery": "select id from users"}
    errors = errors_of({**view, "indexes": ["CREATE INDEX idx_v ON v (id)"]})
    assert errors["indexes"] == {
        "code": "validation_indexes_not_supported",
        "message": "View collections don't support indexes.",
    }
    # a view's fields are read from its query by the service: no id field needed here
    bare = collection_from_json(view)
    bare.fields = []
    assert validate_collection(bare, None, schema(), DIALECT) == {}


def test_views_take_no_write_rules() -> None:
    view = collection_from_json(
        {"name": "v", "type": "view", "viewQuery": "select id from users", "createRule": ""}
    )
    assert (view.createRule, view.updateRule, view.deleteRule) == (None, None, None)


# Rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ("nope = 1", 'invalid left operand "nope" - unknown field "nope"'),
        ("author.nope = 1", 'unknown field "nope"'),
        ("title ==== 1", ""),
        ("@collection.nope.id = 1", "failed to load collection 'nope'"),
        ("@request.nope = 1", "failed to resolve field '@request.nope'"),
    ],
)
def test_rules_that_do_not_compile(rule: str, message: str) -> None:
    errors = errors_of({**POSTS, "listRule": rule, "deleteRule": rule})
    for name in ("listRule", "deleteRule"):
        assert errors[name]["code"] == "validation_invalid_rule"
        assert errors[name]["message"].startswith("Invalid rule. Raw error: ")
        assert message in errors[name]["message"]


def test_rules_that_compile() -> None:
    rules = {
        "listRule": "",
        "viewRule": "author = @request.auth.id || @request.auth.collectionName = '_superusers'",
        "createRule": "@request.body.title:isset = true && @request.body.author = @request.auth.id",
        "updateRule": "@collection.posts.title ?= title",  # the collection itself
        "deleteRule": None,
    }
    assert errors_of({**POSTS, **rules}) == {}


def test_auth_rules() -> None:
    members = {"name": "members", "type": "auth"}
    errors = errors_of({**members, "authRule": "nope = 1", "manageRule": ""})
    assert code(errors, "authRule") == "validation_invalid_rule"
    assert errors["manageRule"] == {
        "code": "validation_nil_or_not_empty_required",
        "message": "Cannot be blank.",
    }
    assert errors_of({**members, "authRule": "verified = true", "manageRule": None}) == {}


def test_identity_fields_need_a_unique_index() -> None:
    members: dict[str, Any] = {
        "name": "members",
        "type": "auth",
        "fields": [{"name": "handle", "type": "text"}],
        "passwordAuth": {"enabled": True, "identityFields": ["email", "handle"]},
    }
    errors = errors_of(members)
    assert errors["passwordAuth"] == {
        "identityFields": {
            "1": {
                "code": "validation_missing_unique_constraint",
                "message": "The field handle doesn't have a UNIQUE constraint.",
                "params": {"fieldName": "handle"},
            }
        }
    }
    unique = {**members, "indexes": ["CREATE UNIQUE INDEX idx_handle ON members (handle)"]}
    assert errors_of(unique) == {}


@pytest.mark.parametrize(("duration", "expected"), [(9, "validation_min_greater_equal_than_required"),
                                                    (94670857, "validation_max_less_equal_than_required")])  # fmt: skip
def test_token_durations(duration: int, expected: str) -> None:
    errors = errors_of({"name": "members", "type": "auth", "authToken": {"duration": duration}})
    assert code(errors, "authToken", "duration") == expected
