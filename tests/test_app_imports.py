"""A fresh server loads only what serving needs: the heavy libraries of optional
features (S3, payments, push, vectors, images, tracing, error reports) wait for their
first use, as do the password hashes (the first sign-in) and file type detection (the
first upload). SQLAlchemy renders the DDL of record tables, so a server loads it only
when it creates one of its own: a new folder's system tables were rendered ahead of
time (store/ddl_known.py), so neither a first start nor a restart loads it. A property
of the imports, checked in a fresh interpreter, not a timing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Each costs a fresh server tens of milliseconds to start or megabytes of memory.
HEAVY = {
    "boto3", "botocore", "stripe", "numpy", "PIL", "pywebpush", "py_vapid", "aiohttp",
    "requests", "httpx", "sqlalchemy", "jwt", "cryptography", "sentry_sdk", "opentelemetry",
    "authlib", "joserfc", "asyncpg", "redis", "aiosmtplib", "wordllama", "websockets",
    "prometheus_client", "argon2", "bcrypt", "filetype",
}  # fmt: skip

# Services the app builds on first use (``App.oauth2``, ``vectors``, ``openapi``,
# ``payments``, ``push``, ``sync``, ``advisor``, ``auth_mail``, ``auth_alerts``, ...;
# ``backups.engine`` at the first backup).
LAZY_SERVICES = {
    "keelbase.services.auth.oauth2", "keelbase.services.vectors.service",
    "keelbase.services.openapi.service", "keelbase.services.openapi.document",
    "keelbase.services.payments.service", "keelbase.services.sync.service",
    "keelbase.services.advisor.service", "keelbase.services.auth.mail_flows",
    "keelbase.services.auth.impersonation", "keelbase.services.mail.probe",
    "keelbase.services.auth.alerts", "keelbase.services.migrations.automigrate",
    "keelbase.services.backups.engines", "keelbase.services.transfer.service",
    "keelbase.services.push.service", "keelbase.services.push.rules",
    "keelbase.core.auth.oauth2_providers",  # the providers table: with the first one named
    "keelbase.core.records.html_text",  # html.parser: with the first :excerpt
    "keelbase.store.index_trial",  # the index advisor's trials (SQLite)
    "keelbase.services.records.aggregate", "keelbase.core.collections.view_query",
}  # fmt: skip

START_AND_ANSWER_HEALTH = """
import asyncio, sys
from pathlib import Path
import keelbase.cli  # the serve command's own imports
from keelbase.app import App
from keelbase.config import Config

async def main() -> None:
    app = App(Config(data_dir=Path(sys.argv[1])))
    await app.start()  # an empty folder: the system tables and collections are created
    sent = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": "/api/health",
             "raw_path": b"/api/health", "query_string": b"", "root_path": "",
             "headers": [(b"host", b"localhost")], "client": ("127.0.0.1", 1),
             "server": ("127.0.0.1", 80)}
    await app.asgi(scope, receive, send)
    await app.stop()
    assert sent[0]["status"] == 200, sent

asyncio.run(main())
print(" ".join(sorted(sys.modules)))
"""


def _start_and_answer(data: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", START_AND_ANSWER_HEALTH, str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert "keelbase.api.health" in loaded and "starlette" in loaded  # it did start and serve
    return loaded


def _libraries(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_a_fresh_server_imports_no_heavy_library(tmp_path: Path) -> None:
    first = _start_and_answer(tmp_path / "kb_data")  # creates the system tables
    assert _libraries(first) & HEAVY == set()  # their DDL rendered ahead of time
    assert first & LAZY_SERVICES == set()
    again = _start_and_answer(tmp_path / "kb_data")  # a restart: no table to create
    assert _libraries(again) & HEAVY == set()
    assert again & LAZY_SERVICES == set()
