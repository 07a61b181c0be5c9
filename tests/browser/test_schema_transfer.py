"""Settings → Export collections and Import collections: the JSON, the diff shown before an
import, and the import itself (with and without deleting what is missing), through the API."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def names(node: Node) -> Iterator[tuple[str, str, str]]:
    stamp = int(time.time() * 1000)
    made = (f"xfer_a_{stamp}", f"xfer_b_{stamp}", f"xfer_new_{stamp}")
    for name in made[:2]:
        node.post(
            "/api/collections",
            {
                "name": name,
                "type": "base",
                "fields": [
                    {"name": "title", "type": "text", "max": 10},
                    {"name": "old", "type": "number"},
                ],
            },
        )
    yield made
    for name in made:
        node.api.delete(f"/api/collections/{name}")


def _open(page: Any, node: Node, title: str) -> None:
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings pages").get_by_role("link", name=title).click()


def test_export_shows_and_downloads_the_schema(
    page: Any, node: Node, names: tuple[str, str, str], tmp_path: Path
) -> None:
    _open(page, node, "Export collections")
    box = page.get_by_label("Exported collections (JSON)")
    shown = json.loads(box.input_value())
    api = node.api.get("/api/collections", params={"perPage": 500}).json()["items"]
    assert sorted(c["name"] for c in shown) == sorted(c["name"] for c in api)
    assert all("created" not in c and "updated" not in c for c in shown)

    # Only the chosen collections are exported.
    page.get_by_role("checkbox", name="All", exact=True).uncheck()
    page.get_by_role("checkbox", name=names[0], exact=True).check()
    assert [c["name"] for c in json.loads(box.input_value())] == [names[0]]
    with page.expect_download() as started:
        page.get_by_role("button", name="Download JSON").click()
    saved = tmp_path / "schema.json"
    started.value.save_as(saved)
    exported = json.loads(saved.read_text())
    assert exported[0]["name"] == names[0]
    assert exported[0]["fields"] == node.api.get(f"/api/collections/{names[0]}").json()["fields"]
    assert accessibility_problems(page) == []


def test_import_shows_the_diff_then_applies_it(
    page: Any, node: Node, names: tuple[str, str, str]
) -> None:
    first, second, new = names
    a = node.api.get(f"/api/collections/{first}").json()
    # Changed: a rule, one field's option; added: a field; "old" left out (kept unless deleteMissing).
    a["listRule"] = 'title != ""'
    a["fields"] = [f for f in a["fields"] if f["name"] != "old"]
    next(f for f in a["fields"] if f["name"] == "title")["max"] = 20
    a["fields"].append({"name": "summary", "type": "text"})
    added = {"name": new, "type": "base", "fields": [{"name": "label", "type": "text"}]}

    _open(page, node, "Import collections")
    box = page.get_by_label("Collections (JSON)")
    box.fill("[not json")
    page.get_by_role("button", name="Review changes").click()
    expect(page.get_by_role("alert")).to_contain_text("Not valid JSON")

    box.fill(json.dumps([a, added]))
    page.get_by_role("button", name="Review changes").click()
    diff = page.get_by_role("region", name="What the import changes")
    expect(diff.get_by_role("listitem").filter(has_text=f"Added collection {new}")).to_have_count(1)
    changed = diff.get_by_role("listitem").filter(has_text=f"Changed collection {first}")
    expect(changed).to_contain_text("Added field summary (text)")
    expect(changed).to_contain_text("Changed field title")
    expect(changed).to_contain_text("max: 10 → 20")
    expect(changed).to_contain_text('listRule: null → "title != \\"\\""')
    expect(changed).not_to_contain_text("Deleted field")
    expect(diff).not_to_contain_text("Deleted collection")
    assert node.api.get(f"/api/collections/{new}").status_code == 404  # nothing sent yet
    assert accessibility_problems(page) == []

    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status")).to_have_text("Collections imported.")
    after = node.api.get(f"/api/collections/{first}").json()
    fields = {f["name"]: f for f in after["fields"]}
    assert after["listRule"] == 'title != ""'
    assert fields["title"]["max"] == 20 and "summary" in fields and "old" in fields
    assert node.api.get(f"/api/collections/{new}").status_code == 200

    # With "delete missing": everything as it is now but the second collection and a field.
    everything = node.api.get("/api/collections", params={"perPage": 500}).json()["items"]
    kept = [c for c in everything if c["name"] != second]
    for c in kept:
        if c["name"] == first:
            # "old" left out, and the other two fields swapped.
            by_name = {f["name"]: f for f in c["fields"]}
            c["fields"] = [by_name["id"], by_name["summary"], by_name["title"]]
    box.fill(json.dumps(kept))
    page.get_by_label("Delete the collections and fields that are not in the import").check()
    page.get_by_role("button", name="Review changes").click()
    expect(diff.get_by_role("listitem").filter(has_text="Deleted collection")).to_have_text(
        f"Deleted collection {second} and all its records"
    )
    changed = diff.get_by_role("listitem").filter(has_text=f"Changed collection {first}")
    expect(changed).to_contain_text("Deleted field old and its data")
    expect(changed).to_contain_text("field order: id, title, summary → id, summary, title")
    expect(diff.get_by_role("listitem").filter(has_text="Changed collection")).to_have_count(1)
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("status")).to_have_text("Collections imported.")
    assert node.api.get(f"/api/collections/{second}").status_code == 404
    fields = [f["name"] for f in node.api.get(f"/api/collections/{first}").json()["fields"]]
    assert fields == ["id", "summary", "title"]


def test_import_shows_the_apis_refusal(page: Any, node: Node, names: tuple[str, str, str]) -> None:
    _open(page, node, "Import collections")
    bad = {"name": names[2], "type": "base", "fields": [{"name": "x", "type": "nosuchtype"}]}
    page.get_by_label("Collections (JSON)").fill(json.dumps([bad]))
    page.get_by_role("button", name="Review changes").click()
    page.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert node.api.get(f"/api/collections/{names[2]}").status_code == 404
