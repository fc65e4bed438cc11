"""Perf gate fixtures: the candidate served by our server, from this session, on 127.0.0.1.

The candidate is not registered until the whole gate set passes, so it is
served from memory (servers run in threads of this process: they start in
milliseconds). Requests are one-row `dataframe_split` bodies of holdout rows
over one kept-alive connection, as a client in production would send them.
"""

from __future__ import annotations

import gc
import http.client
import json
import math
import socket
import statistics
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest

from model.server import freeze_heap, running

# Each measurement stops after about this long or MAX_ROUNDS, whichever comes
# first, so a slow model fails its gates quickly instead of stalling the session.
MEASURE_SECONDS = 1.5
MIN_ROUNDS, MAX_ROUNDS = 20, 200
# Differences of two servers need more rounds than one server's percentiles.
PAIR_SECONDS, MAX_PAIRS = 3.0, 300
WARMUP_ROUNDS = 5
SIDECAR_START_SECONDS = 60


class KeptAlive:
    """One kept-alive HTTP/1.1 connection; every answer must be a 200."""

    def __init__(self, url: str, payloads: list[bytes] | None = None) -> None:
        parts = urlsplit(url)
        # http.client turns TCP_NODELAY on for its socket, as production clients do.
        self.connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        self.payloads = payloads or []
        self.sent = 0

    def predict(self) -> None:
        body = self.payloads[self.sent % len(self.payloads)]
        self.sent += 1
        self.connection.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
        self._read()

    def get(self, path: str) -> None:
        self.connection.request("GET", path)
        self._read()

    def _read(self) -> None:
        answer = self.connection.getresponse()
        body = answer.read()
        if answer.status != 200:
            raise AssertionError(f"the server answered {answer.status}: {body[:300]!r}")

    def close(self) -> None:
        self.connection.close()


def rounds_for(action, seconds: float = MEASURE_SECONDS, most: int = MAX_ROUNDS) -> int:
    """Rounds that fit `seconds` at this action's speed, within MIN_ROUNDS..`most`."""
    started = time.perf_counter()
    for _ in range(WARMUP_ROUNDS):
        action()
    each = (time.perf_counter() - started) / WARMUP_ROUNDS
    return max(MIN_ROUNDS, min(most, int(seconds / each)))


class Pairs:
    """Requests to two servers in turn, the order swapped every round, each timed.

    Load from elsewhere on the machine then falls on both alike, and the
    median of the per-round differences is the second server's own extra
    cost: on a noisy 2-core machine it scatters a third as much as the
    difference of two separately taken medians.
    """

    def __init__(self, base: KeptAlive, other: KeptAlive) -> None:
        self.base, self.other = base, other
        self.base_seconds: list[float] = []
        self.other_seconds: list[float] = []

    def __call__(self) -> None:
        order = (self.base, self.other) if len(self.base_seconds) % 2 else (self.other, self.base)
        for client in order:
            started = time.perf_counter()
            client.predict()
            elapsed = time.perf_counter() - started
            (self.base_seconds if client is self.base else self.other_seconds).append(elapsed)

    def clear(self) -> None:
        self.base_seconds.clear()
        self.other_seconds.clear()

    @property
    def base_p50(self) -> float:
        return statistics.median(self.base_seconds)

    @property
    def extra_p50(self) -> float:
        """The median over rounds of (other - base): the second server's added latency."""
        return statistics.median(o - b for o, b in zip(self.other_seconds, self.base_seconds, strict=True))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def timings(benchmark) -> list[float]:
    """pytest-benchmark's raw per-round timings: the percentiles budgets are written in."""
    if benchmark.disabled or benchmark.stats is None:
        pytest.fail("perf gates need pytest-benchmark's timings; remove --benchmark-disable (or xdist)")
    return list(benchmark.stats.stats.data)


@pytest.fixture(scope="session", autouse=True)
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
def record_perf(record_gate, ledger, gate_run):
    """Put one measured value with its budget on the gate report, its perf table and the run's metrics."""
    from model import tracking

    def record(name: str, value: float, budget: float) -> None:
        record_gate(round(value, 6), budget)
        ledger.perf[name] = {"value": value, "budget": budget}
        tracking.log_values(ledger.client, gate_run, metrics={f"perf.{name}": value})

    return record


@pytest.fixture(scope="session")
def candidate_servable(trained_model, ledger):
    """The candidate with the signature it would be registered with."""
    from model import tracking

    return tracking.servable_from_model(trained_model, ledger.input_example)


@pytest.fixture(scope="session")
def one_row_payloads(holdout_frame) -> list[bytes]:
    """Each holdout row as its own request body."""
    split = json.loads(holdout_frame.to_json(orient="split", index=False))
    return [
        json.dumps({"dataframe_split": {"columns": split["columns"], "data": [row]}}).encode() for row in split["data"]
    ]


@pytest.fixture(scope="session")
def serving_url(candidate_servable, settings):
    """The candidate behind the scoring app alone: what the latency budgets are about."""
    from model.serving import create_app

    with running(create_app(candidate_servable, settings)) as url:
        yield url


@pytest.fixture(scope="session")
def instrumented_url(candidate_servable, settings, one_row_payloads):
    """The candidate behind the exporter's middleware, on a registry of its own, metrics populated."""
    from prometheus_client import CollectorRegistry

    from model.serving import create_app
    from monitoring import exporter

    registry = CollectorRegistry()
    metrics = exporter.ServingMetrics(registry)
    metrics.set_model(candidate_servable)
    app = exporter.instrument(
        create_app(candidate_servable, settings, on_predictions=metrics.observe_predictions), metrics, registry
    )
    with running(app) as url:
        # Every series /metrics will render: successes, a client error, an unknown path.
        client = KeptAlive(url, one_row_payloads)
        for _ in range(20):
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
    """`python -m monitoring.exporter` proxying our server, as it would front `mlflow models serve`."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("sidecar") / "sidecar.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitoring.exporter", "--upstream", serving_url, "--port", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


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
