"""A SERVER span around every HTTP request, with the request's SQL spans beneath it.

Put around ``KeelbaseApp``'s request path only when tracing is on (``App.tracing``);
the module imports OpenTelemetry, so nothing imports it otherwise. An incoming
``traceparent`` (and ``tracestate``, ``baggage``) makes the span a child of the
caller's trace, through the propagators ``OTEL_PROPAGATORS`` names.

The attributes follow OpenTelemetry's HTTP conventions: the span is named
``METHOD /route/{template}`` once routing has matched (ids in paths would make
every name unique), ``url.path`` keeps the path as sent; the query string is
left out, as filters may hold personal data.
"""

from __future__ import annotations

from opentelemetry import propagate
from opentelemetry.propagators.textmap import Getter
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from keelbase.api.application import ERROR_KEY, REQUEST_ID_KEY, ROUTE_KEY
from keelbase.errors import ApiError

_HEADERS = (b"traceparent", b"tracestate", b"baggage")


class _DictGetter(Getter[dict[str, str]]):
    def get(self, carrier: dict[str, str], key: str) -> list[str] | None:
        value = carrier.get(key)
        return None if value is None else [value]

    def keys(self, carrier: dict[str, str]) -> list[str]:
        return list(carrier)


_GETTER = _DictGetter()


class ServerSpans:
    def __init__(self, app: ASGIApp, tracer: Tracer) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _HEADERS
        }
        parent = propagate.extract(carrier, getter=_GETTER) if carrier else None
        method = scope["method"]
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self.tracer.start_as_current_span(
            method,
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, send_noting_status)
            finally:
                status = status or 500
                found: dict[str, str | int] = {
                    "http.response.status_code": status,
                    "keelbase.request_id": scope.get(REQUEST_ID_KEY, ""),
                }
                route = scope.get(ROUTE_KEY)
                if route:
                    span.update_name(f"{method} {route}")
                    found["http.route"] = route
                error = scope.get(ERROR_KEY)
                unhandled = error is not None and not isinstance(error, ApiError | HTTPException)
                # a failure after the answer had started leaves its 200 standing: an error all the same
                if status >= 500 or unhandled:
                    span.set_status(Status(StatusCode.ERROR))
                    found["error.type"] = _error_type(error, status)
                    if unhandled and error is not None:
                        span.record_exception(error)
                span.set_attributes(found)


def _error_type(error: BaseException | None, status: int) -> str:
    if error is None or isinstance(error, ApiError | HTTPException):
        return str(status)
    return f"{type(error).__module__}.{type(error).__qualname__}"
