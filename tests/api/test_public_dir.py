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
        assert client.get("/../secret.txt").status_code == 404
        assert client.get("/%2e%2e/secret.txt").status_code == 404
        missing = client.get("/api/nope")
        assert missing.status_code == 404
        assert missing.json()["status"] == 404
