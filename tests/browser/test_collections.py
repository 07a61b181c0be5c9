"""Create, edit and delete a collection in the dashboard; the API's errors shown next to their inputs."""

from __future__ import annotations

import time
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in

pytestmark = pytest.mark.e2e


def test_create_edit_and_delete_a_collection(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("notes")

    # The scaffold's id field is shown as a system field (name and type fixed); created and updated come with it.
    id_field = dialog.get_by_role("group", name="Field 1")
    expect(id_field.get_by_label("Field name")).to_have_value("id")
    expect(id_field.get_by_label("Field name")).to_be_disabled()
    expect(dialog.get_by_role("group", name="Field 3").get_by_label("Field name")).to_have_value(
        "updated"
    )
    dialog.get_by_role("button", name="Add field").click()
    body = dialog.get_by_role("group", name="Field 4")
    body.get_by_label("Field name").fill("body")
    body.get_by_label("Required").check()
    dialog.get_by_role("button", name="Add field").click()
    tag = dialog.get_by_role("group", name="Field 5")
    tag.get_by_label("Field type").select_option("select")
    tag.get_by_label("Choices (comma separated)").fill("red, green")

    # A rule naming an unknown field, and a nameless field: both refused by the API, shown in place.
    dialog.get_by_label("Superusers only (List/Search rule)").uncheck()
    dialog.get_by_role("combobox", name="List/Search rule").fill("nonexistent = 1")
    dialog.get_by_role("button", name="Create collection").click()
    expect(dialog.locator("#rule-listRule-error")).to_contain_text("unknown field")
    expect(tag.get_by_label("Field name")).to_have_attribute("aria-invalid", "true")
    assert node.api.get("/api/collections/notes").status_code == 404

    dialog.get_by_role("combobox", name="List/Search rule").fill('body != ""')
    tag.get_by_label("Field name").fill("tag")
    dialog.get_by_role("button", name="Create collection").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="notes")).to_be_visible()
    created = node.api.get("/api/collections/notes").json()
    fields = {f["name"]: f for f in created["fields"]}
    assert fields["body"]["type"] == "text" and fields["body"]["required"] is True
    assert fields["tag"]["values"] == ["red", "green"]
    assert created["listRule"] == 'body != ""'
    assert created["createRule"] is None

    # Edit: open the create rule to everyone.
    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_label("Superusers only (Create rule)").uncheck()
    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog).to_be_hidden()
    assert node.api.get("/api/collections/notes").json()["createRule"] == ""

    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_role("button", name="Delete collection").click()
    dialog.get_by_role("button", name="Yes, delete the collection and its records").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("link", name="notes")).to_have_count(0)
    assert node.api.get("/api/collections/notes").status_code == 404


def _add_field(dialog: Any, number: int, name: str, kind: str) -> Any:
    dialog.get_by_role("button", name="Add field").click()
    group = dialog.get_by_role("group", name=f"Field {number}")
    group.get_by_label("Field name").fill(name)
    group.get_by_label("Field type").select_option(kind)
    return group


