"""The document builder alone: valid OpenAPI 3.1, unique names, and what each audience sees."""

from __future__ import annotations

from openapi_spec_validator import validate

from keelbase.core.collections.collection import AUTH, VIEW, Collection, id_field
from keelbase.core.collections.schema import Schema
from keelbase.core.fields import FileField, JsonField, NumberField, SelectField, TextField
from keelbase.services.openapi.document import build_document

ROUTES = [("GET", "/api/health"), ("HEAD", "/api/health"), ("POST", "/api/batch"),
          ("GET", "/api/files/{collection}/{record}/{filename:path}"),
          ("GET", "/api/collections/{collection}/records"), ("POST", "/api/hello")]  # fmt: skip


def collection(name: str, cid: str, **options: object) -> Collection:
    fields = [id_field(), TextField(name="title", required=True, max=10)]
    return Collection(id=cid, name=name, fields=fields, listRule="", **options)  # type: ignore[arg-type]


def schema() -> Schema:
    return Schema(
        [
            collection("my_posts", "c1"),
            collection("myPosts", "c2"),
            collection("тест", "c3"),
            Collection(
                id="c4", name="docs", listRule=None, viewRule=None,
                fields=[id_field(), NumberField(name="n", onlyInt=True), JsonField(name="j"),
                        SelectField(name="s", values=["x"], maxSelect=2),
                        FileField(name="f", maxSelect=1)],
            ),
            Collection(id="c5", name="people", type=AUTH, viewRule="", fields=[id_field()]),
            Collection(id="c6", name="titles", type=VIEW, listRule="", fields=[id_field()]),
        ],
        version=3,
    )  # fmt: skip


def test_the_document_is_valid_openapi_3_1_for_both_audiences() -> None:
    for superuser in (False, True):
        doc = build_document(schema(), ROUTES, superuser=superuser, version="t")
        validate(doc)
        ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
        assert len(ids) == len(set(ids))


def test_names_stay_unique_when_collection_names_collide() -> None:
    doc = build_document(schema(), ROUTES, superuser=True, version="t")
    names = set(doc["components"]["schemas"])
    assert {"MyPostsRecord", "MyPosts_C1Record", "Collection_C3Record"} <= names
    listing = doc["paths"]["/api/collections/my_posts/records"]["get"]
    other = doc["paths"]["/api/collections/myPosts/records"]["get"]
    assert listing["operationId"] != other["operationId"]


def test_superuser_only_collections_are_left_out_for_others() -> None:
    guest = build_document(schema(), ROUTES, superuser=False, version="t")
    assert "/api/collections/docs/records" not in guest["paths"]
    assert "DocsRecord" not in guest["components"]["schemas"]
    full = build_document(schema(), ROUTES, superuser=True, version="t")
    docs = full["components"]["schemas"]["DocsCreate"]["properties"]
    assert docs["n"] == {"type": "integer"}
    assert docs["s"] == {"type": "array", "items": {"type": "string", "enum": ["x"]}, "maxItems": 2}
    upload = full["paths"]["/api/collections/docs/records"]["post"]["requestBody"]["content"]
    assert upload["multipart/form-data"]["schema"]["properties"]["f"]["format"] == "binary"


def test_routes_come_from_the_router_and_templates_are_written_per_collection() -> None:
    doc = build_document(schema(), ROUTES, superuser=True, version="t")
    assert "head" not in doc["paths"]["/api/health"]
    assert "/api/files/{collection}/{record}/{filename}" in doc["paths"]
    assert "/api/collections/{collection}/records" not in doc["paths"]
    assert doc["paths"]["/api/hello"]["post"]["tags"] == ["other"]  # a hook's route
    assert "/api/collections/people/auth-with-password" in doc["paths"]
    assert "post" not in doc["paths"]["/api/collections/titles/records"]  # views are read-only
