"""``keelbase migrate --from pb_data``: a folder made by the real PocketBase 0.40.6, moved
over, then the same calls answered the same by PocketBase (on its folder) and by
Keelbase (on the result), on SQLite and PostgreSQL; plus bad input and the
refusal to serve a PocketBase folder directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.differential.normalise import Normaliser, diff_values
from tests.differential.servers import (
    POCKETBASE_BIN,
    SUPERUSER_EMAIL,
    SUPERUSER_PASSWORD,
    ChildServer,
    start_pocketbase,
)
from tests.e2e.pocketbase_app import (
    GOOGLE_SECRET,
    MEMBER_PASSWORD,
    SMTP_PASSWORD,
    USER_PASSWORD,
    PocketBaseApp,
    build_pocketbase_app,
)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not POCKETBASE_BIN.exists(), reason="no pocketbase binary"),
]

ENCRYPTION_KEY = "0123456789abcdef0123456789abcdef"  # PocketBase wants exactly 32 characters


def keelbase(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keelbase", *args],
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )


def in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command line run by ``keelbase.cli.main`` in this process (no interpreter start)."""
    import contextlib
    import io

    from keelbase.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def _state(folder: Path) -> dict[str, str]:
    """Every file of a folder with its digest: "nothing changed" is this staying equal."""
    if not folder.exists():
        return {}
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    last = result.stderr.strip().splitlines()[-1]  # progress lines may come first
    assert last.startswith("Error: ") and message in last, result.stderr


@pytest.fixture(scope="module")
def pocketbase_app(tmp_path_factory: pytest.TempPathFactory) -> PocketBaseApp:
    root = tmp_path_factory.mktemp("pocketbase")
    app = build_pocketbase_app(root)
    (root / "pb_hooks").mkdir()
    (root / "pb_hooks" / "main.pb.js").write_text(
        'routerAdd("GET", "/hi", (e) => e.string(200, "hi"))'
    )
    return app


@pytest.fixture
def pb_copy(pocketbase_app: PocketBaseApp, tmp_path: Path) -> Path:
    """The test's own copy of the PocketBase folder (and its pb_hooks beside it)."""
    source = pocketbase_app.data_dir
    shutil.copytree(source, tmp_path / "pb_data")
    shutil.copytree(source.parent / "pb_hooks", tmp_path / "pb_hooks")
    return tmp_path / "pb_data"


def _signin(url: str, collection: str, email: str, password: str) -> httpx.Response:
    return httpx.post(
        f"{url}/api/collections/{collection}/auth-with-password",
        json={"identity": email, "password": password},
        timeout=30,
    )


def _token(url: str, collection: str, email: str, password: str) -> str:
    response = _signin(url, collection, email, password)
    assert response.status_code == 200, (url, collection, email, response.text)
    token: str = response.json()["token"]
    return token


# (name, as whom, url): the calls whose answers must match.
CALLS: list[tuple[str, str, str]] = [
    ("authors", "superuser", "/api/collections/authors/records?sort=name&perPage=50"),
    # Without a sort both list in insertion order: the move keeps it.
    ("authors filtered", "anonymous", "/api/collections/authors/records?filter=active%3Dtrue"),
    ("posts unsorted", "anonymous", "/api/collections/posts/records"),
    (
        "posts expanded",
        "superuser",
        "/api/collections/posts/records?expand=author,owner&sort=title",
    ),
    ("posts of user0", "user0", "/api/collections/posts/records?filter=owner%3D@request.auth.id"),
    ("view", "anonymous", "/api/collections/post_authors/records?sort=title"),
    ("users", "superuser", "/api/collections/users/records?sort=email"),
    ("members as member", "member", "/api/collections/members/records"),
    ("external auths", "superuser", "/api/collections/_externalAuths/records"),
    ("collections", "superuser", "/api/collections?perPage=100&sort=name"),
    # PocketBase's sections only: `metrics` is Keelbase's own.
    (
        "settings",
        "superuser",
        "/api/settings?fields=superuserIPs,smtp,backups,s3,meta,rateLimits,trustedProxy,batch,logs",
    ),
]


