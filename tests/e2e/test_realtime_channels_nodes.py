"""Channels across two ``keelbase serve`` nodes joined by Redis: broadcast, presence, replay.

A load balancer may send any request to either node: each test sends the
stream to one node and the other requests to the other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty

import httpx
import pytest

from tests.conftest import ServerProcess
from tests.e2e.test_realtime_nodes import Stream, data_dir, redis_url  # noqa: F401 - fixtures

PASSWORD = "Passw0rd123"
HOOKS = """
from keelbase import App


def setup(app: App) -> None:
    app.realtime.guard(lambda client, topic: not topic.startswith("room:") or client.auth is not None)
    app.realtime.allow_broadcast(lambda auth, topic, data: auth is not None and topic.startswith("room:"))
"""


class Node(ServerProcess):
    """A node with hooks to load: given more time to start on a busy machine, and stopped
    when it does not start."""

    def _wait_ready(self, timeout: float = 60.0) -> None:
        try:
            super()._wait_ready(timeout)
        except RuntimeError:
            self.stop()
            raise


@pytest.fixture
def nodes(
    data_dir: Path,  # noqa: F811
    redis_url: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    monkeypatch.setenv("KEELBASE_REDIS_CHANNEL", f"keelbase-test:{uuid.uuid4().hex}")
    hooks = data_dir.parent / "kb_hooks"
    hooks.mkdir()
    (hooks / "rooms.py").write_text(HOOKS)
    first = Node(data_dir, "--redis", redis_url)
    try:
        second = Node(data_dir, "--redis", redis_url)
    except BaseException:
        first.stop()  # never leave a node running when the other did not start
        raise
    yield first, second
    first.stop()
    second.stop()


def sign_up(url: str, email: str) -> tuple[str, str]:
    made = httpx.post(url + "/api/collections/users/records",
                      json={"email": email, "password": PASSWORD, "passwordConfirm": PASSWORD})  # fmt: skip
    assert made.status_code == 200, made.text
    signed = httpx.post(url + "/api/collections/users/auth-with-password",
                        json={"identity": email, "password": PASSWORD})  # fmt: skip
    return made.json()["id"], signed.json()["token"]


def test_broadcast_and_presence_cross_nodes(nodes: tuple[ServerProcess, ServerProcess]) -> None:
    first, second = nodes
    ann_id, ann = sign_up(first.url, "ann@example.com")
    _, bob = sign_up(first.url, "bob@example.com")
    listener = Stream(first.url, bob)
    member = Stream(second.url, ann)
    try:
        listener.subscribe("room:1", "presence:room:1", via=second.url)
        member.subscribe("room:1", via=first.url)
        sent = httpx.post(second.url + "/api/realtime/broadcast", headers={"Authorization": ann},
                          json={"topic": "room:1", "data": {"text": "hello"}})  # fmt: skip
        assert sent.status_code == 204, sent.text
        assert listener.next() == ("room:1", {"data": {"text": "hello"},
                                   "sender": {"collectionId": "_pb_users_auth_", "id": ann_id}})  # fmt: skip
        assert member.next()[0] == "room:1"  # the sender's own stream hears it too
        with pytest.raises(Empty):
            listener.next(timeout=0.3)  # once, though both nodes heard it
        # presence set through the node that does not hold the stream
        join = {"clientId": member.client_id, "topic": "room:1", "state": {"name": "Ann"}}
        answer = httpx.post(
            first.url + "/api/realtime/presence", headers={"Authorization": ann}, json=join
        )
        assert answer.status_code == 204, answer.text
        name, event = listener.next()
        assert (name, event["action"], event["state"]) == (
            "presence:room:1",
            "join",
            {"name": "Ann"},
        )
        for node in (first, second):
            listed = httpx.get(node.url + "/api/realtime/presence", params={"topic": "room:1"},
                               headers={"Authorization": bob})  # fmt: skip
            assert [i["auth"]["id"] for i in listed.json()["items"]] == [ann_id], node.url
        # leaving the topic (through the other node again): everyone hears the leave; a stream
        # that ends leaves the same way (tests/api/test_realtime_channels.py), but this thread
        # reader cannot drop its connection on demand
        member.subscribe(via=first.url)
        name, event = listener.next()
        assert (name, event["action"], event["key"]) == (
            "presence:room:1",
            "leave",
            listed.json()["items"][0]["key"],
        )
        listed = httpx.get(first.url + "/api/realtime/presence", params={"topic": "room:1"},
                           headers={"Authorization": bob})  # fmt: skip
        assert listed.json()["items"] == []
    finally:
        listener.close()
        member.close()


def test_reconnecting_to_the_other_node_replays_what_was_missed(
    nodes: tuple[ServerProcess, ServerProcess],
) -> None:
    first, second = nodes
    _, ann = sign_up(first.url, "ann@example.com")
    auth = {"Authorization": ann}

    def say(text: str) -> None:
        answer = httpx.post(second.url + "/api/realtime/broadcast", headers=auth,
                            json={"topic": "room:2", "data": text})  # fmt: skip
        assert answer.status_code == 204, answer.text

    stream = Stream(first.url, ann)
    stream.subscribe("room:2")
    say("one")
    assert stream.next()[1]["data"] == "one"
    last_id = stream.ids[-1]
    stream.close()
    say("two")
    say("three")
    time.sleep(0.3)
    again = Stream(second.url, ann, last_event_id=last_id)  # the other node, same Redis order
    try:
        again.subscribe("room:2")
        assert [again.next()[1]["data"] for _ in range(2)] == ["two", "three"]
        say("four")
        assert again.next()[1]["data"] == "four"
        with pytest.raises(Empty):
            again.next(timeout=0.3)
    finally:
        again.close()
