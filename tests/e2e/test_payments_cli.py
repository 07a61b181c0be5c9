"""``keelbase payments sync`` as a user runs it: the catalogue from a Stripe-compatible server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from keelbase import App, Config
from keelbase.cli import main
from tests.api.test_payments import stripe_settings
from tests.e2e.test_backups_cli import keelbase
from tests.stripe_server import StripeServer, running_stripe

pytestmark = pytest.mark.e2e


@pytest.fixture
def stripe_api() -> Iterator[StripeServer]:
    with running_stripe() as server:
        yield server


def in_app(data_dir: Path, db_url: str, action: Any) -> Any:
    async def run() -> Any:
        async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
            return await action(app)

    return asyncio.run(run())


def test_sync_copies_the_catalogue(
    tmp_path: Path, fresh_db_url: str, stripe_api: StripeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "kb_data"
    db = ["--db", fresh_db_url] if fresh_db_url else []
    in_app(data_dir, fresh_db_url, lambda app: app.superusers.count())

    assert main(["payments", "sync", "--dir", str(data_dir), *db]) == 1
    assert capsys.readouterr().err.strip() == "Error: Payments are not configured."

    for n in range(105):  # more than one page of Stripe's list
        stripe_api.add_product(f"Plan {n}", unit_amount=100 + n)
    in_app(data_dir, fresh_db_url, lambda app: app.settings.update(stripe_settings(stripe_api)))
    done = keelbase("payments", "sync", "--dir", str(data_dir), *db)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Synced 105 products and 105 prices from Stripe."
    assert "Traceback" not in done.stderr

    async def mirrored(app: App) -> tuple[int, int]:
        products = await app.records.count(app.records.collection("_products"))
        prices = await app.records.count(app.records.collection("_prices"))
        return products, prices

    assert in_app(data_dir, fresh_db_url, mirrored) == (105, 105)
    # again, with the global --dir before the command: the same records, none doubled
    assert main(["--dir", str(data_dir), "payments", "sync", *db]) == 0
    assert in_app(data_dir, fresh_db_url, mirrored) == (105, 105)

    assert main(["payments", "sync", "--dir", str(tmp_path / "nothing")]) == 1
    assert capsys.readouterr().err.startswith("Error: no Keelbase app")
