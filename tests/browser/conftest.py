"""A real ``keelbase serve`` per store, a mail catcher, and Debian's chromium driven by Playwright.

The browser is the system's ``chromium`` (``make chromium`` installs it), never
a downloaded build. One server per store serves every test of this folder; each
test gets a fresh browser context (no shared localStorage).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from keelbase.dashboard import DIST
from tests.conftest import ServerProcess
from tests.mail_catcher import MailCatcher, running_catcher
from tests.pg import STORES, fresh_database

ADMIN = ("admin@example.com", "Passw0rd123")
# axe-core, a dev dependency of the dashboard (dashboard/package-lock.json).
AXE = Path(__file__).parents[2] / "dashboard" / "node_modules" / "axe-core" / "axe.min.js"


class Node:
    """The served node, and a superuser's httpx client for setting up and checking."""

    def __init__(self, server: ServerProcess, mail: MailCatcher) -> None:
        self.server = server
        self.url = server.url
        self.mail = mail
        token = httpx.post(
            f"{self.url}/api/collections/_superusers/auth-with-password",
            json={"identity": ADMIN[0], "password": ADMIN[1]},
        ).json()["token"]
        self.api = httpx.Client(base_url=self.url, headers={"Authorization": token}, timeout=10)

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self.api.post(path, json=body)
        assert response.status_code in (200, 204), response.text
        return response.json() if response.content else {}


TIMEOUT_MS = 15_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("Debian's chromium is missing: `make chromium` (make test) installs it")
    if not (DIST / "index.html").is_file():
        pytest.fail("the dashboard is not built: run `make dashboard` (make test builds it)")
    return found


@pytest.fixture(scope="package")
def browser(node: Node, chromium_path: str) -> Iterator[Any]:
    """Started after the node and stopped before it, once per store for this folder.

    Playwright's sync API keeps an asyncio loop marked as running in this thread
    while it is open, so nothing else may call ``asyncio.run`` meanwhile: the
    PostgreSQL database is made before (and dropped after), and other test
    folders never run beside an open browser (the fixture ends with this package).
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context()
    # Generous for a CI machine whose 2 cores also run the servers and the database:
    # a passing test never waits for it, a failing one reports after it.
    context.set_default_timeout(TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    # A screenshot of where each test ended, kept with the test's output.
    opened.screenshot(path=str(tmp_path / "last.png"))
    context.close()


@pytest.fixture(scope="package", params=STORES)
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    data = tmp_path_factory.mktemp("browser") / "kb_data"
    with running_catcher() as mail:
        if request.param == "sqlite":
            yield from _serve(data, mail)
        else:
            with fresh_database() as url:
                yield from _serve(data, mail, "--db", url)


def _serve(data: Path, mail: MailCatcher, *extra: str) -> Iterator[Node]:
    subprocess.run(
        [sys.executable, "-m", "keelbase", "superuser", "upsert", *ADMIN, "--dir", str(data), *extra],
        check=True, capture_output=True,
    )  # fmt: skip
    server = ServerProcess(data, *extra)
    try:
        node = Node(server, mail)
        # The mails link to {APP_URL}/_/#/auth/...: this node's own address.
        settings = {**mail.smtp_settings(), "meta": {"appURL": server.url}}
        node.api.patch("/api/settings", json=settings).raise_for_status()
        yield node
    finally:
        server.stop()


def sign_in(page: Any, node: Node) -> None:
    page.goto(node.url + "/_/")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()


def accessibility_problems(page: Any) -> list[tuple[str, str, list[Any]]]:
    """The serious and critical axe-core violations on the page as it is now."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
