"""Backup settings that act: the cron job and its pruning, the backups S3 bucket, failures mailed."""

from __future__ import annotations

import boto3

from tests.api.conftest import use_inbox
from tests.api.scenario import World
from tests.mail_catcher import MailCatcher


def keys(w: World) -> list[str]:
    return sorted(b["key"] for b in w.request("GET", "/api/backups", "superuser").json())


def test_cron_setting_adds_and_removes_the_job(world: World) -> None:
    w = world
    patched = w.request("PATCH", "/api/settings", "superuser", json={"backups": {"cron": "0 3 * * *"}})  # fmt: skip
    assert patched.status_code == 200, patched.text
    jobs = w.request("GET", "/api/crons", "superuser").json()
    assert {"id": "__pbAutoBackup__", "expression": "0 3 * * *"} in jobs
    w.request("PATCH", "/api/settings", "superuser", json={"backups": {"cron": ""}})
    assert all(j["id"] != "__pbAutoBackup__" for j in w.request("GET", "/api/crons", "superuser").json())  # fmt: skip


def test_automatic_backups_keep_only_the_newest(world: World) -> None:
    w = world
    w.request("PATCH", "/api/settings", "superuser", json={"backups": {"cron": "0 3 * * *", "cronMaxKeep": 2}})  # fmt: skip
    made = w.request("POST", "/api/backups", "superuser", json={"name": "manual.zip"})
    assert made.status_code == 204
    content = (w.app.config.data_dir / "backups" / "manual.zip").read_bytes()
    for old in ("@auto_pb_backup_old_1.zip", "@auto_pb_backup_old_2.zip"):
        answer = w.request("POST", "/api/backups/upload", "superuser", files={"file": (old, content, "application/zip")})  # fmt: skip
        assert answer.status_code == 204, answer.text
    # run the cron job now, as its tick would (the crons API runs it in the background)
    w.client.portal.call(w.app.crons.run, "__pbAutoBackup__")  # type: ignore[union-attr]
    found = keys(w)
    autos = [k for k in found if k.startswith("@auto_pb_backup_")]
    assert "manual.zip" in found  # a backup made by hand is never pruned
    assert len(autos) == 2 and "@auto_pb_backup_old_1.zip" not in autos, found
    assert any(k.startswith("@auto_pb_backup_acme_") for k in autos)


def test_settings_refuse_bad_backup_values(world: World) -> None:
    w = world
    for patch, path in [
        ({"cron": "not a cron"}, ("cron", "validation_invalid_cron")),
        ({"cron": "61 * * * *"}, ("cron", "validation_invalid_cron")),
        ({"cron": "0 3 * * *", "cronMaxKeep": 0}, ("cronMaxKeep", "validation_required")),
        ({"s3": {"enabled": True}}, ("s3", None)),
    ]:
        answer = w.request("PATCH", "/api/settings", "superuser", json={"backups": patch})
        assert answer.status_code == 400, (patch, answer.text)
        error = answer.json()["data"]["backups"][path[0]]
        if path[1]:
            assert error["code"] == path[1], (patch, error)
        else:
            assert error["bucket"]["code"] == "validation_required"
    assert w.request("GET", "/api/settings", "superuser").json()["backups"]["cron"] == ""


def test_backups_in_their_own_s3_bucket(world: World, s3_server: str, bucket: str) -> None:
    w = world
    s3 = {"enabled": True, "bucket": bucket, "region": "us-east-1", "endpoint": s3_server,
          "accessKey": "test", "secret": "test", "forcePathStyle": True}  # fmt: skip
    saved = w.request("PATCH", "/api/settings", "superuser", json={"backups": {"s3": s3}})
    assert saved.status_code == 200, saved.text
    assert "secret" not in saved.json()["backups"]["s3"]
    tested = w.request("POST", "/api/settings/test/s3", "superuser", json={"filesystem": "backups"})
    assert tested.status_code == 204, tested.text
    # the files' own storage is not enabled: testing it is refused, not answered for backups
    other = w.request("POST", "/api/settings/test/s3", "superuser", json={"filesystem": "storage"})
    assert other.status_code == 400
    assert w.request("POST", "/api/backups", "superuser", json={"name": "in_s3.zip"}).status_code == 204  # fmt: skip
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
    stored = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert stored == ["in_s3.zip"]
    assert not (w.app.config.data_dir / "backups" / "in_s3.zip").exists()
    assert keys(w) == ["in_s3.zip"]
    token = w.request("POST", "/api/files/token", "superuser").json()["token"]
    got = w.client.get("/api/backups/in_s3.zip", params={"token": token})
    assert got.status_code == 200 and got.content[:2] == b"PK"
    w.request("POST", "/api/collections", "superuser", json={"name": "after"})
    assert w.request("POST", "/api/backups/in_s3.zip/restore", "superuser").status_code == 204
    assert w.request("GET", "/api/collections/after", "superuser").status_code == 404
    assert w.request("DELETE", "/api/backups/in_s3.zip", "superuser").status_code == 204
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    s3["bucket"] = "no-such-bucket"
    w.request("PATCH", "/api/settings", "superuser", json={"backups": {"s3": s3}})
    refused = w.request(
        "POST", "/api/settings/test/s3", "superuser", json={"filesystem": "backups"}
    )
    assert refused.status_code == 400


def test_a_failed_automatic_backup_is_logged_and_mailed(
    world: World, inbox: MailCatcher, s3_server: str, caplog: object
) -> None:
    w = world
    use_inbox(inbox)(w)
    s3 = {"enabled": True, "bucket": "no-such-bucket", "region": "us-east-1",
          "endpoint": s3_server, "accessKey": "test", "secret": "test", "forcePathStyle": True}  # fmt: skip
    saved = w.request("PATCH", "/api/settings", "superuser", json={"backups": {"s3": s3, "cron": "0 3 * * *"}})  # fmt: skip
    assert saved.status_code == 200, saved.text
    w.client.portal.call(w.app.crons.run, "__pbAutoBackup__")  # type: ignore[union-attr]
    mail = inbox.wait_for("admin@example.com")
    assert mail["Subject"] == "Autobackup failure"
    records = [r for r in caplog.records if r.name == "keelbase.backups"]  # type: ignore[attr-defined]
    assert any(r.levelname == "ERROR" and "automatic backup" in r.getMessage() for r in records)
