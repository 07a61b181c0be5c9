"""Screenshots of each dashboard page, for docs/dashboard.md.

The test walks the main pages with a small fixed dataset at a 1280x800 viewport and
saves a PNG of each in its own output folder, always. With
``KEELBASE_SCREENSHOTS=docs/images/dashboard`` (``make screenshots``) it also writes
them there, on SQLite only, reduced to a 256-colour palette to keep them small.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, Node, sign_in
from tests.conftest import ServerProcess

pytestmark = pytest.mark.e2e

VIEWPORT = {"width": 1280, "height": 800}
# Where `make screenshots` puts the docs' copies (relative to the repository root).
TARGET = os.environ.get("KEELBASE_SCREENSHOTS", "")
ROOT = Path(__file__).parents[2]
EDITOR_PASSWORD = "editor-pass-123"

BOOKS = [
    ("The Left Hand of Darkness", "ursula", 304, True, "novel"),
    ("A Wizard of Earthsea", "ursula", 183, True, "novel"),
    ("The Dispossessed", "ursula", 387, True, "novel"),
    ("Kindred", "octavia", 264, True, "novel"),
    ("Bloodchild", "octavia", 214, False, "stories"),
    ("Parable of the Sower", "octavia", 345, True, "novel"),
]


@pytest.fixture
def desk(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """A desktop-sized page in light colours, its animations off so shots are steady."""
    context = browser.new_context(viewport=VIEWPORT, color_scheme="light", reduced_motion="reduce")
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def library(node: Node) -> Iterator[tuple[str, str]]:
    """Two related collections with a few records; names unique so as to share the node."""
    suffix = "" if TARGET else f"_{int(time.time() * 1000)}"
    writers, books = f"writers{suffix}", f"books{suffix}"
    made = node.post(
        "/api/collections",
        {
            "name": writers,
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "fields": [
                {"name": "name", "type": "text", "required": True, "presentable": True},
                {"name": "born", "type": "number", "onlyInt": True},
            ],
        },
    )
    node.post(
        "/api/collections",
        {
            "name": books,
            "type": "base",
            "listRule": "",
            "viewRule": "",
            "createRule": '@request.auth.id != ""',
            "fields": [
                {"name": "title", "type": "text", "required": True, "max": 200},
                {"name": "writer", "type": "relation", "collectionId": made["id"], "maxSelect": 1},
                {"name": "pages", "type": "number", "onlyInt": True, "min": 1},
                {"name": "in_print", "type": "bool"},
                {"name": "kind", "type": "select", "values": ["novel", "stories"], "maxSelect": 1},
            ],
            "indexes": [f"CREATE INDEX idx_{books}_title ON {books} (title)"],
        },
    )
    ids = {
        key: node.post(f"/api/collections/{writers}/records", {"name": name, "born": born})["id"]
        for key, name, born in (
            ("ursula", "Ursula K. Le Guin", 1929),
            ("octavia", "Octavia E. Butler", 1947),
        )
    }
    for title, who, pages, in_print, kind in BOOKS:
        node.post(
            f"/api/collections/{books}/records",
            {
                "title": title,
                "writer": ids[who],
                "pages": pages,
                "in_print": in_print,
                "kind": kind,
            },
        )
    editor = node.post(
        "/api/collections/users/records",
        {"email": f"editor{suffix}@example.com", "password": EDITOR_PASSWORD,
         "passwordConfirm": EDITOR_PASSWORD},
    )  # fmt: skip
    yield writers, books
    node.api.delete(f"/api/collections/users/records/{editor['id']}")
    node.api.delete(f"/api/collections/{books}")
    node.api.delete(f"/api/collections/{writers}")


def _editor_email(books: str) -> str:
    """The editor the ``library`` fixture made, named with the same suffix as ``books``."""
    return f"editor{books.removeprefix('books')}@example.com"


class Camera:
    """Saves a PNG of the page to the test's folder and, when asked, a small copy to the docs."""

    def __init__(self, page: Any, out: Path, docs: Path | None) -> None:
        self.page, self.out, self.docs = page, out, docs
        self.taken: list[str] = []

    def shoot(self, name: str) -> None:
        # Carets and focus rings differ between runs: nothing is left focused.
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        path = self.out / f"{name}.png"
        self.page.screenshot(path=str(path), caret="hide", animations="disabled")
        with Image.open(path) as shot:
            assert shot.size == (VIEWPORT["width"], VIEWPORT["height"])
            if self.docs is not None:
                small = shot.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT)
                small.save(self.docs / f"{name}.png", optimize=True)
        self.taken.append(name)


