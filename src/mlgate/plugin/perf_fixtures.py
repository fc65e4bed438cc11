"""Perf gate fixtures: the candidate and the champion served by our server, from this session, on 127.0.0.1.

The candidate is not registered until the whole gate set passes, so it is
served from memory, compiled when it compiled, exactly as it would be served
after promotion; the champion beside it as production serves it (servers run in threads of this process: they start in
milliseconds). Requests are one-row `dataframe_split` bodies of holdout rows
over one kept-alive connection, as a client in production would send them.
"""

from __future__ import annotations

import gc
import http.client
import json
import subprocess
import sys
import time

import pytest

from mlgate.child_process import stop_child
from mlgate.plugin.measure import KeptAlive
from mlgate.serving.runner import bind_socket, freeze_heap, running

SIDECAR_START_SECONDS = 60


@pytest.fixture(scope="session")
def frozen_heap():
    """The session's heap (mlflow, Great Expectations, hypothesis...) frozen while perf gates measure.

    A server process holds a model and a web stack, not a test session; without
    this, one full collection of this process's heap lands in a percentile.
    The served candidate's own allocations are still collected as in production.
    """
    freeze_heap()
    yield
    gc.unfreeze()


@pytest.fixture
def record_perf(record_gate, findings, candidate, gate_run):
    """Put one measured value with its budget on the gate report, its perf table and the run's metrics."""
    from mlgate import tracking

    def record(name: str, value: float, budget: float | None, champion: float | None = None) -> None:
        if budget is not None:  # a gate's own value; without a budget, a number shown beside it
            record_gate(round(value, 6), budget)
        findings.perf[name] = {"value": value, "budget": budget, "champion": champion}
        metrics = {f"perf.{name}": value}
        if champion is not None:
            metrics[f"perf.{name}.champion"] = champion
        tracking.log_values(candidate.client, gate_run, metrics=metrics)

    return record


@pytest.fixture(scope="session")
def candidate_servable(trained_model, candidate, compilation, drift_profile):
    """The candidate as it would be registered: its signature, compiled when it compiled, its drift profile."""
    import dataclasses

    from mlgate import tracking

    servable = tracking.servable_from_model(trained_model, candidate.input_example, compiled=compilation.compiled)
    return dataclasses.replace(servable, drift_profile=drift_profile)


@pytest.fixture(scope="session")
def champion_servable(champion, candidate):
    """The current champion as production serves it (compiled if it was registered so); None before the first."""
    from mlgate import tracking

    if champion is None:
        return None
    columns = list(getattr(champion.model, "feature_names_in_", []))
    if columns and columns != list(candidate.input_example.columns):
        return None  # trained on other columns: the champion gate says so, and nothing here can compare
    return tracking.servable_from_model(champion.model, candidate.input_example, "champion", compiled=champion.compiled)


@pytest.fixture(scope="session")
def champion_url(champion_servable, settings):
    """The champion behind the same scoring app, in the same process: the regression gates' baseline."""
    from mlgate.serving.app import create_app

    if champion_servable is None:
        yield None
        return
    with running(create_app(champion_servable, settings)) as url:
        yield url


@pytest.fixture
def champion_client(champion_url, one_row_payloads):
    if champion_url is None:
        yield None
        return
    client = KeptAlive(champion_url, one_row_payloads)
    yield client
    client.close()


@pytest.fixture(scope="session")
def in_process_predict(candidate_servable, one_row_payloads):
    """What the server calls per request, called here on the same parsed rows: the overhead gate's baseline."""
    from mlgate.serving.payload import InputSchema, parse_columns
    from mlgate.serving.predict import predictor_for

    schema = InputSchema.of(candidate_servable.input_schema, candidate_servable.required)
    predict = predictor_for(candidate_servable)
    rows = [parse_columns(body, "application/json", schema) for body in one_row_payloads]
    state = {"sent": 0}

    def call() -> None:
        predict(rows[state["sent"] % len(rows)])
        state["sent"] += 1

    return call


