"""The metrics of monitoring/metrics.py and middleware.py count what was served, on a real uvicorn, read back over HTTP.

Each test builds its own CollectorRegistry; none reads prometheus_client's
global one. Counts are read by scraping /metrics and parsing the text with
prometheus_client's own parser, as Prometheus would, and cross-checked with
`registry.get_sample_value`. The multiprocess test starts uvicorn with two
worker processes on `multiprocess_app` below (an import string, as uvicorn
needs for workers) and checks that every worker's /metrics reports the sum.
The overhead test pairs requests with and without the middleware in the
same run, so a busy machine slows both arms alike; the render test times the
rendering thread's CPU, which other processes on the machine cannot inflate.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
import uvicorn
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from monitoring.metrics import (
    DURATION_BUCKETS_SECONDS,
    MAX_PREDICTION_LABELS,
    OVERFLOW_LABEL,
    ExporterError,
    ServingMetrics,
    build_registry,
)
from monitoring.middleware import instrument
from tests.project import ROOT, clean_env
from tests.prometheus_harness import free_port

# One /metrics render with every series populated; stricter than the perf
# gates' metrics_render_p99_budget_seconds, which also covers the HTTP round trip.
RENDER_P99_BUDGET_SECONDS = 0.002
# What the overhead is measured against: the scoring server's p50 is about this.
REFERENCE_REQUEST_SECONDS = 0.004
RUN_ID = "0f3c9a61b2d84c7e9e1f5a2b3c4d5e6f"
GATE_TAGS = {
    "mlgate.metric.accuracy": "0.9649122807017544",
    "mlgate.metric.macro_f1": "0.9623015873015873",
    "mlgate.metric.roc_auc": "0.9953703703703703",
    "mlgate.gated_at": "1764150000.25",
    "mlgate.dataset": "sklearn:breast_cancer",
}


def servable(version: str = "7", tags: dict[str, str] | None = None):
    """A real ServableModel as load_servable would return it, without a tracking store."""
    from sklearn.dummy import DummyClassifier

    from model.tracking import ServableModel

    model = DummyClassifier(strategy="most_frequent").fit([[0.0], [1.0]], [0, 1])
    return ServableModel(
        model=model,
        input_schema=[("mean radius", "double")],
        required=frozenset({"mean radius"}),
        name="mlgate-classifier",
        version=version,
        run_id=RUN_ID,
        alias="champion",
        tags=dict(GATE_TAGS if tags is None else tags),
    )


# Held /invocations requests wait for this; the test process sets it.
HELD_REQUESTS_RELEASE = threading.Event()


def scoring_app(metrics: ServingMetrics) -> Starlette:
    """A tiny MLflow-protocol app whose /invocations answers the status it is asked for.

    `?status=N` answers N, `?status=raise` raises, `?hold=1` waits until the
    test sets `scoring_app.release`; `?spin_ms=N` keeps the CPU busy N ms like
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

    set_model reads only identity and tags, so the workers get a stand-in with
    those: importing mlflow for a real ServableModel costs each worker seconds.
    """
    registry = build_registry()
    metrics = ServingMetrics(registry)
    metrics.set_model(
        SimpleNamespace(name="mlgate-classifier", version="7", run_id=RUN_ID, alias="champion", tags=dict(GATE_TAGS))
    )
    return instrument(scoring_app(metrics), metrics, registry)


@contextmanager
def serving(app, port: int = 0) -> Iterator[str]:
    """A real uvicorn on 127.0.0.1 in a thread of this process; yields its base URL.

    Port 0 lets the kernel pick a free port, so parallel runs never collide.
    """
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on 127.0.0.1:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
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


@pytest.fixture
def registry():
    """A registry of this test's own: counts start at zero and never leak between tests."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        pytest.skip("PROMETHEUS_MULTIPROC_DIR is set in the test environment; unset it to run in-process tests")
    return build_registry()


@pytest.fixture
def metrics(registry) -> ServingMetrics:
    """The metrics under test, on this test's registry."""
    return ServingMetrics(registry)


def _sample_keys(registry) -> list[tuple[str, tuple]]:
    return [(s.name, tuple(s.labels.items())) for family in registry.collect() for s in family.samples]