def test_every_field_type_with_its_options_an_index_and_reordering(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("button", name="New collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name", exact=True).fill("things")
    expect(dialog.get_by_role("group", name="Field 3")).to_be_visible()  # the scaffold is in

    text = _add_field(dialog, 4, "title", "text")
    text.get_by_label("Min length").fill("2")
    text.get_by_label("Max length").fill("50")
    text.get_by_label("Pattern (regex)").fill("^[a-z ]+$")
    text.get_by_label("Presentable").check()
    number = _add_field(dialog, 5, "count", "number")
    number.get_by_label("Min", exact=True).fill("1")
    number.get_by_label("Max", exact=True).fill("10")
    number.get_by_label("Integers only").check()
    _add_field(dialog, 6, "done", "bool").get_by_label("Hidden (superusers only)").check()
    _add_field(dialog, 7, "contact", "email").get_by_label("Only domains").fill(
        "example.com, example.org"
    )
    _add_field(dialog, 8, "site", "url").get_by_label("Except domains").fill("bad.example")
    editor = _add_field(dialog, 9, "body", "editor")
    editor.get_by_label("Convert URLs to relative").check()
    editor.get_by_label("Max size").fill("1000")
    _add_field(dialog, 10, "due", "date").get_by_label("Min date").fill("2024-01-01 00:00:00.000Z")
    _add_field(dialog, 11, "stamp", "autodate").get_by_label("Set on update").check()
    select = _add_field(dialog, 12, "color", "select")
    select.get_by_label("Choices").fill("red, green, blue")
    select.get_by_label("Max selections").fill("2")
    _add_field(dialog, 13, "meta", "json").get_by_label("Max size").fill("2000")
    file = _add_field(dialog, 14, "docs", "file")
    file.get_by_label("Max files").fill("3")
    file.get_by_label("Max size").fill("1048576")
    file.get_by_label("MIME types").fill("image/png, image/jpeg")
    file.get_by_label("Thumb sizes").fill("100x100, 0x300")
    file.get_by_label("Protected").check()
    relation = _add_field(dialog, 15, "owner", "relation")
    relation.get_by_label("Related collection").select_option(label="users")
    relation.get_by_label("Cascade delete").check()
    relation.get_by_label("Min selections").fill("1")
    relation.get_by_label("Max selections").fill("5")
    _add_field(dialog, 16, "place", "geoPoint").get_by_label("Required").check()
    _add_field(dialog, 17, "embedding", "vector").get_by_label("Dimensions").fill("4")

    # Reorder (the buttons work from the keyboard): place goes above owner, title below count.
    dialog.get_by_role("button", name="Move place up").press("Enter")
    dialog.get_by_role("button", name="Move title down").click()

    # The index builder: pick columns, see the SQL, add it.
    columns = dialog.get_by_role("group", name="Index columns")
    columns.get_by_label("title", exact=True).check()
    columns.get_by_label("count", exact=True).check()
    dialog.get_by_label("Unique", exact=True).check()
    expect(dialog.get_by_label("SQL of the new index")).to_have_text(
        "CREATE UNIQUE INDEX `idx_things_title_count` ON `things` (`title`, `count`)"
    )
    dialog.get_by_role("button", name="Add index").click()
    expect(dialog.get_by_label("Index 1 (SQL)")).to_have_value(
        "CREATE UNIQUE INDEX `idx_things_title_count` ON `things` (`title`, `count`)"
    )

    # A bad option (max length below min) is refused, its error shown under the option.
    title = dialog.get_by_role("group", name="Field 5")
    expect(title.get_by_label("Field name")).to_have_value("title")
    title.get_by_label("Max length").fill("1")
    dialog.get_by_role("button", name="Create collection").click()
    expect(title.get_by_label("Max length")).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#opt-fields-4-max-error")).to_be_visible()
    assert node.api.get("/api/collections/things").status_code == 404
    title.get_by_label("Max length").fill("50")
    dialog.get_by_role("button", name="Create collection").click()
    expect(dialog).to_be_hidden()

    created = node.api.get("/api/collections/things").json()
    names = [f["name"] for f in created["fields"]]
    assert names == ["id", "created", "updated", "count", "title", "done", "contact", "site", "body",
                     "due", "stamp", "color", "meta", "docs", "place", "owner", "embedding"]  # fmt: skip
    fields = {f["name"]: f for f in created["fields"]}
    assert {k: fields["title"][k] for k in ("min", "max", "pattern", "presentable")} == {
        "min": 2, "max": 50, "pattern": "^[a-z ]+$", "presentable": True}  # fmt: skip
    assert (fields["count"]["min"], fields["count"]["max"], fields["count"]["onlyInt"]) == (
        1,
        10,
        True,
    )
    assert fields["done"]["hidden"] is True
    assert fields["contact"]["onlyDomains"] == ["example.com", "example.org"]
    assert fields["site"]["exceptDomains"] == ["bad.example"]
    assert (fields["body"]["convertURLs"], fields["body"]["maxSize"]) == (True, 1000)
    assert fields["due"]["min"] == "2024-01-01 00:00:00.000Z"
    assert (fields["stamp"]["onCreate"], fields["stamp"]["onUpdate"]) == (True, True)
    assert (fields["color"]["values"], fields["color"]["maxSelect"]) == (
        ["red", "green", "blue"],
        2,
    )
    assert fields["meta"]["maxSize"] == 2000
    docs = fields["docs"]
    assert (docs["maxSelect"], docs["maxSize"], docs["protected"]) == (3, 1048576, True)
    assert (docs["mimeTypes"], docs["thumbs"]) == (
        ["image/png", "image/jpeg"],
        ["100x100", "0x300"],
    )
    users = node.api.get("/api/collections/users").json()
    owner = fields["owner"]
    assert (owner["collectionId"], owner["cascadeDelete"]) == (users["id"], True)
    assert (owner["minSelect"], owner["maxSelect"]) == (1, 5)
    assert fields["place"]["required"] is True
    assert fields["embedding"]["dimensions"] == 4
    assert any("UNIQUE INDEX" in sql and "`title`, `count`" in sql for sql in created["indexes"]), (
        created["indexes"]
    )
    node.api.delete("/api/collections/things").raise_for_status()


def test_auth_options_saved_and_a_bad_one_refused_in_place(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("link", name="users auth", exact=True).click()
    page.get_by_role("button", name="Edit collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Auth options", exact=True).click()
    dialog.get_by_label("OTP enabled").check()
    dialog.get_by_label("OTP duration (seconds)").fill("300")
    dialog.get_by_label("OTP length").fill("6")
    dialog.get_by_label("MFA duration (seconds)").fill("900")
    dialog.get_by_label("Verification token duration").fill("7200")
    dialog.get_by_label("Auth token duration").fill("5")

    # The mail templates: the subject edited, and a plain preview with sample values.
    dialog.locator("summary", has_text="OTP mail").click()
    dialog.get_by_label("OTP mail subject").fill("Your {APP_NAME} code")
    dialog.get_by_role("button", name="Preview OTP mail").click()
    preview = dialog.get_by_role("region", name="OTP mail preview")
    expect(preview).to_contain_text("Your Acme code")
    expect(preview).to_contain_text("Your one-time password is: 12345678")
    # and as HTML, in a frame that runs no script and cannot reach the dashboard
    frame = preview.get_by_title("OTP mail as HTML")
    expect(frame).to_have_attribute("sandbox", "")
    expect(preview.frame_locator("iframe").locator("strong")).to_have_text("12345678")

    # An OAuth2 provider whose name the API does not know.
    dialog.get_by_label("OAuth2 enabled").check()
    dialog.get_by_role("button", name="Add OAuth2 provider").click()
    dialog.get_by_label("Name (provider 1)", exact=True).fill("nope")
    dialog.get_by_label("Client id (provider 1)").fill("the-client")
    dialog.get_by_label("Client secret (provider 1)").fill("s3cret")

    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog.locator("#opt-authToken-duration-error")).to_contain_text(
        "Must be no less than 10."
    )
    expect(dialog.get_by_label("Auth token duration")).to_have_attribute("aria-invalid", "true")
    expect(dialog.locator("#opt-oauth2-providers-0-name-error")).to_contain_text(
        "Invalid or missing provider"
    )
    assert node.api.get("/api/collections/users").json()["otp"]["enabled"] is False

    dialog.get_by_label("Auth token duration").fill("3600")
    dialog.get_by_label("Name (provider 1)", exact=True).fill("github")
    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog).to_be_hidden()
    users = node.api.get("/api/collections/users").json()
    assert users["otp"]["enabled"] is True
    assert (users["otp"]["duration"], users["otp"]["length"]) == (300, 6)
    assert users["otp"]["emailTemplate"]["subject"] == "Your {APP_NAME} code"
    assert users["mfa"]["duration"] == 900
    assert users["authToken"]["duration"] == 3600
    assert users["verificationToken"]["duration"] == 7200

    assert users["oauth2"]["enabled"] is True
    assert [(p["name"], p["clientId"]) for p in users["oauth2"]["providers"]] == [
        ("github", "the-client")
    ]
    assert "clientSecret" not in users["oauth2"]["providers"][0]

    # The secret is write-only: saved again without it, the stored one is kept (the API needs one).
    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_text("Auth options", exact=True).click()
    expect(dialog.get_by_label("Client secret (provider 1)")).to_have_value("")
    dialog.get_by_label("MFA duration (seconds)").fill("1200")
    dialog.get_by_role("button", name="Save collection").click()
    expect(dialog).to_be_hidden()
    users = node.api.get("/api/collections/users").json()
    assert users["mfa"]["duration"] == 1200 and users["oauth2"]["providers"][0]["name"] == "github"

    # Put them back for the other tests of this server.
    node.api.patch("/api/collections/users", json={
        "otp": {"enabled": False}, "authToken": {"duration": 604800},
        "oauth2": {"enabled": False, "providers": []},
    }).raise_for_status()  # fmt: skip


