"""The scoring server: MLflow's protocol on Starlette, around the pure core in `mlgate.serving.payload`.

`create_app(servable, settings)` answers POST /invocations and GET /ping,
/health and /version as `mlflow models serve` does. Every client mistake is a
4xx with `{"error_code", "message"}`; the server keeps serving. No MLflow in
here: the servable carries the signature.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from mlgate.serving.batching import MicroBatcher
from mlgate.serving.payload import (
    JSON_TYPE,
    ClientError,
    Columns,
    InputSchema,
    error_body,
    parse_columns,
    predictions_body,
)
from mlgate.serving.predict import predictor_for
from mlgate.settings import Settings

logger = logging.getLogger("mlgate.serving")


def _mlflow_version() -> str:
    # /version answers MLflow's version, as MLflow's server does; read without importing mlflow.
    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "unknown"


def error_response(error: ClientError) -> Response:
    return Response(error.body(), status_code=error.status, media_type=JSON_TYPE)


class BodyTooLarge(ClientError):
    """413: the body passes the limit. `rest_pending`: the client may still be sending the rest of it."""

    def __init__(self, max_bytes: int, rest_pending: bool) -> None:
        super().__init__(
            413,
            "REQUEST_TOO_LARGE",
            f"the request body is over the server's limit of {max_bytes} bytes; send fewer rows per request",
        )
        self.rest_pending = rest_pending


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with BodyTooLarge as soon as it is known to pass `max_bytes`; never buffered past it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        # A client that asked `Expect: 100-continue` sends nothing more: it is told 413 instead of 100.
        raise BodyTooLarge(max_bytes, rest_pending=request.headers.get("expect", "").lower() != "100-continue")
    chunks, size = [], 0
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk, more = message.get("body", b""), message.get("more_body", False)
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(max_bytes, rest_pending=more)
        chunks.append(chunk)
        if not more:
            return b"".join(chunks)


class RefusedBody(Response):
    """The 413 answer, sent at once; then the rest of the body is read and dropped, within bounds, before closing.

    Closing a socket with unread bytes in it makes the kernel reset the
    connection, and a client that writes its whole body before reading
    (urllib, http.client) then loses the 413 already sent to it and sees
    ConnectionResetError. So the answer goes out complete (Content-Length,
    Connection: close) while the ASGI response stays open and the body is
    discarded, up to `max_bytes` or `max_seconds`, whichever comes first; a
    client still sending after that is cut off. Memory stays at what the
    server reads per chunk, and the wait is on the event loop, not a worker.
    """

    def __init__(self, error: BodyTooLarge, max_bytes: int, max_seconds: float) -> None:
        super().__init__(error.body(), status_code=error.status, media_type=JSON_TYPE, headers={"connection": "close"})
        self.rest_pending, self.max_bytes, self.max_seconds = error.rest_pending, max_bytes, max_seconds

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body, "more_body": self.rest_pending})
        if self.rest_pending:
            await discard_body(receive, self.max_bytes, self.max_seconds)
            await send({"type": "http.response.body", "body": b""})


async def discard_body(receive, max_bytes: int, max_seconds: float) -> int:
    """Read and drop the rest of a request body until it ends, the client leaves, or a bound is hit; bytes dropped."""
    dropped = 0
    try:
        async with asyncio.timeout(max_seconds):
            while dropped <= max_bytes:
                message = await receive()
                if message["type"] != "http.request":
                    break
                dropped += len(message.get("body", b""))
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        pass
    return dropped


async def _ping(request: Request) -> Response:
    return Response("\n", media_type=JSON_TYPE)


async def _http_error(request: Request, error: HTTPException) -> Response:
    codes = {404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
    message = {
        404: f"there is no {request.url.path}; this server answers POST /invocations and "
        "GET /ping, /health, /version",
        405: f"{request.method} is not allowed on {request.url.path}",
    }.get(error.status_code, str(error.detail))
    body = error_body(codes.get(error.status_code, "BAD_REQUEST"), message)
    return Response(body, status_code=error.status_code, media_type=JSON_TYPE, headers=error.headers)


def create_app(servable, settings: Settings, on_predictions: Callable | None = None) -> Starlette:
    """A Starlette app serving `servable` (a ServableModel, or anything with its fields).

    `on_predictions(labels, columns)` is called with each request's predicted
    labels and its parsed `Columns`, e.g. to count them in Prometheus and fold
    them into the drift window.
    """
    schema = InputSchema.of(servable.input_schema, servable.required)
    batcher = MicroBatcher(predictor_for(servable), Columns.concat, settings.batch_window_seconds, settings.max_batch_rows)
    max_bytes = settings.max_request_bytes
    discard = (settings.max_discarded_body_bytes, settings.max_discard_seconds)
    mlflow_version = _mlflow_version()

    async def invocations(request: Request) -> Response:
        try:
            with batcher.arriving():
                body = await read_body(request, max_bytes)
                columns = parse_columns(body, request.headers.get("content-type"), schema)
        except BodyTooLarge as error:
            return RefusedBody(error, *discard)
        except ClientError as error:
            return error_response(error)
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        try:
            labels = await batcher.predict(columns)
        except Exception as error:  # the input passed the schema check: this one is ours
            logger.exception("predict failed on %d checked row(s)", len(columns))
            message = f"the model failed to predict: {type(error).__name__}: {error}"
            return Response(error_body("INTERNAL_ERROR", message), status_code=500, media_type=JSON_TYPE)
        if on_predictions is not None:
            on_predictions(labels, columns)
        return Response(predictions_body(labels), media_type=JSON_TYPE)

    async def mlflow_version_text(request: Request) -> Response:
        return Response(mlflow_version, media_type=JSON_TYPE)

    app = Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", _ping, methods=["GET"]),
            Route("/health", _ping, methods=["GET"]),
            Route("/version", mlflow_version_text, methods=["GET"]),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.batcher = batcher
    return app
