"""The hub's wire format: length-prefixed frames, each with a one-byte kind.

A frame is a 4-byte big-endian length (of what follows), one kind byte, then
the body (orjson bytes). A published message's body is forwarded to every
worker as it came, never decoded by the hub. A length above ``MAX_FRAME`` is
refused before anything is read or allocated for it: the reader raises
``FrameTooLarge`` and the connection is closed.
"""

from __future__ import annotations

import asyncio
import struct

HEADER = struct.Struct(">I")
# Above the largest request body (32 MiB by default) a record event could carry.
MAX_FRAME = 64 << 20

HELLO = b"H"  # hub -> worker, first frame: {"pid": the hub's process id}
PUBLISH = b"P"  # worker -> hub: a broker message, forwarded to every worker as MESSAGE
MESSAGE = b"M"  # hub -> worker: a broker message some worker published
CALL = b"C"  # worker -> hub: [call id, operation, arguments...]
RESULT = b"R"  # hub -> worker: [call id, true, value] or [call id, false, error text]


class FrameTooLarge(ValueError):
    """A frame longer than ``MAX_FRAME``: the peer is not ours, or broken."""


def frame(kind: bytes, body: bytes, max_frame: int = MAX_FRAME) -> bytes:
    """One frame; ``FrameTooLarge`` when the body would not be accepted on the other side."""
    size = len(body) + 1
    if size > max_frame:
        raise FrameTooLarge(f"a hub frame of {size} bytes is over the {max_frame} limit")
    return HEADER.pack(size) + kind + body


async def read_frame(
    reader: asyncio.StreamReader, max_frame: int = MAX_FRAME
) -> tuple[bytes, bytes]:
    """The next (kind, body); ``asyncio.IncompleteReadError`` at the end of the stream.

    ``readexactly`` waits for a frame split over any number of reads."""
    (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
    if size > max_frame:
        raise FrameTooLarge(f"a hub frame of {size} bytes is over the {max_frame} limit")
    if size == 0:
        raise FrameTooLarge("an empty hub frame (no kind byte)")
    data = await reader.readexactly(size)
    return data[:1], data[1:]
