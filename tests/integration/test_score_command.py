"""`mlgate score`: a file in, the champion's labels out, in chunks, with the batch's drift.

A real champion in a SQLite store (the penguin-like table: strings with gaps,
numbers with gaps, an integer `year`), scored by the command as a user runs
it, and by the core in-process where the engine is the point.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mlgate.scoring import LABEL_COLUMN, score_file
from mlgate.tables import TableError
from mlgate.tracking import load_servable
from tests.support.penguins import penguins_frame
from tests.support.project import clean_env

SCORE_TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def servable(penguins):
    """The champion as `mlgate score` loads it: signature, compiled form, drift profile."""
    return load_servable(penguins.model_uri, penguins.tracking_uri)


@pytest.fixture
def score(penguins, tmp_path):
    """`mlgate score ARGS...` in a clean folder against the champion's store; returns the finished process."""

    def run(*args: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "mlgate", "score", *args, "--model-uri", penguins.model_uri]
        env = clean_env(MLFLOW_TRACKING_URI=penguins.tracking_uri)
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=SCORE_TIMEOUT_SECONDS)

    return run


def _expected_labels(penguins) -> list:
    return list(penguins.model.predict(penguins.features))


def test_scores_the_training_csv_in_chunks_with_the_labels_pyfunc_gives(penguins, score, tmp_path):
    done = score(str(penguins.folder / "penguins.csv"), "out.csv", "--chunk-rows", "50")
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(tmp_path / "out.csv")[LABEL_COLUMN].tolist() == _expected_labels(penguins)
    assert "scored 344 rows" in done.stdout and "(onnxruntime)" in done.stdout
    assert "no feature drifted" in done.stdout
    assert "344 rows" in done.stderr  # the progress line's last state


def test_the_scikit_learn_engine_writes_the_same_labels(penguins, score, tmp_path):
    done = score(str(penguins.folder / "penguins.csv"), "out.csv", "--engine", "scikit-learn")
    assert done.returncode == 0, done.stderr
    assert "(scikit-learn)" in done.stdout
    assert pd.read_csv(tmp_path / "out.csv")[LABEL_COLUMN].tolist() == _expected_labels(penguins)


def test_parquet_in_parquet_out_with_probabilities(penguins, score, tmp_path):
    penguins_frame().to_parquet(tmp_path / "in.parquet")
    done = score("in.parquet", "out.parquet", "--probabilities", "--chunk-rows", "64")
    assert done.returncode == 0, done.stderr
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out[LABEL_COLUMN].tolist() == _expected_labels(penguins)
    proba = out[[c for c in out.columns if c != LABEL_COLUMN]]
    assert list(proba.columns) == ["probability_Adelie", "probability_Chinstrap", "probability_Gentoo"]
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_reports_a_feature_that_drifted_in_the_batch(score, tmp_path):
    heavier = penguins_frame(seed=1)
    heavier["body_mass_g"] += 2000.0
    heavier.to_csv(tmp_path / "heavier.csv", index=False)
    done = score("heavier.csv", "out.csv")
    assert done.returncode == 0, done.stderr
    flagged = [line for line in done.stdout.splitlines() if line.strip().startswith("DRIFTED")]
    assert len(flagged) == 1 and "'body_mass_g'" in flagged[0], done.stdout


@pytest.mark.parametrize(
    "mistake, write, args, message",
    [
        ("missing input", None, ("absent.csv", "out.csv"), "absent.csv does not exist"),
        ("unknown suffix", None, ("in.csv", "out.txt"), "suffix '.txt'"),
        ("missing column", lambda f: f.drop(columns=["year"]), ("in.csv", "out.csv"), "lacks column(s) ['year']"),
        ("text in a number column", lambda f: f.astype({"year": object}).assign(year=["?"] + [2008] * (len(f) - 1)),
         ("in.csv", "out.csv"), "not a number"),
    ],
)
def test_bad_input_is_one_message_exit_2_and_no_output_file(score, tmp_path, mistake, write, args, message):
    if write is not None:
        write(penguins_frame()).to_csv(tmp_path / "in.csv", index=False)
    before = set(tmp_path.iterdir())
    done = score(*args)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr, done.stderr
    assert set(tmp_path.iterdir()) == before  # neither the output nor its temporary file


def test_a_failure_after_some_chunks_leaves_no_partial_output(servable, tmp_path):
    frame = penguins_frame().astype({"year": object})
    frame.loc[300, "year"] = "unknown"  # in the last of several chunks
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(TableError, match="not a number"):
        score_file(servable, tmp_path / "in.csv", tmp_path / "out.csv", chunk_rows=50)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv"]


def test_scikit_learn_scores_where_the_model_did_not_compile(penguins, servable, tmp_path):
    (tmp_path / "in.csv").write_bytes((penguins.folder / "penguins.csv").read_bytes())
    uncompiled = dataclasses.replace(servable, compiled=None)
    scored = score_file(uncompiled, tmp_path / "in.csv", tmp_path / "out.parquet", chunk_rows=100, probabilities=True)
    assert scored.engine == "scikit-learn" and scored.rows == 344
    out = pd.read_parquet(tmp_path / "out.parquet")
    assert out[LABEL_COLUMN].tolist() == _expected_labels(penguins)
    assert np.allclose(out.drop(columns=[LABEL_COLUMN]).to_numpy(), penguins.model.predict_proba(penguins.features))
