"""The metrics of monitoring/metrics.py and middleware.py, on a registry of the test's own, no socket.

Each test builds its own CollectorRegistry (the `registry` fixture); none
reads prometheus_client's global one. Values are read with
`registry.get_sample_value`. The middleware is driven as an ASGI callable.
Counting over real HTTP is in tests/integration/test_exporter_http.py; what a
render costs is the perf gate `test_metrics_render_p99_within_budget`'s to say.
"""

from __future__ import annotations

import asyncio
import math

import pytest
from prometheus_client import REGISTRY

from mlgate import tracking
from mlgate.monitoring.metrics import (
    DURATION_BUCKETS_SECONDS,
    MAX_PREDICTION_LABELS,
    OVERFLOW_LABEL,
    ExporterError,
    ServingMetrics,
    build_registry,
)
from mlgate.monitoring.middleware import instrument
from tests.support.scoring_apps import RUN_ID, servable


def _sample_keys(registry) -> list[tuple[str, tuple]]:
    return [(s.name, tuple(s.labels.items())) for family in registry.collect() for s in family.samples]


def test_metrics_register_on_the_given_registry_not_the_global_one(registry, metrics):
    ServingMetrics(build_registry())  # a second set in the same process does not collide
    metrics.record_request("/invocations", "success", 0.003)
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "success"}) == 1
    assert REGISTRY.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "success"}) is None


def test_invocations_series_exist_at_zero_before_any_request(registry, metrics):
    for outcome in ("success", "client_error", "server_error", "upstream_error"):
        labels = {"endpoint": "/invocations", "outcome": outcome}
        assert registry.get_sample_value("mlgate_inference_requests_total", labels) == 0


def test_duration_buckets_resolve_half_a_millisecond_to_one_second(registry, metrics):
    metrics.record_request("/invocations", "success", 0.0004)
    bucket = "mlgate_inference_request_duration_seconds_bucket"
    bounds = [float(le) for (name, labels) in _sample_keys(registry) if name == bucket for key, le in labels if key == "le"]
    assert sorted(set(bounds) - {math.inf}) == list(DURATION_BUCKETS_SECONDS)
    assert registry.get_sample_value(bucket, {"endpoint": "/invocations", "le": "0.0005"}) == 1


def test_observe_predictions_counts_rows_by_label(registry, metrics):
    import numpy as np

    metrics.observe_predictions(np.array([0, 1, 1, 1]))
    metrics.observe_predictions(["benign", "malignant"])
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "1"}) == 3
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "0"}) == 1
    assert registry.get_sample_value("mlgate_predictions_total", {"label": "benign"}) == 1
    assert registry.get_sample_value("mlgate_inference_payload_rows_count") == 2
    assert registry.get_sample_value("mlgate_inference_payload_rows_sum") == 6
    assert registry.get_sample_value("mlgate_inference_payload_rows_bucket", {"le": "4.0"}) == 2


def test_prediction_labels_are_capped_so_a_regressor_cannot_explode_cardinality(registry, metrics):
    metrics.observe_predictions([i + 0.5 for i in range(MAX_PREDICTION_LABELS + 40)])
    labels = {
        s.labels["label"]
        for family in registry.collect()
        if family.name == "mlgate_predictions"
        for s in family.samples
        if s.name == "mlgate_predictions_total"
    }
    assert len(labels) == MAX_PREDICTION_LABELS + 1
    assert registry.get_sample_value("mlgate_predictions_total", {"label": OVERFLOW_LABEL}) == 40


def test_set_model_exports_identity_and_gate_values_from_version_tags(registry, metrics):
    metrics.set_model(servable())
    info = {"name": "mlgate-classifier", "version": "7", "run_id": RUN_ID, "alias": "champion"}
    assert registry.get_sample_value("mlgate_model_info", info) == 1
    assert registry.get_sample_value("mlgate_model_holdout_accuracy") == pytest.approx(0.9649122807017544)
    assert registry.get_sample_value("mlgate_model_macro_f1") == pytest.approx(0.9623015873015873)
    assert registry.get_sample_value("mlgate_model_roc_auc") == pytest.approx(0.9953703703703703)
    assert registry.get_sample_value("mlgate_model_last_green_gate_timestamp_seconds") == 1764150000.25


def test_missing_or_malformed_gate_tags_export_nan_not_zero(registry, metrics):
    # 0 would read as "accuracy 0" and fire MlgateModelAccuracyBelowMinimum.
    metrics.set_model(servable(tags={tracking.metric_tag_key("accuracy"): "n/a"}))
    for name in ("mlgate_model_holdout_accuracy", "mlgate_model_macro_f1", "mlgate_model_roc_auc"):
        assert math.isnan(registry.get_sample_value(name))


def test_set_model_again_replaces_the_previous_model_info(registry, metrics):
    metrics.set_model(servable(version="6"))
    metrics.set_model(servable(version="7"))
    versions = [
        (s.labels["version"], s.value)
        for family in registry.collect()
        if family.name == "mlgate_model_info"
        for s in family.samples
    ]
    assert versions == [("7", 1.0)]


def test_app_raising_before_it_answers_counts_as_server_error_and_still_raises(registry, metrics):
    async def broken(scope, receive, send):
        raise RuntimeError("no response at all")

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        raise AssertionError("nothing should be sent")

    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": [], "query_string": b""}
    with pytest.raises(RuntimeError, match="no response"):
        asyncio.run(instrument(broken, metrics, registry)(scope, receive, send))
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "server_error"}) == 1
    assert registry.get_sample_value("mlgate_inference_in_flight_requests") == 0


def test_caller_hanging_up_before_the_answer_counts_as_client_error(registry, metrics):
    async def reading(scope, receive, send):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise OSError("client went away")  # as Starlette's ClientDisconnect would

    async def receive():
        return {"type": "http.disconnect"}

    async def send(message):
        raise AssertionError("nothing should be sent")

    scope = {"type": "http", "method": "POST", "path": "/invocations", "headers": [], "query_string": b""}
    with pytest.raises(OSError):
        asyncio.run(instrument(reading, metrics, registry)(scope, receive, send))
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "client_error"}) == 1
    assert registry.get_sample_value("mlgate_inference_requests_total", {"endpoint": "/invocations", "outcome": "server_error"}) == 0


def test_build_registry_refuses_a_multiprocess_dir_set_after_import(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    with pytest.raises(ExporterError, match="before the server starts"):
        build_registry()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "missing"))
    with pytest.raises(ExporterError, match="not a directory"):
        build_registry()