def test_duplicate_truncate_and_a_view_preview(page: Any, node: Node) -> None:
    node.post("/api/collections", {
        "name": "articles", "type": "base",
        "fields": [{"name": "title", "type": "text"}],
        "indexes": ["CREATE INDEX `idx_posts_title` ON `articles` (`title`)"],
    })  # fmt: skip
    for title in ("one", "two"):
        node.post("/api/collections/articles/records", {"title": title})
    node.api.patch("/api/collections/users", json={"otp": {"duration": 240}}).raise_for_status()
    sign_in(page, node)
    page.get_by_role("link", name="articles base", exact=True).click()
    page.get_by_role("button", name="Edit collection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Name of the copy").fill("posts_copy")
    dialog.get_by_role("button", name="Duplicate collection").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("heading", name="posts_copy")).to_be_visible()
    copy = node.api.get("/api/collections/posts_copy").json()
    assert [f["name"] for f in copy["fields"]] == ["id", "title"]
    assert len(copy["indexes"]) == 1 and "ON `posts_copy` (`title`)" in copy["indexes"][0]
    assert node.api.get("/api/collections/articles/records").json()["totalItems"] == 2

    # An auth collection is duplicated with its auth options.
    page.get_by_role("link", name="users auth", exact=True).click()
    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_label("Name of the copy").fill("members")
    dialog.get_by_role("button", name="Duplicate collection").click()
    expect(dialog).to_be_hidden()
    members = node.api.get("/api/collections/members").json()
    assert members["type"] == "auth" and members["otp"]["duration"] == 240
    assert {"email", "password", "tokenKey"} <= {f["name"] for f in members["fields"]}
    node.api.delete("/api/collections/members").raise_for_status()
    node.api.patch("/api/collections/users", json={"otp": {"duration": 180}}).raise_for_status()

    # Truncate asks first; then every record is gone.
    page.get_by_role("link", name="articles base", exact=True).click()
    page.get_by_role("button", name="Edit collection").click()
    dialog.get_by_role("button", name="Truncate collection").click()
    dialog.get_by_role("button", name="Yes, delete every record of articles").click()
    expect(dialog).to_be_hidden()
    assert node.api.get("/api/collections/articles/records").json()["totalItems"] == 0
    assert node.api.get("/api/collections/articles").status_code == 200

    # A view query's result is previewed while typing (the API's dry run); a bad one shows why.
    node.post("/api/collections/articles/records", {"title": "three"})
    page.get_by_role("button", name="New collection").click()
    dialog.get_by_label("Type", exact=True).select_option("view")
    query = dialog.get_by_label("View query (SELECT)")
    query.fill("SELECT id, nope FROM articles")
    expect(dialog.get_by_role("region", name="Query preview").get_by_role("alert")).to_contain_text(
        "Invalid view query"
    )
    query.fill("SELECT id, title FROM articles")
    table = dialog.get_by_role("table", name="Preview of the view's records")
    expect(table.get_by_role("columnheader", name="title")).to_be_visible()
    expect(table.get_by_role("cell", name="three")).to_be_visible()
    for name in ("posts_copy", "articles"):
        node.api.delete(f"/api/collections/{name}").raise_for_status()