def _answers(url: str, app: PocketBaseApp) -> dict[str, Any]:
    tokens = {
        "anonymous": "",
        "superuser": _token(url, "_superusers", SUPERUSER_EMAIL, SUPERUSER_PASSWORD),
        "user0": _token(url, "users", "user0@example.com", USER_PASSWORD),
        "member": _token(url, "members", "member@example.com", MEMBER_PASSWORD),
    }
    answers: dict[str, Any] = {}
    for name, who, path in CALLS:
        headers = {"Authorization": tokens[who]} if tokens[who] else {}
        response = httpx.get(url + path, headers=headers, timeout=30)
        answers[name] = {"status": response.status_code, "body": response.json()}
    return answers


def _compare(pocketbase: dict[str, Any], keelbase_: dict[str, Any], app: PocketBaseApp) -> None:
    # Ids and file names are the same on both sides now; only tokens and "now" differ.
    known = {v: k for k, v in {**app.users, **app.members}.items()}
    problems: list[str] = []
    for name in pocketbase:
        left = Normaliser(known)(pocketbase[name])
        right = Normaliser(known)(keelbase_[name])
        problems += [f"{name}: {p}" for p in diff_values(left, right)]
    assert not problems, "\n".join(problems)


SDK_CALLS = Path(__file__).resolve().parent / "pocketbase_sdk_calls.mjs"


def _sdk_answers(url: str) -> dict[str, Any]:
    """The JS SDK's calls of ``pocketbase_sdk_calls.mjs`` against one server."""
    node = shutil.which("node")
    if node is None or not (SDK_CALLS.parent / "node_modules" / "pocketbase").is_dir():
        if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
            pytest.fail("node and tests/e2e/node_modules are needed (make test installs them)")
        pytest.skip("node or tests/e2e/node_modules is missing")
    done = subprocess.run(
        [node, str(SDK_CALLS)],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "SDK_URL": url,
            "ADMIN_EMAIL": SUPERUSER_EMAIL,
            "ADMIN_PASSWORD": SUPERUSER_PASSWORD,
            "USER_EMAIL": "user0@example.com",
            "USER_PASSWORD": USER_PASSWORD,
        },
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers: dict[str, Any] = json.loads(done.stdout)
    return answers


