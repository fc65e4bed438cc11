"""The sidecar forwards to a real upstream, counts what it proxied, and survives the upstream going away.

The sidecar runs as users start it, `mlgate sidecar --upstream
URL`, in its own process; its counts are read by scraping its /metrics. The
upstream for the fast tests is a tiny uvicorn app speaking MLflow's scoring
protocol, in a thread of the test process, so a test can stop it, restart
it on the same port, or slow it down. One slow test puts the sidecar in front
of a real `mlflow models serve` on a champion registered by a real gate
session. Every test ends by checking the sidecar's log holds no traceback.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from mlgate import tracking
from mlgate.monitoring.drift import build_profile
from mlgate.monitoring.sidecar import build_parser
from mlgate.plugin.measure import Pairs
from tests.support.ports import free_port
from tests.support.project import ROOT, clean_env, copy_project, loosen_perf_budgets
from tests.support.scoring_apps import (
    UpstreamBehaviour,
    mlflow_like_app,
    scrape,
    serving,
    value,
)
from tests.support.serving import mlflow_models_server, sidecar_server

# Short, so the timeout test is quick; the fast upstream answers in milliseconds.
SIDECAR_TIMEOUT_SECONDS = 1.0


@contextmanager
def running_sidecar(upstream_url: str, log_path: Path) -> Iterator[str]:
    """`mlgate sidecar --upstream URL` in its own process; yields its base URL."""
    server = sidecar_server(
        upstream_url, free_port(), "--timeout-seconds", str(SIDECAR_TIMEOUT_SECONDS), cwd=ROOT, log=log_path
    )
    with server:
        yield server.url
        assert server.running, f"the sidecar died:\n{server.output()}"
    assert "Traceback" not in server.output(), server.output()


def split_payload(rows: list[list]) -> dict:
    return {"dataframe_split": {"columns": ["mean radius", "mean texture"], "data": rows}}


@pytest.fixture
def behaviour() -> UpstreamBehaviour:
    """How the fake upstream behaves; tests change it mid-test."""
    return UpstreamBehaviour()


@pytest.fixture
def upstream(behaviour) -> Iterator[str]:
    """The fake MLflow scoring server, on a free port."""
    with serving(mlflow_like_app(behaviour)) as url:
        yield url


@pytest.fixture
def sidecar(upstream, tmp_path) -> Iterator[str]:
    """The sidecar in front of `upstream`."""
    with running_sidecar(upstream, tmp_path / "sidecar.log") as url:
        yield url


def invocations(samples, outcome: str) -> float | None:
    return value(samples, "mlgate_inference_requests_total", endpoint="/invocations", outcome=outcome)


def test_sidecar_forwards_invocations_and_counts_predictions_by_label(upstream, sidecar):
    payloads = [split_payload([[20.5, 1.0], [11.0, 2.0], [9.0, 3.0]]) for _ in range(8)]
    payloads += [split_payload([[12.0 + i, 0.5] for i in range(10)]), {"dataframe_split": {"columns": ["a"], "data": [[30]]}}]
    expected = Counter()
    with httpx.Client() as client:
        for payload in payloads:
            direct = client.post(f"{upstream}/invocations", json=payload)
            proxied = client.post(f"{sidecar}/invocations", json=payload)
            assert proxied.status_code == direct.status_code == 200
            assert proxied.headers["content-type"] == direct.headers["content-type"]
            assert proxied.json() == direct.json()
            expected.update(str(label) for label in direct.json()["predictions"])
        samples = scrape(sidecar, client)

    assert invocations(samples, "success") == len(payloads)
    for outcome in ("client_error", "server_error", "upstream_error"):
        assert invocations(samples, outcome) == 0
    assert {label: value(samples, "mlgate_predictions_total", label=label) for label in expected} == expected
    assert value(samples, "mlgate_inference_payload_rows_count") == len(payloads)
    assert value(samples, "mlgate_inference_payload_rows_sum") == 8 * 3 + 10 + 1


def test_sidecar_with_a_profile_exports_the_drift_of_what_it_proxied(upstream, tmp_path):
    """`--profile`: rows of answered requests fold into the window; a tripled feature shows in its PSI alone."""
    rng = np.random.default_rng(0)

    def draw(rows: int) -> pd.DataFrame:
        return pd.DataFrame({"mean radius": rng.normal(14, 3, rows), "mean texture": rng.normal(19, 4, rows)})

    train = draw(2000)
    path = tmp_path / "drift_profile.json"
    path.write_text(build_profile(train, (train["mean radius"] <= 15).astype(int)).to_json(), encoding="utf-8")
    fresh = draw(600)
    sidecar = sidecar_server(
        upstream, free_port(), "--profile", str(path), "--drift-min-window-rows", "100", cwd=ROOT,
        log=tmp_path / "sidecar.log",
    )
    with sidecar, httpx.Client() as client:
        def send(frame: pd.DataFrame) -> None:
            for start in range(0, len(frame), 20):
                rows = frame.iloc[start : start + 20].values.tolist()
                assert client.post(f"{sidecar.url}/invocations", json=split_payload(rows)).is_success

        send(fresh)
        # Not MLflow's protocol: passed through as the upstream answers it, and not folded.
        assert client.post(f"{sidecar.url}/invocations", content=b"{not json").status_code == 400
        before = scrape(sidecar.url, client)
        send(fresh.assign(**{"mean texture": fresh["mean texture"] * 3}))
        after = scrape(sidecar.url, client)
    assert "Traceback" not in sidecar.output(), sidecar.output()

    def psi(samples, feature):
        return value(samples, "mlgate_feature_drift_psi", feature=feature)

    assert value(before, "mlgate_drift_window_rows") == pytest.approx(600, rel=0.01)
    assert psi(before, "mean radius") < 0.1 and psi(before, "mean texture") < 0.1
    assert value(after, "mlgate_drift_window_rows") == pytest.approx(1200, rel=0.01)
    assert psi(after, "mean texture") > 0.25 and psi(after, "mean radius") < 0.1
    share = value(after, "mlgate_prediction_share", label="0")
    assert share == pytest.approx(float((fresh["mean radius"] > 15).mean()), abs=0.01)


@pytest.mark.parametrize("name, says", [("drift_profile.json", "is not an mlgate drift profile"), ("missing.json", "cannot read")])
def test_a_profile_the_sidecar_cannot_read_is_one_usage_error(tmp_path, capsys, name, says):
    (tmp_path / "drift_profile.json").write_text("{", encoding="utf-8")
    path = tmp_path / name
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["--upstream", "http://127.0.0.1:5001", "--profile", str(path)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err
    assert "argument --profile: " in error and str(path) in error and says in error and "Traceback" not in error


def test_sidecar_passes_upstream_errors_through_and_counts_them_by_outcome(upstream, sidecar):
    with httpx.Client() as client:
        for body in (b"{not json", b'{"instances": [1]}'):
            direct = client.post(f"{upstream}/invocations", content=body, headers={"content-type": "application/json"})
            proxied = client.post(f"{sidecar}/invocations", content=body, headers={"content-type": "application/json"})
            assert (proxied.status_code, proxied.json()) == (direct.status_code, direct.json()) == (400, direct.json())
        proxied = client.post(f"{sidecar}/invocations", json=split_payload([["explode", 1.0]]))
        assert proxied.status_code == 500
        assert proxied.json()["error_code"] == "INTERNAL_ERROR"
        assert client.post(f"{sidecar}/invocations", json=split_payload([[1.0, 1.0]])).status_code == 200
        samples = scrape(sidecar, client)

    assert invocations(samples, "client_error") == 2
    assert invocations(samples, "server_error") == 1
    assert invocations(samples, "success") == 1
    assert invocations(samples, "upstream_error") == 0
    assert value(samples, "mlgate_inference_payload_rows_count") == 1  # errors carry no predictions


def test_sidecar_forwards_ping_health_and_version(upstream, sidecar):
    with httpx.Client() as client:
        for path in ("/ping", "/health", "/version"):
            direct, proxied = client.get(f"{upstream}{path}"), client.get(f"{sidecar}{path}")
            assert (proxied.status_code, proxied.text) == (direct.status_code, direct.text)
        assert client.get(f"{sidecar}/admin").status_code == 404  # not forwarded
        samples = scrape(sidecar, client)

    for path in ("/ping", "/health", "/version"):
        assert value(samples, "mlgate_inference_requests_total", endpoint=path, outcome="success") == 1
    assert value(samples, "mlgate_inference_requests_total", endpoint="other", outcome="client_error") == 1


def test_upstream_down_is_a_502_counted_as_upstream_error_then_the_sidecar_recovers(tmp_path):
    app = mlflow_like_app(UpstreamBehaviour())
    payload = split_payload([[20.0, 1.0]])
    first_upstream = ExitStack()
    upstream_url = first_upstream.enter_context(serving(app))
    port = int(upstream_url.rsplit(":", 1)[1])
    try:
        with running_sidecar(upstream_url, tmp_path / "sidecar.log") as sidecar_url, httpx.Client() as client:
            assert client.post(f"{sidecar_url}/invocations", json=payload).status_code == 200
            first_upstream.close()  # the upstream stops; its port now refuses connections
            for _ in range(3):
                answer = client.post(f"{sidecar_url}/invocations", json=payload)
                assert answer.status_code == 502
                assert answer.json()["error_code"] == "UPSTREAM_UNAVAILABLE"
                assert upstream_url in answer.json()["message"]
            assert client.get(f"{sidecar_url}/ping").status_code == 502
            down = scrape(sidecar_url, client)

            with serving(app, port=port):  # the same upstream comes back on the same port
                recovered = client.post(f"{sidecar_url}/invocations", json=payload)
                assert recovered.status_code == 200, recovered.text
                assert recovered.json() == {"predictions": [0]}
                up = scrape(sidecar_url, client)
    finally:
        first_upstream.close()

    assert invocations(down, "upstream_error") == 3
    assert value(down, "mlgate_inference_requests_total", endpoint="/ping", outcome="upstream_error") == 1
    assert invocations(up, "success") == 2
    assert invocations(up, "upstream_error") == 3
    assert value(up, "mlgate_inference_in_flight_requests") == 0


def test_upstream_slower_than_the_timeout_is_a_504_counted_as_upstream_error(behaviour, upstream, sidecar):
    payload = split_payload([[20.0, 1.0]])
    with httpx.Client(timeout=10) as client:
        behaviour.delay_seconds = SIDECAR_TIMEOUT_SECONDS + 0.5
        answer = client.post(f"{sidecar}/invocations", json=payload)
        assert answer.status_code == 504
        assert answer.json()["error_code"] == "UPSTREAM_TIMEOUT"
        behaviour.delay_seconds = 0.0
        assert client.post(f"{sidecar}/invocations", json=payload).status_code == 200
        samples = scrape(sidecar, client)

    assert invocations(samples, "upstream_error") == 1
    assert invocations(samples, "success") == 1
    assert invocations(samples, "server_error") == 0


@pytest.mark.parametrize("upstream_url", ["localhost:5000", "http://", "ftp://127.0.0.1:5000", "http://127.0.0.1:99999"])
def test_bad_upstream_url_is_one_usage_error_without_traceback(upstream_url):
    run = subprocess.run(
        [sys.executable, "-m", "mlgate", "sidecar", "--upstream", upstream_url],
        cwd=ROOT, env=clean_env(), capture_output=True, text=True, timeout=30,
    )
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    errors = [line for line in run.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "--upstream" in errors[0], run.stderr


def test_sidecar_refuses_a_multiprocess_dir_it_would_pollute(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "mlgate", "sidecar", "--upstream", "http://127.0.0.1:5000"],
        cwd=ROOT, env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(tmp_path)), capture_output=True, text=True, timeout=30,
    )
    assert run.returncode == 2
    assert "PROMETHEUS_MULTIPROC_DIR" in run.stderr and "Traceback" not in run.stderr
    assert not list(tmp_path.iterdir())


def test_sidecar_listens_on_loopback_by_default(sidecar, tmp_path):
    args = build_parser().parse_args(["--upstream", "http://127.0.0.1:5000"])
    assert (args.host, args.port, args.timeout_seconds) == ("127.0.0.1", 9108, 5.0)
    # The running sidecar got no --host: uvicorn says where it listens.
    assert f"Uvicorn running on {sidecar} " in (tmp_path / "sidecar.log").read_text()


@pytest.mark.alone
def test_sidecar_adds_less_latency_than_its_budget(upstream, sidecar, settings):
    """Requests straight to the upstream and through the sidecar in turn, judged as the perf gate judges them."""
    payload = split_payload([[20.0, 1.0], [10.0, 2.0]])
    with httpx.Client() as client:
        def send(url: str) -> None:
            assert client.post(f"{url}/invocations", json=payload).status_code == 200

        pairs = Pairs(lambda: send(upstream), lambda: send(sidecar))
        for _ in range(10):
            pairs()
        pairs.clear()
        for _ in range(150):
            pairs()
    budget = settings.sidecar_overhead_budget_seconds
    print(
        f"\nsidecar: p50 direct {pairs.base_p50 * 1e3:.3f} ms, added {pairs.extra_p50 * 1e3:.3f} ms "
        f"(p over budget {pairs.over_budget_p(budget):.2g})"
    )
    assert not pairs.over_budget(budget)


@pytest.mark.slow
def test_sidecar_in_front_of_mlflow_models_serve_forwards_counts_and_reports_its_stop(tmp_path):
    """A champion from a real gate session, served by `mlflow models serve`, behind the sidecar."""
    from sklearn.datasets import load_breast_cancer

    project = copy_project(tmp_path / "project")
    loosen_perf_budgets(project)
    session = project.run_gates("-q")
    assert session.returncode == 0, session.stdout[-3000:] + session.stderr[-3000:]

    port = free_port()
    server = mlflow_models_server(
        project.tracking_uri, f"models:/mlgate-classifier@{tracking.CHAMPION_ALIAS}", port,
        cwd=project.root, log=tmp_path / "mlflow-serve.log",
    )
    upstream_url = server.url
    features = load_breast_cancer(as_frame=True).frame.drop(columns="target")
    slices = [(0, 1), (1, 3), (3, 8), (8, 18), (18, 38)]
    with server:
        with running_sidecar(upstream_url, tmp_path / "sidecar.log") as sidecar_url, httpx.Client(timeout=30) as client:
            expected = Counter()
            for start, stop in slices:
                rows = features.iloc[start:stop]
                payload = {"dataframe_split": {"columns": list(rows.columns), "data": rows.to_numpy().tolist()}}
                direct = client.post(f"{upstream_url}/invocations", json=payload)
                proxied = client.post(f"{sidecar_url}/invocations", json=payload)
                assert proxied.status_code == direct.status_code == 200, proxied.text
                assert proxied.json() == direct.json()
                expected.update(str(label) for label in direct.json()["predictions"])
            missing_columns = {"dataframe_split": {"columns": ["mean radius"], "data": [[14.0]]}}
            direct = client.post(f"{upstream_url}/invocations", json=missing_columns)
            proxied = client.post(f"{sidecar_url}/invocations", json=missing_columns)
            assert proxied.status_code == direct.status_code == 400
            assert proxied.json()["error_code"] == direct.json()["error_code"]
            for path in ("/ping", "/version"):
                assert client.get(f"{sidecar_url}{path}").text == client.get(f"{upstream_url}{path}").text
            served = scrape(sidecar_url, client)

            server.stop(timeout_seconds=15)
            server.wait_until_refused()
            answer = client.post(f"{sidecar_url}/invocations", json=missing_columns)
            assert answer.status_code == 502 and answer.json()["error_code"] == "UPSTREAM_UNAVAILABLE"
            stopped = scrape(sidecar_url, client)

    assert invocations(served, "success") == len(slices)
    assert invocations(served, "client_error") == 1
    assert {label: value(served, "mlgate_predictions_total", label=label) for label in expected} == expected
    assert sum(expected.values()) == 38
    assert value(served, "mlgate_inference_payload_rows_sum") == 38
    assert invocations(stopped, "upstream_error") == 1
