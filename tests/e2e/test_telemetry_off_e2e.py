"""Sentry and OpenTelemetry cost nothing when their variables are unset: not even an import.

The modules a server has loaded are read from inside it, by a hooks route of a
real ``keelbase serve``, and from an ``App`` embedded in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.telemetry_receivers import receiving

pytestmark = pytest.mark.e2e

HOOKS = """
    import sys

    def setup(app):
        @app.route("/api/loaded", methods=["GET"])
        async def loaded(e):
            prefixes = ("sentry_sdk", "opentelemetry")
            return {"modules": sorted({m.split(".")[0] for m in sys.modules if m.startswith(prefixes)})}
    """
VARIABLES = (
    "KEELBASE_SENTRY_DSN",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)


def loaded_in_serve(tmp_path: Path) -> list[str]:
    hooks = tmp_path / "kb_hooks"
    hooks.mkdir()
    (hooks / "loaded.py").write_text(textwrap.dedent(HOOKS))
    server = ServerProcess(tmp_path / "kb_data")
    try:
        httpx.get(server.url + "/api/collections/users/records")  # a request with SQL
        modules: list[str] = httpx.get(server.url + "/api/loaded").json()["modules"]
    finally:
        server.stop()
    return modules


def test_serve_without_the_variables_imports_neither(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert loaded_in_serve(tmp_path) == []


def test_serve_with_the_variables_imports_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check above can fail: the same route sees both once they are wanted."""
    with receiving() as receiver:
        monkeypatch.setenv("KEELBASE_SENTRY_DSN", receiver.sentry_dsn)
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.url)
        assert loaded_in_serve(tmp_path) == ["opentelemetry", "sentry_sdk"]


def test_an_embedded_app_imports_neither(tmp_path: Path) -> None:
    script = f"""
        import sys
        from starlette.testclient import TestClient
        from keelbase import App, Config

        app = App(Config(data_dir={str(tmp_path / "kb_data")!r}))
        with TestClient(app.asgi) as client:
            assert client.get("/api/collections/users/records").status_code in (200, 403)
        print(sorted(m for m in sys.modules if m.startswith(("sentry_sdk", "opentelemetry"))))
        """
    env = {k: v for k, v in os.environ.items() if k not in VARIABLES}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
        timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
