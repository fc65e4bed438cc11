"""The scoring server: MLflow's protocol on Starlette, around the pure core in `model.serving.payload`.

`create_app(servable, settings)` answers POST /invocations and GET /ping,
/health and /version as `mlflow models serve` does. Every client mistake is a
4xx with `{"error_code", "message"}`; the server keeps serving. No MLflow in
here: the servable carries the signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from model.serving.batching import MicroBatcher
from model.serving.payload import (
    JSON_TYPE,
    ClientError,
    Columns,
    InputSchema,
    error_body,
    parse_columns,
    predictions_body,
)
from model.serving.predict import predictor_for
from model.settings import Settings

logger = logging.getLogger("mlgate.serving")


def _mlflow_version() -> str:
    # /version answers MLflow's version, as MLflow's server does; read without importing mlflow.
    try:
        return version("mlflow")
    except PackageNotFoundError:
        return "unknown"


def error_response(error: ClientError) -> Response:
    return Response(error.body(), status_code=error.status, media_type=JSON_TYPE)


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, refused with 413 as soon as it is known to pass `max_bytes`; never buffered past it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> ClientError:
    return ClientError(
        413,
        "REQUEST_TOO_LARGE",
        f"the request body is over the server's limit of {max_bytes} bytes; send fewer rows per request",
    )


def create_app(servable, settings: Settings, on_predictions: Callable | None = None) -> Starlette:
    """A Starlette app serving `servable` (a ServableModel, or anything with its fields).

    `on_predictions(labels, columns)` is called with each request's predicted
    labels and its parsed `Columns`, e.g. to count them in Prometheus and fold
    them into the drift window.
    """
    schema = InputSchema.of(servable.input_schema, servable.required)
    batcher = MicroBatcher(predictor_for(servable), Columns.concat, settings.batch_window_seconds, settings.max_batch_rows)
    max_bytes = settings.max_request_bytes
    mlflow_version = _mlflow_version()

    async def invocations(request: Request) -> Response:
        try:
            with batcher.arriving():
                body = await read_body(request, max_bytes)
                columns = parse_columns(body, request.headers.get("content-type"), schema)
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

    async def ping(request: Request) -> Response:
        return Response("\n", media_type=JSON_TYPE)

    async def mlflow_version_text(request: Request) -> Response:
        return Response(mlflow_version, media_type=JSON_TYPE)

    async def http_error(request: Request, error: HTTPException) -> Response:
        codes = {404: "ENDPOINT_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        message = {
            404: f"there is no {request.url.path}; this server answers POST /invocations and "
            "GET /ping, /health, /version",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(error.status_code, str(error.detail))
        body = error_body(codes.get(error.status_code, "BAD_REQUEST"), message)
        return Response(body, status_code=error.status_code, media_type=JSON_TYPE, headers=error.headers)

    app = Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/version", mlflow_version_text, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error},
    )
    app.state.batcher = batcher
    return app
