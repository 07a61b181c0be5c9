"""Settings → Superusers: create, change email and password, delete; your own password change
keeps you signed in, deleting yourself warns first and signs you out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def stamp(node: Node) -> Iterator[str]:
    made = str(int(time.time() * 1000))
    yield made
    found = node.api.get(
        "/api/collections/_superusers/records", params={"filter": f'email ~ "{made}"'}
    ).json()["items"]
    for record in found:
        node.api.delete(f"/api/collections/_superusers/records/{record['id']}")


def _password_works(node: Node, email: str, password: str) -> bool:
    response = httpx.post(
        f"{node.url}/api/collections/_superusers/auth-with-password",
        json={"identity": email, "password": password},
    )
    return response.status_code == 200


def _open(page: Any) -> None:
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings pages").get_by_role(
        "link", name="Superusers"
    ).click()


def test_superusers_are_created_edited_and_deleted(page: Any, node: Node, stamp: str) -> None:
    first, second = f"su_{stamp}@example.com", f"su2_{stamp}@example.com"
    sign_in(page, node)
    _open(page)
    table = page.get_by_role("table", name="Superusers")
    expect(table.get_by_role("row").filter(has_text="(you)")).to_have_count(1)
    count = node.api.get("/api/collections/_superusers/records").json()["totalItems"]
    if count == 1:  # the node's only superuser (when no other test left one behind)
        expect(page.get_by_role("button", name="Delete " + ADMIN[0])).to_be_disabled()

    page.get_by_role("button", name="New superuser").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(first)
    dialog.get_by_label("Password", exact=True).fill("first-pass-1")
    dialog.get_by_label("Password again").fill("other-pass-1")
    dialog.get_by_role("button", name="Create superuser").click()
    expect(dialog.locator("#superuser-passwordConfirm-error")).to_have_text(
        "The passwords do not match."
    )
    dialog.get_by_label("Password again").fill("first-pass-1")
    dialog.get_by_role("button", name="Create superuser").click()
    expect(dialog).to_be_hidden()
    expect(table.get_by_role("row").filter(has_text=first)).to_have_count(1)
    assert _password_works(node, first, "first-pass-1")
    assert accessibility_problems(page) == []

    # Another superuser's email and password, changed.
    page.get_by_role("button", name="Edit " + first).click()
    dialog.get_by_label("Email").fill(second)
    dialog.get_by_label("New password (empty: unchanged)").fill("second-pass-2")
    dialog.get_by_label("Password again").fill("second-pass-2")
    dialog.get_by_role("button", name="Save superuser").click()
    expect(dialog).to_be_hidden()
    expect(table.get_by_role("row").filter(has_text=second)).to_have_count(1)
    assert _password_works(node, second, "second-pass-2")
    assert not _password_works(node, second, "first-pass-1")

    # Signed in as that one: a new own password keeps the session (sign in again with it).
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Email").fill(second)
    page.get_by_label("Password").fill("second-pass-2")
    page.get_by_role("button", name="Sign in").click()
    _open(page)
    page.get_by_role("button", name="Edit " + second).click()
    dialog.get_by_label("New password (empty: unchanged)").fill("third-pass-3")
    dialog.get_by_label("Password again").fill("third-pass-3")
    dialog.get_by_role("button", name="Save superuser").click()
    expect(dialog).to_be_hidden()
    page.reload()  # the kept session is checked with authRefresh on load
    expect(page.get_by_role("table", name="Superusers")).to_be_visible()
    assert _password_works(node, second, "third-pass-3")

    # Deleting yourself: a warning, then signed out.
    page.get_by_role("button", name="Delete " + second).click()
    expect(dialog.get_by_role("alert")).to_contain_text("This is your own account")
    dialog.get_by_role("button", name="Yes, delete").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert not _password_works(node, second, "third-pass-3")