@pytest.fixture(scope="session")
def one_row_payloads(holdout_frame, settings, findings) -> list[bytes]:
    """Each holdout row as its own request body; a seeded sample of a holdout above `gate_sample_rows`.

    The perf gates send a few thousand requests, cycling through these bodies:
    more bodies than that would only cost the time and memory of encoding them.
    """
    from mlgate.sampling import gate_sample

    rows = gate_sample(holdout_frame, "perf requests (holdout rows)", settings.gate_sample_rows, settings.random_seed,
                       findings.samples)
    split = json.loads(rows.to_json(orient="split", index=False))
    return [
        json.dumps({"dataframe_split": {"columns": split["columns"], "data": [row]}}).encode() for row in split["data"]
    ]


@pytest.fixture(scope="session")
def serving_url(candidate_servable, settings):
    """The candidate behind the scoring app alone: what the latency budgets are about."""
    from mlgate.serving.app import create_app

    with running(create_app(candidate_servable, settings)) as url:
        yield url


@pytest.fixture(scope="session")
def instrumented_url(candidate_servable, settings, one_row_payloads):
    """The candidate behind the exporter's middleware, on a registry of its own, metrics populated.

    Drift tracking is on, as `mlgate serve` runs it: every request is
    folded into the window, and /metrics computes every feature's PSI.
    """
    from prometheus_client import CollectorRegistry

    from mlgate.serving.app import create_app
    from mlgate.serving.runner import track_drift
    from mlgate.monitoring.metrics import ServingMetrics
    from mlgate.monitoring.middleware import instrument

    registry = CollectorRegistry()
    metrics = ServingMetrics(registry)
    metrics.set_model(candidate_servable)
    track_drift(metrics, candidate_servable, settings)
    app = instrument(
        create_app(candidate_servable, settings, on_predictions=metrics.observe_predictions), metrics, registry
    )
    with running(app) as url:
        # Every series /metrics will render: successes, a client error, an unknown path, and
        # a drift window past its minimum, so each scrape computes PSI rather than NaN.
        client = KeptAlive(url, one_row_payloads)
        for _ in range(max(20, settings.drift_min_window_rows)):
            client.predict()
        for path in ("/ping", "/version"):
            client.get(path)
        client.connection.request("POST", "/invocations", body=b"{", headers={"Content-Type": "application/json"})
        client.connection.getresponse().read()
        client.connection.request("GET", "/no-such-path")
        client.connection.getresponse().read()
        client.close()
        yield url


@pytest.fixture(scope="session")
def sidecar_url(serving_url, tmp_path_factory):
    """`mlgate sidecar` proxying our server, as it would front `mlflow models serve`."""
    with bind_socket("127.0.0.1", 0) as probe:  # a port nothing listens on, for the sidecar to bind
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("sidecar") / "sidecar.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "mlgate", "sidecar", "--upstream", serving_url, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield url
    finally:
        stop_child(process, timeout_seconds=10)


def _wait_for(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + SIDECAR_START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sidecar exited with {process.returncode}: {log.read_text()[-2000:]}")
        probe = KeptAlive(url)
        try:
            probe.get("/ping")
            return
        except (OSError, AssertionError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            probe.close()
    raise RuntimeError(f"the sidecar at {url} did not answer /ping within {SIDECAR_START_SECONDS}s")


@pytest.fixture
def serving_client(serving_url, one_row_payloads):
    client = KeptAlive(serving_url, one_row_payloads)
    yield client
    client.close()


@pytest.fixture
def instrumented_client(instrumented_url, one_row_payloads):
    client = KeptAlive(instrumented_url, one_row_payloads)
    yield client
    client.close()


@pytest.fixture
def sidecar_client(sidecar_url, one_row_payloads):
    client = KeptAlive(sidecar_url, one_row_payloads)
    yield client
    client.close()
