"""Every settings key PocketBase has: where it takes effect, and the test that proves it.

A setting that is accepted must act. ``AUDIT`` names, for each key of
``/api/settings``, the code it acts in and the test that fails if it stops
acting (``file::test``). Keys that act only in a dashboard say so and are
proven to round-trip here; keys another piece of work owns name it.
``test_every_key_is_audited`` fails when a key is added without an entry, and
``test_every_proof_exists`` when a named test is renamed or removed.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from keelbase import RecordEvent
from keelbase.services.settings import Settings
from tests.api.scenario import World

ROOT = Path(__file__).resolve().parents[2]
MAIL = "tests/api/test_auth_mail.py::test_verification_end_to_end"
SENDER = "tests/services/mail/test_sender.py::test_send_change_and_cancel"
SMTP = "tests/services/mail/test_smtp_settings.py::"
S3 = "tests/api/test_files_s3.py::test_files_on_s3"
LIMITS = "tests/api/test_rate_limits.py::"
BATCH = "tests/api/test_batch.py::"
HERE = "tests/api/test_settings_audit.py::"
IPS = "tests/api/test_superuser_ips.py::"
PAY = "tests/api/test_payments.py::"

# key -> (where it takes effect, the proof: a test, or "owned: ..." for another issue's keys)
AUDIT: dict[str, tuple[str, str]] = {
    "meta.appName": (
        "mail subjects and bodies (services/auth/mail_flows.py, otp.py, alerts.py)",
        MAIL,
    ),
    "meta.appURL": ("links in auth mails", MAIL),
    "meta.senderName": ("mail From name (services/mail/sender.py)", SENDER),
    "meta.senderAddress": ("mail From address", SENDER),
    "meta.hideControls": (
        "dashboards only (PocketBase's admin UI); stored and returned",
        HERE + "test_dashboard_keys_round_trip",
    ),
    "meta.accentColor": (
        "dashboards only (PocketBase's admin UI); stored and returned",
        HERE + "test_dashboard_keys_round_trip",
    ),
    "smtp.enabled": ("mail is sent only when on", SENDER),
    "smtp.host": ("the SMTP server (adapters/mail.py)", SENDER),
    "smtp.port": ("the SMTP server's port", SENDER),
    "smtp.username": ("SMTP AUTH", SMTP + "test_username_password_and_auth_method"),
    "smtp.password": (
        "SMTP AUTH; never returned",
        SMTP + "test_a_wrong_password_is_refused_by_the_server",
    ),
    "smtp.authMethod": ("PLAIN or LOGIN", SMTP + "test_username_password_and_auth_method"),
    "smtp.tls": ("implicit TLS instead of STARTTLS", SMTP + "test_tls_means_implicit_tls"),
    "smtp.localName": ("the EHLO name", SMTP + "test_local_name_is_the_ehlo_name"),
    "s3.enabled": ("record files in S3 (services/files/service.py)", S3),
    "s3.bucket": ("the bucket", S3),
    "s3.region": ("the bucket's region", S3),
    "s3.endpoint": ("the S3 endpoint", S3),
    "s3.accessKey": ("S3 credentials", S3),
    "s3.secret": ("S3 credentials; never returned", S3),
    "s3.forcePathStyle": ("path-style bucket URLs", S3),
    "batch.enabled": ("/api/batch answers 403 when off", BATCH + "test_settings"),
    "batch.maxRequests": ("requests per batch", BATCH + "test_batch"),
    "batch.timeout": ("the batch transaction's time limit", HERE + "test_batch_timeout"),
    "batch.maxBodySize": ("the batch body limit (api/batch.py)", BATCH + "test_batch"),
    "rateLimits.enabled": (
        "rate limits on/off (api/rate_limit.py)",
        LIMITS + "test_disabled_limits_count_nothing",
    ),
    "rateLimits.rules": ("per-label allowances", LIMITS + "test_over_the_limit_then_recovery"),
    "rateLimits.excludedIPs": (
        "addresses never limited",
        LIMITS + "test_trusted_proxy_ip_and_excluded_ips",
    ),
    "trustedProxy.headers": (
        "the client IP (api/client_ip.py)",
        LIMITS + "test_trusted_proxy_ip_and_excluded_ips",
    ),
    "trustedProxy.useLeftmostIP": (
        "which listed IP counts",
        LIMITS + "test_trusted_proxy_ip_and_excluded_ips",
    ),
    "superuserIPs": (
        "superuser sign-in and requests (api/superuser_ips.py)",
        IPS + "test_superuser_ips",
    ),
    "logs.maxDays": (
        "retention; 0 turns request logging off",
        "tests/api/test_logs.py::test_max_days_zero_turns_request_logging_off_and_deletes_everything",
    ),
    "logs.minLevel": (
        "entries below it are not kept",
        "tests/api/test_logs.py::test_min_level_drops_entries_below_it",
    ),
    "logs.logIP": (
        "IPs in request entries",
        "tests/api/test_logs.py::test_log_ip_off_hides_ips_and_log_auth_id_on_shows_the_id",
    ),
    "logs.logAuthId": (
        "auth ids in request entries",
        "tests/api/test_logs.py::test_log_ip_off_hides_ips_and_log_auth_id_on_shows_the_id",
    ),
    "logs.maxDataSize": (
        "data cut to this size",
        "tests/api/test_logs.py::test_max_data_size_cuts_data",
    ),
    "backups.cron": (
        "automatic backups",
        "tests/api/test_backups_auto.py::test_cron_setting_adds_and_removes_the_job",
    ),
    "backups.cronMaxKeep": (
        "automatic backups kept",
        "tests/api/test_backups_auto.py::test_automatic_backups_keep_only_the_newest",
    ),
    "backups.s3": (
        "backups in their own S3 bucket",
        "tests/api/test_backups_auto.py::test_backups_in_their_own_s3_bucket",
    ),
    "metrics.enabled": (
        "/api/metrics served and measured",
        "tests/api/test_metrics.py::test_off_by_default_then_only_for_superusers_and_the_token",
    ),
    "metrics.token": (
        "a bearer token for Prometheus; never returned",
        "tests/api/test_metrics.py::test_off_by_default_then_only_for_superusers_and_the_token",
    ),
    "payments.stripe.secretKey": (
        "Stripe API calls (adapters/stripe.py); turns payments on; never returned",
        PAY + "test_subscription_opens_a_rule_guarded_collection_for_its_owner_only",
    ),
    "payments.stripe.publishableKey": (
        "GET /api/payments/config, for Stripe.js",
        PAY + "test_settings_secrets_are_write_only_and_shapes_checked",
    ),
    "payments.stripe.webhookSecret": (
        "webhook signatures (services/payments/service.py); never returned",
        PAY + "test_webhook_verification_duplicates_and_limits",
    ),
    "payments.stripe.apiBase": (
        "where the Stripe API is (adapters/stripe.py)",
        PAY + "test_subscription_opens_a_rule_guarded_collection_for_its_owner_only",
    ),
}


def _keys(value: dict[str, Any], prefix: str = "") -> set[str]:
    keys: set[str] = set()
    for key, item in value.items():
        path = f"{prefix}{key}"
        if isinstance(item, dict) and path != "backups.s3":
            keys |= _keys(item, path + ".")
        else:
            keys.add(path)
    return keys


def test_every_key_is_audited() -> None:
    assert _keys(Settings().model_dump()) == set(AUDIT)


@pytest.mark.parametrize("key", sorted(AUDIT))
def test_every_proof_exists(key: str) -> None:
    proof = AUDIT[key][1]
    if proof.startswith("owned: "):
        return
    path, name = proof.split("::")
    source = (ROOT / path).read_text()
    assert re.search(rf"^(async )?def {name}\(", source, re.M), f"{key}: no {proof}"


def test_dashboard_keys_round_trip(world: World) -> None:
    """PocketBase's server stores these for its admin UI and does nothing else with them."""
    body = {"meta": {"hideControls": True, "accentColor": "#ff0000"}}
    saved = world.request("PATCH", "/api/settings", "superuser", json=body)
    assert saved.status_code == 200, saved.text
    read = world.request("GET", "/api/settings?fields=meta", "superuser").json()
    assert read["meta"]["hideControls"] is True
    assert read["meta"]["accentColor"] == "#ff0000"


def test_batch_timeout(world: World) -> None:
    """A batch that runs past ``batch.timeout`` seconds fails as a whole."""
    created = world.request("POST", "/api/collections", "superuser", json={
        "name": "slow", "createRule": "", "listRule": "", "fields": [{"name": "t", "type": "text"}]})  # fmt: skip
    assert created.status_code == 200, created.text
    saved = world.request(
        "PATCH", "/api/settings", "superuser", json={"batch": {"enabled": True, "timeout": 1}}
    )
    assert saved.status_code == 200, saved.text

    @world.app.on_record_create("slow")
    async def dawdle(e: RecordEvent) -> None:
        await asyncio.sleep(0.7)
        await e.next()

    url = "/api/collections/slow/records"
    two = {"requests": [{"method": "POST", "url": url, "body": {"t": str(i)}} for i in range(2)]}
    answer = world.request("POST", "/api/batch", json=two)
    assert answer.status_code == 400, answer.text
    assert answer.json()["message"] == "Batch transaction failed."
    assert world.request("GET", url).json()["totalItems"] == 0
    one = {"requests": two["requests"][:1]}
    assert world.request("POST", "/api/batch", json=one).status_code == 200
