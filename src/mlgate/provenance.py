"""What defines a model beyond its settings: the pipeline function's source and the code's git commit.

Recorded on the gate run (mlgate.tracking's TAG_PIPELINE_* and TAG_GIT_*), so two
champions trained from different code can be told apart.
"""

from __future__ import annotations

import hashlib
import inspect
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mlgate.training import resolve_pipeline


def pipeline_source_sha256(dotted: str) -> str:
    """SHA-256 of the source of the function the `pipeline` setting names."""
    source = inspect.getsource(resolve_pipeline(dotted))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class GitState:
    commit: str
    dirty: bool  # uncommitted changes to tracked files, or untracked files


def git_state(folder: Path) -> GitState | None:
    """The commit checked out in `folder` and whether the tree differs from it; None outside git."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", *args], cwd=folder, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None
    status = git("status", "--porcelain", "--untracked-files=normal")
    return GitState(commit=commit.strip(), dirty=bool(status and status.strip()))
