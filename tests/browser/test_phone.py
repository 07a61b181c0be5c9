"""The dashboard on a phone-sized screen (390x844): signed in, collections and records opened
through the menu, and no page wider than the screen."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, Node

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.set_default_timeout(5000)
    opened = context.new_page()
    yield opened
    opened.screenshot(path=str(tmp_path / "last.png"))
    context.close()


@pytest.fixture
def notes(node: Node) -> Iterator[str]:
    name = f"phone_notes_{int(time.time() * 1000)}"
    node.post(
        "/api/collections",
        {
            "name": name,
            "type": "base",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "body", "type": "text"},
                {"name": "score", "type": "number"},
            ],
        },
    )
    node.post(
        f"/api/collections/{name}/records",
        {"title": "a rather long title " * 4, "body": "x" * 300, "score": 1},
    )
    yield name
    node.api.delete(f"/api/collections/{name}")


def _no_horizontal_overflow(page: Any) -> None:
    # The page never scrolls sideways; wide tables scroll inside their own box.
    widths = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert widths[0] <= widths[1], widths


def test_phone_sized_screen(phone: Any, node: Node, notes: str) -> None:
    page = phone
    page.goto(node.url + "/_/")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    # Signed in, the first collection's records are shown (the route settles first).
    expect(page).to_have_url(re.compile(r"#/collections/.+"))
    menu = page.get_by_role("button", name="Menu")
    expect(menu).to_have_attribute("aria-expanded", "false")
    _no_horizontal_overflow(page)

    # The sections sit behind the menu button; a choice closes it.
    sections = page.get_by_role("navigation", name="Sections")
    expect(sections).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    _no_horizontal_overflow(page)
    for section in ("Settings", "Logs", "Health"):
        if section != "Settings":
            menu.click()
        sections.get_by_role("link", name=section).click()
        expect(sections).to_be_hidden()
        expect(page).to_have_url(re.compile("#/" + section.lower() + "$"))
        page.wait_for_load_state("networkidle")
        _no_horizontal_overflow(page)

    # Collections: the list behind its own toggle; a choice opens the records and closes it.
    menu.click()
    sections.get_by_role("link", name="Collections").click()
    expect(page).to_have_url(re.compile(r"#/collections/.+"))
    toggle = page.get_by_role("button", name=re.compile("^Collections: "))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    link = page.get_by_role("navigation", name="Collections").get_by_role(
        "link", name=re.compile("^" + notes + r"\b")
    )
    link.click()
    expect(page.get_by_role("heading", name=notes)).to_be_visible()
    expect(link).to_be_hidden()
    # The records start right under the bars, not a screen further down.
    assert page.get_by_role("heading", name=notes).bounding_box()["y"] < 200
    grid = page.get_by_role("table").first
    expect(grid.get_by_role("row")).to_have_count(2)  # header and the record
    _no_horizontal_overflow(page)
    for name in ("New record", "Export CSV", "Apply filter"):
        expect(page.get_by_role("button", name=name)).to_be_in_viewport()

    # A record opens in a panel that fits the screen.
    grid.get_by_role("row").nth(1).click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    box = dialog.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    _no_horizontal_overflow(page)
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
