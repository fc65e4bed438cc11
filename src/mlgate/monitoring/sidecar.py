"""The sidecar: mlgate's request metrics in front of any MLflow-protocol endpoint.

    mlgate sidecar --upstream http://127.0.0.1:5000 [--host 127.0.0.1] [--port 9108]

`mlflow models serve` exposes no metrics. The sidecar forwards POST
/invocations (body and content type) and GET /ping, /health, /version to the
upstream over one kept-alive connection pool, answers with the upstream's
status and body, and records the same metrics as the scoring server through
`instrument()`: outcome from the proxied status, predictions by label from the
upstream's `{"predictions": [...]}`. An upstream that refuses or drops the
connection is a 502, one that does not answer within --timeout-seconds a 504;
both are JSON `{"error_code", "message"}`, counted as upstream_error, and the
next request tries the upstream again.

With `--profile drift_profile.json` (from the bundle of the served model) the
sidecar also folds each answered request's rows into a drift window and
exports the same drift gauges as the scoring server (monitoring/drift_window.py).
"""

from __future__ import annotations

import argparse
import json
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mlgate.monitoring.arguments import port_number, positive_int, positive_seconds
from mlgate.monitoring.drift import Profile, ProfileError
from mlgate.monitoring.drift_window import DriftWindow
from mlgate.monitoring.metrics import ServingMetrics
from mlgate.monitoring.middleware import instrument, mark_upstream_error
from mlgate.monitoring.request_rows import request_columns

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9108
DEFAULT_TIMEOUT_SECONDS = 5.0
FORWARDED_GETS = ("/ping", "/health", "/version")
# Below uvicorn's 5 s keep-alive (what `mlflow models serve` runs on): the
# sidecar retires an idle connection before the upstream closes it, instead
# of racing the close with a new request and answering a spurious 502.
KEEPALIVE_EXPIRY_SECONDS = 2.0
# The scoring server's defaults (drift_window_half_life_seconds, drift_min_window_rows in
# mlgate/settings.py); tests/unit/test_drift.py holds the two equal.
DEFAULT_DRIFT_HALF_LIFE_SECONDS = 600.0
DEFAULT_DRIFT_MIN_WINDOW_ROWS = 200


@dataclass(frozen=True)
class SidecarConfig:
    upstream: httpx.URL
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    profile: Profile | None = None
    drift_half_life_seconds: float = DEFAULT_DRIFT_HALF_LIFE_SECONDS
    drift_min_window_rows: int = DEFAULT_DRIFT_MIN_WINDOW_ROWS


def parse_upstream(text: str) -> httpx.URL:
    """An absolute http(s) URL, or ValueError saying what is wrong with it."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL as error:
        raise ValueError(f"{text!r} is not a valid URL ({error})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"{text!r} is not an http(s) URL with a host, e.g. http://127.0.0.1:5000")
    if url.port is not None and not 0 < url.port < 65536:
        raise ValueError(f"{text!r} has port {url.port}; a port is 1-65535")
    if url.query or url.fragment:
        raise ValueError(f"{text!r} has a query or fragment; give the server's base URL")
    return url


def predicted_labels(response: httpx.Response) -> list | None:
    """The scalar predictions in an MLflow scoring response, or None when it carries none."""
    if "json" not in response.headers.get("content-type", ""):
        return None
    try:
        document = json.loads(response.content)
    except ValueError:
        return None
    # MLflow 2+ wraps predictions in {"predictions": ...}; 1.x answered a bare list.
    predictions = document.get("predictions") if isinstance(document, dict) else document
    if not isinstance(predictions, list):
        return None
    return [p for p in predictions if isinstance(p, (str, int, float, bool))]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error_code": code, "message": message}, status_code=status)


def _upstream_lifespan(upstream: httpx.URL, timeout_seconds: float, pool: dict[str, httpx.AsyncClient]):
    """The app's lifespan: one pooled client to the upstream in `pool["client"]` while the app runs."""

    @asynccontextmanager
    async def lifespan(app):
        async with httpx.AsyncClient(
            base_url=upstream,
            timeout=httpx.Timeout(timeout_seconds),
            limits=httpx.Limits(max_keepalive_connections=32, keepalive_expiry=KEEPALIVE_EXPIRY_SECONDS),
            # The upstream is a neighbour: no proxies or netrc from the environment.
            trust_env=False,
        ) as client:
            pool["client"] = client
            yield
            pool.clear()

    return lifespan


def _observe(metrics: ServingMetrics, answer: httpx.Response, body, content_type, features) -> None:
    """A successful /invocations answer's labels (and, with a drift profile, its rows) into the metrics."""
    labels = predicted_labels(answer)
    if labels:
        columns = request_columns(body, content_type, features, len(labels)) if features else None
        metrics.observe_predictions(labels, columns)


