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


def test_paths_are_made_canonical_as_pocketbase_does(tmp_path: Path) -> None:
    """301 as PocketBase (Go's file server): a folder without its slash, a file with one, an
    ``index.html`` named; only for paths that exist, so the redirect cannot leave the site."""
    public = tmp_path / "kb_public"
    (public / "docs").mkdir(parents=True)
    (public / "empty").mkdir()
    (public / "index.html").write_text("<h1>app</h1>")
    (public / "docs" / "index.html").write_text("docs")
    (public / "a.txt").write_text("a")
    app = App(Config(data_dir=tmp_path / "kb_data"))
    with TestClient(app.asgi, follow_redirects=False) as client:
        for path, target in (
            ("/docs", "/docs/"),
            ("/docs?x=1", "/docs/"),
            ("/empty", "/empty/"),
            ("/a.txt/", "/a.txt"),
            ("/index.html", "/"),
            ("/docs/index.html", "/docs/"),
        ):
            answer = client.get(path)
            assert (answer.status_code, answer.headers.get("location")) == (301, target), path
            assert client.head(path).status_code == 301
        assert client.get("/docs/").text == "docs"
        assert client.get("/a.txt").text == "a"
        assert client.get("/empty/").text == "<h1>app</h1>"  # no index there: the fallback
        for elsewhere in ("/nope/", "/nope/index.html"):
            answer = client.get(elsewhere)
            assert answer.status_code == 200 and answer.text == "<h1>app</h1>", elsewhere
        # A path that starts with // cannot turn the redirect into another site's address.
        answer = client.get("http://testserver//docs")
        assert answer.headers.get("location") == "/docs/"
        assert client.get("/api/nope/").status_code == 404
        assert client.post("/docs").status_code in (404, 405)  # writes are never redirected
