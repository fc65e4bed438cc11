"""Prometheus metrics for the scoring server and the sidecar: what is measured, on which registry.

    registry = build_registry()
    metrics = ServingMetrics(registry)
    metrics.set_model(servable)
    app = instrument(create_app(...), metrics, registry)

Decisions the alert rules, the dashboard and the tests rely on:

- Metrics live on the registry passed in, never on prometheus_client's global
  one, so tests (and two apps in one process) do not share counts.
- With PROMETHEUS_MULTIPROC_DIR set (uvicorn `--workers N`), every worker
  writes its values to files in that folder and `/metrics`, whichever worker
  answers it, renders the merge of all of them through a
  MultiProcessCollector. prometheus_client chooses file-backed values when it
  is first imported, so the variable must be set before the process starts.
  The metrics are then *not* registered on the registry: the collector
  already reports them, and registering them too would export each twice.
- `/metrics` scrapes are answered by the middleware and are not counted as
  requests: Prometheus already records every scrape (`up`,
  `scrape_duration_seconds`), and counting them would add the scrape
  interval to the request rate and make "no traffic" look like traffic.
- Outcomes: 2xx/3xx success, 4xx client_error, 5xx or an exception
  server_error, and upstream_error when the sidecar could not reach its
  upstream (the app says so with `mark_upstream_error`). A caller that hangs
  up before any answer is a client_error, not a fault of the server.
- `endpoint` is one of KNOWN_ENDPOINTS or "other", and prediction labels are
  capped at MAX_PREDICTION_LABELS values, so no caller can grow the series
  count without bound.
- Model-quality gauges start as NaN, not 0: a model served without gate tags
  (a local folder, say) must not look like a model with accuracy 0 and fire
  MlgateModelAccuracyBelowMinimum.
- Model info and quality gauges use multiprocess mode `livemostrecent`: every
  worker serves the same model, so one series per label set (no `pid` label)
  is the truthful answer, and the latest write wins if the model is set again.
- Drift gauges (`track_drift`) are not prometheus_client metrics but a
  collector computing PSI when scraped, over every worker's decayed window:
  see `mlgate.monitoring.drift_window`.
"""

from __future__ import annotations

import math
import os
import weakref
from collections import Counter as Tally
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import values as prometheus_values
from prometheus_client.multiprocess import MultiProcessCollector

# Routes that get their own `endpoint` label value; any other path is "other".
KNOWN_ENDPOINTS = frozenset({"/invocations", "/ping", "/health", "/version"})
METRICS_PATH = "/metrics"
OTHER_ENDPOINT = "other"
OUTCOMES = ("success", "client_error", "server_error", "upstream_error")
# 0.1 ms to 1 s: a compiled model's ~0.3 ms p50, a scikit-learn model's ~5 ms and the 50 ms
# p99 budget all fall on resolved buckets.
DURATION_BUCKETS_SECONDS = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0,
)
PAYLOAD_ROWS_BUCKETS = tuple(float(2**power) for power in range(11))  # 1, 2, 4, ..., 1024
# A classifier has a handful of classes; past this many distinct values the
# upstream is not one, and further values are counted under OVERFLOW_LABEL.
MAX_PREDICTION_LABELS = 64
# A regressor's value buckets when it carries no drift profile: decades either side of zero.
VALUE_BUCKETS = (-1e4, -1e3, -1e2, -10.0, -1.0, 0.0, 1.0, 10.0, 1e2, 1e3, 1e4)
OVERFLOW_LABEL = "__other__"
# Where the middleware leaves a per-request RequestOutcome for the app below it.
SCOPE_KEY = "mlgate.request"
# What a green gate session recorded on the served version (the servable's
# `gate_scores`, read from its tags by mlgate.tracking), to gauge names.
GATE_SCORE_GAUGES = (
    ("accuracy", "mlgate_model_holdout_accuracy", "Holdout accuracy recorded by the gate session, 0..1."),
    ("macro_f1", "mlgate_model_macro_f1", "Holdout macro-F1 recorded by the gate session, 0..1."),
    ("roc_auc", "mlgate_model_roc_auc", "Holdout ROC AUC recorded by the gate session, 0..1."),
    (
        "gated_at",
        "mlgate_model_last_green_gate_timestamp_seconds",
        "Unix time of the green gate session that registered the served model.",
    ),
)

