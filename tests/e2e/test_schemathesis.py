"""Schemathesis against a real ``keelbase serve``, on SQLite and PostgreSQL.

The server describes itself (``/api/openapi.json``); Schemathesis generates
requests from that description (valid and invalid ones) for a small app with
collections of most field types, and checks every answer: no 5xx, status code,
content type and body as described, and no answer slower than a limit.
Hypothesis is derandomized and without its database, so CI runs the same
requests each time; examples are bounded per operation to keep the whole test
well under two minutes per store.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import ServerProcess

pytestmark = pytest.mark.e2e

ADMIN = ("fuzz@example.com", "fuzz-password-123")
EXAMPLES = 8  # per operation and generation mode
SLOWEST = 5.0  # seconds: an answer slower than this fails (a loaded 2-core CI box)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Operations left out, and why (docs/openapi.md repeats this list).
SKIPPED = {
    ("GET", "/api/realtime"): "an endless SSE stream",
    ("POST", "/api/realtime"): "needs a live SSE client id",
    ("GET", "/api/oauth2-redirect"): "an HTML page for providers",
    ("POST", "/api/oauth2-redirect"): "an HTML page for providers",
    ("POST", "/api/sql"): "superuser SQL: an endless query is issue 17's defect 1, owned elsewhere",
}
# Routes that would change the server under the fuzzer's feet (schema, settings,
# backups, jobs, logs) or send mail or call OAuth2 providers.
SKIPPED_PREFIXES = ("/api/backups", "/api/settings", "/api/crons/")
GUEST_PREFIXES = tuple(
    f"/api/collections/{name}/" for name in ("members", "posts", "notes", "post_titles")
)
SKIPPED_WRITES = ("/api/collections", "/api/collections/import", "/api/logs")
SKIPPED_ACTIONS = (
    "/request-otp",
    "/request-verification",
    "/request-password-reset",
    "/request-email-change",
    "/auth-with-oauth2",
    "/api/collections/meta/dry-run-view",
)


# PocketBase's own system collections: their records routes are the same code as
# any collection's, fuzzed once already through the fixture's (a clean run found
# nothing on them), so they are left out to keep the run short.
SYSTEM_COLLECTIONS = tuple(
    f"/api/collections/{name}/" for name in ("_mfas", "_otps", "_authOrigins", "_externalAuths")
)


def wanted(method: str, path: str) -> bool:
    if path.startswith(SYSTEM_COLLECTIONS):
        return False
    if (method, path) in SKIPPED or path.startswith(SKIPPED_PREFIXES):
        return False
    if method != "GET" and (path in SKIPPED_WRITES or path.startswith("/api/collections/{")):
        return False
    return not path.endswith(SKIPPED_ACTIONS)


def field(name: str, kind: str, **options: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **options}


def build_fixture_app(url: str, token: str) -> None:
    """Collections of most field types, open rules, and a few records."""
    headers = {"Authorization": token}
    members = {
        "name": "members", "type": "auth", "listRule": "", "viewRule": "",
        "createRule": "", "updateRule": "id = @request.auth.id", "deleteRule": None,
        "fields": [field("nickname", "text", max=40)],
    }  # fmt: skip
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        created = client.post("/api/collections", json=members)
        assert created.status_code == 200, created.text
        members_id = created.json()["id"]
        posts = {
            "name": "posts", "type": "base", "listRule": "", "viewRule": "",
            "createRule": "", "updateRule": "", "deleteRule": "",
            "fields": [
                field("title", "text", required=True, max=100),
                field("views", "number", min=0, onlyInt=True),
                field("score", "number"),
                field("published", "bool"),
                field("tags", "select", values=["a", "b", "c"], maxSelect=3),
                field("kind", "select", values=["news", "blog"], maxSelect=1),
                field("meta", "json"),
                field("when", "date"),
                field("site", "url"),
                field("contact", "email"),
                field("body", "editor"),
                field("place", "geoPoint"),
                field("author", "relation", collectionId=members_id, maxSelect=1),
                field("cover", "file", maxSelect=1, maxSize=100000),
                field("attachments", "file", maxSelect=3, maxSize=100000),
                field("created", "autodate", onCreate=True),
                field("updated", "autodate", onCreate=True, onUpdate=True),
            ],
        }  # fmt: skip
        assert client.post("/api/collections", json=posts).status_code == 200
        notes = {
            "name": "notes", "type": "base", "listRule": "@request.auth.id != ''",
            "viewRule": None, "createRule": None, "updateRule": None, "deleteRule": None,
            "fields": [field("text", "text")],
        }  # fmt: skip
        assert client.post("/api/collections", json=notes).status_code == 200
        view = {
            "name": "post_titles", "type": "view", "listRule": "", "viewRule": "",
            "viewQuery": "SELECT id, title, views FROM posts",
        }  # fmt: skip
        assert client.post("/api/collections", json=view).status_code == 200
        for i in range(3):
            body = {"title": f"post {i}", "views": i, "tags": ["a"], "kind": "news"}
            assert client.post("/api/collections/posts/records", json=body).status_code == 200


def superuser_token(url: str) -> str:
    answer = httpx.post(
        url + "/api/collections/_superusers/auth-with-password",
        json={"identity": ADMIN[0], "password": ADMIN[1]},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["token"]
    return token


def add_superuser(data_dir: Path, *db: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "keelbase",
        "superuser",
        "upsert",
        *ADMIN,
        "--dir",
        str(data_dir),
        *db,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"superuser upsert failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def fuzz_server(fresh_db_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    db = ("--db", fresh_db_url) if fresh_db_url else ()
    data_dir = tmp_path / "kb_data"
    add_superuser(data_dir, *db)
    server = ServerProcess(data_dir, *db)
    yield server
    server.stop()


def describe(failure: BaseException) -> str:
    """A check's failure in a few lines: its title and message, without the whole schema."""
    if isinstance(failure, BaseExceptionGroup):
        return "\n".join(describe(inner) for inner in failure.exceptions)
    if isinstance(failure, Failure):
        return f"{failure.title}: {failure.message[:600]}"
    return str(failure)[:600]


