"""A PocketBase data folder made by the real PocketBase 0.40.6, for the migrate tests.

Everything goes through PocketBase's own API (as its users fill it), so the
folder holds exactly what PocketBase writes: collections of every type,
relations, files, a view, auth users with bcrypt hashes, an OAuth2 link and
settings with secrets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.differential.servers import SUPERUSER_EMAIL, SUPERUSER_PASSWORD, start_pocketbase

USER_PASSWORD = "Old-pb-pass-123"
MEMBER_PASSWORD = "Member-pass-456"
SMTP_PASSWORD = "smtp-secret-789"
GOOGLE_SECRET = "google-client-secret-xyz"


@dataclass
class PocketBaseApp:
    """What the builder made, for the checks afterwards."""

    data_dir: Path
    users: dict[str, str] = field(default_factory=dict)  # email -> id
    members: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # "posts/<id>/<name>" -> bytes


def _ok(response: httpx.Response) -> Any:
    assert response.status_code in (200, 204), f"{response.request.url}: {response.text}"
    return response.json() if response.status_code == 200 else None


def superuser_headers(client: httpx.Client) -> dict[str, str]:
    token = _ok(
        client.post(
            "/api/collections/_superusers/auth-with-password",
            json={"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
        )
    )["token"]
    return {"Authorization": token}


def build_pocketbase_app(root: Path, records: int = 6) -> PocketBaseApp:
    """Start PocketBase in ``root/pb_data``, fill it through its API, stop it."""
    server = start_pocketbase(root)
    try:
        with server.client() as client:
            app = _fill(client, server.data_dir, records)
    finally:
        server.stop()
    return app


def _fill(client: httpx.Client, data_dir: Path, count: int) -> PocketBaseApp:
    app = PocketBaseApp(data_dir)
    su = superuser_headers(client)
    _ok(
        client.patch(
            "/api/settings",
            headers=su,
            json={
                "meta": {"appName": "Migrated app", "senderAddress": "team@example.com"},
                "smtp": {
                    "enabled": True,
                    "host": "smtp.example.net",
                    "port": 2525,
                    "username": "mailer",
                    "password": SMTP_PASSWORD,
                },
                "batch": {"enabled": True, "maxRequests": 20},
                "rateLimits": {
                    "enabled": True,
                    "rules": [{"label": "/api/", "duration": 10, "maxRequests": 500}],
                },
            },
        )
    )
    authors = _ok(
        client.post(
            "/api/collections",
            headers=su,
            json={
                "name": "authors",
                "type": "base",
                "listRule": "",
                "viewRule": "",
                "fields": [
                    {"name": "name", "type": "text", "required": True, "max": 100},
                    {"name": "bio", "type": "editor"},
                    {"name": "score", "type": "number"},
                    {"name": "active", "type": "bool"},
                    {"name": "tags", "type": "select", "maxSelect": 3, "values": ["a", "b", "c"]},
                    {"name": "meta", "type": "json"},
                    {"name": "born", "type": "date"},
                    {"name": "site", "type": "url"},
                    {"name": "contact", "type": "email"},
                    {"name": "place", "type": "geoPoint"},
                    {"name": "created", "type": "autodate", "onCreate": True},
                    {"name": "updated", "type": "autodate", "onCreate": True, "onUpdate": True},
                ],
                "indexes": ["CREATE INDEX `idx_authors_name` ON `authors` (`name`)"],
            },
        )
    )
    _ok(
        client.post(
            "/api/collections",
            headers=su,
            json={
                "name": "posts",
                "type": "base",
                "listRule": "",
                "viewRule": "",
                "createRule": "@request.auth.id != ''",
                "updateRule": "owner = @request.auth.id",
                "fields": [
                    {"name": "title", "type": "text"},
                    {
                        "name": "author",
                        "type": "relation",
                        "collectionId": authors["id"],
                        "maxSelect": 1,
                    },
                    {
                        "name": "owner",
                        "type": "relation",
                        "collectionId": "_pb_users_auth_",
                        "maxSelect": 1,
                    },
                    {
                        "name": "cover",
                        "type": "file",
                        "maxSelect": 1,
                        "maxSize": 1_000_000,
                        "thumbs": ["20x20"],
                    },
                    {"name": "docs", "type": "file", "maxSelect": 3, "maxSize": 1_000_000},
                    {"name": "created", "type": "autodate", "onCreate": True},
                ],
            },
        )
    )
    _ok(
        client.post(
            "/api/collections",
            headers=su,
            json={
                "name": "post_authors",
                "type": "view",
                "listRule": "",
                "viewRule": "",
                "viewQuery": "SELECT p.id, p.title, a.name AS author_name, a.score "
                "FROM posts p LEFT JOIN authors a ON a.id = p.author",
            },
        )
    )
    members = _ok(
        client.post(
            "/api/collections",
            headers=su,
            json={
                "name": "members",
                "type": "auth",
                "listRule": "id = @request.auth.id",
                "viewRule": "id = @request.auth.id",
                "createRule": "",
                "fields": [{"name": "nickname", "type": "text"}],
                "oauth2": {
                    "enabled": True,
                    "providers": [
                        {
                            "name": "google",
                            "clientId": "google-client-id",
                            "clientSecret": GOOGLE_SECRET,
                        },
                        {"name": "discord", "clientId": "d-id", "clientSecret": "d-secret"},
                    ],
                },
                "passwordAuth": {"enabled": True, "identityFields": ["email"]},
            },
        )
    )
    # Users sign up as clients do: PocketBase hashes their passwords with bcrypt.
    for n in range(2):
        email = f"user{n}@example.com"
        user = _ok(
            client.post(
                "/api/collections/users/records",
                json={
                    "email": email,
                    "password": USER_PASSWORD,
                    "passwordConfirm": USER_PASSWORD,
                    "name": f"User {n}",
                },
            )
        )
        app.users[email] = user["id"]
    member = _ok(
        client.post(
            "/api/collections/members/records",
            json={
                "email": "member@example.com",
                "password": MEMBER_PASSWORD,
                "passwordConfirm": MEMBER_PASSWORD,
                "nickname": "mem",
            },
        )
    )
    app.members["member@example.com"] = member["id"]
    _ok(
        client.post(
            "/api/collections/_externalAuths/records",
            headers=su,
            json={
                "collectionRef": members["id"],
                "recordRef": member["id"],
                "provider": "google",
                "providerId": "google-user-1",
            },
        )
    )
    owner = next(iter(app.users.values()))
    author_ids = []
    for n in range(count):
        author = _ok(
            client.post(
                "/api/collections/authors/records",
                headers=su,
                json={
                    "name": f"Author {n}",
                    "bio": f"<p>bio {n}</p>",
                    "score": n * 1.5,
                    "active": n % 2 == 0,
                    "tags": ["a", "c"] if n % 2 else ["b"],
                    "meta": {"n": n, "nested": {"list": [1, 2, n]}},
                    "born": f"199{n % 10}-0{1 + n % 9}-15 10:00:00.000Z",
                    "site": f"https://example.com/{n}",
                    "contact": f"author{n}@example.com",
                    "place": {"lon": 10.5 + n, "lat": -45.25 + n},
                },
            )
        )
        author_ids.append(author["id"])
    for n in range(count):
        png = _png(n)
        post = _ok(
            client.post(
                "/api/collections/posts/records",
                headers=su,
                data={
                    "title": f"Post {n}",
                    "author": author_ids[n % len(author_ids)],
                    "owner": owner,
                },
                files=[
                    ("cover", (f"cover{n}.png", png, "image/png")),
                    ("docs", (f"a{n}.txt", b"first doc %d" % n, "text/plain")),
                    ("docs", (f"b{n}.txt", b"second doc %d" % n, "text/plain")),
                ],
            )
        )
        app.files[f"posts/{post['id']}/{post['cover']}"] = png
        for name, body in zip(
            post["docs"], (b"first doc %d" % n, b"second doc %d" % n), strict=True
        ):
            app.files[f"posts/{post['id']}/{name}"] = body
        # A thumbnail cut by PocketBase: its folder must not travel as a file of its own.
        _ok_bytes(client.get(f"/api/files/posts/{post['id']}/{post['cover']}?thumb=20x20"))
    _ok(client.post("/api/backups", headers=su, json={"name": "before_move.zip"}))
    return app


def _ok_bytes(response: httpx.Response) -> bytes:
    assert response.status_code == 200, f"{response.request.url}: {response.status_code}"
    return response.content


def _png(seed: int) -> bytes:
    import io

    from PIL import Image

    image = Image.new("RGB", (40, 30), (seed * 40 % 256, 100, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
