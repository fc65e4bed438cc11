"""What drift tracking costs: folding a request's rows, and computing the gauges at scrape.

The profile is breast_cancer's 30 features with 11 quantile bins each (12 with
the missing bin: the issue's "30 features x 12 bins"). Folding is timed on the
parsed float block the server hands it, for 1, 16 and 256 rows; a scrape is
timed as `generate_latest` of a full ServingMetrics registry with and without
the drift collector, alternating, so their ratio holds on a loaded machine.
Percentiles are taken from the raw timings; the load average is printed.

    python benchmarks/drift.py [--rounds 3000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from prometheus_client import CollectorRegistry, generate_latest
from sklearn.datasets import load_breast_cancer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mlgate.serving.latency import percentile
from mlgate.monitoring.drift import build_profile
from mlgate.monitoring.drift_window import DriftWindow
from mlgate.monitoring.metrics import ServingMetrics


def timed(action, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3000)
    args = parser.parse_args(argv)

    frame = load_breast_cancer(as_frame=True).frame
    features = frame.drop(columns="target")
    profile = build_profile(features, frame["target"].to_numpy(), bins=11)
    names = list(features.columns)
    block = features.to_numpy(dtype=np.float64)
    print(f"profile: {len(profile.features)} features x {len(profile.features[0].bins)} bins; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    window = DriftWindow(profile, names, 600.0, 1)
    print("\nfold (per request)         p50 us   p99 us   p50 per row us")
    for rows in (1, 16, 256):
        part, labels = block[:rows], np.zeros(rows, dtype=np.int64)
        samples = timed(lambda part=part, labels=labels: window.fold((), part, labels), args.rounds)
        p50 = statistics.median(samples)
        print(f"  {rows:>4} row(s)             {p50 * 1e6:7.1f}  {percentile(samples, 99) * 1e6:7.1f}  "
              f"{p50 / rows * 1e6:8.2f}")

    registries = {}
    for drift in (False, True):
        registry = CollectorRegistry()
        metrics = ServingMetrics(registry)
        if drift:
            metrics.track_drift(window)
        metrics.observe_predictions(np.zeros(10, dtype=np.int64))
        registries[drift] = registry
    renders: dict[bool, list[float]] = {False: [], True: []}
    for round_ in range(args.rounds // 3):
        for drift in (round_ % 2 == 0, round_ % 2 == 1):
            started = time.perf_counter()
            generate_latest(registries[drift])
            renders[drift].append(time.perf_counter() - started)
    print("\n/metrics render             p50 ms   p99 ms")
    for drift, samples in renders.items():
        print(f"  {'with drift   ' if drift else 'without drift'}             {statistics.median(samples) * 1e3:6.3f}  "
              f"{percentile(samples, 99) * 1e3:7.3f}")
    print(f"  drift adds {(statistics.median(renders[True]) - statistics.median(renders[False])) * 1e6:.0f} us at p50")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
