"""Keys for what the gate session keeps in `config.stash`."""

from __future__ import annotations

import pytest

from model.settings import Settings

SETTINGS_KEY = pytest.StashKey[Settings]()
