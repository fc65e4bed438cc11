"""Every tag key a gate session writes, on its run and on a version it registers, and their values."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

# --- the tags a gate session writes: on its run, and on a version it registers ------------
TAG_GATE_STATUS = "mlgate.gate_status"  # running, then passed or failed (run)
STATUS_RUNNING, STATUS_PASSED, STATUS_FAILED = "running", "passed", "failed"
TAG_DATASET = "mlgate.dataset"  # the dataset as given: a path or sklearn:NAME (run, version)
TAG_REFUSED_BECAUSE = "mlgate.refused_because"  # why nothing was promoted (run, version)
# A version's verdict: gating from registration, then promoted, refused or failed; abandoned
# when a later session finds its session gone (model/session/abandoned.py). Never deleted.
TAG_VERDICT = "mlgate.verdict"
VERDICT_GATING, VERDICT_PROMOTED, VERDICT_REFUSED = "gating", "promoted", "refused"
VERDICT_FAILED, VERDICT_ABANDONED = "failed", "abandoned"
TAG_GATING_SESSION = "mlgate.gating_session"  # "host pid start-ticks" of the session registering it (version)
TAG_ABANDONED_BECAUSE = "mlgate.abandoned_because"  # whose session is gone, and how that is known (version)
TAG_FAILED_GATES = "mlgate.failed_gates"  # the gates that did not pass (run)
TAG_CHAMPION_VERSION = "mlgate.champion_version"  # the version a green session crowned (run)
TAG_GATED_AT = "mlgate.gated_at"  # unix time of the green session (version)
TAG_SERVING_ENGINE = "mlgate.serving_engine"  # onnxruntime or scikit-learn: what serves it (run, version)
TAG_COMPILE_SKIPPED_BECAUSE = "mlgate.compile_skipped_because"  # why it serves scikit-learn (run, version)
TAG_CLAIMED_BY_VERSION = "mlgate.claimed_by_version"  # who holds a succession claim (claim_succession)
TAG_PIPELINE = "mlgate.pipeline"  # the `pipeline` setting: package.module:function (run)
TAG_PIPELINE_SOURCE_SHA256 = "mlgate.pipeline_source_sha256"  # SHA-256 of that function's source (run)
TAG_GIT_DIRTY = "mlgate.git_dirty"  # "true" when the tree differed from that commit (run)
TAG_DATA_VERDICT_KEY = "mlgate.data_verdict_key"  # what the data verdict depends on (mlgate.data_verdicts) (run)
TAG_DATA_VERDICT_FROM = "mlgate.data_verdict_from"  # the run whose recorded verdict this session reused (run)
# The data gate's full verdict (SuiteValidation JSON) on the run that computed or reused it.
DATA_VERDICT_ARTIFACT = "data_validation/suite_validation.json"
GATE_TAG_PREFIX = "mlgate.gate."  # + family.name: one per gate, "passed value=... threshold=..."
TAG_DATA_FINGERPRINT = "mlgate.data_fingerprint"  # sha256 of the table the session read (run, version)
# What decided each row's side of the holdout (SplitDefinition.describe()); the next champion gate
# reads it to leave out the holdout rows this model trained on (run, version).
TAG_SPLIT = "mlgate.split"
TAG_DECLARED_SLICES = "mlgate.declared_slices"  # the declared slices it was held to, each with its status (version)
# MLflow's own tag for the commit that ran (set by `mlflow run`, and by the session: model/provenance.py).
TAG_GIT_COMMIT = "mlflow.source.git.commit"
METRIC_TAG_PREFIX = "mlgate.metric."  # + accuracy, macro_f1, roc_auc (rmse, mae, r2): holdout scores (version)
# A champion imported from a bundle (mlgate import-champion), not gated in this store:
TAG_IMPORTED_FROM = "mlgate.imported_from"  # where the bundle came from: a folder, a CI run (run, version)
TAG_SOURCE_RUN_ID = "mlgate.source_run_id"  # the gate run that made the bundle, in its own store (version)
TAG_SOURCE_VERSION = "mlgate.source_version"  # the version it was crowned as there (version)
# What a served model reports of its gate session, by name; NaN when a tag is absent.
GATE_SCORES = {
    "accuracy": METRIC_TAG_PREFIX + "accuracy",
    "macro_f1": METRIC_TAG_PREFIX + "macro_f1",
    "roc_auc": METRIC_TAG_PREFIX + "roc_auc",
    "rmse": METRIC_TAG_PREFIX + "rmse",
    "mae": METRIC_TAG_PREFIX + "mae",
    "r2": METRIC_TAG_PREFIX + "r2",
    "gated_at": TAG_GATED_AT,
}
# A tag's value is capped by MLflow; gate names and messages are cut to fit.
MAX_TAG_CHARS = 5000


def tag_values(tags: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(value)[:MAX_TAG_CHARS] for key, value in tags.items()}



def gate_tag_key(family: str, name: str) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "_-./ " else "_" for ch in name)
    return f"{GATE_TAG_PREFIX}{family}.{safe}"


def metric_tag_key(metric: str) -> str:
    return METRIC_TAG_PREFIX + metric


def gate_scores(tags: Mapping[str, str]) -> dict[str, float]:
    """The holdout scores and gate time a green session recorded on a version; NaN where absent."""
    scores = {}
    for name, key in GATE_SCORES.items():
        try:
            scores[name] = float(tags[key])
        except (KeyError, TypeError, ValueError):
            scores[name] = math.nan
    return scores
