"""The relations diagram: loaded on demand as a chunk of its own, a box per collection, an
arrow per relation field, the same relations in a table."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def schema(node: Node) -> Iterator[tuple[str, str]]:
    stamp = int(time.time() * 1000)
    authors, posts = f"dg_authors_{stamp}", f"dg_posts_{stamp}"
    made = node.post(
        "/api/collections",
        {"name": authors, "type": "base", "fields": [{"name": "nickname", "type": "text"}]},
    )
    node.post(
        "/api/collections",
        {
            "name": posts,
            "type": "base",
            "fields": [
                {
                    "name": "writer",
                    "type": "relation",
                    "collectionId": made["id"],
                    "maxSelect": 1,
                    "cascadeDelete": True,
                },
            ],
        },
    )
    # A self-relation, added once the collection exists.
    own = node.api.get(f"/api/collections/{posts}").json()
    own["fields"].append(
        {"name": "related", "type": "relation", "collectionId": own["id"], "maxSelect": 5}
    )
    node.api.patch(f"/api/collections/{posts}", json={"fields": own["fields"]}).raise_for_status()
    yield authors, posts
    node.api.delete(f"/api/collections/{posts}")
    node.api.delete(f"/api/collections/{authors}")


def test_relations_diagram(page: Any, node: Node, schema: tuple[str, str]) -> None:
    authors, posts = schema
    scripts: list[str] = []
    page.on("request", lambda r: scripts.append(r.url) if r.url.endswith(".js") else None)
    sign_in(page, node)
    expect(page).to_have_url(re.compile(r"#/collections/.+"))
    first_load = set(scripts)

    page.get_by_role("navigation", name="Collections").get_by_role(
        "link", name="Relations diagram"
    ).click()
    expect(page.get_by_role("heading", name="Relations diagram")).to_be_visible()
    # The page came as a chunk the first load never fetched.
    assert [s for s in scripts if s not in first_load and "/assets/chunk-" in s]

    table = page.get_by_role("table", name="Relations")
    writer = table.get_by_role("row").filter(has_text=posts).filter(has_text="writer")
    expect(writer.get_by_role("cell")).to_have_text([posts, "writer", authors, "one", "cascade"])
    related = table.get_by_role("row").filter(has_text=posts).filter(has_text="related")
    expect(related.get_by_role("cell")).to_have_text(
        [posts, "related", posts, "up to 5", "set empty"]
    )

    drawing = page.get_by_role("group", name=re.compile("collections and .* relations"))
    expect(drawing.locator(f'g.box[data-collection="{posts}"]')).to_have_count(1)
    expect(drawing.locator(f'g.box[data-collection="{authors}"]')).to_have_count(1)
    expect(
        drawing.locator(f'path.edge[data-from="{posts}.writer"][data-to="{authors}"]')
    ).to_have_count(1)
    expect(
        drawing.locator(f'path.edge[data-from="{posts}.related"][data-to="{posts}"]')
    ).to_have_count(1)
    expect(drawing.locator('g.box[data-collection="_superusers"]')).to_have_count(0)
    assert accessibility_problems(page) == []

    page.get_by_label("Show all system collections").check()
    expect(drawing.locator('g.box[data-collection="_superusers"]')).to_have_count(1)

    # A box's name leads to the collection's records.
    drawing.get_by_role("link", name=authors, exact=True).click()
    expect(page.get_by_role("heading", name=authors)).to_be_visible()
