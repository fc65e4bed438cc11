"""Every key the gate session keeps in `config.stash`, in one place.

Filled in this order: SETTINGS_KEY, OUTCOMES_KEY, CANDIDATE_KEY and
FINDINGS_KEY by the gate session's pytest_configure (session.py); BACKGROUND_KEY once the gates are collected; VERDICT_KEY and
SCOREBOARD_KEY at session finish, for the terminal summary.
"""

from __future__ import annotations

import pytest

from mlgate.plugin.background import Background
from mlgate.plugin.candidate import Candidate, Findings
from mlgate.plugin.outcomes import GateOutcomes
from mlgate.settings import Settings

SETTINGS_KEY = pytest.StashKey[Settings]()
OUTCOMES_KEY = pytest.StashKey[GateOutcomes]()
CANDIDATE_KEY = pytest.StashKey[Candidate]()
FINDINGS_KEY = pytest.StashKey[Findings]()
BACKGROUND_KEY = pytest.StashKey[Background]()
VERDICT_KEY = pytest.StashKey[list[str]]()
SCOREBOARD_KEY = pytest.StashKey[list[str]]()
