"""Superuser sign in and out in the dashboard, with a password and with MFA (password, then a mailed code)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, Node, sign_in
from tests.mail_catcher import CODE, html_of

pytestmark = pytest.mark.e2e


def test_a_wrong_password_is_refused_then_the_right_one_signs_in_and_out(
    page: Any, node: Node
) -> None:
    page.goto(node.url + "/_/")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Failed to authenticate")

    sign_in(page, node)
    expect(page.get_by_text(ADMIN[0])).to_be_visible()
    expect(page.get_by_role("navigation", name="Collections")).to_contain_text("users")
    # The session is kept: a reload stays signed in.
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Superuser sign in")).to_be_visible()
    page.reload()
    expect(page.get_by_role("heading", name="Superuser sign in")).to_be_visible()


def test_the_page_loads_fast_and_small(page: Any, node: Node) -> None:
    page.goto(node.url + "/_/")
    expect(page.get_by_role("heading", name="Superuser sign in")).to_be_visible()
    paint = page.evaluate(
        "performance.getEntriesByType('paint').find(e => e.name === 'first-contentful-paint')?.startTime"
    )
    assert paint is not None and paint < 1000, paint


def test_with_mfa_the_password_is_followed_by_a_code_from_the_mail(page: Any, node: Node) -> None:
    node.api.patch(
        "/api/collections/_superusers", json={"mfa": {"enabled": True}, "otp": {"enabled": True}}
    ).raise_for_status()
    try:
        before = len(node.mail.to(ADMIN[0]))
        page.goto(node.url + "/_/")
        page.get_by_label("Email").fill(ADMIN[0])
        page.get_by_label("Password").fill(ADMIN[1])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("status")).to_contain_text("A second step is required")

        page.get_by_label("One-time code").fill("000000")
        page.get_by_role("button", name="Sign in with the code").click()
        expect(page.get_by_role("alert").first).to_be_visible()

        html = html_of(node.mail.wait_for(ADMIN[0], count=before + 1))
        found = CODE.search(html)
        assert found, html
        page.get_by_label("One-time code").fill(found.group(1))
        page.get_by_role("button", name="Sign in with the code").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        node.api.patch(
            "/api/collections/_superusers",
            json={"mfa": {"enabled": False}, "otp": {"enabled": False}},
        ).raise_for_status()


def test_with_otp_on_a_mailed_code_signs_in_without_the_password(page: Any, node: Node) -> None:
    node.api.patch(
        "/api/collections/_superusers", json={"otp": {"enabled": True}}
    ).raise_for_status()
    try:
        before = len(node.mail.to(ADMIN[0]))
        page.goto(node.url + "/_/")
        # No OAuth2 for superusers (as PocketBase): no provider buttons.
        expect(page.get_by_role("button", name="Email me a one-time code")).to_be_visible()
        expect(page.get_by_role("button", name=re.compile("^Sign in with "))).to_have_count(0)
        page.get_by_label("Email").fill(ADMIN[0])
        page.get_by_role("button", name="Email me a one-time code").click()
        expect(page.get_by_role("status")).to_contain_text("We sent a one-time code")
        found = CODE.search(html_of(node.mail.wait_for(ADMIN[0], count=before + 1)))
        assert found
        page.get_by_label("One-time code").fill(found.group(1))
        page.get_by_role("button", name="Sign in with the code").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    finally:
        node.api.patch(
            "/api/collections/_superusers", json={"otp": {"enabled": False}}
        ).raise_for_status()
