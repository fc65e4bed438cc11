"""A real Prometheus scrapes the real server and the sidecar in front of a real `mlflow models serve`.

A second server serves a forest regressor (job mlgate-regressor): the panels on
a regressor's predicted values need one. The dashboard is checked the only way
possible without Grafana: every panel's query, run on that Prometheus with the
alert file's recording rules loaded, returns data; and the p95 Prometheus derives from the exported
histogram agrees with the p95 the client measured.
"""

from __future__ import annotations

import json
import statistics
import time

import httpx
import pytest

from tests.support.ports import free_port
from tests.support.processes import start_together
from tests.support.project import ROOT
from tests.support.prometheus import running_prometheus
from tests.support.serving import (
    mlflow_models_server,
    mlgate_server,
    register_model,
    sidecar_server,
)

pytestmark = [pytest.mark.slow, pytest.mark.alone]

DASHBOARD = ROOT / "monitoring" / "grafana" / "dashboards" / "mlgate.json"
ALERTS = ROOT / "monitoring" / "alerts.yml"
TRAFFIC_SECONDS = 6.0


def _diabetes_frame():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    return frame


@pytest.fixture(scope="module")
def stack(tmp_path_factory, breast_cancer_frame):
    """Our server and a sidecar in front of `mlflow models serve`, all on one registered champion; and our
    server on a regressor, whose predictions the server counts in a histogram of values."""
    folder = tmp_path_factory.mktemp("stack")
    registered = register_model(folder, breast_cancer_frame, "target")
    regressor = register_model(
        folder / "regressor", _diabetes_frame(), "progression", model_name="mlgate-regressor",
        task="regression", estimator_params={"n_estimators": 20},
    )
    server_port, mlflow_port, sidecar_port, regressor_port = free_port(), free_port(), free_port(), free_port()
    servers = start_together([
        mlgate_server(registered.tracking_uri, server_port, "--model-uri", registered.model_uri, cwd=folder),
        mlflow_models_server(registered.tracking_uri, registered.model_uri, mlflow_port, cwd=folder),
        mlgate_server(regressor.tracking_uri, regressor_port, "--model-uri", regressor.model_uri, cwd=regressor.folder),
    ])
    try:
        with sidecar_server(f"http://127.0.0.1:{mlflow_port}", sidecar_port, cwd=folder):
            yield {
                "server": f"127.0.0.1:{server_port}",
                "sidecar": f"127.0.0.1:{sidecar_port}",
                "regressor": f"127.0.0.1:{regressor_port}",
                "payload": _payload(registered.features.head(1)),
                # Many rows, each its own value: the histogram's quantiles move between its buckets.
                "regressor_payload": _payload(regressor.features.sample(20, random_state=1)),
            }
    finally:
        for server in servers:
            server.stop()


def _payload(frame) -> dict:
    return {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}


def _drive(address: str, payload: dict, seconds: float) -> list[float]:
    """One-row requests over a kept-alive connection for `seconds`, plus a few client errors."""
    latencies = []
    with httpx.Client(base_url=f"http://{address}", timeout=10) as client:
        for _ in range(5):
            assert client.post("/invocations", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = client.post("/invocations", json=payload)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text
    return latencies


@pytest.fixture(scope="module")
def scraped(stack, tmp_path_factory):
    """Prometheus with the alert rules, scraping both jobs while traffic flows through them."""
    targets = {
        "mlgate-server": [stack["server"]], "mlgate-sidecar": [stack["sidecar"]], "mlgate-regressor": [stack["regressor"]],
    }
    with running_prometheus(targets, rule_files=[ALERTS], workdir=tmp_path_factory.mktemp("prometheus")) as prom:
        for job in targets:
            prom.wait_for(f'up{{job="{job}"}} == 1')
        server_latencies = _drive(stack["server"], stack["payload"], TRAFFIC_SECONDS)
        _drive(stack["sidecar"], stack["payload"], TRAFFIC_SECONDS / 2)
        _drive(stack["regressor"], stack["regressor_payload"], TRAFFIC_SECONDS / 2)
        time.sleep(3)  # two more scrapes and rule evaluations after the last request
        yield prom, server_latencies


def _panel_queries() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [
        (panel["title"], target["expr"].replace("$job", "mlgate-.*"))
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


@pytest.mark.parametrize(("title", "expr"), _panel_queries(), ids=lambda v: v if " " not in v else None)
def test_every_dashboard_panel_query_returns_data(scraped, title, expr):
    prom, _ = scraped
    result = prom.wait_for(expr, timeout_seconds=20)
    assert result, f"panel {title!r}: {expr} returned no data"


def test_both_jobs_export_invocations_counted_by_outcome(scraped):
    prom, latencies = scraped
    for job in ("mlgate-server", "mlgate-sidecar"):
        success = prom.wait_for(f'mlgate_inference_requests_total{{job="{job}",endpoint="/invocations",outcome="success"}} > 0')
        errors = prom.wait_for(f'mlgate_inference_requests_total{{job="{job}",endpoint="/invocations",outcome="client_error"}} >= 5')
        assert success and errors, job
    served = prom.query('mlgate_inference_requests_total{job="mlgate-server",endpoint="/invocations",outcome="success"}')
    assert float(served[0]["value"][1]) == len(latencies)


def test_prometheus_p95_agrees_with_client_p95(scraped):
    prom, latencies = scraped
    result = prom.wait_for(
        'histogram_quantile(0.95, sum by (le) (rate(mlgate_inference_request_duration_seconds_bucket'
        '{job="mlgate-server",endpoint="/invocations"}[1m])))'
    )
    server_p95 = float(result[0]["value"][1])
    client_p95 = statistics.quantiles(latencies, n=100)[94]
    # The server times less than the client (no socket or client work), and the histogram
    # interpolates inside a bucket: agreement means the same bucket or its neighbour.
    assert abs(server_p95 - client_p95) <= 0.5 * client_p95 + 0.0025, (server_p95, client_p95)
