"""Stripe webhooks on two ``keelbase serve`` nodes sharing PostgreSQL and Redis.

Stripe delivers an event to one endpoint, but a retry, a second endpoint or a
load balancer can bring the same event to two nodes at once. Here every
signed event is POSTed to both nodes at the same moment: it must be applied
exactly once (one event row, one ``on_payment_event`` call across the nodes,
one realtime message to its owner), the other node answering it as a duplicate.
"""

from __future__ import annotations

import asyncio
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import httpx
import pytest

from keelbase import App, Config
from tests.api.test_payments import APP_URL, stripe_settings
from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import ADMIN, Stream, redis_url, superuser_token
from tests.pg import fresh_database
from tests.stripe_server import StripeServer, event_of, running_stripe, signed

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
__all__ = ["redis_url"]  # the fixture, used by name

HOOKS = """
import os

from keelbase import PaymentEvent


def setup(app):
    @app.on_payment_event()
    async def count(e: PaymentEvent) -> None:
        await e.next()
        with open({log!r}, "a") as calls:
            calls.write(f"{{os.getpid()}} {{e.event['id']}}\\n")
"""


async def prepare(data_dir: Path, db_url: str, stripe_api: StripeServer) -> None:
    """The superuser and the Stripe settings, saved before the nodes start."""
    async with App(Config(data_dir=data_dir, db_url=db_url)) as app:
        await app.superusers.upsert(*ADMIN)
        await app.settings.update(stripe_settings(stripe_api))
        await app.payments.ensure_collections()


@pytest.fixture
def nodes(
    tmp_path: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[ServerProcess, ServerProcess, StripeServer, Path]]:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    calls = tmp_path / "hook-calls.log"
    hooks = tmp_path / "kb_hooks"  # beside both data folders: both nodes load it
    hooks.mkdir()
    (hooks / "count.py").write_text(textwrap.dedent(HOOKS.format(log=str(calls))))
    with running_stripe() as stripe_api, fresh_database() as url:
        asyncio.run(prepare(tmp_path / "a", url, stripe_api))
        first = ServerProcess(tmp_path / "a", "--db", url, "--redis", redis_url)
        try:
            second = ServerProcess(tmp_path / "b", "--db", url, "--redis", redis_url)
        except BaseException:
            first.stop()
            raise
        try:
            yield first, second, stripe_api, calls
        finally:
            first.stop()
            second.stop()


def to_both(urls: list[str], event: dict[str, Any]) -> list[httpx.Response]:
    """The same signed delivery POSTed to every node at the same moment."""
    body, headers = signed(event)
    barrier = threading.Barrier(len(urls))
    answers: list[httpx.Response | None] = [None] * len(urls)

    def post(index: int) -> None:
        barrier.wait()
        answers[index] = httpx.post(
            urls[index] + "/api/payments/webhook", content=body, headers=headers, timeout=30
        )

    threads = [threading.Thread(target=post, args=(i,)) for i in range(len(urls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def test_the_same_event_on_two_nodes_at_once_is_applied_once(
    nodes: tuple[ServerProcess, ServerProcess, StripeServer, Path],
) -> None:
    first, second, stripe_api, calls = nodes
    urls = [first.url, second.url]
    _, price = stripe_api.add_product("Two nodes")
    admin = {"Authorization": superuser_token(first.url)}
    email = "lena@example.com"
    created = httpx.post(first.url + "/api/collections/users/records",
                         json={"email": email, "password": ADMIN[1], "passwordConfirm": ADMIN[1]})  # fmt: skip
    assert created.status_code == 200, created.text
    user_id = created.json()["id"]
    signed_in = httpx.post(second.url + "/api/collections/users/auth-with-password",
                           json={"identity": email, "password": ADMIN[1]})  # fmt: skip
    assert signed_in.status_code == 200, signed_in.text
    token = signed_in.json()["token"]
    # the owner listens on the first node; the events may be applied on either
    stream = Stream(first.url, token)
    try:
        stream.subscribe("_subscriptions/*")
        session = httpx.post(second.url + "/api/payments/checkout", headers={"Authorization": token},
                             json={"price": price["id"], "mode": "subscription",
                                   "successUrl": f"{APP_URL}/ok", "cancelUrl": f"{APP_URL}/no"})  # fmt: skip
        assert session.status_code == 200, session.text
        events = stripe_api.complete(session.json()["id"])
        events += [event_of("price.created", {"id": f"price_nodes{i}", "object": "price",
                                              "active": True, "currency": "eur", "unit_amount": i,
                                              "product": "prod_nodes", "type": "one_time"})
                   for i in range(10)]  # fmt: skip
        for event in events:
            answers = to_both(urls, event)
            assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
            assert sorted(a.json()["duplicate"] for a in answers) == [False, True], event["type"]

        # one hook call per event, across both nodes
        lines = calls.read_text().split()
        called = lines[1::2]
        assert sorted(called) == sorted(e["id"] for e in events)
        # one event row each, one subscription for the owner, read through either node
        stored = httpx.get(first.url + "/api/collections/_paymentEvents/records?perPage=100",
                           headers=admin).json()  # fmt: skip
        assert sorted(r["eventId"] for r in stored["items"]) == sorted(e["id"] for e in events)
        for url in urls:
            mine = httpx.get(url + "/api/collections/_subscriptions/records",
                             headers={"Authorization": token}).json()["items"]  # fmt: skip
            assert [(s["status"], s["user"]) for s in mine] == [("active", user_id)]
        prices = httpx.get(second.url + "/api/collections/_prices/records?perPage=100&filter="
                           "stripeId~'price_nodes'").json()  # fmt: skip
        assert prices["totalItems"] == 10
        # the owner heard its subscription created once, whichever node applied it
        name, data = stream.next(timeout=10)
        assert (name, data["action"]) == ("_subscriptions/*", "create")
        with pytest.raises(Empty):
            stream.next(timeout=1)

        # Stripe retries one later, on the second node alone: nothing happens again
        body, headers = signed(events[1])
        again = httpx.post(second.url + "/api/payments/webhook", content=body, headers=headers)
        assert again.status_code == 200 and again.json()["duplicate"] is True
        time.sleep(0.2)
        assert len(calls.read_text().split()) == len(lines)

        # the user deletes their account on one node; Stripe's cancellation reaches the other
        stripe_api.forward_to = first.url + "/api/payments/webhook"
        sub_id = events[1]["data"]["object"]["id"]
        gone = httpx.delete(second.url + f"/api/collections/users/records/{user_id}",
                            headers={"Authorization": token})  # fmt: skip
        assert gone.status_code == 204, gone.text
        assert stripe_api.subscriptions[sub_id]["status"] == "canceled"
        deadline = time.monotonic() + 10
        while not stripe_api.delivered and time.monotonic() < deadline:
            time.sleep(0.1)
        assert stripe_api.delivered == [200]
        for url in urls:
            left = httpx.get(url + "/api/collections/_subscriptions/records", headers=admin,
                             params={"filter": f"user = '{user_id}'"}).json()  # fmt: skip
            assert left["totalItems"] == 0, left
    finally:
        stream.close()
