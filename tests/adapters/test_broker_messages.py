"""The broker's typed messages: their wire shape, decoding of bad input, and the dispatcher."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from keelbase.adapters.broker.messages import (
    BrokerMessage,
    ClientMessageRequest,
    ClientMessageResult,
    CustomMessage,
    Dispatcher,
    PresenceRequest,
    RecordChanged,
    SchemaChanged,
    SettingsChanged,
    SubscribeRequest,
    SubscribeResult,
    decode,
    encode,
)

SAMPLES: list[BrokerMessage] = [
    SchemaChanged(),
    SettingsChanged(),
    RecordChanged("update", "pbc_1", {"id": "r1", "n": 2}),
    CustomMessage("news", {"a": [1, 2]}),
    SubscribeRequest("q1", "c1", ["posts/*"], ["pbc_1", "u1"]),
    SubscribeRequest("q2", "c1", [], None),
    SubscribeResult("q1", 403, "Nope.", {"x": {"code": "c", "message": "m"}}),
    ClientMessageRequest("q3", "c2", "@oauth2", {"code": "abc"}, True),
    ClientMessageResult("q3", True),
    PresenceRequest("q4", "c3", "chat:lobby", {"typing": True}, ["pbc_1", "u1"], False),
    PresenceRequest("q5", "c3", "chat:lobby", None, None, True),
]


@pytest.mark.parametrize("message", SAMPLES, ids=lambda m: type(m).__name__)
def test_every_message_survives_the_wire(message: BrokerMessage) -> None:
    assert decode(encode(message)) == message


def test_wire_shape_is_kind_plus_camel_case_fields() -> None:
    assert encode(RecordChanged("create", "pbc_9", {"id": "x"}, "e1")) == {
        "kind": "record",
        "action": "create",
        "collectionId": "pbc_9",
        "record": {"id": "x"},
        "eventId": "e1",
    }
    assert encode(SubscribeRequest("r", "c", ["t"], None)) == {
        "kind": "subscribe",
        "requestId": "r",
        "clientId": "c",
        "topics": ["t"],
        "auth": None,
        "ip": "",
    }


@pytest.mark.parametrize(
    "wire",
    [
        {},
        {"kind": "no-such-kind"},
        {"kind": "record", "record": "not an object"},
        {"kind": "subscribe", "topics": "posts/*"},
        {"kind": "subscribe", "topics": [], "auth": ["only one"]},
        {"kind": "subscribe-result", "status": "204"},
    ],
)
def test_unknown_or_malformed_messages_decode_to_none(wire: dict[str, Any]) -> None:
    assert decode(wire) is None


def test_extra_keys_are_ignored() -> None:
    assert decode({"kind": "schema", "from": "a newer node"}) == SchemaChanged()


def test_dispatcher_calls_the_handler_of_each_class_once() -> None:
    seen: list[BrokerMessage] = []
    dispatcher = Dispatcher()

    async def remember(message: Any) -> None:
        seen.append(message)

    dispatcher.on(RecordChanged, remember)
    dispatcher.on(SchemaChanged, remember)

    async def run() -> None:
        await dispatcher.dispatch(encode(RecordChanged("delete", "pbc_1", {"id": "r"})))
        await dispatcher.dispatch(encode(SchemaChanged()))
        await dispatcher.dispatch(encode(SettingsChanged()))  # no handler: ignored
        await dispatcher.dispatch({"kind": "bogus"})  # unknown: logged, skipped

    asyncio.run(run())
    assert seen == [RecordChanged("delete", "pbc_1", {"id": "r"}), SchemaChanged()]


def test_a_second_handler_for_one_class_is_refused() -> None:
    dispatcher = Dispatcher()

    async def handler(message: Any) -> None: ...

    dispatcher.on(CustomMessage, handler)
    with pytest.raises(ValueError):
        dispatcher.on(CustomMessage, handler)


def test_every_message_class_is_frozen() -> None:
    for message in SAMPLES:
        assert dataclasses.is_dataclass(message)
        with pytest.raises(dataclasses.FrozenInstanceError):
            message.kind2 = 1  # type: ignore[attr-defined]
