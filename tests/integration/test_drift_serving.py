"""Drift watched in production: a real `mlgate serve --workers 2`, real traffic, a real Prometheus.

The model is trained and profiled on 3,200 rows of a synthetic table and the
other 800 are its holdout. Resending holdout rows is traffic from the training
population: every feature's PSI stays under 0.1. Multiplying one feature by 3
drives that feature's PSI past max_serving_drift_psi while the others stay
low, and MlgateFeatureDrift goes pending for that feature in Prometheus.

The server runs with a 30 s half-life (set in the pyproject.toml of its
working folder, as a user would): rows sent seconds apart weigh nearly alike,
so three shifted rows for every earlier one make over three quarters of the
window. Tests run in file order: the first sends holdout rows only.
"""

from __future__ import annotations

import itertools
import json
import math
import time

import httpx
import pandas as pd
import pytest

from tests.support.ports import free_port
from tests.support.project import ROOT
from tests.support.prometheus import running_prometheus
from tests.support.serving import mlgate_server, register_model

pytestmark = pytest.mark.slow

ALERTS = ROOT / "monitoring" / "alerts.yml"
FEATURES = [f"f{i}" for i in range(6)]
SHIFTED = "f0"
HALF_LIFE_SECONDS = 30.0
ROWS_PER_REQUEST = 20
CLIENTS = 4  # kept-alive connections, spread over the workers as the kernel accepts them


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, pd.DataFrame]:
    """4,000 rows of six informative features: (training frame with target, holdout features)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=4000, n_features=6, n_informative=4, n_redundant=0, random_state=7)
    frame = pd.DataFrame(X, columns=FEATURES).assign(target=y)
    return frame.iloc[:3200].reset_index(drop=True), frame.iloc[3200:, :6].reset_index(drop=True)


@pytest.fixture(scope="module")
def server(table, tmp_path_factory) -> str:
    """`mlgate serve --workers 2` on the champion, its window set in the folder's pyproject.toml."""
    folder = tmp_path_factory.mktemp("drift")
    registered = register_model(folder, table[0], "target", model_name="drift")
    (folder / "pyproject.toml").write_text(
        f"[tool.mlgate]\ndrift_window_half_life_seconds = {HALF_LIFE_SECONDS}\ndrift_min_window_rows = 300\n"
    )
    port = free_port()
    with mlgate_server(registered.tracking_uri, port, "--model-uri", registered.model_uri, "--workers", "2", cwd=folder):
        yield f"127.0.0.1:{port}"


def _bodies(features: pd.DataFrame) -> list[bytes]:
    split = json.loads(features.to_json(orient="split", index=False))
    return [
        json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"][i : i + ROWS_PER_REQUEST]}})
        .encode()
        for i in range(0, len(split["data"]), ROWS_PER_REQUEST)
    ]


def _send(address: str, bodies: list[bytes], seconds: float = math.inf, rows: float = math.inf) -> int:
    """`bodies` round-robin over CLIENTS connections for `seconds` or until `rows` were sent; the rows sent."""
    clients = [httpx.Client(base_url=f"http://{address}", timeout=10) for _ in range(CLIENTS)]
    sent, deadline = 0, time.monotonic() + seconds
    try:
        for client, body in zip(itertools.cycle(clients), itertools.cycle(bodies)):
            answer = client.post("/invocations", content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 200, answer.text
            sent += len(json.loads(body)["dataframe_split"]["data"])
            if time.monotonic() > deadline or sent >= rows:
                return sent
    finally:
        for client in clients:
            client.close()
    return sent


def _psi(prom, job: str) -> dict[str, float]:
    return {s["metric"]["feature"]: float(s["value"][1]) for s in prom.query(f'mlgate_feature_drift_psi{{job="{job}"}}')}


def _sample(text: str, name: str) -> float:
    (value,) = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
    return value


def test_two_workers_drift_window_holds_every_row_either_worker_scored(server, table):
    url = f"http://{server}"
    bodies = _bodies(table[1])
    sent, started = 0, time.monotonic()
    for start in range(0, 30, 5):  # new connections, so both workers take some
        with httpx.Client(base_url=url) as client:
            for body in bodies[start : start + 5]:
                assert client.post("/invocations", content=body, headers={"Content-Type": "application/json"}).is_success
                sent += ROWS_PER_REQUEST
    for _ in range(10):  # fresh connections: each worker answers some scrapes, and each must see all rows
        text = httpx.get(url + "/metrics").text
        assert _sample(text, "mlgate_inference_payload_rows_sum") == sent
        # Every row weighs between 2^(-elapsed / half-life) and 1; one worker's rows alone would be far less.
        faded = sent * 2.0 ** (-(time.monotonic() - started) / HALF_LIFE_SECONDS)
        assert faded <= _sample(text, "mlgate_drift_window_rows") <= sent, (text, sent)


def test_holdout_traffic_stays_low_and_a_tripled_feature_fires_its_alert(server, table):
    address = server
    holdout = table[1]
    with running_prometheus({"drift": [address]}, rule_files=[ALERTS]) as prom:
        prom.wait_for('up{job="drift"} == 1')
        _send(address, _bodies(holdout), seconds=3.0)
        earlier = _sample(httpx.get(f"http://{address}/metrics").text, "mlgate_inference_payload_rows_sum")
        time.sleep(1.5)  # a scrape after the last request
        prom.wait_for('mlgate_drift_window_rows{job="drift"} > 300')
        in_distribution = _psi(prom, "drift")
        assert set(in_distribution) == set(FEATURES)
        assert max(in_distribution.values()) < 0.1, in_distribution

        # Three shifted rows for every earlier one: at least three quarters of the window.
        _send(address, _bodies(holdout.assign(**{SHIFTED: holdout[SHIFTED] * 3})), rows=3 * earlier)
        prom.wait_for(f'mlgate_feature_drift_psi{{job="drift", feature="{SHIFTED}"}} > 0.25', timeout_seconds=10)
        shifted = _psi(prom, "drift")
        assert shifted[SHIFTED] > 0.25, shifted
        assert max(v for k, v in shifted.items() if k != SHIFTED) < 0.1, shifted
        (alert,) = prom.wait_for('ALERTS{alertname="MlgateFeatureDrift"}', timeout_seconds=10)
        assert alert["metric"]["feature"] == SHIFTED and alert["metric"]["alertstate"] in {"pending", "firing"}
        print(f"\nPSI in distribution {in_distribution}\nPSI with {SHIFTED} x3 {shifted}")


