"""A table shaped like Palmer penguins: the integer column that MLflow's routes trip on.

344 rows: `species` (the label, three strings), `island` and `sex` (strings
with gaps), four measurements with gaps, and `year`, an int64 column with no
gap, as `pandas.read_csv` gives the real CSV. Species follow the
measurements closely, so a small model learns them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TARGET = "species"
# Species -> (bill length, bill depth, flipper length, body mass) centres, and where they live.
CENTRES = {
    "Adelie": (38.8, 18.3, 190.0, 3700.0),
    "Chinstrap": (48.8, 18.4, 196.0, 3730.0),
    "Gentoo": (47.5, 15.0, 217.0, 5076.0),
}
ISLANDS = {"Adelie": ["Torgersen", "Biscoe", "Dream"], "Chinstrap": ["Dream"], "Gentoo": ["Biscoe"]}
MEASUREMENTS = ("bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g")
SPREAD = (2.6, 1.2, 6.5, 450.0)


def penguins_frame(rows: int = 344, seed: int = 0, gap_fraction: float = 0.03) -> pd.DataFrame:
    """Penguin-like rows; `year` int64 without gaps, every other feature with `gap_fraction` of gaps."""
    rng = np.random.default_rng(seed)
    species = np.array(list(CENTRES))[rng.integers(0, 3, rows)]
    columns: dict[str, object] = {TARGET: species}
    # Each penguin on one of its species' islands (vectorised: the benchmarks draw a million).
    pick = rng.random(rows)
    island = np.empty(rows, dtype=object)
    for name, places in ISLANDS.items():
        here = species == name
        island[here] = np.array(places, dtype=object)[(pick[here] * len(places)).astype(int)]
    columns["island"] = pd.Series(island, dtype=object)
    for j, name in enumerate(MEASUREMENTS):
        values = np.array([CENTRES[s][j] for s in species]) + rng.normal(0, SPREAD[j], rows)
        columns[name] = values.round(1)
    columns["sex"] = pd.Series(rng.choice(["male", "female"], rows), dtype=object)
    columns["year"] = rng.integers(2007, 2010, rows).astype(np.int64)
    frame = pd.DataFrame(columns)
    for name in ("island", "sex", *MEASUREMENTS):
        # NaN, as read_csv gives a gap: scikit-learn's imputer takes None in a text column for a category.
        frame.loc[rng.random(rows) < gap_fraction, name] = np.nan
    return frame


def register_penguins(folder):
    """A champion on the penguin-like table in a SQLite store under `folder`, compiled and with its drift profile,
    as a green session leaves it (tests.support.serving.RegisteredModel)."""
    from tests.support.serving import register_model

    return register_model(folder, penguins_frame(), TARGET, model_name="penguins")
