"""Drift watched in production: a real `python -m model serve --workers 2`, real traffic, a real Prometheus.

The model is trained and profiled on 3,200 rows of a synthetic table and the
other 800 are its holdout. Resending holdout rows is traffic from the training
population: every feature's PSI stays under 0.1. Multiplying one feature by 3
drives that feature's PSI past max_serving_drift_psi while the others stay
low, and MlgateFeatureDrift goes pending for that feature in Prometheus.

The servers run with a short half-life (set in the pyproject.toml of their
working folder, as a user would) so that a shift takes over the window in
seconds: after four half-lives the old rows weigh 1/16.
"""

from __future__ import annotations

import itertools
import json
import time

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.support.ports import free_port
from tests.support.processes import start_together
from tests.support.project import ROOT
from tests.support.prometheus import running_prometheus
from tests.support.serving import mlgate_server, register_model

pytestmark = pytest.mark.slow

ALERTS = ROOT / "monitoring" / "alerts.yml"
FEATURES = [f"f{i}" for i in range(6)]
SHIFTED = "f0"
HALF_LIFE_SECONDS = 2.0
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
def servers(table, tmp_path_factory):
    """Two 2-worker servers on the same champion: one with a 2 s half-life, one whose window never fades."""
    folder = tmp_path_factory.mktemp("drift")
    registered = register_model(folder, table[0], "target", model_name="drift")
    folders = {}
    for name, half_life, minimum in (("fast", HALF_LIFE_SECONDS, 300), ("still", 1e9, 1)):
        folders[name] = folder / name
        folders[name].mkdir()
        (folders[name] / "pyproject.toml").write_text(
            f"[tool.mlgate]\ndrift_window_half_life_seconds = {half_life}\ndrift_min_window_rows = {minimum}\n"
        )
    ports = {name: free_port() for name in folders}
    started = start_together([
        mlgate_server(registered.tracking_uri, ports[name], "--model-uri", registered.model_uri, "--workers", "2",
                      cwd=folders[name])
        for name in folders
    ])
    try:
        yield {name: f"127.0.0.1:{port}" for name, port in ports.items()}
    finally:
        for server in started:
            server.stop()


def _bodies(features: pd.DataFrame) -> list[bytes]:
    split = json.loads(features.to_json(orient="split", index=False))
    return [
        json.dumps({"dataframe_split": {"columns": split["columns"], "data": split["data"][i : i + ROWS_PER_REQUEST]}})
        .encode()
        for i in range(0, len(split["data"]), ROWS_PER_REQUEST)
    ]


def _send(address: str, bodies: list[bytes], seconds: float) -> int:
    """`bodies` round-robin over CLIENTS connections for `seconds`; the rows sent."""
    clients = [httpx.Client(base_url=f"http://{address}", timeout=10) for _ in range(CLIENTS)]
    sent, deadline = 0, time.monotonic() + seconds
    try:
        for client, body in zip(itertools.cycle(clients), itertools.cycle(bodies)):
            answer = client.post("/invocations", content=body, headers={"Content-Type": "application/json"})
            assert answer.status_code == 200, answer.text
            sent += len(json.loads(body)["dataframe_split"]["data"])
            if time.monotonic() > deadline:
                return sent
    finally:
        for client in clients:
            client.close()
    return sent


def _psi(prom, job: str) -> dict[str, float]:
    return {s["metric"]["feature"]: float(s["value"][1]) for s in prom.query(f'mlgate_feature_drift_psi{{job="{job}"}}')}


def test_holdout_traffic_stays_low_and_a_tripled_feature_fires_its_alert(servers, table):
    address = servers["fast"]
    holdout = table[1]
    with running_prometheus({"drift": [address]}, rule_files=[ALERTS]) as prom:
        prom.wait_for('up{job="drift"} == 1')
        _send(address, _bodies(holdout), 4.0)
        time.sleep(1.5)  # a scrape after the last request
        prom.wait_for('mlgate_drift_window_rows{job="drift"} > 300')
        in_distribution = _psi(prom, "drift")
        assert set(in_distribution) == set(FEATURES)
        assert max(in_distribution.values()) < 0.1, in_distribution

        _send(address, _bodies(holdout.assign(**{SHIFTED: holdout[SHIFTED] * 3})), 4 * HALF_LIFE_SECONDS)
        prom.wait_for(f'mlgate_feature_drift_psi{{job="drift", feature="{SHIFTED}"}} > 0.25', timeout_seconds=10)
        shifted = _psi(prom, "drift")
        assert shifted[SHIFTED] > 0.25, shifted
        assert max(v for k, v in shifted.items() if k != SHIFTED) < 0.1, shifted
        (alert,) = prom.wait_for('ALERTS{alertname="MlgateFeatureDrift"}', timeout_seconds=10)
        assert alert["metric"]["feature"] == SHIFTED and alert["metric"]["alertstate"] in {"pending", "firing"}
        print(f"\nPSI in distribution {in_distribution}\nPSI with {SHIFTED} x3 {shifted}")


def _sample(text: str, name: str) -> float:
    (value,) = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(name + " ")]
    return value


def test_two_workers_drift_window_holds_every_row_either_worker_scored(servers, table):
    url = f"http://{servers['still']}"
    bodies = _bodies(table[1])
    sent = 0
    for start in range(0, 30, 5):  # new connections, so both workers take some
        with httpx.Client(base_url=url) as client:
            for body in bodies[start : start + 5]:
                assert client.post("/invocations", content=body, headers={"Content-Type": "application/json"}).is_success
                sent += ROWS_PER_REQUEST
    seen = set()
    for _ in range(10):  # fresh connections: each worker answers some scrapes, and each must see all rows
        text = httpx.get(url + "/metrics").text
        seen.add(round(_sample(text, "mlgate_drift_window_rows"), 3))
        assert _sample(text, "mlgate_inference_payload_rows_sum") == sent
    assert seen == {sent}, f"scrapes saw {seen} rows in the window; {sent} were scored"
