"""uvicorn's HTTP/1.1 protocol writing through a ``BatchedTransport`` (batched_transport.py).

Kept apart so that only a server run by uvicorn imports uvicorn's protocol; the
realtime stream needs ``unbatched`` under any server.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from keelbase.batched_transport import BatchedTransport, turn_of


class BatchedHttpProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` writing through a ``BatchedTransport``: everything it writes
    (answers, its own 400s, the close) goes the same way, in order."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        batched = BatchedTransport(transport, turn_of(self.loop))
        super().connection_made(batched)  # type: ignore[arg-type]
