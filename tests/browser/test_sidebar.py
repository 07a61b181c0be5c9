"""The collections sidebar: pinned collections first, kept in the browser across reloads."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in

pytestmark = pytest.mark.e2e


def test_a_pinned_collection_stays_first_after_a_reload(page: Any, node: Node) -> None:
    # "zz" sorts last by name: pinned, it comes first.
    names = ("pin_aa_sidebar", "pin_zz_sidebar")
    for name in names:
        node.post(
            "/api/collections",
            {"name": name, "type": "base", "fields": [{"name": "t", "type": "text"}]},
        )
    try:
        sign_in(page, node)
        nav = page.get_by_role("navigation", name="Collections")
        pin = nav.get_by_role("button", name="Pin pin_zz_sidebar", exact=True)
        expect(pin).to_have_attribute("aria-pressed", "false")
        expect(nav.get_by_role("heading", name="Pinned", exact=True)).to_have_count(0)
        pin.click()

        page.reload()
        nav = page.get_by_role("navigation", name="Collections")
        unpin = nav.get_by_role("button", name="Unpin pin_zz_sidebar", exact=True)
        expect(unpin).to_have_attribute("aria-pressed", "true")
        expect(nav.get_by_role("heading", name="Pinned", exact=True)).to_be_visible()
        expect(nav.get_by_role("link").first).to_have_text(re.compile(r"^pin_zz_sidebar\b"))
        expect(nav.get_by_role("button", name="Pin pin_aa_sidebar", exact=True)).to_have_attribute(
            "aria-pressed", "false"
        )

        unpin.click()
        expect(nav.get_by_role("button", name="Pin pin_zz_sidebar", exact=True)).to_be_visible()
        expect(nav.get_by_role("heading", name="Pinned", exact=True)).to_have_count(0)
        expect(nav.get_by_role("link").first).not_to_have_text(re.compile(r"^pin_zz_sidebar\b"))
        page.reload()
        expect(
            page.get_by_role("navigation", name="Collections").get_by_role(
                "button", name="Pin pin_zz_sidebar", exact=True
            )
        ).to_have_attribute("aria-pressed", "false")
    finally:
        for name in names:
            node.api.delete(f"/api/collections/{name}")
