"""The ASGI middleware: every request counted and timed on ServingMetrics; /metrics answered.

    app = instrument(create_app(...), metrics, registry)

Pure ASGI (no framework on the request path), so it costs a few microseconds
a request; the decisions it implements are listed in `mlgate.monitoring.metrics`.
"""

from __future__ import annotations

import os
import time

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.multiprocess import mark_process_dead

from mlgate.monitoring.metrics import (
    KNOWN_ENDPOINTS,
    METRICS_PATH,
    OTHER_ENDPOINT,
    SCOPE_KEY,
    ServingMetrics,
)

_CONTENT_TYPE_HEADER = (b"content-type", CONTENT_TYPE_PLAIN_0_0_4.encode())


class RequestOutcome:
    """What the middleware learns about one request; the app may flag an upstream error."""

    __slots__ = ("status", "failed", "upstream_error", "client_left")

    def __init__(self) -> None:
        self.status: int | None = None
        self.failed = False
        self.upstream_error = False
        self.client_left = False

    @property
    def outcome(self) -> str:
        if self.upstream_error:
            return "upstream_error"
        status = self.status
        if status is None and self.client_left:
            # The caller hung up before any answer (nginx logs this as 499);
            # whatever the app raised next is a consequence, not a server fault.
            return "client_error"
        if self.failed or status is None or status >= 500:
            return "server_error"
        return "success" if status < 400 else "client_error"


def mark_upstream_error(scope) -> None:
    """Count this request as upstream_error (the sidecar could not reach its upstream)."""
    request = scope.get(SCOPE_KEY)
    if request is not None:
        request.upstream_error = True


async def _answer_metrics(scope, send, registry: CollectorRegistry) -> None:
    method = scope["method"]
    if method not in ("GET", "HEAD"):
        await send({"type": "http.response.start", "status": 405, "headers": [(b"allow", b"GET, HEAD")]})
        await send({"type": "http.response.body", "body": b""})
        return
    # Rendered inline: a render takes well under a millisecond, less than a
    # hop to a worker thread would cost.
    body = generate_latest(registry)
    headers = [_CONTENT_TYPE_HEADER, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body if method == "GET" else b""})


def instrument(app, metrics: ServingMetrics, registry: CollectorRegistry):
    """`app` wrapped in a pure ASGI middleware that records request metrics and answers /metrics."""
    perf_counter = time.perf_counter
    known = KNOWN_ENDPOINTS
    in_flight = metrics.in_flight

    async def instrumented(scope, receive, send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan" and metrics.multiprocess:
                await app(scope, receive, _forgetting_on_shutdown(send, metrics))
            else:
                await app(scope, receive, send)
            return
        path = scope["path"]
        if path == METRICS_PATH:
            await _answer_metrics(scope, send, registry)
            return
        endpoint = path if path in known else OTHER_ENDPOINT
        request = RequestOutcome()
        # A copy, as ASGI asks of middleware that adds to the scope.
        scope = {**scope, SCOPE_KEY: request}

        async def send_noting_status(message) -> None:
            if message["type"] == "http.response.start":
                request.status = message["status"]
            await send(message)

        async def receive_noting_disconnect():
            message = await receive()
            if message["type"] == "http.disconnect":
                request.client_left = True
            return message

        in_flight.inc()
        start = perf_counter()
        try:
            await app(scope, receive_noting_disconnect, send_noting_status)
        except Exception:
            request.failed = True
            raise
        finally:
            in_flight.dec()
            metrics.record_request(endpoint, request.outcome, perf_counter() - start)

    return instrumented


def _forgetting_on_shutdown(send, metrics: ServingMetrics):
    """Wrap a lifespan `send`: on clean shutdown, drop this worker's live gauges and drift window.

    uvicorn has no hook like gunicorn's `child_exit`, so each worker removes
    its own `live*` gauge files as it stops; otherwise a stopped worker's
    in-flight count and model info would stay in the sums.
    """

    async def forwarding(message) -> None:
        if message["type"] == "lifespan.shutdown.complete":
            mark_process_dead(os.getpid())
            if metrics.drift is not None:
                metrics.drift.forget()
        await send(message)

    return forwarding
