"""Perf gates: one-row requests to the candidate, served by our server, within the latency budgets.

A model can pass every accuracy gate and still be too slow to serve; these
gates stop it. Percentiles come from pytest-benchmark's raw timings, one
request per round over a kept-alive connection.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.measure import rounds_for, timings
from mlgate.serving.latency import percentile

pytestmark = pytest.mark.perf_gate


def _gate_percentile(q: int, benchmark, serving_client, settings, findings, record_perf) -> None:
    benchmark.group = "serving latency"
    rounds = rounds_for(serving_client.predict, settings.perf_measure_seconds / 2)
    benchmark.pedantic(serving_client.predict, rounds=rounds)
    value = percentile(timings(benchmark), q)
    budget = getattr(settings, f"serving_p{q}_budget_seconds")
    # The champion's, measured beside the candidate by the regression gates (None: first champion).
    champion = findings.perf.get(f"serving_p{q}_seconds_side_by_side", {}).get("champion")
    benchmark.extra_info.update({f"p{q}_seconds": value, "budget_seconds": budget, "champion_seconds": champion})
    record_perf(f"serving_p{q}_seconds", value, budget, champion=champion)
    assert value <= budget, (
        f"serving p{q} latency {value * 1e3:.2f} ms is over serving_p{q}_budget_seconds "
        f"({budget * 1e3:g} ms): the model predicts too slowly to serve; use a smaller model "
        "(fewer or shallower trees), one whose steps compile (the report's Serving section says why this one "
        "did not), or set the service-level objective of this machine in [tool.mlgate]"
    )


def test_serving_p50_latency_within_budget(benchmark, serving_client, settings, findings, record_perf):
    _gate_percentile(50, benchmark, serving_client, settings, findings, record_perf)


def test_serving_p95_latency_within_budget(benchmark, serving_client, settings, findings, record_perf):
    _gate_percentile(95, benchmark, serving_client, settings, findings, record_perf)


def test_serving_p99_latency_within_budget(benchmark, serving_client, settings, findings, record_perf):
    _gate_percentile(99, benchmark, serving_client, settings, findings, record_perf)
