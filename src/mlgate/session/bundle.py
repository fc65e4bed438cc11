"""A bundle, read back: what a green gate session wrote to `artifacts/` (CI's `mlgate-bundle`).

Importing a bundle makes its model the champion of another store (a CI runner's
fresh one, a colleague's), so the champion gate there compares with the model in
production. Everything here is checked before the store is touched: a folder that
is not a green bundle, or whose model was trained on other columns, is refused
with one message and nothing is registered.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlgate.session.report import GateReport, GateResult

REPORT_FILE = "gate_report.json"
METRICS_FILE = "metrics.json"
MODEL_FOLDER = "model"
# The holdout scores a version carries as tags (mlgate.tracking.GATE_SCORES).
SCORES = ("accuracy", "macro_f1", "roc_auc", "rmse", "mae", "r2")


class BundleError(ValueError):
    """The folder cannot be imported as a champion; the message says why and what to pass."""


@dataclass(frozen=True)
class Bundle:
    folder: Path
    report: GateReport  # the green session's gate report
    scores: dict[str, float]  # accuracy, macro_f1, roc_auc (a regressor: rmse, mae, r2) on that session's holdout
    columns: list[str]  # the model's input columns, from its signature
    gated_at: float  # when the model was logged (MLmodel's utc_time_created), unix time

    @property
    def model_dir(self) -> Path:
        return self.folder / MODEL_FOLDER


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(f"{path} is not a readable {what} ({error}); the bundle is damaged") from None


def _report(data: dict[str, Any]) -> GateReport:
    gates = [GateResult(**gate) for gate in data.get("gates", [])]
    known = set(GateReport.__dataclass_fields__) - {"gates"}
    return GateReport(gates=gates, **{k: v for k, v in data.items() if k in known})


def _read_mlmodel(model_dir: Path) -> tuple[list[str], float]:
    """The model's input columns (its signature) and when it was logged (utc_time_created), read once."""
    import yaml

    try:
        document = yaml.safe_load((model_dir / "MLmodel").read_text(encoding="utf-8"))
        inputs = json.loads((document.get("signature") or {}).get("inputs") or "[]")
    except (OSError, yaml.YAMLError, json.JSONDecodeError, AttributeError) as error:
        raise BundleError(f"{model_dir / 'MLmodel'} is not a readable MLflow model ({error})") from None
    if not inputs:
        raise BundleError(f"the model in {model_dir} has no input signature; it was not logged by mlgate")
    try:
        created = datetime.fromisoformat(str(document.get("utc_time_created", ""))).replace(tzinfo=timezone.utc)
    except ValueError:
        return [column["name"] for column in inputs], float("nan")
    return [column["name"] for column in inputs], created.timestamp()


def read_bundle(folder: Path) -> Bundle:
    """The bundle in `folder`, or BundleError: not a folder, not a bundle, or a red session's."""
    if not folder.is_dir():
        raise BundleError(
            f"no bundle at {folder}: not a folder; pass the folder a green `pytest gates/` wrote "
            "(artifacts/, or CI's mlgate-bundle unpacked)"
        )
    report_path = folder / REPORT_FILE
    if not report_path.is_file():
        raise BundleError(
            f"{folder} is not an mlgate bundle: it has no {REPORT_FILE}; pass the folder a green "
            "`pytest gates/` wrote (artifacts/, or CI's mlgate-bundle unpacked)"
        )
    report = _report(_read_json(report_path, "gate report"))
    if not report.promoted or report.failed:
        why = " ".join(report.reasons) or f"{len(report.failed)} gate(s) did not pass"
        raise BundleError(
            f"{folder} holds a red session's report, not a green bundle ({why}); "
            "import only a bundle whose gates all passed"
        )
    if not (folder / MODEL_FOLDER / "MLmodel").is_file():
        raise BundleError(
            f"{folder} has a green report but no {MODEL_FOLDER}/MLmodel: the bundle is incomplete; "
            "download the whole mlgate-bundle artifact"
        )
    metrics = _read_json(folder / METRICS_FILE, "metrics file") if (folder / METRICS_FILE).is_file() else {}
    columns, gated_at = _read_mlmodel(folder / MODEL_FOLDER)
    return Bundle(
        folder=folder,
        report=report,
        scores={k: float(metrics[k]) for k in SCORES if isinstance(metrics.get(k), (int, float))},
        columns=columns,
        gated_at=gated_at,
    )


