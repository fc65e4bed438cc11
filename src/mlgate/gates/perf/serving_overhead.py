"""Perf gate: what the serving stack adds to the model's own predict, whatever the model costs.

A request over HTTP and the same predict call the server makes, in process,
on the same parsed rows, in turn (see `Pairs`): the median of their
differences is the cost of HTTP, parsing, batching and rendering. It catches
a slower server (a lost TCP_NODELAY costs ~40 ms) without depending on how
slow the model is. The gate refuses when a one-sided sign test says the
overhead is over serving_overhead_budget_seconds (`Pairs.over_budget`).
"""

from __future__ import annotations

import pytest

from mlgate.plugin.measure import (
    OVERHEAD_SIGNIFICANCE_LEVEL,
    Pairs,
    measure_pairs,
)

pytestmark = pytest.mark.perf_gate


def test_serving_overhead_within_budget(benchmark, in_process_predict, serving_client, settings, record_perf):
    pairs = Pairs(in_process_predict, serving_client.predict)
    rounds = measure_pairs(benchmark, "serving overhead", pairs, settings.perf_measure_seconds)
    overhead, budget = pairs.extra_p50, settings.serving_overhead_budget_seconds
    p = pairs.over_budget_p(budget)
    benchmark.extra_info.update(
        {"overhead_p50_seconds": overhead, "predict_p50_seconds": pairs.base_p50, "budget_seconds": budget,
         "over_budget_p": p}
    )
    record_perf("serving_overhead_p50_seconds", overhead, budget)
    assert not pairs.over_budget(budget), (
        f"the server adds {overhead * 1e3:.3f} ms at p50 to the model's own predict "
        f"({pairs.base_p50 * 1e3:.3f} ms in process, {rounds} pairs), over serving_overhead_budget_seconds "
        f"({budget * 1e3:g} ms) by a sign test (p = {p:.2g} < {OVERHEAD_SIGNIFICANCE_LEVEL}); profile "
        "mlgate/serving/app.py and payload.py"
    )
