"""An axe-core scan of each page, light and dark: no serious or critical violations."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


def test_every_page_passes_an_accessibility_scan(page: Any, node: Node) -> None:
    assert AXE.is_file(), "axe-core is missing: run `make dashboard` (npm ci in dashboard/)"
    problems = {}
    page.goto(node.url + "/_/#/auth/confirm-password-reset/not-a-token")
    expect(page.get_by_role("button", name="Set new password")).to_be_visible()
    problems["confirm password reset"] = accessibility_problems(page)

    page.goto(node.url + "/_/")
    expect(page.get_by_role("heading", name="Superuser sign in")).to_be_visible()
    problems["sign in"] = accessibility_problems(page)

    sign_in(page, node)
    page.get_by_role("link", name="users auth", exact=True).click()
    expect(page.get_by_role("heading", name="users")).to_be_visible()
    problems["records"] = accessibility_problems(page)

    page.get_by_role("button", name="New record").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    problems["record panel"] = accessibility_problems(page)
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Edit collection").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    # Its parts opened: a field's options, the index builder with its SQL, auth options, a mail preview.
    dialog.locator("summary", has_text="Options of name").click()
    dialog.get_by_role("group", name="Index columns").get_by_label("email", exact=True).check()
    dialog.locator("summary", has_text="Auth options").click()
    dialog.locator("summary", has_text="Verification mail").click()
    dialog.get_by_role("button", name="Preview Verification mail").click()
    dialog.get_by_role("button", name="Truncate collection").click()
    expect(dialog.get_by_role("region", name="Verification mail preview")).to_be_visible()
    problems["collection panel"] = accessibility_problems(page)
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="New collection").click()
    dialog.get_by_label("Type", exact=True).select_option("view")
    dialog.get_by_label("View query (SELECT)").fill("SELECT id, email FROM users")
    expect(dialog.get_by_role("table", name="Preview of the view's records")).to_be_visible()
    problems["collection panel, view"] = accessibility_problems(page)
    dialog.get_by_role("button", name="Close").click()

    sections = page.get_by_role("navigation", name="Sections")
    sections.get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Logs")).to_be_visible()
    problems["logs"] = accessibility_problems(page)

    sections.get_by_role("link", name="Health").click()
    expect(page.get_by_role("table", name="Routes")).to_be_visible()
    problems["health"] = accessibility_problems(page)

    sections.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Application name")).to_be_visible()
    problems["settings"] = accessibility_problems(page)

    # The dark colours, which follow the system's setting.
    page.emulate_media(color_scheme="dark")
    problems["settings, dark"] = accessibility_problems(page)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Collections").click()
    expect(page.get_by_role("button", name="New record")).to_be_visible()
    problems["records, dark"] = accessibility_problems(page)
    box = page.get_by_role("combobox", name="Filter")
    box.press_sequentially("e")
    expect(page.get_by_role("listbox", name="Suggestions")).to_be_visible()
    problems["filter suggestions, dark"] = accessibility_problems(page)
    box.press("Escape")

    page.get_by_role("link", name="Relations diagram").click()
    expect(page.get_by_role("table", name="Relations")).to_be_visible()
    problems["relations diagram, dark"] = accessibility_problems(page)

    sections.get_by_role("link", name="Settings").click()
    for title in ("Superusers", "Export collections", "Import collections"):
        page.get_by_role("navigation", name="Settings pages").get_by_role(
            "link", name=title
        ).click()
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
        problems[title.lower() + ", dark"] = accessibility_problems(page)

    assert {name: found for name, found in problems.items() if found} == {}
