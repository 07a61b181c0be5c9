"""Differential steps for backups: names, tokens, uploads, settings, as PocketBase answers them.

No backup is restored here: PocketBase restarts its own process to restore.
The steps leave no backup behind and change no setting (bad values are refused).
"""

from __future__ import annotations

from typing import Any

Step = dict[str, Any]
SU = "superuser"
BACKUPS = "/api/backups"
NOT_A_ZIP = "plain text, no zip"
# Sniffed as a zip by both servers (the local file header), but no sound backup.
ZIP_HEADER_ONLY = "PK\x03\x04 and nothing after"


def step(name: str, method: str, url: str, who: str = "guest", **extra: Any) -> Step:
    return {"name": name, "method": method, "url": url, "as": who, **extra}


def upload(name: str, filename: str, content: str, **extra: Any) -> Step:
    return step(
        name,
        "POST",
        BACKUPS + "/upload",
        SU,
        files=[("file", filename, content, "application/zip")],
        **extra,
    )


BACKUP_STEPS: list[Step] = [
    step("backups: list as guest", "GET", BACKUPS),
    step("backups: list as user", "GET", BACKUPS, "user1"),
    step("backups: create as user", "POST", BACKUPS, "user1", body={}),
    step("backups: list, none yet", "GET", BACKUPS, SU),
    step("backups: name with ../", "POST", BACKUPS, SU, body={"name": "../escape.zip"}),
    step("backups: name with capitals", "POST", BACKUPS, SU, body={"name": "Mine.zip"}),
    step("backups: name too long", "POST", BACKUPS, SU, body={"name": "a" * 150 + ".zip"}),
    step("backups: name not text", "POST", BACKUPS, SU, body={"name": 12}),
    step("backups: create", "POST", BACKUPS, SU, body={"name": "diff_one.zip"}),
    step("backups: same name again", "POST", BACKUPS, SU, body={"name": "diff_one.zip"}),
    step("backups: list keys", "GET", BACKUPS + "?fields=key", SU),
    # PocketBase's keys only: superusers also get Keelbase's health figures
    step(
        "backups: health for a superuser",
        "GET",
        "/api/health?fields=code,message,data.canBackup,data.realIP,data.possibleProxyHeader",
        SU,
    ),
    step("backups: restore a missing one", "POST", BACKUPS + "/nope.zip/restore", SU),
    step("backups: restore as user", "POST", BACKUPS + "/diff_one.zip/restore", "user1"),
    step("backups: download without token", "GET", BACKUPS + "/diff_one.zip"),
    step("backups: download, auth token", "GET", BACKUPS + "/diff_one.zip?token=$superuser_token"),
    step(
        "backups: file token",
        "POST",
        "/api/files/token",
        SU,
        save={"backup_file_token": "token"},
        expect_same=False,
    ),
    step("backups: download a missing one", "GET", BACKUPS + "/nope.zip?token=$backup_file_token"),
    step("backups: upload without file", "POST", BACKUPS + "/upload", SU, body={}),
    upload("backups: upload, not a zip", "notes.zip", NOT_A_ZIP),
    upload("backups: upload, name taken", "diff_one.zip", ZIP_HEADER_ONLY),
    upload(
        "backups: upload, a broken zip",
        "broken.zip",
        ZIP_HEADER_ONLY,
        xfail_reason="Keelbase checks an uploaded backup (manifest, hashes) and refuses a "
        "broken one with 400; PocketBase stores any file that starts like a zip",
    ),
    step("backups: delete it", "DELETE", BACKUPS + "/broken.zip", SU, expect_same=False),
    step(
        "backups: delete a missing one",
        "DELETE",
        BACKUPS + "/nope.zip",
        SU,
        xfail_reason="PocketBase's message carries its file system's raw error (a path)",
    ),
    step("backups: delete as user", "DELETE", BACKUPS + "/diff_one.zip", "user1"),
    step("backups: delete", "DELETE", BACKUPS + "/diff_one.zip", SU),
    step("backups: list, none left", "GET", BACKUPS, SU),
    step(
        "backups: settings, bad cron",
        "PATCH",
        "/api/settings",
        SU,
        body={"backups": {"cron": "every day"}},
    ),
    step(
        "backups: settings, cron without keep",
        "PATCH",
        "/api/settings",
        SU,
        body={"backups": {"cron": "0 3 * * *", "cronMaxKeep": 0}},
    ),
    step(
        "backups: settings, s3 without values",
        "PATCH",
        "/api/settings",
        SU,
        body={"backups": {"s3": {"enabled": True}}},
    ),
    step(
        "backups: test s3, not enabled",
        "POST",
        "/api/settings/test/s3",
        SU,
        body={"filesystem": "backups"},
    ),
]