# Registries built by build_registry() around a MultiProcessCollector.
_MULTIPROCESS_REGISTRIES: weakref.WeakSet[CollectorRegistry] = weakref.WeakSet()


class ExporterError(RuntimeError):
    """The metrics cannot be set up as asked; the message says what to change."""


def _file_backed_values() -> bool:
    """Whether prometheus_client chose multiprocess (mmap file) values when it was imported."""
    return prometheus_values.ValueClass is not prometheus_values.MutexValue


def build_registry() -> CollectorRegistry:
    """A fresh registry; with PROMETHEUS_MULTIPROC_DIR set, one that merges every worker's files."""
    registry = CollectorRegistry()
    # prometheus_client's own variable, read where prometheus_client reads it.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder:
        return registry
    if not os.path.isdir(folder):
        raise ExporterError(
            f"PROMETHEUS_MULTIPROC_DIR is {folder!r}, which is not a directory; create it "
            "(empty) before starting the server"
        )
    if not _file_backed_values():
        raise ExporterError(
            "PROMETHEUS_MULTIPROC_DIR was set after prometheus_client was imported, so this "
            "process keeps its metrics in memory; set it in the environment before the server starts"
        )
    MultiProcessCollector(registry, path=folder)
    _MULTIPROCESS_REGISTRIES.add(registry)
    return registry


