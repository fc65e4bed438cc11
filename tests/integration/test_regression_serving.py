"""A regressor served over real sockets: numbers in `{"predictions": [...]}`, equal to mlflow.pyfunc's.

The diabetes table (as a user's CSV, a category with gaps) is trained with
`task = "regression"`, logged and crowned in a store under the test's folder;
our server loads it from there and answers on 127.0.0.1.
"""

from __future__ import annotations

import json

import httpx
import numpy as np
import pytest

from mlgate.serving.app import create_app
from mlgate.serving.runner import running
from mlgate.tracking import load_servable
from tests.support.ports import free_port
from tests.support.processes import start_together
from tests.support.project import copy_project
from tests.support.serving import mlflow_models_server, mlgate_server, register_model, url_of


@pytest.fixture(scope="module")
def diabetes(tmp_path_factory):
    """A 50-tree forest regressor on the diabetes table, `sex` as text with gaps, crowned in its own store."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].map({1.0: "female", 2.0: "male"}).astype(object)
    frame.loc[::13, "sex"] = None
    return register_model(
        tmp_path_factory.mktemp("diabetes"), frame, "progression", model_name="diabetes",
        task="regression", estimator_params={"n_estimators": 50},
    )


def test_served_regressor_answers_numbers_equal_to_pyfunc(diabetes):
    import mlflow

    from mlgate.training import as_served_input

    # The registry's own download location: `models:/` would resolve through whatever store an earlier
    # test of this process left set in mlflow's global tracking URI.
    location = mlflow.MlflowClient(diabetes.tracking_uri).get_model_version_download_uri("diabetes", "1")
    servable = load_servable(diabetes.model_uri, diabetes.tracking_uri)
    assert servable.compiled is not None and servable.compiled.task == "regression"  # onnxruntime answers
    features = diabetes.features.sample(40, random_state=3)
    expected = mlflow.pyfunc.load_model(location).predict(as_served_input(features))
    body = json.dumps({"dataframe_split": json.loads(features.to_json(orient="split", index=False))}).encode()
    with running(create_app(servable, diabetes.settings)) as url:
        answer = httpx.post(f"{url}/invocations", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    assert all(isinstance(v, float) for v in served)
    assert np.asarray(served) == pytest.approx(np.asarray(expected, dtype=float), rel=1e-12)
    # Not a constant: the forest answers each row its own number.
    assert len(set(served)) > 20




@pytest.fixture(scope="module")
def served(diabetes, tmp_path_factory):
    """`mlgate serve` (its own process, as a user runs it) and `mlflow models serve` on the diabetes champion."""
    project = copy_project(tmp_path_factory.mktemp("cli") / "project")
    ports = {"mlgate": free_port(), "mlflow": free_port()}
    servers = start_together([
        mlgate_server(diabetes.tracking_uri, ports["mlgate"], "--workers", "1", "--model-uri", diabetes.model_uri, cwd=project.root),
        mlflow_models_server(diabetes.tracking_uri, diabetes.model_uri, ports["mlflow"], cwd=project.root),
    ])
    try:
        yield {name: url_of(port) for name, port in ports.items()}
    finally:
        for server in servers:
            server.stop()


def _split_body(rows) -> bytes:
    return json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}).encode()


def test_served_regressor_equals_mlflow_models_serve(diabetes, served):
    body = _split_body(diabetes.features.sample(40, random_state=5))
    answers = {
        name: httpx.post(f"{url}/invocations", content=body, headers={"content-type": "application/json"}, timeout=30)
        for name, url in served.items()
    }
    assert all(a.status_code == 200 for a in answers.values()), {n: a.text[:300] for n, a in answers.items()}
    ours, theirs = (np.asarray(answers[n].json()["predictions"], dtype=float) for n in ("mlgate", "mlflow"))
    assert ours == pytest.approx(theirs, rel=1e-12)


def _gauge(text: str, name: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_show_a_value_histogram_and_prediction_drift_moves_with_shifted_inputs(diabetes, served):
    url = served["mlgate"]
    rows = diabetes.features.sample(400, replace=True, random_state=6)
    for start in range(0, len(rows), 50):
        httpx.post(f"{url}/invocations", content=_split_body(rows.iloc[start:start + 50]),
                   headers={"content-type": "application/json"}, timeout=30).raise_for_status()
    text = httpx.get(f"{url}/metrics").text
    assert "mlgate_prediction_value_bucket{" in text
    assert 'mlgate_predictions_total{label="' not in text  # numbers are not labels
    calm = _gauge(text, "mlgate_prediction_drift_psi")
    # Heavier, older, higher blood sugar: the forest predicts more progression for every row.
    shifted = rows.assign(bmi=rows["bmi"] * 1.4, s5=rows["s5"] + 1.0, bp=rows["bp"] * 1.3)
    for _ in range(8):
        for start in range(0, len(shifted), 50):
            httpx.post(f"{url}/invocations", content=_split_body(shifted.iloc[start:start + 50]),
                       headers={"content-type": "application/json"}, timeout=30).raise_for_status()
    moved = _gauge(httpx.get(f"{url}/metrics").text, "mlgate_prediction_drift_psi")
    print(f"\nprediction drift PSI: {calm:.3f} in distribution, {moved:.3f} with shifted inputs")
    assert calm < 0.1
    assert moved > 0.25  # over max_serving_drift_psi: MlgatePredictionDrift fires after 15m of it
