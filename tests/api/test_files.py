"""Uploads through records, downloads, thumbs, ranges and protected files on the local store."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from tests.api.conftest import png
from tests.api.scenario import World


def storage(world: World) -> Path:
    return Path(world.client.app.state.keelbase.files.root)  # type: ignore[attr-defined]


def upload(
    world: World,
    who: str = "guest",
    method: str = "POST",
    url: str = "/api/collections/docs/records",
    data: dict[str, str] | None = None,
    files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
):  # type: ignore[no-untyped-def]
    return world.client.request(
        method, url, headers=world.headers(who), data=data or {}, files=files or []
    )


def test_upload_download_and_modifiers(files_world: World) -> None:
    w = files_world
    created = upload(
        w,
        data={"title": "a"},
        files=[
            ("cover", ("My Photo.PNG", png(), "image/png")),
            ("attachments", ("one.txt", b"first", "text/plain")),
            ("attachments", ("two.txt", b"second", "text/plain")),
        ],
    )
    assert created.status_code == 200, created.text
    record = created.json()
    assert record["cover"].startswith("my_photo_") and record["cover"].endswith(".png")
    assert [n.split("_")[0] for n in record["attachments"]] == ["one", "two"]
    base = f"/api/files/docs/{record['id']}"
    first = w.client.get(f"{base}/{record['attachments'][0]}")
    assert first.status_code == 200 and first.content == b"first"
    assert first.headers["content-type"] == "text/plain; charset=utf-8"
    assert first.headers["content-disposition"].startswith("attachment;")
    image = w.client.get(f"{base}/{record['cover']}")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline;")
    assert "max-age" in image.headers["cache-control"]
    assert (
        w.client.get(f"{base}/{record['cover']}?download=1")
        .headers["content-disposition"]
        .startswith("attachment")
    )

    # append, remove by name, replace a single file
    added = upload(
        w,
        method="PATCH",
        url=f"/api/collections/docs/records/{record['id']}",
        files=[("attachments+", ("three.txt", b"third", "text/plain"))],
    )
    assert added.status_code == 200, added.text
    names = added.json()["attachments"]
    assert len(names) == 3
    removed = w.request(
        "PATCH", f"/api/collections/docs/records/{record['id']}", json={"attachments-": names[0]}
    )
    assert removed.json()["attachments"] == names[1:]
    old_file = storage(w) / w.ids["docs"] / record["id"] / names[0]
    assert not old_file.exists(), "a removed file is deleted after the commit"
    assert w.client.get(f"{base}/{names[0]}").status_code == 404


def test_thumbs(files_world: World) -> None:
    w = files_world
    record = upload(w, files=[("cover", ("c.png", png(40, 20), "image/png"))]).json()
    url = f"/api/files/docs/{record['id']}/{record['cover']}"
    for thumb, size in (
        ("10x10", (10, 10)),
        ("0x5", (10, 5)),
        ("20x0f", (20, 10)),
        ("100x100", (100, 100)),
    ):
        response = w.client.get(url, params={"thumb": thumb})
        assert response.status_code == 200
        assert Image.open(io.BytesIO(response.content)).size == size, thumb
    # a size the field does not list gets the original
    original = w.client.get(url, params={"thumb": "33x33"})
    assert Image.open(io.BytesIO(original.content)).size == (40, 20)
    thumbs = storage(w) / w.ids["docs"] / record["id"] / f"thumbs_{record['cover']}"
    assert (thumbs / f"10x10_{record['cover']}").exists(), "a thumb is generated once and kept"


def test_ranges(files_world: World) -> None:
    w = files_world
    record = upload(w, files=[("attachments", ("r.txt", b"0123456789", "text/plain"))]).json()
    url = f"/api/files/docs/{record['id']}/{record['attachments'][0]}"
    part = w.client.get(url, headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == b"2345"
    assert part.headers["content-range"] == "bytes 2-5/10"
    assert w.client.get(url, headers={"Range": "bytes=-3"}).content == b"789"
    assert w.client.get(url, headers={"Range": "bytes=8-"}).content == b"89"
    assert w.client.get(url, headers={"Range": "bytes=50-60"}).status_code == 416
    # more digits than int() reads: still a position past any file's end
    huge = "9" * 5000
    assert w.client.get(url, headers={"Range": f"bytes={huge}-"}).status_code == 416
    for span in (f"bytes=0-{huge}", f"bytes=-{huge}"):
        whole = w.client.get(url, headers={"Range": span})
        assert whole.status_code == 206 and whole.content == b"0123456789", span


def test_upload_errors(files_world: World) -> None:
    w = files_world
    too_big = upload(w, files=[("attachments", ("big.txt", b"x" * 1001, "text/plain"))])
    assert too_big.status_code == 400
    assert too_big.json()["data"]["attachments"] == {
        "code": "validation_file_size_limit",
        "message": "Failed to upload big.txt - the maximum allowed file size is 1000 bytes.",
        "params": {"file": "big.txt", "maxSize": 1000},
    }
    # the client says PNG, the content says text: refused
    liar = upload(w, files=[("cover", ("fake.png", b"just text", "image/png"))])
    assert liar.status_code == 400
    assert liar.json()["data"]["cover"]["code"] == "validation_invalid_mime_type"
    too_many = upload(
        w, files=[("attachments", (f"{i}.txt", b"x", "text/plain")) for i in range(4)]
    )
    assert too_many.json()["data"]["attachments"]["code"] == "validation_too_many_files"
    invented = w.request(
        "POST", "/api/collections/docs/records", json={"attachments": ["../../etc/passwd"]}
    )
    assert invented.json()["data"]["attachments"]["code"] == "validation_invalid_file"
    assert not any((storage(w) / w.ids["docs"]).glob("*/big_*")), "a refused upload leaves no file"


def test_failed_write_leaves_no_orphan(files_world: World) -> None:
    w = files_world
    before = set((storage(w)).rglob("*"))
    # the file is valid, the record is not: nothing may be stored
    response = upload(
        w,
        data={"owner": "missing00000000"},
        files=[("attachments", ("o.txt", b"orphan", "text/plain"))],
    )
    assert response.status_code == 400
    assert set(storage(w).rglob("*")) == before


def test_batch_rollback_removes_stored_files(files_world: World) -> None:
    w = files_world
    w.request("PATCH", "/api/settings", "superuser", json={"batch": {"enabled": True}})
    before = set(storage(w).rglob("*"))
    payload = (
        '{"requests": [{"method": "POST", "url": "/api/collections/docs/records", "body": {"title": "ok"}},'
        ' {"method": "POST", "url": "/api/collections/docs/records", "body": {"owner": "missing00000000"}}]}'
    )
    response = w.client.post(
        "/api/batch",
        data={"@jsonPayload": payload},
        files=[("requests.0.attachments", ("b.txt", b"batch", "text/plain"))],
    )
    assert response.status_code == 400, response.text
    assert set(storage(w).rglob("*")) == before


def test_protected_files_need_a_token_and_the_view_rule(files_world: World) -> None:
    w = files_world
    record = upload(
        w,
        "user1",
        data={"owner": w.ids["user1"]},
        files=[("secret", ("s.txt", b"classified", "text/plain"))],
    ).json()
    url = f"/api/files/docs/{record['id']}/{record['secret']}"
    assert w.client.get(url).status_code == 404
    assert w.client.post("/api/files/token").status_code == 401
    own = w.client.post("/api/files/token", headers=w.headers("user1")).json()["token"]
    other = w.client.post("/api/files/token", headers=w.headers("user2")).json()["token"]
    assert w.client.get(url, params={"token": own}).content == b"classified"
    assert w.client.get(url, params={"token": other}).status_code == 404
    # an auth token is not a file token
    assert w.client.get(url, params={"token": w.tokens["user1"]}).status_code == 404
    superuser = w.client.post("/api/files/token", headers=w.headers("superuser")).json()["token"]
    assert w.client.get(url, params={"token": superuser}).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/api/files/docs/x/..%2F..%2Fdata.db",
        "/api/files/docs/..%2F..%2F/data.db",
        "/api/files/..%2Fdocs/x/y",
        "/api/files/docs/doesnotexist123/a.txt",
        "/api/files/nope/x/y.txt",
    ],
)
def test_paths_outside_the_store_are_404(files_world: World, path: str) -> None:
    assert files_world.client.get(path).status_code == 404


def test_deleting_the_record_removes_its_files(files_world: World) -> None:
    w = files_world
    record = upload(w, files=[("attachments", ("d.txt", b"bye", "text/plain"))]).json()
    folder = storage(w) / w.ids["docs"] / record["id"]
    assert folder.exists()
    assert w.request("DELETE", f"/api/collections/docs/records/{record['id']}").status_code == 204
    assert not folder.exists()


def test_batch_with_files(files_world: World) -> None:
    w = files_world
    w.request("PATCH", "/api/settings", "superuser", json={"batch": {"enabled": True}})
    payload = '{"requests": [{"method": "POST", "url": "/api/collections/docs/records", "body": {"title": "f"}}]}'
    response = w.client.post(
        "/api/batch",
        data={"@jsonPayload": payload},
        files=[("requests.0.attachments", ("b.txt", b"batch", "text/plain"))],
    )
    assert response.status_code == 200, response.text
    body = response.json()[0]["body"]
    assert len(body["attachments"]) == 1
    assert (
        w.client.get(f"/api/files/docs/{body['id']}/{body['attachments'][0]}").content == b"batch"
    )
