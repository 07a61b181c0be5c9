"""Static files from the public folder beside the data folder."""

from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from keelbase import App, Config


def test_public_files_are_served_and_api_still_wins(tmp_path: Path, fresh_db_url: str) -> None:
    public = tmp_path / "kb_public"
    public.mkdir()
    (public / "index.html").write_text("<h1>hello</h1>")
    (tmp_path / "secret.txt").write_text("not public")
    app = App(Config(data_dir=tmp_path / "kb_data", db_url=fresh_db_url))
    with TestClient(app.asgi) as client:
        assert client.get("/").text == "<h1>hello</h1>"
        assert client.get("/index.html").status_code == 200
        assert client.get("/api/health").json()["message"] == "API is healthy."
        for outside in ("/../secret.txt", "/%2e%2e/secret.txt"):
            answer = client.get(outside)  # the SPA fallback, never the file outside
            assert "not public" not in answer.text
        missing = client.get("/api/nope")
        assert missing.status_code == 404
        assert missing.json()["status"] == 404


def test_index_fallback_serves_the_app_for_unknown_paths(tmp_path: Path) -> None:
    public = tmp_path / "kb_public"
    public.mkdir()
    (public / "index.html").write_text("<h1>app</h1>")
    (public / "logo.txt").write_text("logo")
    app = App(Config(data_dir=tmp_path / "kb_data"))
    with TestClient(app.asgi) as client:
        assert client.get("/settings/profile").text == "<h1>app</h1>"
        assert client.get("/logo.txt").text == "logo"
        missing = client.get("/api/nope")  # the API keeps its JSON 404
        assert missing.status_code == 404 and missing.json()["status"] == 404
    off = App(Config(data_dir=tmp_path / "kb_data", index_fallback=False))
    with TestClient(off.asgi) as client:
        assert client.get("/settings/profile").status_code == 404
        assert client.get("/logo.txt").text == "logo"
