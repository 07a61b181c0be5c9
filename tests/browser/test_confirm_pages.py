"""The end-user pages the mails link to: verification, password reset, email change.

Each starts from a real mail sent by the server through SMTP, follows the
link in it, and checks the result through the API.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node
from tests.mail_catcher import html_of

pytestmark = pytest.mark.e2e

LINK = re.compile(r'href="([^"]+/_/#/auth/[^"]+)"')
PASSWORD = "first-Passw0rd"


def new_user(node: Node) -> str:
    email = f"{uuid.uuid4().hex[:10]}@example.com"
    node.post(
        "/api/collections/users/records",
        {"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD},
    )
    return email


def link_in_mail(node: Node, to: str) -> str:
    found = LINK.search(html_of(node.mail.wait_for(to)))
    assert found, "no dashboard link in the mail"
    assert found.group(1).startswith(node.url + "/_/#/auth/")
    return found.group(1)


def sign_in_as(node: Node, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{node.url}/api/collections/users/auth-with-password",
        json={"identity": email, "password": password},
    )


def test_verification_link_verifies_the_address(page: Any, node: Node) -> None:
    email = new_user(node)
    node.post("/api/collections/users/request-verification", {"email": email})
    page.goto(link_in_mail(node, email))
    expect(page.get_by_role("status")).to_have_text("Successfully verified email address.")
    record = sign_in_as(node, email, PASSWORD).json()["record"]
    assert record["verified"] is True


def test_a_broken_verification_link_says_so(page: Any, node: Node) -> None:
    page.goto(node.url + "/_/#/auth/confirm-verification/not-a-token")
    expect(page.get_by_role("alert")).to_contain_text("Invalid or expired")


def test_password_reset_link_sets_the_new_password(page: Any, node: Node) -> None:
    email = new_user(node)
    node.post("/api/collections/users/request-password-reset", {"email": email})
    page.goto(link_in_mail(node, email))
    expect(page.get_by_text(email)).to_be_visible()

    # Mismatched confirmation: the API's error is shown next to the field.
    page.get_by_label("New password", exact=True).fill("second-Passw0rd")
    page.get_by_label("New password confirm").fill("something else")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator("#page-title ~ form .field-error")).to_be_visible()
    assert sign_in_as(node, email, PASSWORD).status_code == 200

    page.get_by_label("New password confirm").fill("second-Passw0rd")
    page.get_by_role("button", name="Set new password").click()
    expect(page.get_by_role("status")).to_contain_text("Successfully changed the password")
    assert sign_in_as(node, email, PASSWORD).status_code == 400
    assert sign_in_as(node, email, "second-Passw0rd").status_code == 200


def test_email_change_link_changes_the_address(page: Any, node: Node) -> None:
    email = new_user(node)
    token = sign_in_as(node, email, PASSWORD).json()["token"]
    new_email = "new-" + email
    httpx.post(
        f"{node.url}/api/collections/users/request-email-change",
        json={"newEmail": new_email},
        headers={"Authorization": token},
    ).raise_for_status()
    page.goto(link_in_mail(node, new_email))
    expect(page.get_by_text(new_email)).to_be_visible()

    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Confirm new email").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    assert sign_in_as(node, email, PASSWORD).status_code == 200

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Confirm new email").click()
    expect(page.get_by_role("status")).to_contain_text("Successfully changed the email address")
    assert sign_in_as(node, new_email, PASSWORD).status_code == 200
    assert sign_in_as(node, email, PASSWORD).status_code == 400