def run_fuzz(url: str, token: str, guest: bool = False) -> tuple[int, list[str], float]:
    """Wanted operations, valid then invalid examples; (examples, failures, slowest).

    With a superuser's token every operation is fuzzed; as a guest (no token),
    the records routes of the fixture's collections, so their rules are met.
    """
    headers = {} if guest else {"Authorization": token}
    who = "guest" if guest else "superuser"
    schema = schemathesis.openapi.from_url(url + "/api/openapi.json", headers=headers)
    examples, failures, slowest = 0, [], 0.0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not wanted(operation.method.upper(), operation.path):
            continue
        if guest and not operation.path.startswith(GUEST_PREFIXES):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
            )  # fmt: skip
            @given(case=operation.as_strategy(generation_mode=mode))
            def check(case: Any) -> None:
                nonlocal examples, slowest
                examples += 1
                case.headers = {**(case.headers or {}), **headers}
                started = time.monotonic()
                response = case.call(base_url=url, timeout=30)
                took = time.monotonic() - started
                slowest = max(slowest, took)
                try:
                    case.validate_response(response, checks=CHECKS)
                    assert took < SLOWEST, f"answered in {took:.2f}s (limit {SLOWEST}s)"
                except (AssertionError, FailureGroup) as failure:
                    shown = {"Authorization": "[token]"} if headers else None
                    curl = case.as_curl_command(headers=shown, base_url=url)
                    raise AssertionError(f"{describe(failure)}\n  {curl}") from None

            began = time.monotonic()
            try:
                check()
                print(f"  {who} {mode.value} {operation.label}: {time.monotonic() - began:.1f}s")
            except Unsatisfiable:
                continue  # nothing to negate (no parameters or body): positive examples only
            except Exception as error:
                failures.append(f"{operation.label} [{who}, {mode.value}]: {error}")
    return examples, failures, slowest


def test_schemathesis_finds_nothing(fuzz_server: ServerProcess) -> None:
    token = superuser_token(fuzz_server.url)
    build_fixture_app(fuzz_server.url, token)
    started = time.monotonic()
    examples, failures, slowest = run_fuzz(fuzz_server.url, token)
    as_guest, guest_failures, guest_slowest = run_fuzz(fuzz_server.url, token, guest=True)
    took = time.monotonic() - started
    print(
        f"schemathesis: {examples} examples as a superuser and {as_guest} as a guest "
        f"in {took:.1f}s, slowest answer {max(slowest, guest_slowest):.2f}s"
    )
    assert examples > 800 and as_guest > 300
    failures += guest_failures
    assert not failures, "\n\n".join(failures)
