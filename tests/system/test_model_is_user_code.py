"""The model is the user's code: LightGBM and XGBoost through a whole gate session, and a
pipeline function in the user's own module, each promoted, served and loadable by pyfunc.

Each test is one full session in its own project copy (its own store), then our real
server (`mlgate serve`, uvicorn on 127.0.0.1) on the champion it promoted.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import subprocess
import sys
import textwrap

import httpx
import pytest

from mlgate import tracking
from tests.support.ports import free_port
from tests.support.serving import mlgate_server

pytestmark = pytest.mark.slow
pytest.importorskip("lightgbm")
pytest.importorskip("xgboost")

TIMEOUT_SECONDS = 300
ROWS = 40

USER_MODULE = '''
"""The user's model: the default preprocessing plus a feature of their own."""
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from mlgate.training import estimator_from_settings


def with_size_squared(frame):
    return frame.assign(size_squared=frame["size"] ** 2)


def build(features, settings):
    columns = ColumnTransformer([
        ("numeric", StandardScaler(), ["size", "size_squared"]),
        ("categorical", OneHotEncoder(handle_unknown="ignore"), ["colour", "indoor"]),
    ])
    return Pipeline([("features", FunctionTransformer(with_size_squared)), ("columns", columns),
                     ("estimator", estimator_from_settings(settings))])
'''


def output(result: subprocess.CompletedProcess) -> str:
    return result.stdout + result.stderr


def served_and_loaded(project, tracking_store, frame, model_name: str = "mlgate-classifier"):
    """The champion's answers from our server over HTTP, and from pyfunc in this process."""
    import mlflow.pyfunc

    store = tracking_store(project.tracking_uri)
    location = store.client.get_model_version_download_uri(model_name, store.champion_version(model_name))
    in_process = mlflow.pyfunc.load_model(location).predict(frame).tolist()
    port = free_port()
    server = mlgate_server(project.tracking_uri, port, cwd=project.root).start()
    try:
        server.wait_until_ready()
        body = {"dataframe_split": json.loads(frame.to_json(orient="split", index=False))}
        answer = httpx.post(f"{server.url}/invocations", json=body, timeout=30)
    finally:
        server.stop()
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"], in_process


def test_lightgbm_session_is_green_promoted_served_and_loadable(project, tracking_store, breast_cancer_frame, monkeypatch):
    config = project.write_config(estimator="lightgbm.LGBMClassifier",
                                  estimator_params={"n_estimators": 50, "verbose": -1})

    result = project.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    store = tracking_store(project.tracking_uri)
    assert store.champion_version() == "1"
    run = store.latest_run()
    assert run.data.params["estimator"] == "lightgbm.LGBMClassifier"
    # Compiled by onnxmltools' converter or, off parity, served by LightGBM itself: said either way.
    serving = run.data.tags[tracking.TAG_SERVING_ENGINE]
    assert serving == "onnxruntime" or "probability difference" in run.data.tags[tracking.TAG_COMPILE_SKIPPED_BECAUSE]
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    rows = breast_cancer_frame.drop(columns=["target"]).head(ROWS)
    served, in_process = served_and_loaded(project, tracking_store, rows)
    assert served == in_process
    assert (rows.index.size, set(served)) == (ROWS, {0, 1})


def test_user_pipeline_with_xgboost_on_string_labels_is_promoted_served_and_recorded(
    project, tracking_store, mixed_frame, monkeypatch
):
    (project.root / "my_features.py").write_text(textwrap.dedent(USER_MODULE), encoding="utf-8")
    (project.root / "data").mkdir()
    mixed_frame.to_csv(project.root / "data" / "grades.csv", index=False)
    drafted = project.run(sys.executable, "-m", "mlgate", "expectations", "--dataset", "data/grades.csv", "--target", "grade")
    assert drafted.returncode == 0, output(drafted)
    # In pyproject.toml, as a user sets it: `mlgate serve` reads it to trust the module's types.
    pyproject = project.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text(encoding="utf-8").replace(
        "[tool.mlgate]\n", '[tool.mlgate]\npipeline = "my_features:build"\n', 1), encoding="utf-8")
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "the user's project"]):
        project.run("git", "-c", "user.name=u", "-c", "user.email=u@u", *args)
    commit = project.run("git", "rev-parse", "HEAD").stdout.strip()
    config = project.write_config(estimator="xgboost.XGBClassifier", estimator_params={"n_estimators": 30})

    result = project.run_gates("--mlgate-dataset", "data/grades.csv", "--mlgate-target", "grade", "--mlgate-config", str(config),
                               timeout=TIMEOUT_SECONDS)

    assert result.returncode == 0, output(result)
    store = tracking_store(project.tracking_uri)
    assert store.champion_version() == "1"
    tags = store.latest_run().data.tags
    sys.path.insert(0, str(project.root))
    try:
        import my_features

        source = inspect.getsource(my_features.build)
    finally:
        sys.path.remove(str(project.root))
        sys.modules.pop("my_features", None)
    assert tags[tracking.TAG_PIPELINE] == "my_features:build"
    assert tags[tracking.TAG_PIPELINE_SOURCE_SHA256] == hashlib.sha256(source.encode()).hexdigest()
    assert tags[tracking.TAG_GIT_COMMIT] == commit
    assert tags[tracking.TAG_GIT_DIRTY] == "true"  # the config file and the store came after the commit
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    monkeypatch.syspath_prepend(str(project.root))  # pyfunc unpickles the user's with_size_squared
    rows = mixed_frame.drop(columns=["grade"]).head(ROWS)
    served, in_process = served_and_loaded(project, tracking_store, rows)
    assert served == in_process
    assert set(served) <= {"low", "mid", "high"}
    assert sum(s == g for s, g in zip(served, mixed_frame["grade"].head(ROWS))) >= 0.9 * ROWS


@pytest.mark.parametrize(
    "pipeline, named",
    [("my_absent_module:build", "cannot be imported"),
     ("builtins:slice", "returned slice: not a scikit-learn-API classifier")],
    ids=["not importable", "not a classifier"],
)
def test_broken_pipeline_stops_the_session_with_one_usage_error(project, pipeline, named):
    result = project.run_gates("--mlgate-config", str(project.write_config(pipeline=pipeline)), timeout=120)

    assert result.returncode == pytest.ExitCode.USAGE_ERROR, output(result)
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("ERROR: mlgate: setting 'pipeline'"), result.stderr
    assert named in errors[0]
    assert not (project.root / "mlflow.db").exists()