class ServingMetrics:
    """Every mlgate serving metric, registered on one registry."""

    def __init__(self, registry: CollectorRegistry):
        self.multiprocess = registry in _MULTIPROCESS_REGISTRIES
        # See the module docstring: in multiprocess mode the collector reports these.
        target = None if self.multiprocess else registry
        self._declare_traffic_series(target)
        self._declare_model_series(target)
        self._model_identity: tuple[str, str, str, str] | None = None
        self.drift = None  # a mlgate.monitoring.drift_window.DriftWindow, once track_drift is called
        # A regressor's predictions as a histogram of values (set_model); a classifier's are counted by label.
        self.values: Histogram | None = None
        self._target = target
        self._registry = registry
        # Label children cached by value: `.labels()` takes a lock and builds
        # tuples, which the per-request path should not pay for.
        self._durations: dict[str, Any] = {}
        self._counts: dict[tuple[str, str], Any] = {}
        self._labels: dict[str, Any] = {}
        # /invocations series exist from the start, at 0, so that rate() and
        # the error ratio have data before the first error happens.
        for outcome in OUTCOMES:
            self._request_counter("/invocations", outcome)
        self._duration_histogram("/invocations")

    def _declare_traffic_series(self, target: CollectorRegistry | None) -> None:
        """What the server answered: durations, outcomes, requests in flight, labels, rows per request."""
        self.request_duration = Histogram(
            "mlgate_inference_request_duration_seconds",
            "Time from request start to the last response byte, by endpoint.",
            ["endpoint"],
            buckets=DURATION_BUCKETS_SECONDS,
            registry=target,
        )
        self.requests = Counter(
            "mlgate_inference_requests_total",
            "Requests answered, by endpoint and outcome (success, client_error, server_error, upstream_error).",
            ["endpoint", "outcome"],
            registry=target,
        )
        self.in_flight = Gauge(
            "mlgate_inference_in_flight_requests",
            "Requests being answered now (summed over live workers).",
            multiprocess_mode="livesum",
            registry=target,
        )
        self.predictions = Counter(
            "mlgate_predictions_total",
            f"Predicted labels returned, by label (at most {MAX_PREDICTION_LABELS} values, then {OVERFLOW_LABEL}).",
            ["label"],
            registry=target,
        )
        self.payload_rows = Histogram(
            "mlgate_inference_payload_rows",
            "Rows scored per /invocations request.",
            buckets=PAYLOAD_ROWS_BUCKETS,
            registry=target,
        )

    def _declare_model_series(self, target: CollectorRegistry | None) -> None:
        """Which model is served and its gate scores."""
        self.model_info = Gauge(
            "mlgate_model_info",
            "1 for the model being served: registered name, version, run id and alias.",
            ["name", "version", "run_id", "alias"],
            multiprocess_mode="livemostrecent",
            registry=target,
        )
        self.gate_gauges: dict[str, Gauge] = {}
        for score, name, documentation in GATE_SCORE_GAUGES:
            gauge = Gauge(name, documentation, multiprocess_mode="livemostrecent", registry=target)
            gauge.set(math.nan)
            self.gate_gauges[score] = gauge

    def _request_counter(self, endpoint: str, outcome: str):
        child = self._counts.get((endpoint, outcome))
        if child is None:
            child = self._counts[(endpoint, outcome)] = self.requests.labels(endpoint, outcome)
        return child

    def _duration_histogram(self, endpoint: str):
        child = self._durations.get(endpoint)
        if child is None:
            child = self._durations[endpoint] = self.request_duration.labels(endpoint)
        return child

    def _prediction_counter(self, label: str):
        child = self._labels.get(label)
        if child is None:
            if len(self._labels) >= MAX_PREDICTION_LABELS:
                label = OVERFLOW_LABEL
                child = self._labels.get(label)
            if child is None:
                child = self._labels[label] = self.predictions.labels(label)
        return child

    def record_request(self, endpoint: str, outcome: str, duration_seconds: float) -> None:
        """One answered request; `endpoint` already reduced to a known route or "other"."""
        self._request_counter(endpoint, outcome).inc()
        self._duration_histogram(endpoint).observe(duration_seconds)

    def track_drift(self, window) -> None:
        """Fold scored rows into `window` (a DriftWindow) and export its drift gauges on this registry."""
        from mlgate.monitoring.drift_window import DriftCollector

        self.drift = window
        self._registry.register(DriftCollector(window))

    def observe_predictions(self, labels, columns=None) -> None:
        """The predicted labels of one /invocations request: one count per row, by label.

        `columns` (the request's parsed rows: `arrays` in the model's column order
        and their float `block`, or None) are folded into the drift window, if any.
        """
        values = labels.tolist() if hasattr(labels, "tolist") else list(labels)
        if not values:
            return
        if self.values is not None:
            observe = self.values.observe
            for value in values:
                observe(value)
        else:
            self._count_labels(values)
        self.payload_rows.observe(len(values))
        if self.drift is not None and columns is not None:
            self.drift.fold(columns.arrays, columns.block, values)

    def _count_labels(self, values: list) -> None:
        try:
            tally = Tally(values)  # count first, stringify each distinct label once
        except TypeError:  # unhashable predictions (lists, dicts): count their text
            tally = Tally(map(str, values))
        for label, count in tally.items():
            self._prediction_counter(str(label)).inc(count)

    def _watch_values(self, servable) -> None:
        """A regressor's histogram, its buckets the quantile edges of its holdout predictions (its drift profile)."""
        model = getattr(servable, "model", None)
        if self.values is not None or model is None:  # a stand-in or a compiled-only servable: nothing to ask
            return
        from sklearn.base import is_regressor

        if not is_regressor(model):
            return
        profile = getattr(servable, "drift_profile", None)
        edges = tuple(profile.prediction_edges) if profile is not None else ()
        self.values = Histogram(
            "mlgate_prediction_value",
            "A regressor's predicted values; bucket bounds are quantiles of its holdout predictions (target's unit).",
            buckets=edges or VALUE_BUCKETS,
            registry=self._target,
        )

    def set_model(self, servable) -> None:
        """The served model's identity and the gate values recorded on its registered version."""
        identity = (servable.name, servable.version, servable.run_id, servable.alias)
        previous, self._model_identity = self._model_identity, identity
        if previous is not None and previous != identity:
            self.model_info.labels(*previous).set(0)
            if not self.multiprocess:  # file-backed values cannot be removed
                self.model_info.remove(*previous)
        self.model_info.labels(*identity).set(1)
        self._watch_values(servable)
        scores = getattr(servable, "gate_scores", None) or {}
        for score, gauge in self.gate_gauges.items():
            gauge.set(scores.get(score, math.nan))
