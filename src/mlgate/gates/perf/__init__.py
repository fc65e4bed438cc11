"""The shipped perf gates: a team's gates/perf/test_perf_gates.py takes them all with one import."""

from __future__ import annotations

from mlgate.gates.perf.exporter_cost import *  # noqa: F403
from mlgate.gates.perf.latency_vs_champion import *  # noqa: F403
from mlgate.gates.perf.serving_latency import *  # noqa: F403
from mlgate.gates.perf.serving_overhead import *  # noqa: F403
from mlgate.gates.perf.sidecar_overhead import *  # noqa: F403
