"""An `editor` field edited as rich text in the record panel, its editor fetched only then."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


def test_bold_text_typed_in_the_editor_is_saved_as_html(page: Any, node: Node) -> None:
    name = "rich_text_posts"
    node.post("/api/collections", {
        "name": name, "type": "base", "listRule": None,
        "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"}],
    })  # fmt: skip
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.resource_type == "script" else None)
    try:
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} base", exact=True).click()
        expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()
        before = len(scripts)
        page.get_by_role("button", name="New record").click()
        dialog = page.get_by_role("dialog")
        area = dialog.get_by_role("textbox", name=re.compile(r"^body\b"))
        expect(area).to_be_visible()
        # The editor's chunk is fetched when the panel opens, not before.
        assert set(scripts[before:]) - set(scripts[:before]), scripts

        dialog.get_by_label("title").fill("first")
        area.click()
        page.keyboard.type("plain and ")
        bold = dialog.get_by_role("button", name="Bold", exact=True)
        bold.click()
        expect(bold).to_have_attribute("aria-pressed", "true")
        page.keyboard.type("strong words")
        # The panel with its editor and toolbar (and the pinned collections sidebar) passes axe-core.
        assert accessibility_problems(page) == []
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()

        items = node.api.get(f"/api/collections/{name}/records").json()["items"]
        assert len(items) == 1
        body = items[0]["body"]
        assert re.search(r"<(strong|b)>strong words</(strong|b)>", body), body
        assert body == "<p>plain and <strong>strong words</strong></p>", body

        # Opened again, the saved HTML is shown formatted.
        page.get_by_role("cell", name="first", exact=True).click()
        area = page.get_by_role("dialog").get_by_role("textbox", name=re.compile(r"^body\b"))
        expect(area.locator("strong")).to_have_text("strong words")
    finally:
        node.api.delete(f"/api/collections/{name}")


def test_an_untouched_editor_value_is_saved_unchanged(page: Any, node: Node) -> None:
    # A table: markup the editor cannot represent, so loading it must not rewrite the value.
    html = '<table class="t"><tr><td>kept</td></tr></table><p style="color: red">as is</p>'
    name = "rich_text_kept"
    node.post("/api/collections", {
        "name": name, "type": "base", "listRule": None,
        "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"}],
    })  # fmt: skip
    try:
        record = node.post(f"/api/collections/{name}/records", {"title": "old", "body": html})
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} base", exact=True).click()
        page.get_by_role("cell", name="old", exact=True).click()
        dialog = page.get_by_role("dialog")
        area = dialog.get_by_role("textbox", name=re.compile(r"^body\b"))
        expect(area).to_contain_text("kept")
        dialog.get_by_label("title").fill("new")
        dialog.get_by_role("button", name="Save changes").click()
        expect(dialog).to_be_hidden()
        saved = node.api.get(f"/api/collections/{name}/records/{record['id']}").json()
        assert (saved["title"], saved["body"]) == ("new", html)
    finally:
        node.api.delete(f"/api/collections/{name}")
