"""Create, edit and delete a collection in the dashboard; the API's errors shown next to their inputs."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in

pytestmark = pytest.mark.e2e


def test_create_edit_and_delete_a_collection(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("notes")

    # The scaffold's id field is shown as a system field; created and updated come with it.
    expect(dialog.get_by_text("id text · system")).to_be_visible()
    dialog.get_by_role("button", name="Add field").click()
    body = dialog.get_by_role("group", name="Field 4")
    body.get_by_label("Field name").fill("body")
    body.get_by_label("Required").check()
    dialog.get_by_role("button", name="Add field").click()
    tag = dialog.get_by_role("group", name="Field 5")
    tag.get_by_label("Field type").select_option("select")
    tag.get_by_label("Choices (comma separated)").fill("red, green")

    # A rule naming an unknown field, and a nameless field: both refused by the API, shown in place.
    dialog.get_by_label("Superusers only (List/Search rule)").uncheck()
    dialog.get_by_role("textbox", name="List/Search rule").fill("nonexistent = 1")
    dialog.get_by_role("button", name="Create collection").click()
    expect(dialog.locator("#rule-listRule-error")).to_contain_text("unknown field")
    expect(tag.get_by_label("Field name")).to_have_attribute("aria-invalid", "true")
    assert node.api.get("/api/collections/notes").status_code == 404

    dialog.get_by_role("textbox", name="List/Search rule").fill('body != ""')
    tag.get_by_label("Field name").fill("tag")
    dialog.get_by_role("button", name="Create collection").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="notes")).to_be_visible()
    created = node.api.get("/api/collections/notes").json()
    fields = {f["name"]: f for f in created["fields"]}
    assert fields["body"]["type"] == "text" and fields["body"]["required"] is True
    assert fields["tag"]["values"] == ["red", "green"]
    assert created["listRule"] == 'body != ""'
    assert created["createRule"] is None

    # Edit: open the create rule to everyone.
    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_label("Superusers only (Create rule)").uncheck()
    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog).to_be_hidden()
    assert node.api.get("/api/collections/notes").json()["createRule"] == ""

    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_role("button", name="Delete collection").click()
    dialog.get_by_role("button", name="Yes, delete the collection and its records").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="notes")).to_have_count(0)
    assert node.api.get("/api/collections/notes").status_code == 404
