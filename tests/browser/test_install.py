"""The first-run page: the link `keelbase serve` prints creates the first superuser and signs in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems
from tests.conftest import ServerProcess

pytestmark = pytest.mark.e2e


def test_the_printed_link_creates_the_first_superuser(
    page: Any, node: Node, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if "postgres" in request.node.callspec.id:
        pytest.skip("a fresh server of its own, on SQLite; the API is tested on PostgreSQL too")
    server = ServerProcess(tmp_path / "kb_data")  # no superuser yet
    try:
        found = re.search(r"(http://\S+/_/#/install/[A-Za-z0-9_-]+)", server.log())
        assert found, server.log()
        link = found.group(1)

        page.goto(link)
        expect(page.get_by_role("heading", name="Create your first superuser")).to_be_visible()
        page.get_by_label("Email").wait_for()
        assert accessibility_problems(page) == []
        page.get_by_label("Email").fill("owner@example.com")
        page.get_by_label("Password", exact=True).fill("a-long-secret")
        page.get_by_label("Password again").fill("a-long-secreX")
        page.get_by_role("button", name="Create superuser and sign in").click()
        expect(page.get_by_role("alert").first).to_contain_text("Values don't match")

        page.get_by_label("Password", exact=True).fill("a-long-secret")
        page.get_by_label("Password again").fill("a-long-secret")
        page.get_by_role("button", name="Create superuser and sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        expect(page.get_by_text("owner@example.com")).to_be_visible()

        # The link is spent: opened again, it says so and points to sign in.
        page.goto(link)
        expect(page.get_by_role("alert")).to_contain_text("invalid or has expired")
        expect(page.get_by_role("link", name="Go to sign in")).to_be_visible()
    finally:
        server.stop()
