"""The id of the request being handled, for whatever logs or reports inside it.

``KeelbaseApp`` sets it for the length of each HTTP request (the same id as the
answer's ``X-Request-Id``); log formatters and error reports read it, so a line
logged deep in a hook still names its request. Outside a request it is "".
"""

from __future__ import annotations

from contextvars import ContextVar

current_request_id: ContextVar[str] = ContextVar("keelbase_request_id", default="")
