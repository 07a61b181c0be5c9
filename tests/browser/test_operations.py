"""Backups and cron jobs from the dashboard, through the API's own routes."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, accessibility_problems, sign_in

pytestmark = pytest.mark.e2e


def _open(page: Any, node: Node, title: str) -> None:
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    page.get_by_role("navigation", name="Settings pages").get_by_role("link", name=title).click()


def test_backups_are_made_downloaded_restored_and_deleted(
    page: Any, node: Node, tmp_path: Path
) -> None:
    name = f"dash_{int(time.time() * 1000)}.zip"
    _open(page, node, "Backups")
    expect(page.get_by_role("heading", name="Backups")).to_be_visible()
    page.get_by_label("Backup name").fill("../evil.zip")
    page.get_by_role("button", name="Create backup").click()
    expect(page.get_by_role("alert")).to_be_visible()  # the API's refusal, shown

    page.get_by_label("Backup name").fill(name)
    page.get_by_role("button", name="Create backup").click()
    table = page.get_by_role("table", name="Backups")
    expect(table.get_by_role("row").filter(has_text=name)).to_have_count(1, timeout=60000)
    assert name in [b["key"] for b in node.api.get("/api/backups").json()]
    assert accessibility_problems(page) == []

    with page.expect_download() as started:
        page.get_by_role("button", name="Download " + name).click()
    saved = tmp_path / name
    started.value.save_as(saved)
    assert zipfile.is_zipfile(saved)

    page.get_by_role("button", name="Restore " + name).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, restore").click()
    expect(page.get_by_role("status")).to_have_text(f"Restoring {name}: done.", timeout=60000)
    assert node.api.get("/api/health").status_code == 200

    page.get_by_role("button", name="Delete " + name).click()
    page.get_by_role("dialog").get_by_role("button", name="Yes, delete").click()
    expect(table.get_by_role("row").filter(has_text=name)).to_have_count(0)
    assert name not in [b["key"] for b in node.api.get("/api/backups").json()]


def test_cron_jobs_are_listed_and_run(page: Any, node: Node) -> None:
    _open(page, node, "Crons")
    table = page.get_by_role("table", name="Cron jobs")
    listed = [job["id"] for job in node.api.get("/api/crons").json()]
    assert listed
    for job in listed:
        expect(table.get_by_role("row").filter(has_text=job)).to_have_count(1)
    page.get_by_role("button", name=f"Run now: {listed[0]}").click()
    expect(page.get_by_role("status")).to_have_text(f"Started {listed[0]}.")
    assert accessibility_problems(page) == []