def test_metrics_register_on_the_given_registry_not_the_global_one(registry, metrics):
    ServingMetrics(build_registry())  # a second set in the same process does not collide
    metrics.record_request("/invocations", "success", 0.003)
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "success"}) == 1
    assert REGISTRY.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "success"}) is None


def test_invocations_series_exist_at_zero_before_any_request(registry, metrics):
    for outcome in ("success", "client_error", "server_error", "upstream_error"):
        labels = {"endpoint": "/invocations", "outcome": outcome}
        assert registry.get_sample_value("mlgate_inference_requests_total", labels) == 0


def test_duration_buckets_resolve_half_a_millisecond_to_one_second(registry, metrics):
    metrics.record_request("/invocations", "success", 0.0004)
    bucket = "mlgate_inference_request_duration_seconds_bucket"
    bounds = [float(le) for (name, labels) in _sample_keys(registry) if name == bucket for key, le in labels if key == "le"]
    assert sorted(set(bounds) - {math.inf}) == list(DURATION_BUCKETS_SECONDS)
    assert registry.get_sample_value(bucket, {"endpoint": "/invocations", "le": "0.0005"}) == 1


def test_observe_predictions_counts_rows_by_label(registry, metrics):
    import numpy as np

    metrics.observe_predictions(np.array([0, 1, 1, 1]))
    metrics.observe_predictions(["benign", "malignant"])
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "1"}) == 3
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "0"}) == 1
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "benign"}) == 1
    assert registry.get_sample_value("mlgate_inference_payload_rows_count") == 2
    assert registry.get_sample_value("mlgate_inference_payload_rows_sum") == 6
    assert registry.get_sample_value("mlgate_inference_payload_rows_bucket", {"le": "4.0"}) == 2


def test_prediction_labels_are_capped_so_a_regressor_cannot_explode_cardinality(registry, metrics):
    metrics.observe_predictions([i + 0.5 for i in range(MAX_PREDICTION_LABELS + 40)])
    labels = {
        s.labels["label"]
        for family in registry.collect()
        if family.name == "mlgate_predictions"
        for s in family.samples
        if s.name == "mlgate_predictions_total"
    }
    assert len(labels) == MAX_PREDICTION_LABELS + 1
    assert registry.get_sample_value("mlgate_predictions_total", {"label": OVERFLOW_LABEL}) == 40


def test_set_model_exports_identity_and_gate_values_from_version_tags(registry, metrics):
    metrics.set_model(servable())
    info = {"name": "mlgate-classifier", "version": "7", "run_id": RUN_ID, "alias": "champion"}
    assert registry.get_sample_value("mlgate_model_info", info) == 1
    assert registry.get_sample_value("mlgate_model_holdout_accuracy") == pytest.approx(0.9649122807017544)
    assert registry.get_sample_value("mlgate_model_macro_f1") == pytest.approx(0.9623015873015873)
    assert registry.get_sample_value("mlgate_model_roc_auc") == pytest.approx(0.9953703703703703)
    assert registry.get_sample_value("mlgate_model_last_green_gate_timestamp_seconds") == 1764150000.25


def test_missing_or_malformed_gate_tags_export_nan_not_zero(registry, metrics):
    # 0 would read as "accuracy 0" and fire MlgateModelAccuracyBelowMinimum.
    metrics.set_model(servable(tags={"mlgate.metric.accuracy": "n/a"}))
    for name in ("mlgate_model_holdout_accuracy", "mlgate_model_macro_f1", "mlgate_model_roc_auc"):
        assert math.isnan(registry.get_sample_value(name))


def test_set_model_again_replaces_the_previous_model_info(registry, metrics):
    metrics.set_model(servable(version="6"))
    metrics.set_model(servable(version="7"))
    versions = [
        (s.labels["version"], s.value)
        for family in registry.collect()
        if family.name == "mlgate_model_info"
        for s in family.samples
    ]
    assert versions == [("7", 1.0)]


