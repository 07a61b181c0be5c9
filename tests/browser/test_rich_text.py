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
    # A table's class and a paragraph's style: markup the editor drops, so loading it must not rewrite the value.
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


def test_a_link_and_an_image_made_in_the_toolbar_are_saved_in_the_html(
    page: Any, node: Node
) -> None:
    name = "dash16d_rich_links"
    node.post("/api/collections", {
        "name": name, "type": "base", "listRule": None,
        "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"}],
    })  # fmt: skip
    try:
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} base", exact=True).click()
        page.get_by_role("button", name="New record").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("title").fill("linked")
        area = dialog.get_by_role("textbox", name=re.compile(r"^body\b"))
        area.click()
        page.keyboard.type("read the docs")
        # Select "docs" (the last 4 characters), then Link: an address, Enter (not the form's submit).
        for _ in range(4):
            page.keyboard.press("Shift+ArrowLeft")
        dialog.get_by_role("button", name="Link", exact=True).click()
        address = dialog.get_by_label("Link address")
        address.fill("https://example.com/docs")
        address.press("Enter")
        expect(area.get_by_role("link", name="docs")).to_have_attribute(
            "href", "https://example.com/docs"
        )
        expect(dialog.get_by_role("button", name="Link", exact=True)).to_have_attribute(
            "aria-pressed", "true"
        )
        # An image by its address, after the text.
        page.keyboard.press("End")
        dialog.get_by_role("button", name="Image", exact=True).click()
        dialog.get_by_label("Image address").fill("https://example.com/cat.png")
        dialog.get_by_role("button", name="Insert image").click()
        expect(dialog.get_by_text("Describe the image")).to_be_visible()  # no alt text yet
        dialog.get_by_label("Image description").fill("a cat")
        dialog.get_by_role("button", name="Insert image").click()
        expect(area.get_by_role("img", name="a cat")).to_have_attribute(
            "src", "https://example.com/cat.png"
        )
        assert accessibility_problems(page) == []
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()

        (item,) = node.api.get(f"/api/collections/{name}/records").json()["items"]
        body = item["body"]
        assert re.fullmatch(
            r'<p>read the <a href="https://example\.com/docs"[^>]*>docs</a>'
            r'<img src="https://example\.com/cat\.png" alt="a cat"></p>',
            body,
        ), body
    finally:
        node.api.delete(f"/api/collections/{name}")


def test_a_table_made_in_the_toolbar_is_saved_and_shown_again(page: Any, node: Node) -> None:
    name = "dash16d_rich_tables"
    node.post("/api/collections", {
        "name": name, "type": "base", "listRule": None,
        "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"}],
    })  # fmt: skip
    try:
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} base", exact=True).click()
        page.get_by_role("button", name="New record").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_label("title").fill("tabled")
        area = dialog.get_by_role("textbox", name=re.compile(r"^body\b"))
        area.click()
        page.keyboard.type("prices")
        page.keyboard.press("Enter")
        dialog.get_by_role("button", name="Table", exact=True).click()
        # In a cell the toolbar offers rows and columns; Tab goes to the next cell.
        expect(dialog.get_by_role("button", name="Add row")).to_be_visible()
        for text in ("tea", "2", "cake"):
            page.keyboard.type(text)
            page.keyboard.press("Tab")
        page.keyboard.type("3")
        dialog.get_by_role("button", name="Add row").click()
        expect(area.locator("tr")).to_have_count(3)
        dialog.get_by_role("button", name="Add column").click()
        expect(area.locator("tr").first.locator("td")).to_have_count(3)
        # The cursor stays in its cell; Tab goes into the new column, which is then deleted.
        page.keyboard.press("Tab")
        dialog.get_by_role("button", name="Delete column").click()
        expect(area.locator("tr").first.locator("td")).to_have_count(2)
        assert accessibility_problems(page) == []
        dialog.get_by_role("button", name="Create").click()
        expect(dialog).to_be_hidden()

        (item,) = node.api.get(f"/api/collections/{name}/records").json()["items"]
        body = item["body"]
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", body)
        assert body.startswith("<p>prices</p><table"), body
        assert cells == ["tea", "2", "cake", "3", "", ""], body

        page.get_by_role("cell", name="tabled", exact=True).click()
        area = page.get_by_role("dialog").get_by_role("textbox", name=re.compile(r"^body\b"))
        expect(area.locator("td")).to_have_text(["tea", "2", "cake", "3", "", ""])
    finally:
        node.api.delete(f"/api/collections/{name}")
