"""A change saved by someone else while a panel is open is not silently overwritten; the
keyboard shortcuts' help and the "g" shortcuts. In a real browser on a real server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e

NAME = "d16e_notes"


@pytest.fixture
def notes(node: Node) -> Iterator[dict[str, Any]]:
    created = node.post(
        "/api/collections",
        {
            "name": NAME,
            "type": "base",
            "fields": [
                {"name": "body", "type": "text"},
                {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
            ],
        },
    )
    yield created
    node.api.delete(f"/api/collections/{NAME}").raise_for_status()


def open_notes(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("link", name=f"{NAME} base", exact=True).click()
    expect(page.get_by_role("heading", name=NAME, exact=True)).to_be_visible()


def body_of(node: Node, record_id: str) -> str:
    return str(node.api.get(f"/api/collections/{NAME}/records/{record_id}").json()["body"])


def test_a_record_changed_meanwhile_is_not_overwritten_silently(
    page: Any, node: Node, notes: dict[str, Any]
) -> None:
    record = node.post(f"/api/collections/{NAME}/records", {"body": "first"})
    open_notes(page, node)
    page.get_by_role("button", name=f"Open record {record['id']}", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Record {record['id']}")
    expect(dialog.get_by_role("textbox", name="body text", exact=True)).to_have_value("first")

    # Someone else saves meanwhile: the save stops at the warning, nothing is written.
    node.api.patch(f"/api/collections/{NAME}/records/{record['id']}", json={"body": "theirs"})
    dialog.get_by_role("textbox", name="body text", exact=True).fill("mine")
    dialog.get_by_role("button", name="Save changes", exact=True).click()
    alert = dialog.get_by_role("alert").filter(
        has_text="Changed by someone else since you opened it"
    )
    expect(alert).to_be_visible()
    assert body_of(node, record["id"]) == "theirs"
    assert accessibility_problems(page) == []

    # Save anyway overwrites it.
    alert.get_by_role("button", name="Save anyway", exact=True).click()
    expect(dialog).to_be_hidden()
    assert body_of(node, record["id"]) == "mine"

    # Reload shows the other's value, and a save after it goes through without a warning.
    page.get_by_role("button", name=f"Open record {record['id']}", exact=True).click()
    expect(dialog.get_by_role("textbox", name="body text", exact=True)).to_have_value("mine")
    node.api.patch(f"/api/collections/{NAME}/records/{record['id']}", json={"body": "theirs again"})
    dialog.get_by_role("textbox", name="body text", exact=True).fill("mine again")
    dialog.get_by_role("button", name="Save changes", exact=True).click()
    expect(alert).to_be_visible()
    alert.get_by_role("button", name="Reload", exact=True).click()
    expect(alert).to_be_hidden()
    expect(dialog.get_by_role("textbox", name="body text", exact=True)).to_have_value(
        "theirs again"
    )
    dialog.get_by_role("textbox", name="body text", exact=True).fill("after reload")
    dialog.get_by_role("button", name="Save changes", exact=True).click()
    expect(dialog).to_be_hidden()
    assert body_of(node, record["id"]) == "after reload"


def test_a_collection_changed_meanwhile_is_not_overwritten_silently(
    page: Any, node: Node, notes: dict[str, Any]
) -> None:
    open_notes(page, node)
    page.get_by_role("button", name="Edit collection", exact=True).click()
    dialog = page.get_by_role("dialog", name=f"Edit collection {NAME}")
    rule = dialog.get_by_role("combobox", name="List/Search rule", exact=True)
    expect(rule).to_be_disabled()  # superusers only, as created
    node.api.patch(f"/api/collections/{NAME}", json={"listRule": "body != ''"}).raise_for_status()
    dialog.get_by_role("button", name="Save collection", exact=True).click()
    alert = dialog.get_by_role("alert").filter(
        has_text="Changed by someone else since you opened it"
    )
    expect(alert).to_be_visible()
    alert.get_by_role("button", name="Reload", exact=True).click()
    expect(rule).to_have_value("body != ''")
    dialog.get_by_role("button", name="Save collection", exact=True).click()
    expect(dialog).to_be_hidden()
    assert node.api.get(f"/api/collections/{NAME}").json()["listRule"] == "body != ''"


def test_shortcuts_help_and_go_to_sections(page: Any, node: Node, notes: dict[str, Any]) -> None:
    open_notes(page, node)
    page.locator("body").press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts", exact=True)
    expect(help_dialog).to_be_visible()
    table = help_dialog.get_by_role("table", name="Keyboard shortcuts", exact=True)
    for keys, does in [
        ("?", "Show this list of shortcuts"),
        ("/", "Records: focus the filter"),
        ("n", "Records: new record"),
        ("Enter", "Records: open the focused row"),
        ("Escape", "Close the open panel or dialog"),
        ("g then c", "Go to Collections"),
        ("g then l", "Go to Logs"),
        ("g then s", "Go to Settings"),
    ]:
        expect(table.get_by_role("row", name=f"{keys} {does}", exact=True)).to_be_visible()
    expect(help_dialog.get_by_role("button", name="Close", exact=True)).to_be_focused()
    assert accessibility_problems(page) == []
    # The records page's own keys wait while the help is open.
    page.keyboard.press("n")
    expect(page.get_by_role("dialog", name=f"New {NAME} record")).to_have_count(0)
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("g")
    page.keyboard.press("l")
    expect(page).to_have_url(node.url + "/_/#/logs")
    page.keyboard.press("g")
    page.keyboard.press("s")
    expect(page).to_have_url(node.url + "/_/#/settings")
    page.keyboard.press("g")
    page.keyboard.press("c")
    # the collections page opens its first collection as soon as the list is in
    expect(page).to_have_url(re.compile(re.escape(node.url + "/_/#/collections") + r"(/[^/]+)?$"))
    # Not while typing: "g" and "l" in a field stay text.
    page.get_by_role("link", name=f"{NAME} base", exact=True).click()
    page.get_by_label("Filter").press("g")
    page.get_by_label("Filter").press("l")
    expect(page.get_by_label("Filter")).to_have_value("gl")
    expect(page).to_have_url(node.url + f"/_/#/collections/{NAME}")
    # "?" typed in a field is text too.
    page.get_by_label("Filter").press("?")
    expect(help_dialog).to_have_count(0)