def test_a_pocketbase_app_moves_over_and_answers_the_same(
    pocketbase_app: PocketBaseApp, pb_copy: Path, tmp_path: Path, db_url: str
) -> None:
    before = _state(pb_copy)
    target = tmp_path / "kb_data"
    to = ["--to", db_url, "--dir", str(target)] if db_url else ["--to", str(target)]
    moved = keelbase("migrate", "--from", str(pb_copy), *to)
    assert moved.returncode == 0, moved.stderr
    assert _state(pb_copy) == before  # the PocketBase folder is only read
    assert "counts and checksums verified" in moved.stdout
    # 6 covers and 12 docs; thumbnails and .attrs side files stay behind
    assert "Copied 18 files" in moved.stdout
    assert "pb_hooks/main.pb.js: JavaScript hooks do not run on Keelbase" in moved.stdout
    assert "backups/before_move.zip: PocketBase's backup archives stay behind" in moved.stdout
    # Keelbase has a client for every provider PocketBase has: none is named as left behind
    assert "OAuth2 provider 'discord'" not in moved.stdout
    assert not any(p.name.startswith("thumbs_") for p in (target / "storage").rglob("*"))

    reference = start_pocketbase(pb_copy.parent)
    try:
        expected = _answers(reference.url, pocketbase_app)
        expected_sdk = _sdk_answers(reference.url)
        issued_by_pocketbase = _token(
            reference.url, "members", "member@example.com", MEMBER_PASSWORD
        )
    finally:
        reference.stop()
    extra = ("--db", db_url) if db_url else ()
    server = ServerProcess(target, *extra)
    try:
        got = _answers(server.url, pocketbase_app)
        _compare(expected, got, pocketbase_app)
        got_sdk = _sdk_answers(server.url)
        assert "token" in got_sdk["user sign-in"]["ok"], got_sdk["user sign-in"]
        assert got_sdk["wrong password"]["status"] == 400
        assert expected_sdk["logs: page of nothing"]["ok"]["items"] == []
        assert expected_sdk["logs: stats of nothing"]["ok"] == []
        assert expected_sdk["logs: missing entry"]["status"] == 404
        assert expected_sdk["logs: guest page"]["status"] == 401
        _compare(expected_sdk, got_sdk, pocketbase_app)
        # A token PocketBase issued stays valid: token keys and collection secrets came along.
        refreshed = httpx.post(
            f"{server.url}/api/collections/members/auth-refresh",
            headers={"Authorization": issued_by_pocketbase},
            timeout=30,
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["record"]["email"] == "member@example.com"
        # Old passwords work; wrong ones still do not.
        assert _signin(server.url, "users", "user1@example.com", USER_PASSWORD).status_code == 200
        assert _signin(server.url, "users", "user1@example.com", "not-it-123").status_code == 400
        for key, body in pocketbase_app.files.items():
            file = httpx.get(f"{server.url}/api/files/{key}", timeout=30)
            assert file.status_code == 200 and file.content == body, key
        cover = next(k for k in pocketbase_app.files if k.endswith(".png"))
        thumb = httpx.get(f"{server.url}/api/files/{cover}?thumb=20x20", timeout=30)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        assert thumb.content != pocketbase_app.files[cover]
    finally:
        server.stop()
    if not db_url:
        stored = sqlite3.connect(target / "data.db")
        try:
            settings = stored.execute("SELECT value FROM _params WHERE id = 'settings'").fetchone()
            providers = stored.execute(
                "SELECT options FROM _collections WHERE name = 'members'"
            ).fetchone()
        finally:
            stored.close()
        assert SMTP_PASSWORD in settings[0]
        assert GOOGLE_SECRET in providers[0]


def test_serving_a_pocketbase_folder_is_refused_and_changes_nothing(pb_copy: Path) -> None:
    before = _state(pb_copy.parent)
    for run, command in (
        (keelbase, ("serve", "--http", "127.0.0.1:0", "--dir", str(pb_copy))),
        (
            in_process,
            ("superuser", "upsert", "x@example.com", "Passw0rd123", "--dir", str(pb_copy)),
        ),
        (in_process, ("export", "--dir", str(pb_copy), str(pb_copy.parent / "app.zip"))),
        (in_process, ("migrate", "--from", str(pb_copy.parent / "nothing"), "--to", str(pb_copy))),
    ):
        result = run(*command)
        _refused(result, "is a PocketBase data folder")
        assert "keelbase migrate --from" in result.stderr
    assert _state(pb_copy.parent) == before
    # ... so PocketBase still serves it, with its users' bcrypt hashes intact.
    server = ChildServer("pocketbase", [str(POCKETBASE_BIN)], pb_copy)
    try:
        assert _signin(server.url, "users", "user0@example.com", USER_PASSWORD).status_code == 200
    finally:
        server.stop()


def test_bad_input_is_one_error_line_and_changes_nothing(pb_copy: Path, tmp_path: Path) -> None:
    target = tmp_path / "kb_data"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    conn = sqlite3.connect(foreign / "data.db")
    conn.execute("CREATE TABLE notes (id TEXT)")
    conn.commit()
    conn.close()

    truncated = tmp_path / "truncated"
    truncated.mkdir()
    whole = (pb_copy / "data.db").read_bytes()
    (truncated / "data.db").write_bytes(whole[: len(whole) // 3])

    old = tmp_path / "old"
    old.mkdir()
    conn = sqlite3.connect(old / "data.db")
    conn.executescript(
        "CREATE TABLE _admins (id TEXT); CREATE TABLE _params (id TEXT, value TEXT);"
        "CREATE TABLE _collections (id TEXT, name TEXT, schema TEXT);"
        "CREATE TABLE _migrations (file TEXT, applied INTEGER);"
        "INSERT INTO _migrations VALUES ('1640988000_init.go', 1);"
    )
    conn.close()

    (tmp_path / "empty").mkdir()
    cases = [
        (tmp_path / "empty", "no Keelbase app in"),
        (foreign, "is not a Keelbase data folder"),
        (truncated, "cannot be read"),
        (old, "made by PocketBase before 0.23"),
    ]
    for source, message in cases:
        before = _state(source)
        result = in_process("migrate", "--from", str(source), "--to", str(target))
        _refused(result, message)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert _state(source) == before
        assert not target.exists(), source

    target.mkdir()  # an empty folder that exists: a failure leaves it empty
    _refused(in_process("migrate", "--from", str(old), "--to", str(target)), "before 0.23")
    _refused(
        in_process(
            "migrate", "--from", str(encrypted_like(pb_copy, tmp_path)), "--to", str(target)
        ),
        "encrypted",
    )
    assert list(target.iterdir()) == []
    assert keelbase("migrate", "--from", str(pb_copy), "--to", str(target)).returncode == 0
    filled = _state(target)
    again = in_process("migrate", "--from", str(pb_copy), "--to", str(target))
    _refused(again, "the target app is not empty")
    assert _state(target) == filled  # no staged files left behind either
    replaced = keelbase("migrate", "--from", str(pb_copy), "--to", str(target), "--replace")
    assert replaced.returncode == 0, replaced.stderr


def encrypted_like(pb_data: Path, tmp_path: Path) -> Path:
    """A copy of ``pb_data`` whose settings look encrypted (base64 instead of JSON)."""
    folder = tmp_path / "encrypted-like" / "pb_data"
    shutil.copytree(pb_data, folder)
    conn = sqlite3.connect(folder / "data.db")
    conn.execute("UPDATE _params SET value = 'c2VhbGVk' WHERE id = 'settings'")
    conn.commit()
    conn.close()
    return folder


@pytest.fixture
def encrypted_pb(tmp_path: Path) -> Iterator[Path]:
    """A folder whose settings PocketBase encrypted (``--encryptionEnv``)."""
    env = {"PB_TEST_KEY": ENCRYPTION_KEY}
    server = ChildServer(
        "pocketbase",
        [str(POCKETBASE_BIN), "--encryptionEnv", "PB_TEST_KEY"],
        tmp_path / "pb_data",
        env,
    )
    try:
        with server.client() as client:
            su = {
                "Authorization": _token(
                    server.url, "_superusers", SUPERUSER_EMAIL, SUPERUSER_PASSWORD
                )
            }
            patched = client.patch(
                "/api/settings",
                headers=su,
                json={
                    "smtp": {"enabled": True, "host": "smtp.example.org", "password": SMTP_PASSWORD}
                },
            )
            assert patched.status_code == 200, patched.text
    finally:
        server.stop()
    yield tmp_path / "pb_data"


def test_encrypted_settings_need_the_key(encrypted_pb: Path, tmp_path: Path) -> None:
    stored = sqlite3.connect(encrypted_pb / "data.db")
    raw = stored.execute("SELECT value FROM _params WHERE id = 'settings'").fetchone()[0]
    stored.close()
    assert SMTP_PASSWORD not in raw and not raw.startswith("{")  # PocketBase did encrypt them

    target = tmp_path / "kb_data"
    _refused(in_process("migrate", "--from", str(encrypted_pb), "--to", str(target)), "encrypted")
    assert not target.exists()
    wrong = keelbase(
        "migrate",
        "--from",
        str(encrypted_pb),
        "--to",
        str(target),
        "--encryptionEnv",
        "K",
        env={"K": "x" * 32},
    )
    _refused(wrong, "could not be decrypted")
    assert not target.exists()
    right = keelbase(
        "migrate",
        "--from",
        str(encrypted_pb),
        "--to",
        str(target),
        "--encryptionEnv",
        "K",
        env={"K": ENCRYPTION_KEY},
    )
    assert right.returncode == 0, right.stderr
    server = ServerProcess(target)
    try:
        su = _token(server.url, "_superusers", SUPERUSER_EMAIL, SUPERUSER_PASSWORD)
        settings = httpx.get(server.url + "/api/settings", headers={"Authorization": su}).json()
        assert settings["smtp"]["host"] == "smtp.example.org"
    finally:
        server.stop()


def test_an_oauth2_link_made_in_pocketbase_signs_in_on_keelbase(
    pocketbase_app: PocketBaseApp, pb_copy: Path, tmp_path: Path
) -> None:
    """A user linked to a provider in PocketBase gets into the same account on Keelbase.

    The provider answers with an email no account has, so only the carried
    ``_externalAuths`` link can lead to the member.
    """
    from urllib.parse import parse_qs, urlsplit

    from tests.oidc_provider import running_provider

    member_id = pocketbase_app.members["member@example.com"]
    with running_provider() as provider:
        reference = start_pocketbase(pb_copy.parent)
        try:
            with reference.client() as client:
                su = {
                    "Authorization": _token(
                        reference.url, "_superusers", SUPERUSER_EMAIL, SUPERUSER_PASSWORD
                    )
                }
                members = client.get("/api/collections/members", headers=su).json()
                providers = [*members["oauth2"]["providers"], provider.provider_config()]
                changed = client.patch(
                    "/api/collections/members",
                    headers=su,
                    json={"oauth2": {"providers": providers}},
                )
                assert changed.status_code == 200, changed.text
                linked = client.post(
                    "/api/collections/_externalAuths/records",
                    headers=su,
                    json={
                        "collectionRef": members["id"],
                        "recordRef": member_id,
                        "provider": "oidc",
                        "providerId": "oidc-user-1",
                    },
                )
                assert linked.status_code == 200, linked.text
        finally:
            reference.stop()
        target = tmp_path / "kb_data"
        moved = keelbase("migrate", "--from", str(pb_copy), "--to", str(target))
        assert moved.returncode == 0, moved.stderr
        server = ServerProcess(target)
        try:
            methods = httpx.get(server.url + "/api/collections/members/auth-methods").json()
            entry = next(p for p in methods["oauth2"]["providers"] if p["name"] == "oidc")
            redirect_url = server.url + "/api/oauth2-redirect"
            provider.next_user = {
                "sub": "oidc-user-1",
                "email": "someone-else@example.com",
                "email_verified": True,
            }
            consent = httpx.get(entry["authURL"] + redirect_url, follow_redirects=False)
            assert consent.status_code == 302, consent.text
            code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
            signed = httpx.post(
                server.url + "/api/collections/members/auth-with-oauth2",
                json={
                    "provider": "oidc",
                    "code": code,
                    "codeVerifier": entry["codeVerifier"],
                    "redirectURL": redirect_url,
                },
                timeout=30,
            )
            assert signed.status_code == 200, signed.text
            assert signed.json()["record"]["id"] == member_id
            assert signed.json()["meta"]["isNew"] is False
        finally:
            server.stop()


def test_javascript_migrations_are_listed_by_name(pb_copy: Path, tmp_path: Path) -> None:
    """One JS migration the real PocketBase applied, one it never ran: both named, neither run.

    PocketBase runs ``pb_migrations/`` beside its data folder when it starts;
    the applied one added a collection, which comes over with the data.
    """
    migrations = pb_copy.parent / "pb_migrations"
    migrations.mkdir()
    (migrations / "1800000000_add_notes.js").write_text(
        "migrate((app) => {\n"
        '  app.save(new Collection({ type: "base", name: "js_notes",\n'
        '    fields: [{ name: "title", type: "text" }] }));\n'
        "}, (app) => {\n"
        '  app.delete(app.findCollectionByNameOrId("js_notes"));\n'
        "});\n"
    )
    server = start_pocketbase(pb_copy.parent)
    server.stop()
    with sqlite3.connect(pb_copy / "data.db") as db:
        applied = {row[0] for row in db.execute('SELECT "file" FROM "_migrations"')}
    assert "1800000000_add_notes.js" in applied
    (migrations / "1800000001_not_yet.js").write_text(
        'migrate((app) => { app.delete(app.findCollectionByNameOrId("js_notes")); });\n'
    )
    target = tmp_path / "kb_data"
    moved = keelbase("migrate", "--from", str(pb_copy), "--to", str(target))
    assert moved.returncode == 0, moved.stderr
    assert (
        "pb_migrations/1800000000_add_notes.js: JavaScript migration (already applied, "
        "so its changes are carried)" in moved.stdout
    ), moved.stdout
    assert (
        "pb_migrations/1800000001_not_yet.js: JavaScript migration (NOT applied by "
        "PocketBase, so its changes are not carried)" in moved.stdout
    ), moved.stdout
    with sqlite3.connect(target / "data.db") as db:
        names = {row[0] for row in db.execute('SELECT "name" FROM "_collections"')}
    assert "js_notes" in names
