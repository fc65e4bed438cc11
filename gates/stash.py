"""Every key the gate session keeps in `config.stash`, in one place.

Filled in this order: SETTINGS_KEY by the root conftest's pytest_configure;
OUTCOMES_KEY, CANDIDATE_KEY and FINDINGS_KEY by gates/conftest.py's
pytest_configure; BACKGROUND_KEY once the gates are collected; VERDICT_KEY and
SCOREBOARD_KEY at session finish, for the terminal summary.
"""

from __future__ import annotations

import pytest

from gates.background import Background
from gates.candidate import Candidate, Findings
from gates.outcomes import GateOutcomes
from model.settings import Settings

SETTINGS_KEY = pytest.StashKey[Settings]()
OUTCOMES_KEY = pytest.StashKey[GateOutcomes]()
CANDIDATE_KEY = pytest.StashKey[Candidate]()
FINDINGS_KEY = pytest.StashKey[Findings]()
BACKGROUND_KEY = pytest.StashKey[Background]()
VERDICT_KEY = pytest.StashKey[list[str]]()
SCOREBOARD_KEY = pytest.StashKey[list[str]]()
