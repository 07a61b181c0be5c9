"""The hub's frames: round trips, frames split over many reads, and oversized frames refused."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keelbase.adapters.hub.framing import (
    HEADER,
    MESSAGE,
    PUBLISH,
    FrameTooLarge,
    frame,
    read_frame,
)


async def read_all(
    chunks: list[bytes], count: int, max_frame: int = 1 << 20
) -> list[tuple[bytes, bytes]]:
    reader = asyncio.StreamReader()

    async def feed() -> None:
        for chunk in chunks:
            reader.feed_data(chunk)
            await asyncio.sleep(0)  # the reader sees each piece on its own
        reader.feed_eof()

    feeding = asyncio.create_task(feed())
    frames = [await read_frame(reader, max_frame) for _ in range(count)]
    await feeding
    return frames


@given(
    bodies=st.lists(st.binary(max_size=300), min_size=1, max_size=5),
    cut=st.integers(min_value=1, max_value=7),
)
def test_frames_split_anywhere_read_back_whole(bodies: list[bytes], cut: int) -> None:
    data = b"".join(frame(PUBLISH, body) for body in bodies)
    chunks = [data[i : i + cut] for i in range(0, len(data), cut)]  # partial reads
    frames = asyncio.run(read_all(chunks, len(bodies)))
    assert frames == [(PUBLISH, body) for body in bodies]


@pytest.mark.anyio
async def test_a_stream_ending_inside_a_frame_is_an_incomplete_read() -> None:
    whole = frame(MESSAGE, b'{"a":1}')
    with pytest.raises(asyncio.IncompleteReadError):
        await read_all([whole[:-2]], 1)


@pytest.mark.anyio
async def test_an_oversized_frame_is_refused_before_its_body_is_read() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(HEADER.pack(1 << 30))  # announces a gigabyte, sends nothing more
    with pytest.raises(FrameTooLarge):
        await read_frame(reader, max_frame=1 << 20)


@pytest.mark.anyio
async def test_an_empty_frame_is_refused() -> None:
    reader = asyncio.StreamReader()
    reader.feed_data(HEADER.pack(0))
    with pytest.raises(FrameTooLarge):
        await read_frame(reader)


def test_a_frame_too_large_to_be_accepted_is_not_built() -> None:
    with pytest.raises(FrameTooLarge):
        frame(PUBLISH, b"x" * 100, max_frame=100)
    assert frame(PUBLISH, b"x" * 99, max_frame=100)[:4] == HEADER.pack(100)
