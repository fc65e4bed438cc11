"""The only door to MLflow: the gate run, the registry, the champion, and every tag key.

Split by concern: `tags` (every tag key), `store` (opening the store), `runs` (the gate
run), `models` (logging, loading, trusted types), `registry` (versions, claims,
@champion), `servable` (a model as a server takes it), `verdicts` (data verdicts) and
`history` (a registered model's versions and runs). Every public name is re-exported
here, so `from mlgate import tracking` and `from mlgate.tracking import X` are the API.
"""

from __future__ import annotations

from mlgate.tracking.history import (
    RUN_IDS_PER_SEARCH,
    VERSIONS_PAGE_SIZE,
    RunFacts,
    VersionFacts,
    model_history,
)
from mlgate.tracking.models import (
    COMPILED_FOLDER,
    ESTIMATOR_PACKAGE_TYPES,
    MLGATE_MODEL_TYPES,
    MODEL_ARTIFACT_NAME,
    MODEL_REQUIREMENTS,
    TRUSTED_TYPE_PREFIXES,
    UntrustedModelError,
    _refused,
    download_model,
    estimator_package,
    infer_model_signature,
    load_compiled,
    load_drift_profile,
    load_skops_model,
    log_and_register,
    register_folder,
    trusted_types,
    user_code,
)
from mlgate.tracking.registry import (
    CHAMPION_ALIAS,
    Champion,
    champion_version,
    claim_name,
    claim_succession,
    crown,
    gating_versions,
    load_champion,
    tag_version,
)
from mlgate.tracking.runs import finish_run, log_files, log_values, set_tags, start_gate_run
from mlgate.tracking.servable import ServableModel, load_servable, servable_from_model
from mlgate.tracking.store import (
    PROGRESS_BAR_ENV,
    SESSION_HTTP_DEFAULTS,
    STORE_LOCK_SUFFIX,
    STORE_LOCK_WAIT_SECONDS,
    TrackingError,
    _client,
    _ready,
    client_for,
    fail_fast_on_a_lost_server,
    open_store,
    quiet_progress_bars,
    sqlite_file,
    unreachable,
)
from mlgate.tracking.tags import (
    DATA_VERDICT_ARTIFACT,
    GATE_SCORES,
    GATE_TAG_PREFIX,
    MAX_TAG_CHARS,
    METRIC_TAG_PREFIX,
    STATUS_FAILED,
    STATUS_PASSED,
    STATUS_RUNNING,
    TAG_ABANDONED_BECAUSE,
    TAG_CHAMPION_VERSION,
    TAG_CLAIMED_BY_VERSION,
    TAG_COMPILE_SKIPPED_BECAUSE,
    TAG_DATASET,
    TAG_DATA_FINGERPRINT,
    TAG_DECLARED_SLICES,
    TAG_DATA_VERDICT_FROM,
    TAG_DATA_VERDICT_KEY,
    TAG_FAILED_GATES,
    TAG_GATED_AT,
    TAG_GATE_STATUS,
    TAG_GATING_SESSION,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_IMPORTED_FROM,
    TAG_PIPELINE,
    TAG_PIPELINE_SOURCE_SHA256,
    TAG_REFUSED_BECAUSE,
    TAG_SERVING_ENGINE,
    TAG_SOURCE_RUN_ID,
    TAG_SOURCE_VERSION,
    TAG_SPLIT,
    TAG_VERDICT,
    VERDICT_ABANDONED,
    VERDICT_FAILED,
    VERDICT_GATING,
    VERDICT_PROMOTED,
    VERDICT_REFUSED,
    gate_scores,
    gate_tag_key,
    metric_tag_key,
    tag_values,
)
from mlgate.tracking.verdicts import find_data_verdict, record_data_verdict
