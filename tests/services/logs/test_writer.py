"""The log writer with the app's real logs store: batches, stop, a full queue, a failing write;
and errors caught away from requests (realtime deliveries) reaching the logs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keelbase import App, Config
from keelbase.core.request_info import RequestInfo
from keelbase.services.mail import sender
from keelbase.services.records.listing import ListParams

pytestmark = pytest.mark.anyio


async def count(app: App) -> int:
    page = await app.logs.page(ListParams())
    return int(page["totalItems"])


async def test_stop_writes_what_is_still_queued(tmp_path: Path) -> None:
    config = Config(data_dir=tmp_path / "kb_data")
    async with App(config) as app:
        for n in range(1234):
            app.logger.info("queued", n=n)
        assert app.logs.writer.queued == 1234  # no await yet: nothing written
    async with App(config) as app:
        assert await count(app) == 1234


async def test_a_full_queue_drops_new_entries_and_counts_them(app: App) -> None:
    writer = app.logs.writer
    writer.max_queued = 10
    writer.batch_size = 1000
    for n in range(25):
        app.logger.info("x", n=n)
    assert (writer.queued, writer.dropped) == (10, 15)
    await app.logs.flush()
    assert await count(app) == 10


async def test_a_failed_write_loses_its_batch_only_and_does_not_log_itself(app: App) -> None:
    writer = app.logs.writer
    async with app.logs.store.store.transaction() as conn:
        await conn.execute('ALTER TABLE "_logs" RENAME TO "_logs_away"', heavy=True)
    app.logger.error("lost")
    await app.logs.flush()
    assert writer.failed == 1
    assert writer.queued == 0  # the failure was reported on stderr, not queued as an entry
    async with app.logs.store.store.transaction() as conn:
        await conn.execute('ALTER TABLE "_logs_away" RENAME TO "_logs"', heavy=True)
    app.logger.error("kept")
    await app.logs.flush()
    assert await count(app) == 1


async def test_a_failing_realtime_delivery_is_logged_with_its_traceback(app: App) -> None:
    def broken_delivery(event: object) -> None:
        raise RuntimeError("delivery hook broke")

    app.on_realtime_message()(broken_delivery)
    await app.collections.create(
        {
            "name": "notes",
            "listRule": "",
            "createRule": "",
            "fields": [{"name": "text", "type": "text"}],
        }
    )
    client = app.realtime.connect()
    await app.realtime.subscribe(client.id, ["notes/*"], None)
    await app.records.create_record(app.records.collection("notes"), {"text": "hi"}, RequestInfo())
    for _ in range(50):  # the broker delivers in its own task
        await asyncio.sleep(0.02)
        await app.logs.flush()
        page = await app.logs.page(ListParams(filter='data.error ~ "delivery hook broke"'))
        if page["items"]:
            break
    [entry] = page["items"]
    assert entry["level"] == 8 and entry["data"]["logger"] == "keelbase.broker"
    assert "broken_delivery" in entry["data"]["traceback"]


async def _entries(app: App, filter_text: str, wanted: int = 1) -> list[dict[str, object]]:
    """The entries matching ``filter_text`` once ``wanted`` of them were written (or after 2 s)."""
    items: list[dict[str, object]] = []
    for _ in range(100):
        await asyncio.sleep(0.02)
        await app.logs.flush()
        items = (await app.logs.page(ListParams(filter=filter_text)))["items"]
        if len(items) >= wanted:
            break
    return items


async def test_a_mail_that_could_not_be_sent_is_logged_with_its_traceback(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "RETRY_DELAYS", (0.0, 0.0))  # give up at once
    app.mailer.send_in_background("to@example.com", "Welcome aboard", "<p>hi</p>")  # SMTP is off
    [entry] = await _entries(app, 'message ~ "gave up sending"')
    data = entry["data"]
    assert isinstance(data, dict)
    assert entry["level"] == 8 and data["logger"] == "keelbase.mail"
    assert "SMTP is not enabled" in data["error"]
    assert "MailError" in data["traceback"]


async def test_a_failing_mail_hook_is_logged_with_its_traceback(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sender, "RETRY_DELAYS", (0.0, 0.0))

    def broken_mail_hook(event: object) -> None:
        raise RuntimeError("mail hook broke")

    app.on_mail_send()(broken_mail_hook)
    app.mailer.send_in_background("to@example.com", "Welcome aboard", "<p>hi</p>")
    [entry] = await _entries(app, 'data.error ~ "mail hook broke"')
    data = entry["data"]
    assert isinstance(data, dict)
    assert entry["level"] == 8 and data["logger"] == "keelbase.mail"
    assert "broken_mail_hook" in data["traceback"]
