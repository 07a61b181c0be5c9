"""``sort=@rowid`` on a view collection: SQLite's views have rowids, PostgreSQL's do not.

On PostgreSQL the sort named a ``_rowid_`` column the view lacks and the list
failed with a 500; it now keeps the view's own order there.
"""

from __future__ import annotations

import pytest

from keelbase import App
from keelbase.core.request_info import RequestInfo
from keelbase.services.records.listing import ListParams

pytestmark = pytest.mark.anyio

SUPERUSER = RequestInfo(system=True)


async def test_a_view_sorted_by_rowid_lists_every_row(store_app: App) -> None:
    app = store_app
    await app.collections.create({"name": "posts", "fields": [{"name": "title", "type": "text"}]})
    view = {
        "name": "titles",
        "type": "view",
        "listRule": "",
        "viewQuery": "SELECT id, title FROM posts",
    }
    await app.collections.create(view)
    posts = app.records.collection("posts")
    for i in range(3):
        await app.records.create(posts, {"title": f"post {i}"}, SUPERUSER)
    titles = app.records.collection("titles")
    for sort in ("@rowid", "-@rowid,title"):
        page = await app.records.list_page(
            titles, ListParams(sort=sort, page=2, per_page=2), SUPERUSER
        )
        assert page["totalItems"] == 3 and len(page["items"]) == 1, sort
