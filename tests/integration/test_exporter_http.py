"""The metrics count what was served, on a real uvicorn, read back over HTTP.

Counts are read by scraping /metrics and parsing the text with
prometheus_client's own parser, as Prometheus would, and cross-checked with
`registry.get_sample_value`. The multiprocess test starts uvicorn with two
worker processes on `tests.support.scoring_apps:multiprocess_app` (an import
string, as uvicorn needs for workers) and checks that every worker's
/metrics reports the sum. The overhead test pairs requests with and without
the middleware in the same run, so a busy machine slows both arms alike.
"""

from __future__ import annotations

import asyncio
import signal
import statistics
import sys
import threading
import time

import httpx
import pytest

from mlgate.monitoring.middleware import instrument
from mlgate.plugin.measure import Pairs
from tests.support.ports import free_port
from tests.support.processes import Server
from tests.support.project import ROOT, clean_env
from tests.support.scoring_apps import (
    HELD_REQUESTS_RELEASE,
    RUN_ID,
    scoring_app,
    scrape,
    serving,
    value,
)

# What the overhead is measured against: the scoring server's p50 is about this.
REFERENCE_REQUEST_SECONDS = 0.004


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


def test_multiprocess_counts_add_up_across_two_workers(tmp_path):
    """uvicorn --workers 2: whichever worker answers /metrics, it reports both workers' requests."""
    metrics_dir = tmp_path / "prometheus-multiproc"
    metrics_dir.mkdir()
    port = free_port()
    launch = (
        "import uvicorn; uvicorn.run('tests.support.scoring_apps:multiprocess_app', factory=True, workers=2, "
        f"host='127.0.0.1', port={port}, log_level='warning', access_log=False)"
    )
    server = Server(
        [sys.executable, "-c", launch], f"http://127.0.0.1:{port}", cwd=ROOT,
        env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(metrics_dir)), log=tmp_path / "uvicorn.log",
        stop_signal=signal.SIGINT, start_timeout_seconds=30, name="uvicorn --workers 2",
    )
    url = server.url
    with server:
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


async def _burst(url: str, statuses: list[str], pids: set[str]) -> list[int]:
    limits = httpx.Limits(max_connections=8, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, limits=limits) as client:

        async def one(status: str) -> int:
            response = await client.post("/invocations", params={"status": status, "spin_ms": 3}, json={})
            pids.add(response.headers["x-worker-pid"])
            return response.status_code

        return list(await asyncio.gather(*(one(status) for status in statuses)))


@pytest.mark.alone
def test_middleware_overhead_within_budget_of_a_4ms_request(registry, metrics, settings):
    """A ~4 ms request with the middleware against the same without it, in one run, interleaved.

    The added cost is judged as the perf gate judges it (`Pairs.over_budget`):
    on a shared machine the other tenants' time slices land on either arm
    alike, and one run's median difference can still swing by 0.2 ms.
    """
    spin = {"spin_ms": REFERENCE_REQUEST_SECONDS * 1000}
    with (
        serving(scoring_app(metrics)) as bare_url,
        serving(instrument(scoring_app(metrics), metrics, registry)) as instrumented_url,
        httpx.Client() as client,
    ):
        def bare() -> None:
            client.post(f"{bare_url}/invocations", params=spin, json={})

        def instrumented() -> None:
            client.post(f"{instrumented_url}/invocations", params=spin, json={})

        pairs = Pairs(bare, instrumented)
        for _ in range(10):  # warm both connections and code paths
            pairs()
        pairs.clear()
        for _ in range(200):
            pairs()
    added = _middleware_seconds_per_request(registry, metrics)
    budget = settings.exporter_overhead_budget_seconds
    print(
        f"\nrequest p50 bare {pairs.base_p50 * 1e3:.3f} ms; paired difference {pairs.extra_p50 * 1e6:.1f} us "
        f"(p over budget {pairs.over_budget_p(budget):.2g}); in-process middleware cost {added * 1e6:.1f} us"
    )
    # The in-process difference resolves the microseconds that HTTP timings cannot.
    assert added <= budget
    assert not pairs.over_budget(budget)


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