def test_burst_counts_equal_requests_sent_per_outcome(registry, metrics):
    sent = {("/invocations", "success"): 30, ("/invocations", "client_error"): 7, ("/invocations", "server_error"): 5}
    with serving(instrument(scoring_app(metrics), metrics, registry)) as url, httpx.Client(base_url=url) as client:
        for _ in range(30):
            assert client.post("/invocations", json={}).status_code == 200
        for status in (400, 404, 413, 415, 422, 400, 400):
            assert client.post("/invocations", params={"status": status}, json={}).status_code == status
        for status in ("500", "503", "500"):
            assert client.post("/invocations", params={"status": status}, json={}).status_code == int(status)
        for _ in range(2):
            # uvicorn closes a connection whose app raised: a fresh one each.
            assert httpx.post(f"{url}/invocations", params={"status": "raise"}, json={}).status_code == 500
        scrape(url, client)  # scrapes in between are not requests
        samples = scrape(url, client)

    for (endpoint, outcome), count in sent.items():
        assert value(samples, "mlgate_inference_requests_total", endpoint=endpoint, outcome=outcome) == count
        assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": endpoint, "outcome": outcome}) == count
    assert value(samples, "mlgate_inference_request_duration_seconds_count", endpoint="/invocations") == 42
    assert value(samples, "mlgate_predictions_total", label="1") == 60
    assert value(samples, "mlgate_predictions_total", label="0") == 30
    assert value(samples, "mlgate_inference_payload_rows_count") == 30
    assert value(samples, "mlgate_inference_in_flight_requests") == 0


def test_endpoint_label_is_a_known_route_or_other_and_scrapes_are_not_counted(registry, metrics):
    with serving(instrument(scoring_app(metrics), metrics, registry)) as url, httpx.Client(base_url=url) as client:
        client.get("/ping")
        client.get("/health")
        for path in ("/admin", "/invocations/../etc/passwd", "/x" * 50):
            assert client.get(path).status_code == 404
        assert client.get("/ping/").status_code == 307  # Starlette's redirect to /ping
        assert client.post("/metrics").status_code == 405
        samples = scrape(url, client)

    endpoints = {dict(labels).get("endpoint") for (name, labels) in samples if name.startswith("mlgate_inference_request")}
    assert endpoints == {"/invocations", "/ping", "/health", "other"}
    assert value(samples, "mlgate_inference_requests_total", endpoint="other", outcome="client_error") == 3
    assert value(samples, "mlgate_inference_requests_total", endpoint="other", outcome="success") == 1
    assert value(samples, "mlgate_inference_requests_total", endpoint="/ping", outcome="success") == 1


def test_in_flight_gauge_counts_requests_being_answered(registry, metrics):
    HELD_REQUESTS_RELEASE.clear()
    with serving(instrument(scoring_app(metrics), metrics, registry)) as url:
        held = [threading.Thread(target=httpx.post, args=(f"{url}/invocations?hold=1",), kwargs={"json": {}}) for _ in range(3)]
        for thread in held:
            thread.start()
        try:
            deadline = time.monotonic() + 10
            while value(scrape(url), "mlgate_inference_in_flight_requests") != 3:
                assert time.monotonic() < deadline, "three held requests never showed as in flight"
                time.sleep(0.02)
        finally:
            HELD_REQUESTS_RELEASE.set()
            for thread in held:
                thread.join(timeout=10)
        assert value(scrape(url), "mlgate_inference_in_flight_requests") == 0


def test_app_raising_before_it_answers_counts_as_server_error_and_still_raises(registry, metrics):
    async def broken(scope, receive, send):
        raise RuntimeError("no response at all")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        raise AssertionError("nothing should be sent")

    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": [], "query_string": b""}
    with pytest.raises(RuntimeError, match="no response"):
        asyncio.run(instrument(broken, metrics, registry)(scope, receive, send))
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "server_error"}) == 1
    assert registry.get_sample_value("mlgate_inference_in_flight_requests") == 0


def test_caller_hanging_up_before_the_answer_counts_as_client_error(registry, metrics):
    async def reading(scope, receive, send):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise OSError("client went away")  # as Starlette's ClientDisconnect would

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing should be sent")

    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": [], "query_string": b""}
    with pytest.raises(OSError):
        asyncio.run(instrument(reading, metrics, registry)(scope, receive, send))
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "client_error"}) == 1
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "server_error"}) == 0


def test_build_registry_refuses_a_multiprocess_dir_set_after_import(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ExporterError, match="before the server starts"):
        build_registry()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ExporterError, match="not a directory"):
        build_registry()


