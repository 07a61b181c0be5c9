"""The API reference at /_/api-docs/ (issue 17): /api/openapi.json as a readable page.

It lists a collection's routes with the fields of its bodies, shows superuser-only
collections to a signed-in superuser only, passes an axe-core scan (light and dark),
and is a bundle of its own: the dashboard's first load never fetches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import AXE, Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def collections(node: Node) -> Iterator[None]:
    """Made for this module and removed after it: the node is shared with other modules."""
    node.post(
        "/api/collections",
        {"name": "docs_posts", "type": "base", "listRule": "", "viewRule": "",
         "fields": [{"name": "title", "type": "text", "required": True, "max": 80},
                    {"name": "views", "type": "number", "onlyInt": True}]},
    )  # fmt: skip
    node.post(
        "/api/collections",
        {"name": "docs_private", "type": "base",
         "fields": [{"name": "secret", "type": "text"}]},
    )  # fmt: skip
    yield
    for name in ("docs_posts", "docs_private"):
        node.api.delete(f"/api/collections/{name}")


def test_the_reference_lists_a_collections_routes_and_fields(
    page: Any, node: Node, collections: None
) -> None:
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role(
        "link", name="API reference"
    ).click()
    expect(page.get_by_role("heading", name="Keelbase API reference")).to_be_visible()
    expect(page.get_by_text("Every collection (signed in as a superuser).")).to_be_visible()

    group = page.get_by_role("region", name="docs_posts")
    for method, path in [
        ("GET", "/api/collections/docs_posts/records"),
        ("POST", "/api/collections/docs_posts/records"),
        ("GET", "/api/collections/docs_posts/records/{id}"),
        ("PATCH", "/api/collections/docs_posts/records/{id}"),
        ("DELETE", "/api/collections/docs_posts/records/{id}"),
    ]:
        expect(
            group.locator("summary", has_text=path).filter(has_text=method).first
        ).to_be_visible()
    # A superuser sees the collection only superusers may read.
    expect(page.get_by_role("region", name="docs_private")).to_be_visible()

    # The create operation: its body's fields, required marked, with their limits.
    create = group.locator(
        "details", has=page.locator("summary", has_text="Create a docs_posts record")
    )
    create.locator("summary").click()
    body = create.get_by_role("table", name="Request body")
    title = body.get_by_role("row").filter(has=page.locator("code", has_text="title"))
    expect(title).to_contain_text("string")
    expect(title).to_contain_text("yes")
    expect(title).to_contain_text("max length 80")
    views = body.get_by_role("row").filter(has=page.locator("code", has_text="views"))
    expect(views).to_contain_text("integer")

    # The search narrows the list.
    page.get_by_label("Search routes").fill("docs_posts/records/{id}")
    expect(group.locator("summary")).to_have_count(3)
    expect(page.get_by_role("region", name="health")).to_have_count(0)

    assert AXE.is_file(), "axe-core is missing: run `make dashboard` (npm ci in dashboard/)"
    page.get_by_label("Search routes").fill("")
    problems = {"light": accessibility_problems(page)}
    page.emulate_media(color_scheme="dark")
    problems["dark"] = accessibility_problems(page)
    assert {name: found for name, found in problems.items() if found} == {}


def test_a_guest_sees_only_open_collections(page: Any, node: Node, collections: None) -> None:
    page.goto(node.url + "/_/api-docs/")
    expect(page.get_by_role("heading", name="Keelbase API reference")).to_be_visible()
    expect(page.get_by_text("The collections open to guests")).to_be_visible()
    expect(page.get_by_role("region", name="docs_posts").locator("summary").first).to_be_visible()
    expect(page.get_by_role("region", name="health")).to_be_visible()
    expect(page.get_by_role("region", name="docs_private")).to_have_count(0)


def test_the_dashboard_does_not_load_the_reference(page: Any, node: Node) -> None:
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url))
    sign_in(page, node)
    expect(page.get_by_role("link", name="API reference")).to_be_visible()
    assert fetched and not [url for url in fetched if "apidocs" in url or "openapi" in url]
