"""Settings changed in the dashboard act through the API; the logs page shows the test's own requests."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Node, sign_in

pytestmark = pytest.mark.e2e


def test_settings_are_saved_errors_shown_and_a_test_mail_sent(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    name = page.get_by_label("Application name")
    expect(name).to_have_value("Acme")

    # Refused by the API: the errors are shown next to their fields, nothing is saved.
    name.fill("")
    page.get_by_label("Application URL").fill("not a url")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#setting-meta-appName-error")).to_have_text("Cannot be blank.")
    expect(page.locator("#setting-meta-appURL-error")).to_have_text("Must be a valid URL.")
    assert node.api.get("/api/settings").json()["meta"]["appName"] == "Acme"

    name.fill("Dashboard App")
    page.get_by_label("Application URL").fill(node.url)
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    expect(page.locator(".field-error")).to_have_count(0)
    assert node.api.get("/api/settings").json()["meta"]["appName"] == "Dashboard App"

    page.get_by_label("Send a test mail to").fill("tester@example.com")
    page.get_by_role("button", name="Send test mail").click()
    expect(page.get_by_text("Test mail sent to tester@example.com.")).to_be_visible()
    mail = node.mail.wait_for("tester@example.com")
    assert "Dashboard App" in str(mail["Subject"]) + str(mail.get_body())


def test_logs_show_a_request_made_by_the_test(page: Any, node: Node) -> None:
    # unique per run: the node may have served the same URL to an earlier test
    marker = "/api/collections/users/records?perPage=7&run=" + secrets.token_hex(4)
    node.api.get(marker)
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Logs").click()
    page.get_by_label("Filter logs").fill('data.url = "' + marker + '"')
    entry = page.get_by_role("button", name="GET " + marker)
    # logs are written in batches about every second; a loaded CI machine may take longer
    deadline = time.monotonic() + 30
    while entry.count() == 0 and time.monotonic() < deadline:
        page.get_by_role("button", name="Apply filter").click()
        page.wait_for_timeout(300)
    expect(entry).to_have_count(1)
    entry.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Log data")).to_contain_text('"status": 200')

    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    page.get_by_label("Filter logs").fill("data.status >")
    page.get_by_role("button", name="Apply filter").click()
    expect(page.locator("#logs-error")).to_be_visible()


def test_the_health_page_shows_the_routes_figures(page: Any, node: Node) -> None:
    for _ in range(3):
        node.api.get("/api/collections/users/records", params={"perPage": 3})
    node.api.get("/api/collections/no_such_collection/records")  # a 404: not an error (5xx)
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Health").click()
    expect(page.get_by_role("heading", name="Health")).to_be_visible()
    expect(page.get_by_text("Database")).to_be_visible()
    expect(page.get_by_role("region", name="Last 5 minutes")).to_contain_text("requests")
    routes = page.get_by_role("table", name="Routes")
    # this route only, not .../records/{id} that other modules' tests may have called
    row = routes.get_by_role("row").filter(
        has_text=re.compile(r"GET\s*/api/collections/\{collection\}/records(?!/)")
    )
    expect(row).to_have_count(1)
    # the figures are the API's: the row's count is the one /api/health gives for the route
    figures = node.api.get("/api/health").json()["data"]["requests"]["5m"]["routes"]
    listed = next(
        r for r in figures
        if r["method"] == "GET" and r["route"] == "/api/collections/{collection}/records"
    )  # fmt: skip
    assert listed["requests"] >= 4
    expect(row.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^\d+$"))
    page.get_by_label("Window").select_option("24h")
    expect(routes).to_contain_text("/api/health")


def test_the_logs_page_draws_requests_per_hour(page: Any, node: Node) -> None:
    node.api.get("/api/collections/users/records", params={"perPage": 2})
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Logs").click()
    chart = page.get_by_role("img", name=re.compile(r"log entries over \d+ hour"))
    deadline = time.monotonic() + 30  # logs are written in batches
    while chart.count() == 0 and time.monotonic() < deadline:
        page.get_by_role("button", name="Refresh").click()
        page.wait_for_timeout(300)
    expect(chart).to_be_visible()
    stats = node.api.get("/api/logs/stats").json()
    label = chart.get_attribute("aria-label") or ""
    total = int(label.split()[0])
    assert total <= sum(
        s["total"] for s in stats
    )  # drawn from the same figures, taken a moment earlier
    assert chart.locator("rect").count() >= 1


def test_the_other_settings_sections_act_through_the_api(page: Any, node: Node) -> None:
    sign_in(page, node)
    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
    expect(page.get_by_label("Application name")).to_be_visible()

    page.get_by_label("Most requests in a batch").fill("21")
    page.get_by_label("Allow batch requests").check()
    page.get_by_label("Client IP headers (comma separated, e.g. X-Forwarded-For)").fill(
        "X-Real-IP, CF-Connecting-IP"
    )
    page.get_by_label("Days kept (0: request logs off)").fill("9")
    # The rate limit rules: all removed in the form, then one added.
    remove = page.get_by_role("button", name=re.compile(r"^Remove rule \d+$"))
    while remove.count():
        remove.first.click()
    page.get_by_role("button", name="Add rule").click()
    page.get_by_label("Label (rule 1)", exact=True).fill("/api/")
    page.get_by_label("Most requests (rule 1)", exact=True).fill("500")
    page.get_by_label("Per seconds (rule 1)", exact=True).fill("10")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved.")).to_be_visible()
    saved = node.api.get("/api/settings").json()
    assert saved["batch"]["maxRequests"] == 21 and saved["batch"]["enabled"] is True
    assert saved["trustedProxy"]["headers"] == ["X-Real-IP", "CF-Connecting-IP"]
    assert saved["logs"]["maxDays"] == 9
    assert saved["rateLimits"]["rules"] == [
        {"label": "/api/", "maxRequests": 500, "duration": 10, "audience": ""}
    ]
    # the batch setting acts: a batch of 22 requests is now refused
    too_many = [{"method": "GET", "url": "/api/health"}] * 22
    assert node.api.post("/api/batch", json={"requests": too_many}).status_code == 400

    # S3 is off on this node: the check says why instead of pretending
    page.get_by_role("button", name="Test S3 connection").click()
    expect(page.get_by_text(re.compile("^S3 failed: "))).to_be_visible()


def stored_rate_limits(node: Node, rules: int) -> dict[str, Any]:
    """The stored rate limits once they hold this many rules (the save's answer may lag its click)."""
    deadline = time.monotonic() + 15
    while True:
        stored: dict[str, Any] = node.api.get("/api/settings").json()["rateLimits"]
        if len(stored["rules"]) == rules or time.monotonic() > deadline:
            return stored
        time.sleep(0.1)


def test_a_rate_limit_rule_added_in_the_form_refuses_with_429(page: Any, node: Node) -> None:
    name = "dash16d_limited"
    node.post("/api/collections", {"name": name, "type": "base", "listRule": "",
                                   "fields": [{"name": "x", "type": "text"}]})  # fmt: skip
    before = node.api.get("/api/settings").json()["rateLimits"]
    path = f"/api/collections/{name}/records"
    try:
        sign_in(page, node)
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Settings").click()
        rules = len(before["rules"])
        # The stored rules are shown one per row.
        expect(page.get_by_label(f"Label (rule {rules})", exact=True)).to_have_value(
            before["rules"][-1]["label"]
        )
        page.get_by_role("button", name="Add rule").click()
        new = rules + 1
        page.get_by_label(f"Label (rule {new})", exact=True).fill(f"GET {path}")
        page.get_by_label(f"Most requests (rule {new})", exact=True).fill("0")
        page.get_by_label("Limit request rates").check()
        page.get_by_role("button", name="Save settings").click()
        # The API's error shows next to the input it names.
        expect(page.locator(f"#rate-rule-{new - 1}-maxRequests-error")).to_be_visible()
        assert node.api.get("/api/settings").json()["rateLimits"]["enabled"] is False

        page.get_by_label(f"Most requests (rule {new})", exact=True).fill("2")
        page.get_by_label(f"Per seconds (rule {new})", exact=True).fill("60")
        page.get_by_label(f"Audience (rule {new})", exact=True).select_option(label="Guests only")
        page.get_by_label(re.compile(r"^Never limited: IPs or subnets")).fill("10.0.0.0/8")
        page.get_by_role("button", name="Save settings").click()
        expect(page.get_by_text("Settings saved.")).to_be_visible()

        saved = stored_rate_limits(node, len(before["rules"]) + 1)
        assert saved["enabled"] is True and saved["excludedIPs"] == ["10.0.0.0/8"]
        assert saved["rules"][-1] == {
            "label": f"GET {path}", "maxRequests": 2, "duration": 60, "audience": "@guest",
        }  # fmt: skip
        # It acts: a guest gets two answers, then 429; a superuser is not a guest.
        statuses = [httpx.get(node.url + path).status_code for _ in range(3)]
        assert statuses == [200, 200, 429], statuses
        assert node.api.get(path).status_code == 200

        # Removed in the form, it acts no more.
        page.get_by_role("button", name=f"Remove rule {new}").click()
        expect(page.get_by_label(f"Label (rule {new})", exact=True)).to_have_count(0)
        page.get_by_role("button", name="Save settings").click()
        stored_rate_limits(node, len(before["rules"]))
        assert httpx.get(node.url + path).status_code == 200
    finally:
        node.api.patch("/api/settings", json={"rateLimits": before}).raise_for_status()
        node.api.delete(f"/api/collections/{name}")
