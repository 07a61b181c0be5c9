"""Suggestions in the records filter and the API rules (ARIA combobox): fields, relation paths,
operators, @request.*, @collection.*, macros and modifiers, all by keyboard."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def schema(node: Node) -> Iterator[tuple[str, str]]:
    stamp = int(time.time() * 1000)
    authors, posts = f"ac_authors_{stamp}", f"ac_posts_{stamp}"
    made = node.post(
        "/api/collections",
        {"name": authors, "type": "base", "fields": [{"name": "nickname", "type": "text"}]},
    )
    node.post(
        "/api/collections",
        {
            "name": posts,
            "type": "base",
            "listRule": "",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "writer", "type": "relation", "collectionId": made["id"], "maxSelect": 1},
            ],
        },
    )
    yield authors, posts
    node.api.delete(f"/api/collections/{posts}")
    node.api.delete(f"/api/collections/{authors}")


def _option(page: Any, value: str) -> Any:
    # An option's name is its value, then a hint (the field type, "macro", ...).
    return page.get_by_role("listbox", name="Suggestions").get_by_role(
        "option", name=re.compile("^" + re.escape(value) + r"(\s|$)")
    )


def test_filter_suggests_fields_paths_and_operators(
    page: Any, node: Node, schema: tuple[str, str]
) -> None:
    _authors, posts = schema
    sign_in(page, node)
    page.get_by_role("navigation", name="Collections").get_by_role(
        "link", name=re.compile("^" + posts + r"\b")
    ).click()
    box = page.get_by_role("combobox", name="Filter")
    box.press_sequentially("tit")
    expect(box).to_have_attribute("aria-expanded", "true")
    expect(_option(page, "title")).to_be_visible()
    expect(_option(page, "writer")).to_have_count(0)  # filtered by what is typed
    # Nothing is highlighted until an arrow key; then Enter takes it.
    expect(box).not_to_have_attribute("aria-activedescendant", re.compile("."))
    box.press("ArrowDown")
    expect(_option(page, "title")).to_have_attribute("aria-selected", "true")
    box.press("Enter")
    expect(box).to_have_value("title")
    expect(box).to_have_attribute("aria-expanded", "false")

    # After a name and a space come the operators.
    box.press_sequentially(" ")
    expect(_option(page, "~")).to_be_visible()
    assert accessibility_problems(page) == []
    box.press("ArrowDown")
    box.press("Enter")
    expect(box).to_have_value("title = ")
    box.press_sequentially('"x" ')
    box.press("ArrowDown")
    box.press("ArrowUp")  # wraps to the last operator, "||"
    box.press("Tab")
    expect(box).to_have_value('title = "x" || ')

    # A relation path, one dot at a time: "writer." then the related collection's fields.
    box.press_sequentially("wri")
    expect(_option(page, "writer.")).to_be_visible()
    _option(page, "writer.").click()
    expect(box).to_have_value('title = "x" || writer.')
    expect(_option(page, "writer.nickname")).to_be_visible()
    box.press_sequentially("nick")
    box.press("ArrowDown")
    box.press("Enter")
    expect(box).to_have_value('title = "x" || writer.nickname')

    # Escape closes the list only; Enter applies the filter.
    box.press_sequentially(' = "a" && title != @to')
    expect(_option(page, "@todayStart")).to_be_visible()
    box.press("Escape")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("dayStart")
    expect(box).to_have_value('title = "x" || writer.nickname = "a" && title != @todayStart')
    with page.expect_response(lambda r: "filter=" in r.url and posts in r.url) as answered:
        box.press("Enter")
    assert answered.value.status == 200


def test_rules_suggest_request_collection_and_modifiers(
    page: Any, node: Node, schema: tuple[str, str]
) -> None:
    authors, posts = schema
    sign_in(page, node)
    page.get_by_role("navigation", name="Collections").get_by_role(
        "link", name=re.compile("^" + posts + r"\b")
    ).click()
    page.get_by_role("button", name="Edit collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Superusers only (Create rule)").uncheck()
    rule = dialog.get_by_role("combobox", name="Create rule")

    rule.press_sequentially("@req")
    expect(_option(page, "@request.body.")).to_be_visible()
    expect(_option(page, "@request.method")).to_be_visible()
    _option(page, "@request.auth.").click()
    rule.press_sequentially("ema")
    rule.press("ArrowDown")
    rule.press("Enter")
    expect(rule).to_have_value("@request.auth.email")

    rule.press_sequentially(' != "" && @request.body.title:')
    expect(_option(page, "@request.body.title:isset")).to_be_visible()
    _option(page, "@request.body.title:changed").click()
    rule.press_sequentially(" = false && @collection.")
    _option(page, f"@collection.{authors}.").click()
    expect(_option(page, f"@collection.{authors}.nickname")).to_be_visible()
    rule.press_sequentially("ni")
    rule.press("ArrowDown")
    rule.press("Enter")
    # ArrowDown opens the list when nothing is typed yet; Escape closes it, not the panel.
    rule.press_sequentially(" = ")
    rule.press("ArrowDown")
    expect(rule).to_have_attribute("aria-expanded", "true")
    expect(_option(page, "title")).to_be_visible()
    rule.press("Escape")
    expect(rule).to_have_attribute("aria-expanded", "false")
    expect(dialog).to_be_visible()
    rule.press_sequentially("title")
    assert accessibility_problems(page) == []

    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog).to_be_hidden()
    saved = node.api.get(f"/api/collections/{posts}").json()
    assert saved["createRule"] == (
        f'@request.auth.email != "" && @request.body.title:changed = false'
        f" && @collection.{authors}.nickname = title"
    )