def test_screenshots_of_each_page(
    desk: Any,
    node: Node,
    library: tuple[str, str],
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    _writers, books = library
    docs = None
    if TARGET and "sqlite" in request.node.callspec.id:
        docs = (ROOT / TARGET).resolve()
        docs.mkdir(parents=True, exist_ok=True)
    camera = Camera(desk, tmp_path, docs)
    page = desk

    page.goto(node.url + "/_/")
    expect(page.get_by_role("heading", name="Superuser sign in")).to_be_visible()
    camera.shoot("sign-in")

    sign_in(page, node)
    page.get_by_role("link", name=f"{books} base", exact=True).click()
    expect(page.get_by_role("heading", name=books, exact=True)).to_be_visible()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(len(BOOKS))
    expect(page.get_by_text(f"· {len(BOOKS)} records")).to_be_visible()
    camera.shoot("records")

    rows.filter(has_text="Kindred").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator('input[name="title"]')).to_have_value("Kindred")
    expect(dialog.locator("span.chip", has_text="Octavia E. Butler")).to_be_visible()
    camera.shoot("record-panel")
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("button", name="Edit collection").click()
    expect(dialog.get_by_role("heading", name=f"Edit collection {books}")).to_be_visible()
    dialog.locator("summary", has_text="Options of title").click()
    camera.shoot("collection-panel")
    dialog.get_by_role("button", name="Close").click()

    page.get_by_role("link", name="Relations diagram").click()
    expect(page.get_by_role("table", name="Relations")).to_be_visible()
    camera.shoot("relations-diagram")

    sections = page.get_by_role("navigation", name="Sections")
    sections.get_by_role("link", name="Logs").click()
    expect(page.get_by_role("heading", name="Logs", exact=True)).to_be_visible()
    # The seeding's requests are written in batches about every second.
    expect(page.locator("table.grid tbody tr").first).to_be_visible()
    camera.shoot("logs")

    sections.get_by_role("link", name="Health").click()
    expect(page.get_by_role("table", name="Routes")).to_be_visible()
    camera.shoot("health")

    sections.get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Application name")).to_be_visible()
    camera.shoot("settings")
    page.get_by_role("group", name="Rate limits").evaluate("e => e.scrollIntoView()")
    camera.shoot("rate-limits")

    subnav = page.get_by_role("navigation", name="Settings pages")
    for title, heading, name in (
        ("Backups", "Backups", "backups"),
        ("Crons", "Cron jobs", "crons"),
        ("Superusers", "Superusers", "superusers"),
        ("Export collections", "Export collections", "export-collections"),
        ("Import collections", "Import collections", "import-collections"),
    ):
        subnav.get_by_role("link", name=title, exact=True).click()
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        camera.shoot(name)

    page.goto(node.url + "/_/api-docs/")
    expect(
        page.get_by_role("heading", name=re.compile(r"API reference|Keelbase"))
    ).not_to_have_count(0)
    page.wait_for_load_state("networkidle")
    camera.shoot("api-reference")

    # An editor (a user of `users`): the records pages of the collections its rules open.
    page.goto(node.url + "/_/")  # the kept session: the page opens signed in
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("Sign in as a user of an auth collection (editor)").check()
    page.get_by_label("Auth collection", exact=True).select_option("users")
    page.get_by_label("Email").fill(_editor_email(books))
    page.get_by_label("Password").fill(EDITOR_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("navigation", name="Collections").get_by_role(
        "link", name=f"{books} base", exact=True
    ).click()
    expect(page.locator("table.grid tbody tr")).to_have_count(len(BOOKS))
    expect(page.get_by_text(f"· {len(BOOKS)} records")).to_be_visible()
    camera.shoot("editor-records")

    # The first-run page needs a node with no superuser: one of its own, briefly.
    fresh = ServerProcess(tmp_path / "kb_install")
    try:
        found = re.search(r"(http://\S+/_/#/install/[A-Za-z0-9_-]+)", fresh.log())
        assert found, fresh.log()
        page.goto(found.group(1))
        expect(page.get_by_role("heading", name="Create your first superuser")).to_be_visible()
        page.get_by_label("Email").wait_for()
        camera.shoot("install")
    finally:
        fresh.stop()

    assert len(camera.taken) == 17
    for name in camera.taken:
        assert (tmp_path / f"{name}.png").stat().st_size > 3_000  # a page, not a blank
