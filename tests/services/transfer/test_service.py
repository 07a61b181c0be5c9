"""Moving a whole app: export, import into a fresh data folder, and the API answers the same.

The source app is built through the real API; export and import run through the
transfer service against real SQLite stores; the target is checked through the
real API again. Damaged archives and busy targets must leave the target as it was.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from keelbase import App, Config
from keelbase.services.transfer.service import TransferError, TransferService

ADMIN = ("admin@example.com", "Passw0rd123")
PASSWORD = "Secret-pass-123"
USERS = (("ann@example.com", True), ("bob@example.com", False), ("cid@example.com", False))
FRESH = ["_mfas", "_otps", "_externalAuths", "_authOrigins", "_superusers", "users"]


def _client(data_dir: Path) -> TestClient:
    return TestClient(App(Config(data_dir=data_dir)).asgi, raise_server_exceptions=False)


def _sign_in(client: TestClient, collection: str, email: str, password: str) -> Any:
    return client.post(
        f"/api/collections/{collection}/auth-with-password",
        json={"identity": email, "password": password},
    )


def _ok(response: Any) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _build_source(data_dir: Path) -> None:
    """An app with most field types, relations, a view, files, users and custom settings."""

    async def superuser() -> None:
        async with App(Config(data_dir=data_dir)) as app:
            await app.superusers.upsert(*ADMIN)

    asyncio.run(superuser())
    with _client(data_dir) as client:
        token = _ok(_sign_in(client, "_superusers", *ADMIN))["token"]
        auth = {"Authorization": token}
        _ok(
            client.post(
                "/api/collections",
                headers=auth,
                json={
                    "name": "posts",
                    "listRule": "",
                    "viewRule": "",
                    "fields": [
                        {"name": "title", "type": "text", "required": True},
                        {"name": "body", "type": "editor"},
                        {"name": "views", "type": "number"},
                        {"name": "published", "type": "bool"},
                        {
                            "name": "tags",
                            "type": "select",
                            "maxSelect": 3,
                            "values": ["a", "b", "c"],
                        },
                        {"name": "meta", "type": "json"},
                        {"name": "when", "type": "date"},
                        {"name": "place", "type": "geoPoint"},
                        {"name": "link", "type": "url"},
                        {"name": "secret", "type": "text", "hidden": True},
                        {
                            "name": "author",
                            "type": "relation",
                            "collectionId": "_pb_users_auth_",
                            "maxSelect": 1,
                        },
                        {"name": "cover", "type": "file", "maxSelect": 1, "maxSize": 100000},
                        {"name": "created", "type": "autodate", "onCreate": True},
                        {
                            "name": "updated",
                            "type": "autodate",
                            "onCreate": True,
                            "onUpdate": True,
                        },
                    ],
                    "indexes": ["CREATE INDEX idx_posts_title ON posts (title)"],
                },
            )
        )
        _ok(
            client.post(
                "/api/collections",
                headers=auth,
                json={
                    "name": "comments",
                    "listRule": "",
                    "fields": [
                        {"name": "body", "type": "text"},
                        {
                            "name": "post",
                            "type": "relation",
                            "collectionId": client.get(
                                "/api/collections/posts", headers=auth
                            ).json()["id"],
                            "maxSelect": 1,
                        },
                    ],
                },
            )
        )
        _ok(
            client.post(
                "/api/collections",
                headers=auth,
                json={
                    "name": "post_titles",
                    "type": "view",
                    "listRule": "",
                    "viewQuery": "SELECT id, title FROM posts",
                },
            )
        )
        user_ids = []
        for email, visible in USERS:
            user = _ok(
                client.post(
                    "/api/collections/users/records",
                    json={
                        "email": email,
                        "emailVisibility": visible,
                        "password": PASSWORD,
                        "passwordConfirm": PASSWORD,
                        "name": email.split("@")[0],
                    },
                )
            )
            user_ids.append(user["id"])
        for n in range(7):
            post = _ok(
                client.post(
                    "/api/collections/posts/records",
                    headers=auth,
                    data={
                        "title": f"post {n} ünïcode ✓",
                        "body": "<p>hello</p>",
                        "views": str(n * 2.5),
                        "published": "true" if n % 2 else "false",
                        "tags": ["a", "c"] if n % 3 else [],
                        "meta": orjson.dumps({"n": n, "nested": {"z": [1, 2.5, None]}}).decode(),
                        "when": f"2024-01-0{n + 1} 10:00:00.000Z",
                        "place": orjson.dumps({"lon": n, "lat": -n / 2}).decode(),
                        "link": "https://example.com/x",
                        "secret": f"s{n}",
                        "author": user_ids[n % 3],
                    },
                    files=[("cover", (f"c{n}.txt", b"cover %d" % n, "text/plain"))],
                )
            )
            _ok(
                client.post(
                    "/api/collections/comments/records",
                    headers=auth,
                    json={"body": f"on {n}", "post": post["id"]},
                )
            )
        _ok(client.patch("/api/settings", headers=auth, json={"meta": {"appName": "Moved"}}))


def _run(coro_factory: Callable[[App], Any], data_dir: Path) -> Any:
    async def go() -> Any:
        async with App(Config(data_dir=data_dir)) as app:
            return await coro_factory(app)

    return asyncio.run(go())


def _export(source: Path, archive: Path, page_size: int = 1000) -> dict[str, Any]:
    result: dict[str, Any] = _run(
        lambda app: TransferService(app.store, page_size=page_size).export(archive), source
    )
    return result


def _import(
    target: Path, archive: Path, replace: bool = False, page_size: int = 1000
) -> dict[str, Any]:
    result: dict[str, Any] = _run(
        lambda app: TransferService(app.store, page_size=page_size).import_(archive, replace),
        target,
    )
    return result


def _state(data_dir: Path) -> dict[str, Any]:
    """Everything a superuser can read through the API: collections, settings, all records."""
    with _client(data_dir) as client:
        auth = {"Authorization": _ok(_sign_in(client, "_superusers", *ADMIN))["token"]}
        collections = _ok(client.get("/api/collections?perPage=500", headers=auth))["items"]
        records = {}
        for collection in collections:
            if collection["name"] == "_authOrigins":
                continue  # signing in to read the app records an origin: the reading changes it
            expand = {"posts": "?expand=author", "comments": "?expand=post.author"}.get(
                collection["name"], "?"
            )
            url = f"/api/collections/{collection['name']}/records{expand}&perPage=500&sort=id"
            records[collection["name"]] = _ok(client.get(url, headers=auth))["items"]
        settings = _ok(client.get("/api/settings", headers=auth))
        return {"collections": collections, "records": records, "settings": settings}


def _names_and_counts(data_dir: Path) -> dict[str, int]:
    async def read(app: App) -> dict[str, int]:
        out = {}
        async with app.store.read() as conn:
            for collection in app.collections.schema:
                if not collection.is_view:
                    out[collection.name] = await conn.fetch_value(
                        f'SELECT COUNT(*) FROM "{collection.name}"'
                    )
        return out

    result: dict[str, int] = _run(read, data_dir)
    return result


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("source") / "kb_data"
    _build_source(data_dir)
    return data_dir


@pytest.fixture(scope="module")
def archive(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("archive") / "app.zip"
    _export(source, path, page_size=2)  # several pages per collection
    return path


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path / "target"


def _rewrite(archive: Path, out: Path, change: Callable[[str, bytes], bytes]) -> Path:
    """A copy of ``archive`` with each member passed through ``change(name, content)``."""
    with zipfile.ZipFile(archive) as old, zipfile.ZipFile(out, "w") as new:
        for info in old.infolist():
            new.writestr(info.filename, change(info.filename, old.read(info.filename)))
    return out


def _manifest(archive: Path) -> dict[str, Any]:
    with zipfile.ZipFile(archive) as zf:
        result: dict[str, Any] = orjson.loads(zf.read("manifest.json"))
        return result


def _member(archive: Path, name: str) -> str:
    manifest = _manifest(archive)
    return next(e["file"] for e in manifest["data"].values() if e["name"] == name)


# The happy path ---------------------------------------------------------------


def test_the_manifest_counts_every_record_and_keeps_secrets(source: Path, archive: Path) -> None:
    manifest = _manifest(archive)
    counts = {e["name"]: e["count"] for e in manifest["data"].values()}
    assert counts == _names_and_counts(source)
    assert counts["posts"] == 7 and counts["users"] == 3 and counts["_superusers"] == 1
    names = [c["name"] for c in manifest["collections"]]
    assert names[:6] == FRESH and "post_titles" in names
    assert "post_titles" not in counts  # a view's rows are derived, not carried
    users = next(c for c in manifest["collections"] if c["name"] == "users")
    assert users["authToken"]["secret"]  # with the secret the store keeps
    assert manifest["params"]["settings"]["meta"]["appName"] == "Moved"
    with zipfile.ZipFile(archive) as zf:
        lines = zf.read(_member(archive, "users")).splitlines()
    user = orjson.loads(lines[0])
    assert user["password"].startswith(("$2", "$argon2")) and user["tokenKey"]


def test_an_imported_app_answers_as_the_source_did(
    source: Path, archive: Path, target: Path
) -> None:
    manifest = _import(target, archive, page_size=3)
    assert manifest["data"]
    assert _state(target) == _state(source)
    with _client(target) as client:
        for email, _ in USERS:  # the original passwords still sign in
            assert _ok(_sign_in(client, "users", email, PASSWORD))["record"]["email"] == email
        assert _sign_in(client, "users", USERS[0][0], "wrong-password").status_code == 400
        post = _ok(client.get("/api/collections/posts/records?sort=id"))["items"][0]
        assert post["cover"].startswith("c") and post["cover"].endswith(".txt")


def test_tokens_and_files_keep_working_after_the_move(
    source: Path, archive: Path, target: Path
) -> None:
    with _client(source) as client:
        token = _ok(_sign_in(client, "users", USERS[1][0], PASSWORD))["token"]
    _import(target, archive)
    shutil.copytree(source / "storage", target / "storage")  # as docs/migrate.md says
    with _client(target) as client:
        # the token key and collection secret moved along, so a signed-in user stays signed in
        me = _ok(
            client.post("/api/collections/users/auth-refresh", headers={"Authorization": token})
        )
        assert me["record"]["email"] == USERS[1][0]
        post = _ok(client.get("/api/collections/posts/records?sort=id"))["items"][0]
        body = client.get(f"/api/files/posts/{post['id']}/{post['cover']}")
        number = post["title"].split()[1]
        assert body.status_code == 200 and body.content == f"cover {number}".encode()


def test_export_of_the_imported_app_has_the_same_checksums(
    archive: Path, target: Path, tmp_path: Path
) -> None:
    _import(target, archive)
    again = _export(target, tmp_path / "again.zip")
    assert again["data"] == _manifest(archive)["data"]


def test_replace_drops_what_the_target_had(archive: Path, target: Path) -> None:
    with _client(target) as client:
        auth = {"Authorization": _superuser_token(target, client)}
        _ok(client.post("/api/collections", headers=auth, json={"name": "old_stuff"}))
    _import(target, archive, replace=True)
    counts = _names_and_counts(target)
    assert "old_stuff" not in counts and counts["posts"] == 7 and counts["_superusers"] == 1


def _superuser_token(data_dir: Path, client: TestClient) -> str:
    async def upsert(app: App) -> None:
        await app.superusers.upsert("other@example.com", "Other-pass-123")

    _run(upsert, data_dir)
    token: str = _ok(_sign_in(client, "_superusers", "other@example.com", "Other-pass-123"))[
        "token"
    ]
    return token


# Refusals and failures leave the target as it was ------------------------------


def _assert_untouched_fresh(target: Path) -> None:
    assert _names_and_counts(target) == dict.fromkeys(FRESH, 0)


def test_a_target_with_records_is_refused(archive: Path, target: Path) -> None:
    _run(lambda app: app.superusers.upsert("other@example.com", "Other-pass-123"), target)
    with pytest.raises(TransferError, match="not empty: it has records in _superusers"):
        _import(target, archive)
    assert _names_and_counts(target) == {**dict.fromkeys(FRESH, 0), "_superusers": 1}


def test_a_target_with_collections_is_refused(archive: Path, target: Path) -> None:
    async def create(app: App) -> None:
        await app.collections.create({"name": "mine"})

    _run(create, target)
    with pytest.raises(TransferError, match="not empty: it has the collections mine"):
        _import(target, archive)
    assert set(_names_and_counts(target)) == {*FRESH, "mine"}


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda line: line.replace(b"post 3", b"post X"), "checksum of the archive's records"),
        (lambda line: b"" if b"post 5" in line else line, "the archive has 6 records"),
    ],
    ids=["changed-record", "missing-record"],
)
def test_a_tampered_archive_is_refused(
    archive: Path, target: Path, tmp_path: Path, tamper: Callable[[bytes], bytes], message: str
) -> None:
    posts = _member(archive, "posts")

    def change(name: str, content: bytes) -> bytes:
        if name != posts:
            return content
        return b"\n".join(tamper(line) for line in content.split(b"\n"))

    bad = _rewrite(archive, tmp_path / "bad.zip", change)
    with pytest.raises(TransferError, match=message):
        _import(target, bad)
    _assert_untouched_fresh(target)


def test_a_changed_manifest_count_is_refused(archive: Path, target: Path, tmp_path: Path) -> None:
    def change(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        manifest = orjson.loads(content)
        for entry in manifest["data"].values():
            if entry["name"] == "comments":
                entry["count"] += 1
        return orjson.dumps(manifest)

    with pytest.raises(
        TransferError, match="comments: the archive has 7 records, the manifest says 8"
    ):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change))
    _assert_untouched_fresh(target)


def test_a_broken_line_late_in_the_archive_rolls_everything_back_and_a_rerun_works(
    archive: Path, source: Path, target: Path, tmp_path: Path
) -> None:
    last = _member(archive, "users")  # the last table loaded, after every other one

    def change(name: str, content: bytes) -> bytes:
        return content + b'{"id": "broken' if name == last else content

    with pytest.raises(TransferError, match=r"line 4: not valid JSON"):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change), page_size=2)
    _assert_untouched_fresh(target)
    _import(target, archive)
    # other tests sign in on the source, which adds sign-in origins after the export
    imported, now = _names_and_counts(target), _names_and_counts(source)
    imported.pop("_authOrigins")
    now.pop("_authOrigins")
    assert imported == now


def test_a_record_the_store_refuses_rolls_everything_back(
    archive: Path, target: Path, tmp_path: Path
) -> None:
    comments = _member(archive, "comments")

    def change(name: str, content: bytes) -> bytes:
        if name != comments:
            return content
        first = content.split(b"\n")[0]
        return content + first + b"\n"  # the same id twice

    with pytest.raises(
        TransferError, match=r"lines? (\d+-)?8: the target store refused the record"
    ):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change))
    _assert_untouched_fresh(target)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p, "no archive at"),
        (lambda p: (p.write_bytes(b"not a zip"), p)[1], "not a zip file"),
        (lambda p: _zip(p, {"other.txt": b"x"}), "no manifest.json"),
        (lambda p: _zip(p, {"manifest.json": b"{"}), "not valid JSON"),
        (lambda p: _zip(p, {"manifest.json": b'{"format": "zip"}'}), "unknown format"),
        (
            lambda p: _zip(p, {"manifest.json": b'{"format": "keelbase-app", "version": 9}'}),
            "archive version 9",
        ),
        (
            lambda p: _zip(
                p,
                {"manifest.json": b'{"format": "keelbase-app", "version": 1, "collections": 3}'},
            ),
            "incomplete",
        ),
    ],
    ids=["missing", "not-zip", "no-manifest", "bad-json", "format", "version", "incomplete"],
)
def test_bad_archives_are_refused_before_the_target_is_touched(
    target: Path, tmp_path: Path, make: Callable[[Path], Path], message: str
) -> None:
    path = make(tmp_path / "in.zip")
    with pytest.raises(TransferError, match=message):
        _import(target, path)
    _assert_untouched_fresh(target)


def test_a_broken_collection_definition_is_refused(
    archive: Path, target: Path, tmp_path: Path
) -> None:
    def change(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        manifest = orjson.loads(content)
        manifest["data"].pop(next(iter(manifest["data"])))
        return orjson.dumps(manifest)

    with pytest.raises(TransferError, match="no records entry for '_mfas'"):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change))
    _assert_untouched_fresh(target)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_failed_export_leaves_no_archive(source: Path, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "app.zip"
    with pytest.raises(TransferError, match="cannot write"):
        _export(source, missing)
    assert not missing.parent.exists()


def test_a_collection_that_reads_back_differently_is_refused(
    archive: Path, target: Path, tmp_path: Path
) -> None:
    def change(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        manifest = orjson.loads(content)
        posts = next(c for c in manifest["collections"] if c["name"] == "posts")
        posts["fields"][1]["unknownOption"] = True  # dropped when read, so it cannot match
        return orjson.dumps(manifest)

    with pytest.raises(TransferError, match="collection 'posts' reads back differently"):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change))
    _assert_untouched_fresh(target)


def test_a_view_the_target_database_refuses_rolls_everything_back(
    archive: Path, target: Path, tmp_path: Path
) -> None:
    def change(name: str, content: bytes) -> bytes:
        if name != "manifest.json":
            return content
        manifest = orjson.loads(content)
        view = next(c for c in manifest["collections"] if c["name"] == "post_titles")
        view["viewQuery"] = "SELECT id, title FROM posts WHERE no_such_function(title)"
        return orjson.dumps(manifest)

    with pytest.raises(
        TransferError,
        match="view 'post_titles': the target database refused its query: no such function",
    ):
        _import(target, _rewrite(archive, tmp_path / "bad.zip", change))
    _assert_untouched_fresh(target)


def test_checksums_ignore_row_order_and_how_a_store_returns_numbers() -> None:
    from decimal import Decimal

    from keelbase.services.transfer.archive import Checksum, canonical

    # PostgreSQL's NUMERIC comes back as Decimal, SQLite's as float or int; JSON keys in any order
    sqlite_rows = [
        {"id": "a", "n": 2.0, "j": {"y": 1, "x": [1.5]}},
        {"id": "b", "n": 2.5, "j": None},
    ]
    postgres_rows = [
        {"id": "b", "n": Decimal("2.5"), "j": None},
        {"j": {"x": [1.5], "y": 1}, "id": "a", "n": Decimal(2)},
    ]
    first, second = Checksum(), Checksum()
    for row in sqlite_rows:
        first.add(canonical(row))
    for row in postgres_rows:
        second.add(canonical(row))
    assert first.hexdigest == second.hexdigest and first.count == second.count == 2
    changed = Checksum()
    for row in [{**sqlite_rows[0], "n": 3}, sqlite_rows[1]]:
        changed.add(canonical(row))
    assert changed.hexdigest != first.hexdigest
    doubled = Checksum()
    for row in [sqlite_rows[0], sqlite_rows[0]]:
        doubled.add(canonical(row))
    assert doubled.hexdigest != Checksum().hexdigest  # a repeated row does not cancel out
