"""The slice gates' fixture: candidate and champion losses on the same holdout rows.

Both models score the rows the other model gates score (`holdout_frame`), so each row's two
losses are paired; the segments are described with the holdout's own columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlgate.data import Split
from mlgate.settings import Settings


@dataclass(frozen=True)
class SliceLosses:
    """Per-row losses (lower is better) of the candidate and, when there is one, the champion."""

    features: pd.DataFrame  # the holdout's features, as read: what segments are named by
    candidate: np.ndarray
    champion: np.ndarray | None
    loss_name: str  # "error" (0/1, shown as accuracy) or "squared error"
    champion_model: Any = None  # mlgate.tracking.Champion, or None before the first promotion


@pytest.fixture(scope="session")
def slice_losses(trained_model, champion, split: Split, holdout_frame, settings: Settings) -> SliceLosses:
    """Per-row losses of both models on the same holdout rows: what every slice gate compares."""
    from mlgate.evaluation.slice_records import row_losses

    truth = split.holdout.labels.to_numpy()
    candidate, loss_name = row_losses(trained_model, holdout_frame, truth)
    champion_losses = None
    if champion is not None:
        try:
            champion_losses, _ = row_losses(champion.model, holdout_frame, truth)
        except (ValueError, KeyError) as error:
            pytest.fail(
                f"champion {champion.shown} of {settings.model_name} cannot score this holdout ({error}); "
                "no slice can be compared with it. Gate a model for this data under its own name: "
                "--model-name NAME",
                pytrace=False,
            )
    features = split.holdout.features.reset_index(drop=True)
    return SliceLosses(features, candidate, champion_losses, loss_name, champion)