def test_multiprocess_counts_add_up_across_two_workers(tmp_path):
    """uvicorn --workers 2: whichever worker answers /metrics, it reports both workers' requests."""
    metrics_dir = tmp_path / "prometheus-multiproc"
    metrics_dir.mkdir()
    port = free_port()
    log = (tmp_path / "uvicorn.log").open("w")
    launch = (
        "import uvicorn; uvicorn.run('tests.test_exporter:multiprocess_app', factory=True, workers=2, "
        f"host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
    )
    server = subprocess.Popen(
        [sys.executable, "-c", launch],
        cwd=ROOT,
        env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server, tmp_path / "uvicorn.log")
        sent = {"success": 0, "client_error": 0, "server_error": 0}
        pids: set[str] = set()
        # Each request spins 3 ms, blocking its worker's loop, so concurrent
        # connections are accepted by the other worker too.
        for _ in range(5):
            statuses = asyncio.run(_burst(url, ["200"] * 24 + ["404"] * 4 + ["500"] * 2, pids))
            for status in statuses:
                sent["success" if status < 400 else "client_error" if status < 500 else "server_error"] += 1
            if len(pids) == 2:
                break
        assert len(pids) == 2, f"only worker(s) {pids} answered; cannot show that counts add up"

        scrapes = []
        scrape_seconds = []
        with httpx.Client(base_url=url, limits=httpx.Limits(max_keepalive_connections=0)) as client:
            for _ in range(20):  # fresh connections: both workers answer some scrapes
                start = time.perf_counter()
                client.get("/metrics")
                scrape_seconds.append(time.perf_counter() - start)
                scrapes.append(scrape(url, client))
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=20)
        log.close()

    for samples in scrapes:
        for outcome, count in sent.items():
            assert value(samples, "mlgate_inference_requests_total", endpoint="/invocations", outcome=outcome) == count
        assert value(samples, "mlgate_inference_request_duration_seconds_count", endpoint="/invocations") == sum(sent.values())
        assert value(samples, "mlgate_predictions_total", label="1") == 2 * sent["success"]
        # livesum and livemostrecent merge the workers: no per-pid series.
        assert value(samples, "mlgate_inference_in_flight_requests") == 0
        info = [(labels, v) for (name, labels), v in samples.items() if name == "mlgate_model_info"]
        assert info == [((("alias", "champion"), ("name", "mlgate-classifier"), ("run_id", RUN_ID), ("version", "7")), 1.0)]
        assert value(samples, "mlgate_model_holdout_accuracy") == pytest.approx(0.9649122807017544)
    # Each worker removed its live gauges as it shut down (uvicorn has no child_exit hook).
    assert not list(metrics_dir.glob("gauge_live*.db"))
    print(
        f"\n--workers 2: GET /metrics on a fresh connection, p50 {statistics.median(scrape_seconds) * 1e3:.2f} ms, "
        f"max {max(scrape_seconds) * 1e3:.2f} ms"
    )


