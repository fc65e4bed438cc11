"""Measuring one-row requests for the perf gates: a kept-alive client, paired timings, percentiles."""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from scipy.stats import binomtest

from mlgate.serving.latency import percentile

# Each measurement stops after perf_measure_seconds (half that for one server) or its most
# rounds, whichever comes first, so a slow model fails its gates quickly instead of stalling
# the session.
MIN_ROUNDS, MAX_ROUNDS = 20, 200
# Differences of two servers need more rounds than one server's percentiles.
MAX_PAIRS = 300
WARMUP_ROUNDS = 5
# An overhead gate refuses when a sign test says, at this level, that the median
# added latency is over its budget: a median a hair over it by chance is not evidence.
OVERHEAD_SIGNIFICANCE_LEVEL = 0.01


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


def rounds_for(action, seconds: float, most: int = MAX_ROUNDS) -> int:
    """Rounds that fit `seconds` at this action's speed, within MIN_ROUNDS..`most`."""
    started = time.perf_counter()
    for _ in range(WARMUP_ROUNDS):
        action()
    each = (time.perf_counter() - started) / WARMUP_ROUNDS
    return max(MIN_ROUNDS, min(most, int(seconds / each)))


class Pairs:
    """Two timed actions in turn, the order swapped every round.

    Load from elsewhere on the machine then falls on both alike: the median of
    the per-round differences is the second action's own extra cost, and the
    ratio of their percentiles compares two servers measured at the same
    moments, less moved by drifts in that load than two runs one after the other.
    """

    def __init__(self, base: Callable[[], object], other: Callable[[], object]) -> None:
        self.base, self.other = base, other
        self.base_seconds: list[float] = []
        self.other_seconds: list[float] = []

    def __call__(self) -> None:
        perf_counter = time.perf_counter
        first_base = len(self.base_seconds) % 2 == 1
        for is_base in (first_base, not first_base):
            action = self.base if is_base else self.other
            started = perf_counter()
            action()
            elapsed = perf_counter() - started
            (self.base_seconds if is_base else self.other_seconds).append(elapsed)

    def clear(self) -> None:
        self.base_seconds.clear()
        self.other_seconds.clear()

    @property
    def base_p50(self) -> float:
        return statistics.median(self.base_seconds)

    @property
    def extra_p50(self) -> float:
        """The median over rounds of (other - base): the second action's added latency."""
        return statistics.median(o - b for o, b in zip(self.other_seconds, self.base_seconds, strict=True))

    def over_budget_p(self, budget: float) -> float:
        """One-sided sign test's p-value that the median of (other - base) is over `budget`.

        The per-round differences are noisy (a slow model's own predict time
        varies by more than a middleware costs), so the rounds that came out
        over budget must be significantly more than half of them.
        """
        extra = [o - b for o, b in zip(self.other_seconds, self.base_seconds, strict=True)]
        over = sum(e > budget for e in extra)
        return binomtest(over, len(extra), 0.5, alternative="greater").pvalue

    def over_budget(self, budget: float) -> bool:
        """The added latency is over `budget` on the evidence (see `over_budget_p`)."""
        return self.over_budget_p(budget) < OVERHEAD_SIGNIFICANCE_LEVEL

    def ratio(self, q: float) -> float:
        """The other action's q-th percentile over the base's."""
        return percentile(self.other_seconds, q) / percentile(self.base_seconds, q)

    def ratio_in_both_halves(self, q: float) -> float:
        """The lower of `ratio(q)` over the first and the second half of the rounds (see `in_both_halves`)."""
        half = len(self.base_seconds) // 2
        return min(
            percentile(other, q) / percentile(base, q)
            for base, other in (
                (self.base_seconds[:half], self.other_seconds[:half]),
                (self.base_seconds[half:], self.other_seconds[half:]),
            )
        )


def in_both_halves(samples: list[float], q: float) -> float:
    """The lower of the q-th percentile of the first and of the second half of the rounds.

    A tail percentile of one run can be one burst of load from elsewhere on the
    machine; a model or a server that got slower is slower in both halves of the
    run. A gate that compares this with its budget goes red only when both halves
    are over it: chance alarms become rare, a lasting slowdown still shows.
    """
    half = len(samples) // 2
    return min(percentile(samples[:half], q), percentile(samples[half:], q))


def measure_pairs(benchmark, group: str, pairs: Pairs, seconds: float, most: int = MAX_PAIRS) -> int:
    """Run `pairs` as a pytest-benchmark measurement of as many rounds as fit `seconds`; the rounds run."""
    rounds = rounds_for(pairs, seconds, most)
    pairs.clear()  # the warm-up rounds are not measured
    benchmark.group = group
    benchmark.pedantic(pairs, rounds=rounds)
    timings(benchmark)
    return rounds


def timings(benchmark) -> list[float]:
    """pytest-benchmark's raw per-round timings: the percentiles budgets are written in."""
    if benchmark.disabled or benchmark.stats is None:
        pytest.fail("perf gates need pytest-benchmark's timings; remove --benchmark-disable")
    return list(benchmark.stats.stats.data)
