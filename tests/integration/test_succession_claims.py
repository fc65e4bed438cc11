"""The compare-and-set the promotion protocol builds from the registry: claiming a champion's succession.

MLflow's `set_registered_model_alias` has no compare-and-set: of two sessions
that both saw version N as champion, the later writer silently wins. Creating a
registered model is atomic (its name is a unique key), so a session crowns only
after creating the claim named after the champion it replaces. Here on a real
SQLite store, one claim at a time; tests/system/test_team_mode.py contends for
claims from many threads at once on PostgreSQL.
"""

from __future__ import annotations

import time

import pytest

from mlgate import tracking
from mlgate.settings import load_settings

LEASE_SECONDS = 2.0


@pytest.fixture
def registry(tmp_path):
    """A fresh SQLite store: claims left by one test must not answer another's."""
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    settings = load_settings(environ={"MLFLOW_TRACKING_URI": uri}, workdir=tmp_path)
    return settings, tracking.client_for(settings)


def test_a_succession_is_granted_once_and_the_refused_hear_who_holds_it(registry):
    settings, client = registry
    assert tracking.claim_succession(settings, client, "3", "7") == ""
    assert tracking.claim_succession(settings, client, "3", "8") == "7"
    assert tracking.claim_succession(settings, client, "3", "9") == "7"
    # Another champion's succession is another claim.
    assert tracking.claim_succession(settings, client, "7", "9") == ""
    assert tracking.claim_succession(settings, client, None, "1") == ""
    claim = client.get_registered_model(tracking.claim_name(settings, "3", 1))
    assert claim.tags[tracking.TAG_CLAIMED_BY_VERSION] == "7"


def test_a_claim_past_its_lease_is_superseded_once(registry, tmp_path):
    settings, client = registry
    lease = load_settings(
        overrides={"champion_claim_lease_seconds": LEASE_SECONDS},
        environ={"MLFLOW_TRACKING_URI": settings.tracking_uri}, workdir=tmp_path,
    )
    assert tracking.claim_succession(lease, client, "3", "7") == ""  # and its session died here
    time.sleep(LEASE_SECONDS + 0.1)
    assert tracking.claim_succession(lease, client, "3", "8") == ""
    assert client.get_registered_model(tracking.claim_name(lease, "3", 2)).tags[tracking.TAG_CLAIMED_BY_VERSION] == "8"
    # The second generation is fresh: the next contender is refused and told who holds it.
    assert tracking.claim_succession(lease, client, "3", "9") == "8"