def check_columns(bundle: Bundle, dataset: str, feature_columns: list[str]) -> None:
    """Refuse a model trained on other columns: the champion gate could not score this holdout."""
    missing = [c for c in bundle.columns if c not in feature_columns]
    extra = [c for c in feature_columns if c not in bundle.columns]
    if not missing and not extra:
        return
    parts = []
    if missing:
        parts.append(f"it needs {_few(missing)}, which {dataset} lacks")
    if extra:
        parts.append(f"{dataset} has {_few(extra)}, which it never saw")
    raise BundleError(
        f"the bundle's model was trained on other columns than {dataset}'s features: "
        f"{'; '.join(parts)}. Import a bundle gated on this dataset, or gate this data under "
        "its own name (--model-name)"
    )


def _few(columns: list[str], shown: int = 5) -> str:
    names = ", ".join(repr(c) for c in columns[:shown])
    return names + (f" and {len(columns) - shown} more" if len(columns) > shown else "")


def version_tags(bundle: Bundle, source: str) -> dict[str, str]:
    """What a version gated here would carry (gate, score and serving tags), plus where it came from."""
    from mlgate import tracking
    from mlgate.session.promotion import gate_tags

    tags = gate_tags(bundle.report)
    tags.update({tracking.metric_tag_key(k): repr(v) for k, v in bundle.scores.items()})
    tags[tracking.TAG_GATED_AT] = str(bundle.gated_at)
    tags[tracking.TAG_DATASET] = bundle.report.dataset
    if bundle.report.split.get("definition"):
        tags[tracking.TAG_SPLIT] = bundle.report.split["definition"]
    if bundle.report.serving.get("engine"):
        tags[tracking.TAG_SERVING_ENGINE] = bundle.report.serving["engine"]
    tags[tracking.TAG_IMPORTED_FROM] = source
    tags[tracking.TAG_SOURCE_RUN_ID] = bundle.report.run_id
    tags[tracking.TAG_SOURCE_VERSION] = str(bundle.report.champion_version or "")
    return tags


def import_champion(settings, bundle: Bundle, source: str) -> str:
    """Register the bundle's model in the settings' store and crown it; returns the new version.

    The model is loaded first, under the same trust rules as any champion, so a
    bundle that could not be served is refused before anything is registered.
    """
    from mlgate import tracking
    from mlgate.session.abandoned import this_session
    from mlgate.session.promotion import crown_or_refuse

    try:
        tracking.load_skops_model(bundle.model_dir)
        tracking.load_compiled(bundle.model_dir)
    except tracking.UntrustedModelError:
        raise
    except Exception as error:  # a damaged file: skops, onnx and yaml each raise their own
        raise BundleError(f"the model in {bundle.model_dir} cannot be loaded ({error}); the bundle is damaged") from None
    client = tracking.client_for(settings)
    run_tags = {
        tracking.TAG_GATE_STATUS: tracking.STATUS_PASSED,  # gated green where it was made
        tracking.TAG_DATASET: bundle.report.dataset,
        tracking.TAG_IMPORTED_FROM: source,
        tracking.TAG_SOURCE_RUN_ID: bundle.report.run_id,
    }
    current = tracking.champion_version(settings, client)
    expected = str(current.version) if current is not None else None
    tags = {**version_tags(bundle, source), tracking.TAG_VERDICT: tracking.VERDICT_GATING,
            tracking.TAG_GATING_SESSION: this_session()}  # until crowned, as a gate session's version
    version = tracking.register_folder(settings, client, bundle.model_dir, run_tags, tags)
    # A gate session of the same team may be crowning right now: the import takes its turn like one.
    refused = crown_or_refuse(settings, client, expected, version)
    if refused:
        raise BundleError(f"version {version} was registered but not crowned: {refused.replace('rerun the gates', 'import again')}")
    return version
