"""OAuth2's all-in-one flow against ``keelbase serve``: a real SSE client waits on ``@oauth2``,
a "browser" follows the provider's consent URL to ``/api/oauth2-redirect``, and the code
the stream receives signs in. Also across two nodes (Redis), and with the official JS SDK's
``authWithOAuth2({provider})`` (its realtime + redirect path) and ``authWithOAuth2Code``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import ADMIN, Stream, superuser_token
from tests.e2e.test_realtime_nodes import data_dir as data_dir
from tests.e2e.test_realtime_nodes import redis_url as redis_url
from tests.oidc_provider import OIDCProvider, running_provider

pytestmark = pytest.mark.e2e
E2E_DIR = Path(__file__).resolve().parent


@pytest.fixture
def provider() -> Iterator[OIDCProvider]:
    with running_provider() as running:
        yield running


@pytest.fixture
def server(data_dir: Path) -> Iterator[ServerProcess]:
    proc = ServerProcess(data_dir)
    yield proc
    proc.stop()


def enable_oauth2(url: str, provider: OIDCProvider) -> None:
    answer = httpx.patch(url + "/api/collections/users", headers={"Authorization": superuser_token(url)},
                         json={"oauth2": {"enabled": True, "providers": [provider.provider_config()]}})  # fmt: skip
    assert answer.status_code == 200, answer.text


def all_in_one(
    stream: Stream, sign_in_url: str, redirect_node: str, provider: OIDCProvider
) -> httpx.Response:
    """What the SDK's authWithOAuth2({provider}) does, with httpx as the browser."""
    stream.subscribe("@oauth2")
    entry = httpx.get(sign_in_url + "/api/collections/users/auth-methods").json()["oauth2"][
        "providers"
    ][0]
    redirect_url = redirect_node + "/api/oauth2-redirect"
    consent = httpx.URL(entry["authURL"] + redirect_url).copy_set_param("state", stream.client_id)
    page = httpx.get(consent, follow_redirects=True)
    assert page.status_code == 200 and "Auth completed" in page.text, page.text
    name, data = stream.next()
    assert name == "@oauth2" and data["state"] == stream.client_id and "error" not in data
    return httpx.post(sign_in_url + "/api/collections/users/auth-with-oauth2", json={
        "provider": "oidc", "code": data["code"], "codeVerifier": entry["codeVerifier"],
        "redirectURL": redirect_url, "createData": {"name": "From createData"}})  # fmt: skip


def test_redirect_reaches_the_stream_and_its_code_signs_in(
    server: ServerProcess, provider: OIDCProvider
) -> None:
    enable_oauth2(server.url, provider)
    provider.next_user = {
        "sub": "e2e-1",
        "email": "e2e@example.com",
        "email_verified": True,
        "name": "E2E",
    }
    stream = Stream(server.url)
    try:
        answer = all_in_one(stream, server.url, server.url, provider)
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["name"] == "From createData"
        assert answer.json()["meta"]["isNew"] is True
        # The subscription was one-shot: a second redirect for this client fails.
        again = httpx.get(server.url + f"/api/oauth2-redirect?state={stream.client_id}&code=x")
        assert "Failed to authenticate" in again.text
        with pytest.raises(Empty):
            stream.next(timeout=0.3)
    finally:
        stream.close()


def test_redirect_on_another_node_reaches_the_stream(
    data_dir: Path,
    redis_url: str,
    provider: OIDCProvider,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    first = ServerProcess(data_dir, "--redis", redis_url)
    second = ServerProcess(data_dir, "--redis", redis_url)
    stream = Stream(first.url)
    try:
        enable_oauth2(first.url, provider)
        provider.next_user = {"sub": "e2e-2", "email": "e2e2@example.com", "email_verified": True}
        answer = all_in_one(stream, second.url, second.url, provider)
        assert answer.status_code == 200, answer.text
        assert answer.json()["record"]["email"] == "e2e2@example.com"
    finally:
        stream.close()
        first.stop()
        second.stop()


def test_js_sdk_auth_with_oauth2(server: ServerProcess, provider: OIDCProvider) -> None:
    node = shutil.which("node")
    if node is None or not (E2E_DIR / "node_modules" / "pocketbase").is_dir():
        pytest.skip("node and tests/e2e/node_modules are needed for the JS SDK test")
    enable_oauth2(server.url, provider)
    env = {**os.environ, "KB_URL": server.url, "KB_ADMIN_EMAIL": ADMIN[0],
           "KB_ADMIN_PASSWORD": ADMIN[1], "KB_OIDC_URL": provider.url, "NO_COLOR": "1"}  # fmt: skip
    provider.next_user = {"sub": "sdk-1", "email": "sdk@example.com", "email_verified": True,
                          "name": "Sdk User"}  # fmt: skip
    done = subprocess.run(
        [node, "--test", "--test-reporter=spec", "--test-force-exit", str(E2E_DIR / "oauth2_sdk.test.mjs")],
        cwd=E2E_DIR, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n--- server log ---\n{server.log()}"
    assert "pass 3" in done.stdout, done.stdout
