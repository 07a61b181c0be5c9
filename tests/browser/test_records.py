"""Browse, filter, sort, create, edit and delete records in the dashboard, on a real server;
image thumbnails; an auth record's actions."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in
from tests.mail_catcher import html_of

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def posts(node: Node) -> dict[str, Any]:
    users = node.api.get("/api/collections/users").json()
    fields = [
        {"name": "title", "type": "text", "required": True},
        {"name": "views", "type": "number"},
        {"name": "published", "type": "bool"},
        {"name": "contact", "type": "email"},
        {"name": "site", "type": "url"},
        {"name": "when", "type": "date"},
        {"name": "status", "type": "select", "values": ["draft", "live"], "maxSelect": 1},
        {"name": "meta", "type": "json"},
        {"name": "author", "type": "relation", "collectionId": users["id"], "maxSelect": 1},
        {"name": "doc", "type": "file", "maxSelect": 2, "maxSize": 100000},
    ]
    return node.post("/api/collections", {"name": "posts", "type": "base", "fields": fields})


def open_posts(page: Any, node: Node) -> None:
    sign_in(page, node)
    # by its exact name: other modules' collections (docs_posts) share the node
    page.get_by_role("link", name=re.compile(r"^posts\b")).click()
    expect(page.get_by_role("heading", name="posts", exact=True)).to_be_visible()


def rows(page: Any) -> Any:
    return page.locator("table.grid tbody tr")


def test_create_a_record_with_every_input_after_a_validation_error(
    page: Any, node: Node, posts: dict[str, Any]
) -> None:
    author = node.post(
        "/api/collections/users/records",
        {
            "email": "author@example.com",
            "password": "Passw0rd123",
            "passwordConfirm": "Passw0rd123",
        },
    )
    open_posts(page, node)
    page.get_by_role("button", name="New record").click()
    dialog = page.get_by_role("dialog")

    # The API refuses a blank required field: its message is shown next to the input.
    dialog.get_by_role("button", name="Create").click()
    title = dialog.get_by_label("title")
    expect(title).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#field-title-error")).to_have_text("Cannot be blank.")

    # Invalid JSON is caught before sending.
    dialog.get_by_label("meta").fill("{not json")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.locator("#field-meta-error")).to_have_text("Invalid JSON.")

    title.fill("Hello")
    dialog.get_by_label("views").fill("42")
    dialog.get_by_label("published").check()
    dialog.get_by_label("contact").fill("someone@example.com")
    dialog.get_by_label("site").fill("https://example.com/x")
    dialog.get_by_label("when date").fill("2024-05-06T07:08:09")
    dialog.get_by_label("status").select_option("live")
    dialog.get_by_label("meta").fill('{"tags": ["a", "b"]}')
    # The relation picker searches the related collection and fills in the id.
    dialog.get_by_label("Search users for author").fill("author@")
    dialog.get_by_role("button", name=f"author@example.com ({author['id']})").click()
    expect(dialog.get_by_label("author relation")).to_have_value(author["id"])
    dialog.get_by_label("doc").set_input_files(
        [{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"some notes"}]
    )
    dialog.get_by_role("button", name="Create").click()
    expect(dialog).to_be_hidden()
    expect(rows(page).filter(has_text="Hello")).to_have_count(1)

    items = node.api.get(
        "/api/collections/posts/records", params={"filter": 'title="Hello"'}
    ).json()
    record = items["items"][0]
    assert record["views"] == 42
    assert record["published"] is True
    assert record["contact"] == "someone@example.com"
    assert record["site"] == "https://example.com/x"
    assert record["when"] == "2024-05-06 07:08:09.000Z"
    assert record["status"] == "live"
    assert record["meta"] == {"tags": ["a", "b"]}
    assert record["author"] == author["id"]
    assert len(record["doc"]) == 1 and record["doc"][0].startswith("notes")


def test_filter_sort_edit_and_delete(page: Any, node: Node, posts: dict[str, Any]) -> None:
    for title, views in (("alpha", 3), ("beta", 1), ("gamma", 2)):
        node.post("/api/collections/posts/records", {"title": title, "views": views})
    open_posts(page, node)

    page.get_by_label("Filter").fill('title ~ "a" && views > 1')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(2)  # alpha and gamma
    expect(page.get_by_text("2 records")).to_be_visible()

    page.get_by_role("button", name="views", exact=True).click()
    expect(page.get_by_role("columnheader", name="views")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(rows(page).first).to_contain_text("gamma")
    page.get_by_role("button", name="views ▲").click()
    expect(rows(page).first).to_contain_text("alpha")

    # A filter the API cannot parse: its error is shown, the page keeps working.
    page.get_by_label("Filter").fill("title ~~ (")
    page.get_by_role("button", name="Apply filter").click()
    expect(page.locator("#records-error")).to_be_visible()
    page.get_by_label("Filter").fill('title = "beta"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(1)
    expect(page.locator("#records-error")).to_have_count(0)

    rows(page).first.get_by_role("button").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("title").fill("beta edited")
    dialog.get_by_role("button", name="Save changes").click()
    expect(dialog).to_be_hidden()
    page.get_by_label("Filter").fill('title ~ "beta"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_contain_text("beta edited")
    beta = node.api.get("/api/collections/posts/records", params={"filter": 'title~"beta"'})
    (record,) = beta.json()["items"]
    assert record["title"] == "beta edited"

    rows(page).first.get_by_role("button").click()
    dialog.get_by_role("button", name="Delete").click()
    dialog.get_by_role("button", name="Yes, delete this record").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_text("No records found.")).to_be_visible()
    assert node.api.get(f"/api/collections/posts/records/{record['id']}").status_code == 404


def test_an_image_shows_its_thumbnail(page: Any, node: Node, posts: dict[str, Any]) -> None:
    image = io.BytesIO()
    Image.new("RGB", (300, 200), "red").save(image, "PNG")
    created = node.api.post(
        "/api/collections/posts/records",
        data={"title": "with picture"},
        files={"doc": ("picture.png", image.getvalue(), "image/png")},
    )
    assert created.status_code == 200, created.text
    open_posts(page, node)
    page.get_by_label("Filter").fill('title = "with picture"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(1)
    rows(page).first.get_by_role("button").click()
    thumb = page.get_by_role("dialog").locator("img.thumb")
    expect(thumb).to_have_attribute("src", re.compile(r"thumb=100x100"))
    expect(thumb).to_have_js_property("complete", True)
    assert thumb.evaluate("img => img.naturalWidth") == 100


def test_auth_record_actions_mail_and_impersonate(page: Any, node: Node) -> None:
    user = node.post(
        "/api/collections/users/records",
        {"email": "acted@example.com", "password": "Passw0rd123", "passwordConfirm": "Passw0rd123"},
    )
    sign_in(page, node)
    page.get_by_role("link", name="users auth", exact=True).click()
    page.get_by_label("Filter").fill('email = "acted@example.com"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(1)
    rows(page).first.get_by_role("button").click()
    dialog = page.get_by_role("dialog")

    dialog.get_by_role("button", name="Send verification mail").click()
    expect(dialog.get_by_role("status")).to_have_text(
        "Verification mail sent to acted@example.com."
    )
    assert "confirm-verification" in html_of(node.mail.wait_for("acted@example.com"))

    dialog.get_by_role("button", name="Impersonate").click()
    token = dialog.get_by_label("Auth token of acted@example.com").input_value()
    refreshed = httpx.post(
        f"{node.url}/api/collections/users/auth-refresh", headers={"Authorization": token}
    )
    assert refreshed.status_code == 200
    assert refreshed.json()["record"]["id"] == user["id"]
    # The superuser's own session is untouched.
    page.reload()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_the_grid_follows_changes_made_by_others(
    page: Any, node: Node, posts: dict[str, Any]
) -> None:
    subscribed = lambda r: r.url.endswith("/api/realtime") and r.request.method == "POST"  # noqa: E731
    with page.expect_response(subscribed):
        open_posts(page, node)
    page.get_by_label("Filter").fill('title ~ "live"')
    page.get_by_role("button", name="Apply filter").click()
    expect(page.get_by_text("No records found.")).to_be_visible()
    record = node.post("/api/collections/posts/records", {"title": "live one"})
    expect(rows(page).filter(has_text="live one")).to_have_count(1)
    node.api.patch(f"/api/collections/posts/records/{record['id']}", json={"title": "live two"})
    expect(rows(page).filter(has_text="live two")).to_have_count(1)
    node.api.delete(f"/api/collections/posts/records/{record['id']}")
    expect(page.get_by_text("No records found.")).to_be_visible()


def test_bulk_delete_and_the_column_chooser(page: Any, node: Node, posts: dict[str, Any]) -> None:
    for i in range(3):
        node.post("/api/collections/posts/records", {"title": f"bulk {i}", "views": i})
    open_posts(page, node)
    page.get_by_label("Filter").fill('title ~ "bulk"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(3)

    # Columns: hidden ones stay hidden after a reload (kept in localStorage).
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="views").uncheck()
    expect(page.get_by_role("columnheader", name="views")).to_have_count(0)
    page.reload()
    expect(page.get_by_role("columnheader", name="title")).to_be_visible()
    expect(page.get_by_role("columnheader", name="views")).to_have_count(0)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="views").check()
    expect(page.get_by_role("columnheader", name="views")).to_be_visible()

    page.get_by_label("Filter").fill('title ~ "bulk"')
    page.get_by_role("button", name="Apply filter").click()
    expect(rows(page)).to_have_count(3)
    page.get_by_label("Select all records on this page").check()
    page.get_by_role("button", name="Delete selected").click()
    page.get_by_role("button", name="Yes, delete 3 records").click()
    expect(page.get_by_text("No records found.")).to_be_visible()
    left = node.api.get("/api/collections/posts/records", params={"filter": 'title~"bulk"'})
    assert left.json()["totalItems"] == 0
