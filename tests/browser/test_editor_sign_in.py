"""An editor signs in to the dashboard: the auth collection chosen from a list, then a mailed code,
OAuth2 (the SDK's popup, against the loopback provider of tests/oidc_provider.py), or two of
them when the collection requires MFA."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems
from tests.mail_catcher import CODE, html_of
from tests.oidc_provider import OIDCProvider, running_provider

pytestmark = pytest.mark.e2e

PASSWORD = "editor-pass-123"


@pytest.fixture(scope="module")
def provider() -> Iterator[OIDCProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def staff(node: Node) -> Iterator[dict[str, str]]:
    """An auth collection of its own with one user; each test turns on the methods it needs."""
    stamp = int(time.time() * 1000)
    name, email = f"dash16d_staff_{stamp}", f"dash16d_{stamp}@example.com"
    node.post("/api/collections", {"name": name, "type": "auth", "fields": []})
    # Verified: OAuth2 linking an unverified account by its email would reset its password.
    node.post(f"/api/collections/{name}/records",
              {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD,
               "verified": True})  # fmt: skip
    yield {"name": name, "email": email}
    node.api.delete(f"/api/collections/{name}")


def options(node: Node, name: str, body: dict[str, Any]) -> None:
    node.api.patch(f"/api/collections/{name}", json=body).raise_for_status()


def open_editor_sign_in(page: Any, node: Node, staff: dict[str, str]) -> None:
    page.goto(node.url + "/_/")
    page.get_by_label("Sign in as a user of an auth collection (editor)").check()
    chooser = page.get_by_label("Auth collection", exact=True)
    # A list of the auth collections that sign in, not a name to type; never _superusers.
    expect(chooser.locator("option", has_text=staff["name"])).to_have_count(1)
    expect(chooser.locator("option", has_text="_superusers")).to_have_count(0)
    chooser.select_option(staff["name"])


def code_from_mail(node: Node, email: str, count: int) -> str:
    found = CODE.search(html_of(node.mail.wait_for(email, count=count)))
    assert found
    return found.group(1)


def test_an_editor_chooses_its_collection_and_signs_in_with_a_mailed_code(
    page: Any, node: Node, staff: dict[str, str]
) -> None:
    options(node, staff["name"], {"otp": {"enabled": True}})
    open_editor_sign_in(page, node, staff)
    page.get_by_label("Email").fill(staff["email"])
    page.get_by_role("button", name="Email me a one-time code").click()
    expect(page.get_by_role("status")).to_contain_text("We sent a one-time code")
    page.get_by_label("One-time code").fill(code_from_mail(node, staff["email"], 1))
    page.get_by_role("button", name="Sign in with the code").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text(staff["email"])).to_be_visible()


def test_an_editor_with_mfa_gives_the_password_then_a_mailed_code(
    page: Any, node: Node, staff: dict[str, str]
) -> None:
    options(node, staff["name"], {"otp": {"enabled": True}, "mfa": {"enabled": True}})
    open_editor_sign_in(page, node, staff)
    page.get_by_label("Email").fill(staff["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("A second step is required")
    page.get_by_label("One-time code").fill(code_from_mail(node, staff["email"], 1))
    page.get_by_role("button", name="Sign in with the code").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def oauth2_on(node: Node, staff: dict[str, str], provider: OIDCProvider, **more: Any) -> None:
    options(
        node,
        staff["name"],
        {"oauth2": {"enabled": True, "providers": [provider.provider_config()]}, **more},
    )
    # The provider answers for the staff member already there: the account is linked by its email.
    provider.next_user = {
        "sub": "dash16d-" + staff["email"],
        "email": staff["email"],
        "email_verified": True,
    }


def oauth2_popup(page: Any) -> None:
    """The SDK opens a popup; the provider approves at once and the redirect page closes it."""
    with page.expect_popup() as opened:
        page.get_by_role("button", name="Sign in with Test OIDC").click()
    popup = opened.value
    if not popup.is_closed():  # it may have closed already
        popup.wait_for_event("close")


def test_an_editor_signs_in_with_oauth2_in_a_popup(
    page: Any, node: Node, staff: dict[str, str], provider: OIDCProvider
) -> None:
    oauth2_on(node, staff, provider)
    open_editor_sign_in(page, node, staff)
    expect(page.get_by_role("button", name="Sign in with Test OIDC")).to_be_visible()
    assert accessibility_problems(page) == []  # the chooser and a button per provider
    oauth2_popup(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.get_by_text(staff["email"])).to_be_visible()


def test_with_mfa_oauth2_is_one_factor_and_the_password_the_other(
    page: Any, node: Node, staff: dict[str, str], provider: OIDCProvider
) -> None:
    oauth2_on(node, staff, provider, mfa={"enabled": True})
    # OAuth2 first, then the password.
    open_editor_sign_in(page, node, staff)
    oauth2_popup(page)
    expect(page.get_by_role("status")).to_contain_text("A second step is required")
    expect(page.get_by_role("button", name="Sign in with Test OIDC")).to_have_count(0)
    assert accessibility_problems(page) == []
    page.get_by_label("Email").fill(staff["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()

    # The password first, then OAuth2 (no OTP on: no code is mailed).
    open_editor_sign_in(page, node, staff)
    page.get_by_label("Email").fill(staff["email"])
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("A second step is required")
    expect(page.get_by_label("Password")).to_have_count(0)
    oauth2_popup(page)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
