"""An auth collection's OAuth2 provider chosen from the server's list of known providers."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in

pytestmark = pytest.mark.e2e


def test_a_provider_is_added_by_choosing_it(page: Any, node: Node) -> None:
    name = "oauth2_pick_members"
    node.post("/api/collections", {"name": name, "type": "auth", "fields": []})
    try:
        catalog = node.api.get("/api/collections/meta/oauth2-providers").json()
        gitlab = next(p for p in catalog if p["name"] == "gitlab")
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} auth", exact=True).click()
        page.get_by_role("button", name="Edit collection").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Auth options", exact=True).click()
        dialog.get_by_label("OAuth2 enabled").check()

        chooser = dialog.get_by_label("OAuth2 provider to add", exact=True)
        # Every known provider is offered, by its display name.
        expect(chooser.locator("option")).to_have_count(len(catalog) + 1)
        chooser.select_option(label=gitlab["displayName"])
        dialog.get_by_role("button", name="Add OAuth2 provider").click()
        expect(dialog.get_by_label("Name (provider 1)", exact=True)).to_have_value("gitlab")
        expect(dialog.locator("legend", has_text="Provider 1")).to_have_text(
            f"Provider 1: {gitlab['displayName']}"
        )
        # Once added, it cannot be chosen twice.
        expect(chooser.locator("option", has_text=gitlab["displayName"])).to_be_disabled()
        dialog.get_by_label("Client id (provider 1)").fill("the-client")
        dialog.get_by_label("Client secret (provider 1)").fill("s3cret")
        dialog.get_by_role("button", name="Save collection").click()
        expect(dialog).to_be_hidden()

        saved = node.api.get(f"/api/collections/{name}").json()["oauth2"]
        assert saved["enabled"] is True
        assert [(p["name"], p["clientId"]) for p in saved["providers"]] == [
            ("gitlab", "the-client")
        ]
    finally:
        node.api.delete(f"/api/collections/{name}")
