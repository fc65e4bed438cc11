"""Latency statistics as the perf gates and the benchmarks state them.

One definition of a percentile for the whole project: numpy's
`inverted_cdf` method, the nearest rank. It returns a value that was
measured, never an interpolation between two, so "p99 = 4.1 ms" means some
request took 4.1 ms.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PERCENTILE_METHOD = "inverted_cdf"


def percentile(values: Sequence[float], q: float) -> float:
    """The `q`-th percentile (0..100) of `values`, nearest rank."""
    if len(values) == 0:
        raise ValueError("no values to take a percentile of")
    return float(np.percentile(np.asarray(values, dtype=float), q, method=PERCENTILE_METHOD))
