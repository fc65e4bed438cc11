"""The registry: versions and their tags, the succession claims, `@champion` and loading it."""

from __future__ import annotations

import itertools
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from mlgate.settings import Settings
from mlgate.tracking.models import download_model, load_compiled, load_drift_profile, load_skops_model, user_code
from mlgate.tracking.tags import (
    TAG_CLAIMED_BY_VERSION,
    TAG_IMPORTED_FROM,
    TAG_VERDICT,
    VERDICT_GATING,
    tag_values,
)

CHAMPION_ALIAS = "champion"


@dataclass(frozen=True)
class Champion:
    model: Any
    version: str
    run_id: str
    tags: dict[str, str]
    compiled: Any = None  # its CompiledModel, when it was registered with one
    drift_profile: Any = None  # its mlgate.monitoring.drift.Profile; None: registered before profiles existed

    @property
    def imported_from(self) -> str:
        """Where its bundle came from (a folder, a CI run), or "" for a champion gated in this store."""
        return self.tags.get(TAG_IMPORTED_FROM, "")

    @property
    def shown(self) -> str:
        """How messages name it: its version, and its origin when it was imported."""
        return f"version {self.version}" + (f" (imported from {self.imported_from})" if self.imported_from else "")



def tag_version(client: MlflowClient, name: str, version: str, tags: Mapping[str, str]) -> None:
    for key, value in tag_values(tags).items():
        client.set_model_version_tag(name, version, key, value)


def versions_of(name: str) -> str:
    """The registry search filter for every version of the registered model `name`."""
    return "name = '{}'".format(name.replace("'", "\\'"))


def gating_versions(settings: Settings, client: MlflowClient) -> list:
    """The settings' model's versions still tagged gating, oldest first."""
    gating = f"tags.`{TAG_VERDICT}` = '{VERDICT_GATING}'"
    found = client.search_model_versions(f"{versions_of(settings.model_name)} AND {gating}")
    return sorted(found, key=lambda version: int(version.version))


def claim_name(settings: Settings, expected: str | None, generation: int) -> str:
    """The registered-model name whose creation is the one right to replace `expected` as @champion."""
    return f"{settings.model_name}.succession-of-{expected or 'none'}.{generation}"


def claim_succession(settings: Settings, client: MlflowClient, expected: str | None, version: str) -> str:
    """Take the one right to replace `expected` as @champion for `version`: "" when taken, else the holder.

    MLflow's aliases have no compare-and-set (a later writer silently wins), but a
    registered model's name is a unique key in every store, so creating one is
    atomic: of sessions that all compared with `expected`, exactly one creates the
    claim. Claims are never deleted, so none can be taken twice; one older than
    `champion_claim_lease_seconds` was left by a session that died before crowning
    (or by a registry whose versions were renumbered), and the next generation of
    the claim is contested instead.
    """
    for generation in itertools.count(1):
        name = claim_name(settings, expected, generation)
        try:
            client.create_registered_model(
                name,
                tags={TAG_CLAIMED_BY_VERSION: version},
                description=f"mlgate: {settings.model_name} version {version} claimed the succession of "
                f"@champion version {expected or 'none'}. Keep it: it is what makes that succession happen once.",
            )
            return ""
        except MlflowException as error:
            if error.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        held = client.get_registered_model(name)
        if time.time() - held.creation_timestamp / 1000 < settings.champion_claim_lease_seconds:
            return held.tags.get(TAG_CLAIMED_BY_VERSION, "?")


def crown(settings: Settings, client: MlflowClient, version: str) -> None:
    client.set_registered_model_alias(settings.model_name, CHAMPION_ALIAS, version)



def champion_version(settings: Settings, client: MlflowClient):
    """The registry's `@champion` version, or None when there is none yet."""
    try:
        return client.get_model_version_by_alias(settings.model_name, CHAMPION_ALIAS)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def load_champion(settings: Settings, client: MlflowClient) -> Champion | None:
    version = champion_version(settings, client)
    if version is None:
        return None
    with tempfile.TemporaryDirectory(prefix="mlgate-champion-") as folder:
        model_dir = download_model(f"models:/{settings.model_name}/{version.version}", Path(folder), settings.tracking_uri)
        model = load_skops_model(model_dir, user_code(settings))
        compiled = load_compiled(model_dir)
        profile = load_drift_profile(model_dir, f"{settings.model_name} version {version.version}")
    return Champion(
        model=model, version=str(version.version), run_id=version.run_id, tags=dict(version.tags), compiled=compiled,
        drift_profile=profile,
    )
