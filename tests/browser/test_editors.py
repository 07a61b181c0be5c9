"""Editors: a user of an auth collection signs in to the dashboard and gets the records pages of
the collections whose list rule is not superuser-only, acting as its rules allow."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node

pytestmark = pytest.mark.e2e

PASSWORD = "editor-pass-123"


@pytest.fixture
def setup(node: Node) -> Iterator[dict[str, str]]:
    stamp = int(time.time() * 1000)
    notes, private = f"ed_notes_{stamp}", f"ed_private_{stamp}"
    users = {}
    for who in ("me", "other"):
        email = f"ed_{who}_{stamp}@example.com"
        made = node.post(
            "/api/collections/users/records",
            {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
        )
        users[who], users[who + "_email"] = made["id"], email
    own = "owner = @request.auth.id"
    node.post("/api/collections", {
        "name": notes, "type": "base",
        "listRule": own, "viewRule": own, "updateRule": own, "deleteRule": None,
        "createRule": f'@request.auth.id != "" && {own}',
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "secret", "type": "text", "hidden": True},
            {"name": "owner", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        ],
    })  # fmt: skip
    node.post("/api/collections", {"name": private, "type": "base",
                                   "fields": [{"name": "x", "type": "text"}]})  # fmt: skip
    for who in ("me", "other"):
        node.post(
            f"/api/collections/{notes}/records", {"title": f"note of {who}", "owner": users[who]}
        )
    yield {"notes": notes, "private": private, **users}
    for name in (notes, private):
        node.api.delete(f"/api/collections/{name}")
    for who in ("me", "other"):
        node.api.delete(f"/api/collections/users/records/{users[who]}")


def test_an_editor_sees_and_edits_only_what_its_rules_allow(
    page: Any, node: Node, setup: dict[str, str]
) -> None:
    notes = setup["notes"]
    page.goto(node.url + "/_/")
    page.get_by_label("Sign in as a user of an auth collection (editor)").check()
    expect(page.get_by_role("heading", name="Editor sign in")).to_be_visible()
    page.get_by_label("Auth collection", exact=True).select_option("users")
    page.get_by_label("Email").fill(setup["me_email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Sign out").wait_for()

    # Only the records pages: no logs, health, settings, API reference, new collection or diagram.
    sections = page.get_by_role("navigation", name="Sections")
    expect(sections.get_by_role("link")).to_have_text(["Collections"])
    sidebar = page.get_by_role("navigation", name="Collections")
    expect(sidebar.get_by_role("link", name=f"{notes} base", exact=True)).to_be_visible()
    expect(sidebar.get_by_role("link", name=re.compile(f"^{setup['private']}"))).to_have_count(0)
    expect(page.get_by_role("button", name="New collection")).to_have_count(0)
    expect(page.get_by_role("link", name="Relations diagram")).to_have_count(0)

    sidebar.get_by_role("link", name=f"{notes} base", exact=True).click()
    expect(page.get_by_role("heading", name=notes, exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Edit collection")).to_have_count(0)
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)  # the list rule: its own note only
    expect(rows.first).to_contain_text("note of me")
    expect(page.get_by_role("columnheader", name="secret")).to_have_count(0)  # hidden field

    # Create: the create rule wants the owner to be the editor.
    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")
    dialog.locator('input[name="title"]').fill("written by me")
    dialog.locator('input[name="owner"]').fill(setup["other"])
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(dialog.get_by_role("alert").first).to_be_visible()  # refused by the create rule
    dialog.locator('input[name="owner"]').fill(setup["me"])
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(dialog).to_be_hidden()
    expect(rows).to_have_count(2)

    # Edit its own note; no delete (the delete rule is superusers only).
    rows.filter(has_text="note of me").click()
    expect(dialog.get_by_role("button", name="Delete", exact=True)).to_have_count(0)
    dialog.locator('input[name="title"]').fill("note of me, edited")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    expect(rows.filter(has_text="note of me, edited")).to_have_count(1)

    listed = node.api.get(f"/api/collections/{notes}/records", params={"sort": "title"}).json()
    assert [(r["title"], r["owner"]) for r in listed["items"]] == [
        ("note of me, edited", setup["me"]),
        ("note of other", setup["other"]),
        ("written by me", setup["me"]),
    ]

    # Other pages lead back to the records.
    page.goto(node.url + "/_/#/settings")
    expect(page).to_have_url(re.compile(r"#/collections"))
    expect(page.get_by_label("Application name")).to_have_count(0)
