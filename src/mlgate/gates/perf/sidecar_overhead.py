"""Perf gate: the sidecar (`mlgate sidecar --upstream URL`) adds little latency.

Direct requests and requests through the sidecar go in turn (see `Pairs`);
the median of their differences is the proxy hop's cost at p50, refused
when a one-sided sign test says it is over sidecar_overhead_budget_seconds.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.measure import (
    OVERHEAD_SIGNIFICANCE_LEVEL,
    Pairs,
    measure_pairs,
)

pytestmark = pytest.mark.perf_gate


def test_sidecar_overhead_within_budget(benchmark, serving_client, sidecar_client, settings, record_perf):
    pairs = Pairs(serving_client.predict, sidecar_client.predict)
    rounds = measure_pairs(benchmark, "sidecar", pairs, settings.perf_measure_seconds)
    overhead = pairs.extra_p50
    budget = settings.sidecar_overhead_budget_seconds
    p = pairs.over_budget_p(budget)
    benchmark.extra_info.update({"p50_overhead_seconds": overhead, "budget_seconds": budget, "over_budget_p": p})
    record_perf("sidecar_overhead_p50_seconds", overhead, budget)
    assert not pairs.over_budget(budget), (
        f"the sidecar adds {overhead * 1e3:.2f} ms at p50 over {rounds} pairs, over "
        f"sidecar_overhead_budget_seconds ({budget * 1e3:g} ms) by a sign test "
        f"(p = {p:.2g} < {OVERHEAD_SIGNIFICANCE_LEVEL})"
    )