def _wait_until_up(url: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"uvicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"uvicorn did not answer on {url} within 30s:\n{log.read_text()[-3000:]}")


async def _burst(url: str, statuses: list[str], pids: set[str]) -> list[int]:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:

        async def one(status: str) -> int:
            response = await client.post("/invocations", params={"status": status, "spin_ms": 3}, json={})
            pids.add(response.headers["x-worker-pid"])
            return response.status_code

        return list(await asyncio.gather(*(one(status) for status in statuses)))


# What a loaded shared machine adds to a paired HTTP ratio, seen up to ~4 %.
HTTP_NOISE_RATIO = 0.10


def test_middleware_overhead_within_budget_of_a_4ms_request(registry, metrics, settings):
    """A ~4 ms request with the middleware against the same without it, in one run, interleaved.

    The ratio is 1 + (median of the per-pair increase) / (median bare): on a
    shared machine the other tenants' time slices land on either arm alike,
    and pairing cancels them where a plain ratio of medians swings by 10 %.
    """
    bare_app = scoring_app(metrics)
    spin = {"spin_ms": REFERENCE_REQUEST_SECONDS * 1000}
    bare, instrumented = [], []
    with (
        serving(bare_app) as bare_url,
        serving(instrument(scoring_app(metrics), metrics, registry)) as instrumented_url,
        httpx.Client() as client,
    ):
        for url in (bare_url, instrumented_url):  # warm both connections and code paths
            for _ in range(10):
                client.post(f"{url}/invocations", params=spin, json={})
        for round_number in range(200):
            pair = [(bare_url, bare), (instrumented_url, instrumented)]
            for url, timings in pair if round_number % 2 else reversed(pair):
                start = time.perf_counter()
                client.post(f"{url}/invocations", params=spin, json={})
                timings.append(time.perf_counter() - start)
    bare_p50 = statistics.median(bare)
    ratio = 1 + statistics.median(i - b for i, b in zip(instrumented, bare)) / bare_p50
    added = _middleware_seconds_per_request(registry, metrics)
    print(
        f"\nrequest p50 bare {bare_p50 * 1e3:.3f} ms, instrumented {statistics.median(instrumented) * 1e3:.3f} ms; "
        f"paired ratio {ratio:.4f}; in-process middleware cost {added * 1e6:.1f} us = {added / bare_p50:.3%} of the bare p50"
    )
    # The in-process difference resolves the microseconds that HTTP timings cannot, and it
    # holds the budget. Over HTTP on a loaded 2-core machine the pairs still swing by a few
    # per cent either way, so that ratio only has to rule out a gross regression here; the
    # perf gate holds the HTTP ratio to the budget in the gate session.
    assert 1 + added / bare_p50 <= settings.exporter_overhead_ratio_budget
    assert ratio <= settings.exporter_overhead_ratio_budget + HTTP_NOISE_RATIO


def _middleware_seconds_per_request(registry, metrics) -> float:
    """Median cost of the middleware around a trivial app, calls interleaved, no socket."""
    bare = scoring_app(metrics)
    wrapped = instrument(bare, metrics, registry)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/invocations", "raw_path": b"/invocations", "query_string": b"", "root_path": "",
        "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
    }

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message):
        pass

    async def measure() -> float:
        timings: dict[int, list[float]] = {0: [], 1: []}
        for round_number in range(3000):
            for index in (0, 1) if round_number % 2 else (1, 0):
                start = time.perf_counter()
                await (bare, wrapped)[index](dict(scope), receive, send)
                timings[index].append(time.perf_counter() - start)
        return statistics.median(timings[1]) - statistics.median(timings[0])

    return asyncio.run(measure())


def test_metrics_render_p99_within_budget_with_every_series_populated(registry, metrics):
    app = instrument(scoring_app(metrics), metrics, registry)
    for endpoint in ("/invocations", "/ping", "/health", "/version", "other"):
        for outcome in ("success", "client_error", "server_error", "upstream_error"):
            for seconds in (0.0003, 0.002, 0.004, 0.03, 0.4, 2.0):
                metrics.record_request(endpoint, outcome, seconds)
    metrics.observe_predictions([0, 1, 2] * 100)
    metrics.set_model(servable())
    scope = {"type": "http", "method": "GET", "path": "/metrics", "headers": [], "query_string": b""}
    body = bytearray()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        body.extend(message.get("body", b""))

    async def render_times() -> tuple[list[float], list[float]]:
        cpu, wall = [], []
        for _ in range(500):
            start_cpu, start_wall = time.thread_time(), time.perf_counter()
            await app(scope, receive, send)
            cpu.append(time.thread_time() - start_cpu)
            wall.append(time.perf_counter() - start_wall)
        return sorted(cpu), sorted(wall)

    cpu, wall = asyncio.run(render_times())
    lines = bytes(body).count(b"\n") // 500
    p99 = cpu[int(len(cpu) * 0.99) - 1]
    print(
        f"\n/metrics render, {lines} lines: CPU p50 {cpu[len(cpu) // 2] * 1e3:.3f} ms, p99 {p99 * 1e3:.3f} ms; "
        f"wall p50 {wall[len(wall) // 2] * 1e3:.3f} ms, p99 {wall[int(len(wall) * 0.99) - 1] * 1e3:.3f} ms"
    )
    # CPU time of the rendering thread: on a shared machine the wall-clock
    # tail is other tenants' time slices, not the render.
    assert p99 <= RENDER_P99_BUDGET_SECONDS
