"""What a data-gate verdict depends on, as one key: the dataset's bytes, the suite, the judges.

An unchanged dataset judged by an unchanged suite with the same libraries gets
the same verdict, so a session may reuse the verdict a past session recorded in
the tracking store (mlgate.tracking.find_data_verdict) instead of importing
great_expectations and validating again. Any change to any part is a new key.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from importlib.metadata import version as installed_version

from mlgate.settings import Settings

# Bumped when what a cached verdict holds changes shape.
KEY_FORMAT = "mlgate-data-verdict-1"
# The libraries whose versions judge the data (ours by the source of the module that runs the suite).
JUDGES = ("great_expectations", "pandas", "numpy")


def judges() -> dict[str, str]:
    """Each judge's version; mlgate's own judging code by the hash of its source."""
    from mlgate import expectations

    versions = {name: installed_version(name) for name in JUDGES}
    versions["mlgate.expectations"] = hashlib.sha256(inspect.getsource(expectations).encode()).hexdigest()[:16]
    return versions


def verdict_key(settings: Settings, content: bytes | None) -> str:
    """The key of this dataset's verdict: None content means a bundled dataset (its name and sklearn)."""
    digest = hashlib.sha256(KEY_FORMAT.encode())
    if content is None:
        digest.update(f"bundled:{settings.dataset}:sklearn={installed_version('scikit-learn')}".encode())
    else:
        digest.update(b"bytes:" + hashlib.sha256(content).digest())
    digest.update(f"target:{settings.target}".encode())
    digest.update(b"suite:" + hashlib.sha256(settings.suite_path.read_bytes()).digest())
    digest.update(json.dumps(judges(), sort_keys=True).encode())
    return digest.hexdigest()
