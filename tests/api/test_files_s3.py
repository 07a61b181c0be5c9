"""Files on S3 (moto's standalone server): switched on through the settings API."""

from __future__ import annotations

import boto3

from tests.api.conftest import png
from tests.api.scenario import World


def test_files_on_s3(files_world: World, s3_server: str, bucket: str) -> None:
    w = files_world
    s3 = {"enabled": True, "bucket": bucket, "region": "us-east-1", "endpoint": s3_server,
          "accessKey": "test", "secret": "test", "forcePathStyle": True}  # fmt: skip
    saved = w.request("PATCH", "/api/settings", "superuser", json={"s3": s3})
    assert saved.status_code == 200, saved.text
    assert "secret" not in saved.json()["s3"]
    checked = w.request(
        "POST", "/api/settings/test/s3", "superuser", json={"filesystem": "storage"}
    )
    assert checked.status_code == 204, checked.text
    try:
        created = w.client.post("/api/collections/docs/records", data={"title": "s3"}, files=[
            ("cover", ("p.png", png(30, 30), "image/png")),
            ("attachments", ("n.txt", b"0123456789", "text/plain")),
        ])  # fmt: skip
        assert created.status_code == 200, created.text
        record = created.json()
        client = boto3.client(
            "s3",
            endpoint_url=s3_server,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        keys = {o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])}
        prefix = f"{w.ids['docs']}/{record['id']}/"
        assert keys == {prefix + record["cover"], prefix + record["attachments"][0]}
        base = f"/api/files/docs/{record['id']}"
        assert (
            w.client.get(
                f"{base}/{record['attachments'][0]}", headers={"Range": "bytes=3-4"}
            ).content
            == b"34"
        )
        thumb = w.client.get(f"{base}/{record['cover']}", params={"thumb": "10x10"})
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
        assert (
            w.request("DELETE", f"/api/collections/docs/records/{record['id']}").status_code == 204
        )
        assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    finally:
        w.request("PATCH", "/api/settings", "superuser", json={"s3": {"enabled": False}})


def test_unreachable_bucket_is_reported(files_world: World, s3_server: str) -> None:
    w = files_world
    w.request("PATCH", "/api/settings", "superuser", json={"s3": {
        "enabled": True, "bucket": "does-not-exist", "region": "us-east-1", "endpoint": s3_server,
        "accessKey": "test", "secret": "test", "forcePathStyle": True}})  # fmt: skip
    try:
        checked = w.request(
            "POST", "/api/settings/test/s3", "superuser", json={"filesystem": "storage"}
        )
        assert checked.status_code == 400
        assert checked.json()["message"].startswith("Failed to initialize the S3 storage.")
    finally:
        w.request("PATCH", "/api/settings", "superuser", json={"s3": {"enabled": False}})
