"""Discovered slices (#22): false alarms on equal models, power on the phone case, and cost.

1. False alarms: in each trial two models of one recipe (other seed, other 90 % of the
   training rows) are fitted on a fresh 30,000-row loans table; any red slice is a false alarm.
   Target: at most 5 % of trials.
2. Power: in each trial the candidate loses income and debt for phone applications (~1.2 % of
   rows); a trial counts when the red slices name `channel = phone`.
   With --compare, both are also scored for two other designs (DESIGNS): everything searched
   on one half and confirmed on the other; every segment tested on the whole holdout with
   Benjamini-Hochberg over all of them.
3. Cost: discovery on 2,000 and 200,000 rows x 20 features (10 numeric with gaps, 10
   categorical), wall time (median of --repeats) and peak traced memory (tracemalloc).

    PYTHONPATH=src:. python benchmarks/slices.py [--trials 40] [--power-trials 20] [--compare]

Measured 2026-12-02 on the shared 2-core box at load average 10-14, OMP_NUM_THREADS=1,
min_rows 50, tolerance 0.02, alpha 0.05, bins 5 (false alarms over 40 seeds / phone named
over 30 seeds): shipped design 0/40 and 27/30; everything split-half 0/40 and 18/30; every
segment on the whole holdout 0/40 and 26/30 (5 features here; its family grows to thousands
at 20 features). Cost: 2,000 x 20 median 0.23 s, 200,000 x 20 median 2.2 s, peak traced 53 MB
(the frame itself 36 MB).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
import tracemalloc

import numpy as np
import pandas as pd

from mlgate.evaluation.segments import describe_segment, encode_frame, segment_table
from mlgate.evaluation.slice_stats import benjamini_hochberg, is_zero_one, paired_regression_p
from mlgate.evaluation.slices import confirm, discover_regressions, discovery_half
from mlgate.evaluation.slices import judge_conjunctions
from tests.support.loans import equally_good, phone_regression

SETTINGS = {"min_rows": 50, "tolerance": 0.02, "alpha": 0.05, "bins": 5}


def whole_holdout_bh(features, candidate, champion, min_rows, tolerance, alpha, bins) -> list[str]:
    """The alternative design: every segment with min_rows rows tested once on all rows."""
    encoded = encode_frame(features, bins, min_rows)
    table = segment_table(encoded, candidate - champion, np.ones(len(features), dtype=bool))
    eligible = np.flatnonzero(table.rows >= min_rows)
    zero_one = is_zero_one(candidate, champion)
    p_values = []
    for k in eligible:
        rows = table.mask(k)
        p_values.append(paired_regression_p(candidate[rows], champion[rows], tolerance, zero_one)[0])
    reject, _ = benjamini_hochberg(p_values, alpha)
    return [describe_segment(table.conditions(k)) for k in eligible[reject]]


def split_half_only(features, candidate, champion, min_rows, tolerance, alpha, bins) -> list[str]:
    """The other alternative: singles too are searched on one half and confirmed on the other,
    Benjamini-Hochberg over the top 10 at alpha."""
    losses = (candidate, champion)
    half = discovery_half(len(features))
    table = segment_table(encode_frame(features, bins, min_rows), candidate - champion, half)
    tests = judge_conjunctions(table, losses, half, min_rows, tolerance, is_zero_one(*losses), 10)
    findings = confirm("segments", tests, False, losses, 2 * alpha, True, "loss")
    return [finding.name for finding in findings if finding.red]


DESIGNS = {
    "singles on the whole holdout, conjunctions split-half (shipped)":
        lambda *args, **settings: [f.name for f in discover_regressions(*args, **settings).red],
    "everything split-half, BH over the top 10": split_half_only,
    "everything on the whole holdout, BH over every segment": whole_holdout_bh,
}


def run_trials(make, trials: int, first_seed: int, designs: list[str]) -> list[dict]:
    results = []
    for seed in range(first_seed, first_seed + trials):
        holdout = make(seed=seed)
        args = (holdout.features, holdout.candidate_losses, holdout.champion_losses)
        results.append({name: DESIGNS[name](*args, **SETTINGS) for name in designs})
    return results


def report_trials(trials: int, power_trials: int, compare: bool) -> None:
    started = time.perf_counter()
    designs = list(DESIGNS) if compare else list(DESIGNS)[:1]
    equal = run_trials(equally_good, trials, 1000, designs)
    phone = run_trials(phone_regression, power_trials, 0, designs)
    for name in designs:
        alarms = sum(bool(result[name]) for result in equal)
        named = sum("channel = phone" in result[name] for result in phone)
        print(f"{name}: false alarms {alarms}/{trials} ({alarms / trials:.1%}, target <= 5 %); "
              f"phone named {named}/{power_trials} ({named / power_trials:.0%})")
        for result in equal:
            if result[name]:
                print(f"    false alarm: {result[name]}")
    print(f"trials took {time.perf_counter() - started:.0f} s")


def wide_holdout(rows: int, features: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    columns = {}
    for i in range(features // 2):
        values = rng.normal(size=rows)
        values[rng.random(rows) < 0.05] = np.nan
        columns[f"x{i}"] = values
    for i in range(features - features // 2):
        columns[f"c{i}"] = rng.choice([f"v{j}" for j in range(3 + i)], rows)
    champion = (rng.random(rows) < 0.15).astype(float)
    candidate = (rng.random(rows) < 0.15).astype(float)
    return pd.DataFrame(columns), candidate, champion


def report_cost(repeats: int) -> None:
    for rows in (2_000, 200_000):
        frame, candidate, champion = wide_holdout(rows, 20)
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            found = discover_regressions(frame, candidate, champion, **SETTINGS)
            seconds.append(time.perf_counter() - started)
        tracemalloc.start()
        discover_regressions(frame, candidate, champion, **SETTINGS)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        frame_mb = frame.memory_usage(deep=True).sum() / 1e6
        print(f"{rows:,} rows x 20 features: median {statistics.median(seconds):.2f} s "
              f"(min {min(seconds):.2f}, max {max(seconds):.2f}, {repeats} runs), "
              f"{found.segments_searched:,} segments, peak traced {peak / 1e6:.0f} MB "
              f"(the frame itself {frame_mb:.0f} MB)")
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process max RSS {max_rss_mb:.0f} MB; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--power-trials", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--cost-only", action="store_true")
    args = parser.parse_args()
    print(f"settings: {SETTINGS}")
    report_cost(args.repeats)
    if not args.cost_only:
        report_trials(args.trials, args.power_trials, args.compare)


if __name__ == "__main__":
    main()
