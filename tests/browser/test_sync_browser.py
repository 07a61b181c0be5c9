"""The sync client in Chromium: offline writes survive a reload in IndexedDB and reach the server.

The page (answered by Playwright under the server's own origin at
``/sync-test/``, so the API is same-origin and the loopback origin is a secure
context for IndexedDB and WebCrypto) loads ``clients/js-sync`` and the official
SDK as ES modules and syncs the ``todos`` of a user of this folder's server.
The reload happens with the API cut off (the page itself still loads, as an
app shell from a service worker would). Two browser contexts are two devices of
one user, each with its own IndexedDB: they edit one record (the server wins,
the loser's change is kept aside), one hears the other's write through realtime,
and both lose a record given to another user.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Node

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "js-sync"
SDK = CLIENT / "node_modules" / "pocketbase" / "dist" / "pocketbase.es.mjs"
PREFIX = "/sync-test"
PAGE = """<!doctype html>
<html lang="en"><head><title>todos</title>
<script type="importmap">{"imports": {"pocketbase": "/sync-test/pocketbase.es.mjs"}}</script>
</head><body><ul id="todos"></ul>
<script type="module">
import PocketBase from 'pocketbase';
import { SyncClient, IndexedDBStore } from '/sync-test/src/index.js';
const pb = new PocketBase(location.origin);
window.start = async (email, password) => {
  if (!pb.authStore.isValid) await pb.collection('users').authWithPassword(email, password);
  window.sync = await new SyncClient(pb, {collections: ['todos'], store: new IndexedDBStore('todos-' + email)}).start();
  window.todos = window.sync.collection('todos');
  window.todos.live((list) => {
    document.querySelector('#todos').replaceChildren(
      ...list.map((t) => Object.assign(document.createElement('li'), {textContent: t.title})));
  });
  window.me = pb.authStore.record.id;
  return true;
};
</script></body></html>
"""


def serve_files(route: Any) -> None:
    path = "/" + route.request.url.split(PREFIX, 1)[1].split("?")[0].lstrip("/")
    if path == "/pocketbase.es.mjs":
        route.fulfill(path=str(SDK), content_type="text/javascript")
    elif path.startswith("/src/"):
        route.fulfill(path=str(CLIENT / path.lstrip("/")), content_type="text/javascript")
    else:
        route.fulfill(body=PAGE, content_type="text/html")


def titles(page: Any) -> list[str]:
    return sorted(page.locator("#todos li").all_text_contents())


def todo_user(node: Node) -> tuple[str, str, dict[str, Any]]:
    """The ``todos`` collection (made once) and a new user: email, password, record."""
    email, password = f"sync-{secrets.token_hex(4)}@example.com", "sync-pass-123"
    if node.api.get("/api/collections/todos").status_code == 404:
        rule = "owner = @request.auth.id"
        node.post("/api/collections", {
            "name": "todos", "listRule": rule, "viewRule": rule, "createRule": rule,
            "updateRule": rule, "deleteRule": rule,
            "fields": [{"name": "title", "type": "text"}, {"name": "owner", "type": "text"},
                       {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True}],
        })  # fmt: skip
    user = node.post("/api/collections/users/records",
                     {"email": email, "password": password, "passwordConfirm": password})  # fmt: skip
    return email, password, user


def open_device(browser: Any, node: Node, email: str, password: str) -> tuple[Any, Any]:
    """A browser context of its own (its own IndexedDB) with the todo page started."""
    context = browser.new_context()
    context.set_default_timeout(10000)
    context.route(f"{node.url}{PREFIX}/**", serve_files)
    page = context.new_page()
    page.goto(f"{node.url}{PREFIX}/")
    page.evaluate("([e, p]) => start(e, p)", [email, password])
    return context, page


def test_offline_writes_survive_a_reload_and_reach_the_server(node: Node, browser: Any) -> None:
    if not SDK.is_file():
        pytest.fail("clients/js-sync/node_modules is missing: npm ci there (make test)")
    email, password, user = todo_user(node)
    kept = node.post("/api/collections/todos/records", {"title": "kept", "owner": user["id"]})
    gone = node.post("/api/collections/todos/records", {"title": "gone", "owner": user["id"]})

    context = browser.new_context()
    context.set_default_timeout(10000)
    try:
        context.route(f"{node.url}{PREFIX}/**", serve_files)
        page = context.new_page()
        page.goto(f"{node.url}{PREFIX}/")
        page.evaluate("([e, p]) => start(e, p)", [email, password])
        page.wait_for_function("document.querySelectorAll('#todos li').length === 2")

        context.set_offline(True)
        page.evaluate(
            """async ([kept, gone]) => {
                const made = await todos.create({title: 'made offline', owner: me});
                await todos.update(made.id, {title: 'made and renamed offline'});
                await todos.update(kept, {title: 'kept, renamed offline'});
                await todos.delete(gone);
                await sync.sync();
            }""",
            [kept["id"], gone["id"]],
        )
        offline = ["kept, renamed offline", "made and renamed offline"]
        assert titles(page) == offline
        assert page.evaluate("sync.pending") == 4
        on_server = node.api.get(
            "/api/collections/todos/records", params={"filter": f"owner='{user['id']}'"}
        )
        assert sorted(t["title"] for t in on_server.json()["items"]) == ["gone", "kept"]

        # A reload while offline: the queue and the copy come back from IndexedDB.
        context.route(f"{node.url}/api/**", lambda route: route.abort("internetdisconnected"))
        context.set_offline(False)  # the page's online handler syncs, into the cut-off API
        page.reload()
        context.set_offline(True)
        page.evaluate("([e, p]) => start(e, p)", [email, password])
        assert page.evaluate("sync.pending") == 4
        page.wait_for_function(f"document.querySelectorAll('#todos li').length === {len(offline)}")
        assert titles(page) == offline

        context.unroute(f"{node.url}/api/**")
        context.set_offline(False)
        assert page.evaluate("sync.sync().then((r) => r.online)") is True
        assert page.evaluate("sync.pending") == 0
        on_server = node.api.get(
            "/api/collections/todos/records", params={"filter": f"owner='{user['id']}'"}
        )
        assert sorted(t["title"] for t in on_server.json()["items"]) == offline
        assert titles(page) == offline
        assert page.evaluate("sync.conflicts.length") == 0
    finally:
        context.close()


def test_two_devices_edit_one_record_and_a_user_losing_access_sees_it_go(
    node: Node, browser: Any
) -> None:
    if not SDK.is_file():
        pytest.fail("clients/js-sync/node_modules is missing: npm ci there (make test)")
    email, password, user = todo_user(node)
    shared = node.post("/api/collections/todos/records", {"title": "shared", "owner": user["id"]})
    other = node.post("/api/collections/todos/records", {"title": "other", "owner": user["id"]})
    phone, on_phone = open_device(browser, node, email, password)
    laptop, on_laptop = open_device(browser, node, email, password)
    try:
        for page in (on_phone, on_laptop):
            page.wait_for_function("document.querySelectorAll('#todos li').length === 2")
        # The phone edits offline; the laptop edits the same record online first.
        phone.set_offline(True)
        on_phone.evaluate("(id) => todos.update(id, {title: 'from the phone'})", shared["id"])
        on_laptop.evaluate(
            "async (id) => { await todos.update(id, {title: 'from the laptop'}); await sync.sync(); }",
            shared["id"],
        )
        assert titles(on_phone) == ["from the phone", "other"]
        phone.set_offline(False)
        assert on_phone.evaluate("sync.sync().then((r) => r.online)") is True
        # Server wins; the phone's change is kept aside for the app.
        assert titles(on_phone) == ["from the laptop", "other"]
        assert on_phone.evaluate("sync.conflicts.map((c) => [c.kind, c.operation.data.title])") == [
            ["conflict", "from the phone"]
        ]
        assert on_laptop.evaluate("sync.conflicts.length") == 0
        on_server = node.api.get(f"/api/collections/todos/records/{shared['id']}")
        assert on_server.json()["title"] == "from the laptop"

        # Realtime is the signal: the laptop pulls a new todo of the phone's by itself.
        on_phone.evaluate(
            "async () => { await todos.create({title: 'new on the phone', owner: me}); }"
        )
        on_laptop.wait_for_function("document.querySelectorAll('#todos li').length === 3")
        assert titles(on_laptop) == ["from the laptop", "new on the phone", "other"]

        # The record is given to someone else: both devices see it go at their next pull.
        stranger = node.post("/api/collections/users/records", {
            "email": f"stranger-{secrets.token_hex(4)}@example.com",
            "password": password, "passwordConfirm": password,
        })  # fmt: skip
        moved = node.api.patch(
            f"/api/collections/todos/records/{shared['id']}", json={"owner": stranger["id"]}
        )
        assert moved.status_code == 200, moved.text
        for page in (on_phone, on_laptop):
            page.evaluate("sync.sync()")
            page.wait_for_function("document.querySelectorAll('#todos li').length === 2")
            assert titles(page) == ["new on the phone", "other"]
        assert other["id"] in on_phone.evaluate("todos.list().map((t) => t.id)")
    finally:
        phone.close()
        laptop.close()
