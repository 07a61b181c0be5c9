"""What one finished HTTP request looked like, for the logs, the metrics and the health figures.

The HTTP layer fills it once per request, after the answer is sent; observers
(``RequestObserver``) read it off the request path. It is plain data so that
those observers stay free of HTTP types.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol

# The id of the request being served, for whatever is logged or reported while
# serving it (log formatters, error reports); "" outside a request. Set by the
# HTTP layer for the length of each request: the answer's ``X-Request-Id``.
current_request_id: ContextVar[str] = ContextVar("keelbase_request_id", default="")
# The attribute that marks a logging record whose error the request's own log
# entry already keeps (with its traceback), so the logs do not keep it twice.
REQUEST_LOGGED = "keelbase_request_logged"


@dataclass(slots=True)
class RequestOutcome:
    method: str
    # the path with its query string, as the client sent it
    url: str
    # the matched route's template (``/api/collections/{collection}/records/{id}``),
    # "" when no route matched: metrics label by it so ids cannot explode the labels
    route: str
    status: int
    # wall-clock start (seconds since the epoch) and duration in seconds
    started: float
    duration: float
    request_id: str
    remote_ip: str
    # the client's IP as the trusted proxy headers give it (else ``remote_ip``)
    user_ip: str
    referer: str
    user_agent: str
    # the signed-in record when the request resolved it: collection name and id ("" for guests)
    auth_collection: str
    auth_id: str
    # the raw token when the request carried one but never resolved it; observers
    # that need the auth resolve it later. Never log or store it.
    token: str
    # the failure behind an error answer: an ``ApiError`` for 4xx, the original exception for 5xx
    error: BaseException | None


class RequestObserver(Protocol):
    """Told when a request starts and when it has been answered; both must be cheap and never raise."""

    def request_started(self, method: str) -> None: ...

    def request_finished(self, outcome: RequestOutcome) -> None: ...
