"""Serving the dashboard at ``/_/``: caching, the app's own routes, and a checkout that never built it."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.testclient import TestClient

from keelbase import App, Config
from keelbase.api import dashboard


def client_for(directory: Path) -> TestClient:
    return TestClient(Starlette(routes=dashboard.routes(directory)))


def built(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<h1>dashboard</h1>")
    (tmp_path / "assets" / "main-ABC123.js").write_text("console.log(1)")
    return tmp_path


def test_index_is_never_cached_and_hashed_assets_are_kept_a_year(tmp_path: Path) -> None:
    client = client_for(built(tmp_path))
    index = client.get("/_/")
    assert index.status_code == 200
    assert index.text == "<h1>dashboard</h1>"
    assert index.headers["cache-control"] == "no-cache"
    asset = client.get("/_/assets/main-ABC123.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_other_paths_load_the_app_but_a_missing_asset_is_a_404(tmp_path: Path) -> None:
    client = client_for(built(tmp_path))
    page = client.get("/_/collections/posts")
    assert page.status_code == 200
    assert page.text == "<h1>dashboard</h1>"
    assert client.get("/_/assets/main-OLD.js").status_code == 404


def test_bare_path_redirects_to_the_folder(tmp_path: Path) -> None:
    response = client_for(built(tmp_path)).get("/_", follow_redirects=False)
    assert response.status_code == 301
    assert response.headers["location"].endswith("/_/")


def test_without_a_build_a_page_says_how_to_build_it(tmp_path: Path) -> None:
    client = client_for(tmp_path / "dist")
    for path in ("/_/", "/_/assets/main.js", "/_/anything"):
        response = client.get(path)
        assert response.status_code == 404
        assert "make dashboard" in response.text
    # Built while the server runs: picked up without a restart.
    (tmp_path / "dist").mkdir()
    built(tmp_path / "dist")
    assert client.get("/_/").text == "<h1>dashboard</h1>"


def test_the_api_keeps_its_routes_and_json_errors(client: TestClient) -> None:
    assert client.get("/api/health").status_code == 200
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["status"] == 404
    assert client.get("/_/").status_code in (200, 404)
    assert "text/html" in client.get("/_/").headers["content-type"]


def test_the_dashboard_comes_before_the_public_folder(tmp_path: Path) -> None:
    """As in PocketBase: a ``_`` folder in the public folder does not hide the dashboard."""
    public = tmp_path / "kb_public"
    (public / "_").mkdir(parents=True)
    (public / "_" / "index.html").write_text("<h1>shadow</h1>")
    (public / "index.html").write_text("<h1>site</h1>")
    app = App(Config(data_dir=tmp_path / "kb_data"))
    with TestClient(app.asgi) as client:
        assert client.get("/").text == "<h1>site</h1>"
        answer = client.get("/_/")
        assert "shadow" not in answer.text
        assert "text/html" in answer.headers["content-type"]


def test_paths_outside_the_build_are_never_served(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    dist.mkdir()
    built(dist)
    (tmp_path / "secret.txt").write_text("not public")
    client = client_for(dist)
    for outside in (
        "/_/../secret.txt",
        "/_/%2e%2e/secret.txt",
        "/_/assets/%2e%2e/%2e%2e/secret.txt",
    ):
        assert "not public" not in client.get(outside).text
