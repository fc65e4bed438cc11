"""The champion works wherever MLflow models go: pyfunc, `mlflow models predict`, our server.

A penguin-like CSV with an integer `year` (tests/support/penguins.py) is
registered as a green session registers a model; then the very CSV the model
was trained on is scored through each route. MLflow refuses int64 input for
a column its signature declares double, so each of these failed while the
signature declared integer columns as doubles.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import mlflow
import numpy as np
import pandas as pd
import pytest

from mlgate.serving.app import create_app
from mlgate.serving.runner import running
from mlgate.tracking import load_servable
from mlgate.training import as_model_input
from tests.support.penguins import TARGET
from tests.support.project import VENV_BIN, clean_env

PREDICT_TIMEOUT_SECONDS = 180


@pytest.fixture(scope="module")
def training_csv(penguins):
    """The CSV the champion was trained on, as a user has it on disk."""
    return penguins.folder / "penguins.csv"


@pytest.fixture
def fluent_store(penguins):
    """mlflow's fluent API pointed at the champion's store, and back afterwards."""
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(penguins.tracking_uri)
    yield
    mlflow.set_tracking_uri(before)


def _features(csv) -> pd.DataFrame:
    return pd.read_csv(csv).drop(columns=[TARGET])


def test_the_signature_declares_an_integer_column_without_gaps_as_long(penguins):
    schema = dict(load_servable(penguins.model_uri, penguins.tracking_uri).input_schema)
    assert schema["year"] == "long"
    assert schema["bill_length_mm"] == "double"  # a column with gaps is double, as MLflow advises


def test_pyfunc_predicts_on_the_training_csvs_own_frame(penguins, training_csv, fluent_store):
    frame = _features(training_csv)
    assert frame["year"].dtype == np.int64
    labels = mlflow.pyfunc.load_model(penguins.model_uri).predict(frame)
    assert list(labels) == list(penguins.model.predict(penguins.features))


def test_mlflow_models_predict_scores_the_training_csv(penguins, training_csv, tmp_path):
    features = tmp_path / "features.csv"
    _features(training_csv).to_csv(features, index=False)
    output = tmp_path / "predictions.json"
    command = [
        str(VENV_BIN / "mlflow"), "models", "predict", "-m", penguins.model_uri, "-i", str(features),
        "-t", "csv", "-o", str(output), "--env-manager", "local",
    ]
    env = clean_env(MLFLOW_TRACKING_URI=penguins.tracking_uri)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=PREDICT_TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stderr[-3000:]
    predictions = json.loads(output.read_text())["predictions"]
    assert predictions == list(penguins.model.predict(penguins.features))


def test_our_server_answers_a_null_year(penguins, training_csv):
    rows = _features(training_csv).head(3).astype(object)
    rows = rows.where(rows.notna(), None).to_dict(orient="records")
    rows[1]["year"] = None
    app = create_app(load_servable(penguins.model_uri, penguins.tracking_uri), penguins.settings)
    with running(app) as url:
        answer = httpx.post(f"{url}/invocations", json={"dataframe_records": rows}, timeout=30)
    assert answer.status_code == 200, answer.text
    # The rows as the server hands them to the model: numbers float64 (the null year NaN), text as objects.
    frame = pd.DataFrame(rows)
    expected = penguins.model.predict(as_model_input(frame.astype({c: "float64" for c in frame if c not in ("island", "sex")})))
    assert answer.json()["predictions"] == list(expected)

