"""A model as a server takes it: loaded from the registry, a run or a folder, or a candidate not yet logged."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException

from mlgate.tracking.models import (
    download_model,
    infer_model_signature,
    load_compiled,
    load_drift_profile,
    load_skops_model,
)
from mlgate.tracking.store import TrackingError, open_store
from mlgate.tracking.tags import gate_scores


@dataclass(frozen=True)
class ServableModel:
    """A logged model, loaded for serving, with what a server needs to know of it."""

    model: Any  # the fitted scikit-learn Pipeline; None when loaded for the compiled form only
    # (column, MLflow type) pairs from the model's signature, in order.
    input_schema: list[tuple[str, str]]
    required: frozenset[str]
    name: str
    version: str
    run_id: str
    alias: str
    # The registered version's tags: mlgate.metric.* and mlgate.gated_at among them.
    tags: dict[str, str]
    # What its gate session measured, by GATE_SCORES name (NaN: not recorded).
    gate_scores: dict[str, float] = field(default_factory=lambda: gate_scores({}))
    # The CompiledModel the server predicts with; None: it predicts with scikit-learn.
    compiled: Any = None
    # The mlgate.monitoring.drift.Profile the server's drift gauges compare with; None: no drift gauges.
    drift_profile: Any = None


def load_servable(
    model_uri: str, tracking_uri: str, code: tuple[str, ...] = (), sklearn_if_compiled: bool = True
) -> ServableModel:
    """Load `models:/name@alias`, `models:/name/N`, `runs:/...` or a local model folder.

    `sklearn_if_compiled=False` leaves `model` None when the compiled form
    loads: batch scoring needs no scikit-learn then, and skops costs seconds
    to import. Raises TrackingError with a message fit for a start-up failure.
    """
    import yaml

    try:
        client = open_store(tracking_uri)
        name, version, run_id, alias, tags = _registered(client, model_uri)
        with tempfile.TemporaryDirectory(prefix="mlgate-serve-") as folder:
            local = Path(model_uri) if Path(model_uri).is_dir() else download_model(model_uri, Path(folder), tracking_uri)
            document = yaml.safe_load((local / "MLmodel").read_text())
            compiled = load_compiled(local)
            model = load_skops_model(local, code) if sklearn_if_compiled or compiled is None else None
            profile = load_drift_profile(local)
    except (MlflowException, OSError, KeyError, ValueError) as error:
        message = getattr(error, "message", None) or str(error)
        raise TrackingError(
            f"cannot load model {model_uri} from {tracking_uri}: {message}; check --model-uri "
            "and MLFLOW_TRACKING_URI (a champion exists only after a green `pytest gates/`)"
        ) from None
    columns = _signature_columns(document, model_uri)
    return ServableModel(
        model=model,
        input_schema=[(c["name"], c["type"]) for c in columns],
        required=frozenset(c["name"] for c in columns if c.get("required", True)),
        name=name,
        version=version,
        run_id=run_id or document.get("run_id", ""),
        alias=alias,
        tags=tags,
        gate_scores=gate_scores(tags),
        compiled=compiled,
        drift_profile=profile,
    )


def _registered(client, model_uri: str) -> tuple[str, str, str, str, dict[str, str]]:
    """(name, version, run id, alias, tags) of a `models:/` URI's registered version; all empty for any other."""
    if not model_uri.startswith("models:/"):
        return "", "", "", "", {}
    ref = model_uri.removeprefix("models:/")
    alias = ""
    if "@" in ref:
        name, alias = ref.split("@", 1)
        registered = client.get_model_version_by_alias(name, alias)
    else:
        name, _, number = ref.partition("/")
        registered = client.get_model_version(name, number)
    return name, str(registered.version), registered.run_id or "", alias, dict(registered.tags)


def _signature_columns(document: dict, model_uri: str) -> list[dict]:
    """The input columns of a logged model's MLmodel signature; a model without one cannot be served."""
    import json

    signature = document.get("signature") or {}
    columns = json.loads(signature.get("inputs") or "[]")
    if not columns:
        raise TrackingError(f"model {model_uri} has no input signature; log it with one")
    return columns


def servable_from_model(model, input_example, name: str = "candidate", compiled=None) -> ServableModel:
    """A fitted model not yet logged, in the shape a server takes: the perf gates serve the candidate."""
    # The same signature log_and_register will record, so the gates serve what would be registered.
    columns = infer_model_signature(model, input_example).inputs.to_dict()
    return ServableModel(
        model=model,
        input_schema=[(c["name"], c["type"]) for c in columns],
        required=frozenset(c["name"] for c in columns if c.get("required", True)),
        name=name,
        version="",
        run_id="",
        alias="",
        tags={},
        compiled=compiled,
    )
