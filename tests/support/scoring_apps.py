"""Small MLflow-protocol apps, served by a real uvicorn in a thread, and /metrics read as Prometheus reads it.

`scoring_app` answers whatever status a test asks for and is what the exporter
tests instrument; `mlflow_like_app` is the fake upstream the sidecar proxies;
`multiprocess_app` is uvicorn's factory for the two-worker test (an import
string: tests.support.scoring_apps:multiprocess_app).
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace

import httpx
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from mlgate import tracking
from tests.support.processes import ProcessError, wait_until

RUN_ID = "0f3c9a61b2d84c7e9e1f5a2b3c4d5e6f"
# What a green gate session writes on the version it registers (model/session/promotion.py).
GATE_TAGS = {
    tracking.metric_tag_key("accuracy"): "0.9649122807017544",
    tracking.metric_tag_key("macro_f1"): "0.9623015873015873",
    tracking.metric_tag_key("roc_auc"): "0.9953703703703703",
    tracking.TAG_GATED_AT: "1764150000.25",
    tracking.TAG_DATASET: "sklearn:breast_cancer",
}
# Held /invocations requests of `scoring_app` wait for this; the test process sets it.
HELD_REQUESTS_RELEASE = threading.Event()


def servable(version: str = "7", tags: dict[str, str] | None = None):
    """A real ServableModel as load_servable would return it, without a tracking store."""
    from sklearn.dummy import DummyClassifier

    tags = dict(GATE_TAGS if tags is None else tags)
    model = DummyClassifier(strategy="most_frequent").fit([[0.0], [1.0]], [0, 1])
    return tracking.ServableModel(
        model=model,
        input_schema=[("mean radius", "double")],
        required=frozenset({"mean radius"}),
        name="mlgate-classifier",
        version=version,
        run_id=RUN_ID,
        alias="champion",
        tags=tags,
        gate_scores=tracking.gate_scores(tags),
    )


def scoring_app(metrics) -> Starlette:
    """A tiny MLflow-protocol app whose /invocations answers the status it is asked for.

    `?status=N` answers N, `?status=raise` raises, `?hold=1` waits until the
    test sets HELD_REQUESTS_RELEASE; `?spin_ms=N` keeps the CPU busy N ms like
    a model would. Each answer names the worker process that gave it.
    """

    async def invocations(request: Request):
        query = request.query_params
        await request.body()
        if "spin_ms" in query:
            until = time.perf_counter() + float(query["spin_ms"]) / 1000
            while time.perf_counter() < until:
                pass
        if "hold" in query:
            while not HELD_REQUESTS_RELEASE.is_set():
                await asyncio.sleep(0.002)
        status = query.get("status", "200")
        if status == "raise":
            raise RuntimeError("the model blew up")
        predictions = [1, 0, 1]
        if status == "200":
            metrics.observe_predictions(predictions)
        return JSONResponse(
            {"predictions": predictions} if status == "200" else {"error_code": "TEST", "message": status},
            status_code=int(status),
            headers={"x-worker-pid": str(os.getpid())},
        )

    async def ping(request: Request):
        return PlainTextResponse("\n", headers={"x-worker-pid": str(os.getpid())})

    return Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
        ]
    )


def multiprocess_app():
    """uvicorn's factory for the `--workers 2` test: one ServingMetrics per worker process.

    set_model reads only identity and gate scores, so the workers get a stand-in
    with those: importing mlflow for a real ServableModel costs each worker seconds.
    """
    from mlgate.monitoring.metrics import ServingMetrics, build_registry
    from mlgate.monitoring.middleware import instrument

    registry = build_registry()
    metrics = ServingMetrics(registry)
    metrics.set_model(
        SimpleNamespace(
            name="mlgate-classifier", version="7", run_id=RUN_ID, alias="champion",
            tags=dict(GATE_TAGS), gate_scores=tracking.gate_scores(GATE_TAGS),
        )
    )
    return instrument(scoring_app(metrics), metrics, registry)


@dataclass
class UpstreamBehaviour:
    """What the fake upstream does next; a test changes it while the upstream runs."""

    delay_seconds: float = 0.0


def mlflow_like_app(behaviour: UpstreamBehaviour) -> Starlette:
    """MLflow's scoring protocol in miniature: dataframe_split in, {"predictions": [...]} out.

    A row's label is 0 when its first value is above 15 (as a malignant mean
    radius would be), else 1; a row whose first value is "explode" is a 500.
    """

    async def invocations(request: Request):
        body = await request.body()  # before the delay: the sidecar may hang up during it
        if behaviour.delay_seconds:
            await asyncio.sleep(behaviour.delay_seconds)
        try:
            rows = json.loads(body)["dataframe_split"]["data"]
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"error_code": "BAD_REQUEST", "message": "expected dataframe_split JSON"}, 400)
        if any(row[0] == "explode" for row in rows):
            return JSONResponse({"error_code": "INTERNAL_ERROR", "message": "the model failed"}, 500)
        return JSONResponse({"predictions": [0 if row[0] > 15 else 1 for row in rows]})

    async def ping(request: Request):
        return PlainTextResponse("\n")

    async def version(request: Request):
        return PlainTextResponse("3.17.2")

    return Starlette(
        routes=[
            Route("/invocations", invocations, methods=["POST"]),
            Route("/ping", ping, methods=["GET"]),
            Route("/health", ping, methods=["GET"]),
            Route("/version", version, methods=["GET"]),
        ]
    )


@contextmanager
def serving(app, port: int = 0) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 in a thread of this process; yields its base URL.

    Port 0 lets the kernel pick a free port, so parallel runs never collide; a
    test restarting an upstream passes the port it had.
    """
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), f"uvicorn on 127.0.0.1:{port}", 10, poll_seconds=0.01)
        if not server.started:
            raise ProcessError(f"uvicorn did not start on 127.0.0.1:{port}")
        bound = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(base_url: str, client: httpx.Client | None = None) -> Samples:
    """GET /metrics and parse it as Prometheus would: {(sample name, sorted labels): value}."""
    response = (client or httpx).get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))
