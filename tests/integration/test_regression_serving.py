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
from tests.support.serving import register_model


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


def test_served_regressor_answers_numbers_equal_to_pyfunc(diabetes, monkeypatch):
    import mlflow

    from mlgate.training import as_served_input

    monkeypatch.setenv("MLFLOW_TRACKING_URI", diabetes.tracking_uri)
    servable = load_servable(diabetes.model_uri, diabetes.tracking_uri)
    assert servable.compiled is None  # regressors are served by scikit-learn so far
    features = diabetes.features.sample(40, random_state=3)
    expected = mlflow.pyfunc.load_model(diabetes.model_uri).predict(as_served_input(features))
    body = json.dumps({"dataframe_split": json.loads(features.to_json(orient="split", index=False))}).encode()
    with running(create_app(servable, diabetes.settings)) as url:
        answer = httpx.post(f"{url}/invocations", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 200, answer.text
    served = answer.json()["predictions"]
    assert all(isinstance(v, float) for v in served)
    assert np.asarray(served) == pytest.approx(np.asarray(expected, dtype=float), rel=1e-12)
    # Not a constant: the forest answers each row its own number.
    assert len(set(served)) > 20