def test_fields_reordered_by_dragging_and_by_keyboard(page: Any, node: Node) -> None:
    name = f"drag_fields_{int(time.time() * 1000)}"
    node.post("/api/collections", {
        "name": name, "type": "base",
        "fields": [{"name": n, "type": "text"} for n in ("alpha", "beta", "gamma", "delta")],
    })  # fmt: skip
    try:
        # Tall enough for every row to be on screen: Playwright's drag does not scroll mid-way.
        page.set_viewport_size({"width": 1280, "height": 1100})
        sign_in(page, node)
        page.get_by_role("link", name=f"{name} base", exact=True).click()
        page.get_by_role("button", name="Edit collection").click()
        dialog = page.get_by_role("dialog")
        rows = dialog.locator(".field-row")
        expect(rows).to_have_count(5)  # id first

        # delta's handle dropped on beta's row: delta takes beta's place.
        handle = rows.nth(4).locator(".drag-handle")
        expect(rows.nth(4).get_by_label("Field name")).to_have_value("delta")
        handle.drag_to(rows.nth(2))
        names = [r.get_by_label("Field name") for r in (rows.nth(i) for i in range(5))]
        for box, expected in zip(names, ["id", "alpha", "delta", "beta", "gamma"], strict=True):
            expect(box).to_have_value(expected)
        # Dragged downwards: alpha dropped on gamma's row goes to its place.
        rows.nth(1).locator(".drag-handle").drag_to(rows.nth(4))
        for box, expected in zip(names, ["id", "delta", "beta", "gamma", "alpha"], strict=True):
            expect(box).to_have_value(expected)
        # The keyboard's way: the move buttons, named after their field.
        dialog.get_by_role("button", name="Move gamma up", exact=True).press("Enter")
        dialog.get_by_role("button", name="Save collection").click()
        expect(dialog).to_be_hidden()

        fields = node.api.get(f"/api/collections/{name}").json()["fields"]
        assert [f["name"] for f in fields] == ["id", "delta", "gamma", "beta", "alpha"]
    finally:
        node.api.delete(f"/api/collections/{name}")