def create_sidecar_app(
    upstream: httpx.URL | str,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    registry=None,
    drift: DriftWindow | None = None,
):
    """The instrumented proxy app; metrics go on `registry` (default: a fresh one), drift into `drift`."""
    upstream = parse_upstream(str(upstream))
    # One process: a plain registry, never the multiprocess one a server uses.
    registry = CollectorRegistry() if registry is None else registry
    metrics = ServingMetrics(registry)
    if drift is not None:
        metrics.track_drift(drift)
    features = drift.profile.features if drift is not None else ()
    shown = str(upstream).rstrip("/")
    pool: dict[str, httpx.AsyncClient] = {}
    lifespan = _upstream_lifespan(upstream, timeout_seconds, pool)

    async def forward(request: Request) -> Response:
        path = request.url.path
        target = path + (f"?{request.url.query}" if request.url.query else "")
        headers = {}
        if "content-type" in request.headers:
            headers["content-type"] = request.headers["content-type"]
        body = await request.body() if request.method == "POST" else None
        try:
            answer = await pool["client"].request(request.method, target, content=body, headers=headers)
        except httpx.TimeoutException:
            mark_upstream_error(request.scope)
            return _error(
                504,
                "UPSTREAM_TIMEOUT",
                f"the upstream {shown} did not answer {path} within {timeout_seconds:g}s",
            )
        except httpx.RequestError as error:  # refused, reset, unreadable: the upstream failed us
            mark_upstream_error(request.scope)
            reason = str(error) or type(error).__name__
            return _error(502, "UPSTREAM_UNAVAILABLE", f"cannot reach the upstream {shown}: {reason}")
        if path == "/invocations" and answer.is_success:
            _observe(metrics, answer, body, headers.get("content-type"), features)
        passed = {"content-type": answer.headers["content-type"]} if "content-type" in answer.headers else None
        return Response(answer.content, status_code=answer.status_code, headers=passed)

    routes = [Route("/invocations", forward, methods=["POST"])]
    routes += [Route(path, forward, methods=["GET"]) for path in FORWARDED_GETS]
    return instrument(Starlette(routes=routes, lifespan=lifespan), metrics, registry)


def _upstream_argument(text: str) -> httpx.URL:
    try:
        return parse_upstream(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgate sidecar",
        description="Proxy an MLflow-protocol endpoint and export mlgate's request metrics on /metrics.",
    )
    parser.add_argument(
        "--upstream", required=True, type=_upstream_argument, metavar="URL",
        help="base URL of the scoring server, e.g. http://127.0.0.1:5000 (mlflow models serve)",
    )
    parser.add_argument(
        "--host", default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}: this machine only)",
    )
    parser.add_argument("--port", type=port_number, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    parser.add_argument(
        "--timeout-seconds", type=positive_seconds, default=DEFAULT_TIMEOUT_SECONDS, metavar="SECONDS",
        help=f"answer 504 when the upstream takes longer (default {DEFAULT_TIMEOUT_SECONDS:g})",
    )
    parser.add_argument(
        "--profile", type=_profile_argument, metavar="PATH",
        help="the served model's drift_profile.json (in its bundle): export drift gauges against it",
    )
    parser.add_argument(
        "--drift-half-life-seconds", type=positive_seconds, default=DEFAULT_DRIFT_HALF_LIFE_SECONDS,
        metavar="SECONDS", help=f"a row this old weighs half in the drift window (default {DEFAULT_DRIFT_HALF_LIFE_SECONDS:g})",
    )
    parser.add_argument(
        "--drift-min-window-rows", type=positive_int, default=DEFAULT_DRIFT_MIN_WINDOW_ROWS, metavar="ROWS",
        help=f"drift gauges read NaN below this many rows (default {DEFAULT_DRIFT_MIN_WINDOW_ROWS})",
    )
    return parser


def _profile_argument(text: str) -> Profile:
    try:
        with open(text, encoding="utf-8") as file:
            return Profile.from_json(file.read(), where=text)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {text}: {error.strerror or error}") from None
    except ProfileError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def serve(config: SidecarConfig) -> None:
    import uvicorn

    drift = None
    if config.profile is not None:
        names = [f.name for f in config.profile.features]
        drift = DriftWindow(config.profile, names, config.drift_half_life_seconds, config.drift_min_window_rows)
    app = create_sidecar_app(config.upstream, config.timeout_seconds, drift=drift)
    # No access log: a line per proxied request would cost more than the proxying.
    uvicorn.run(app, host=config.host, port=config.port, access_log=False, lifespan="on")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # prometheus_client's own variable. With it set, this process would write
    # its counts into a server's multiprocess folder and show up in its /metrics.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        parser.error(
            "PROMETHEUS_MULTIPROC_DIR is set; the sidecar is a single process and would mix its "
            "counts into that folder's server. Unset it for the sidecar"
        )
    serve(SidecarConfig(
        args.upstream, args.host, args.port, args.timeout_seconds,
        args.profile, args.drift_half_life_seconds, args.drift_min_window_rows,
    ))
    return 0
