"""Registered models and the servers the tests start on them.

Models are trained and logged straight through model/ (no gate session), into
a store and an artifact folder under the test's temporary directory, so the
serving tests neither wait for nor depend on the gates. Each server is a
`tests.support.processes.Server`: started, waited on and stopped one way.
"""

from __future__ import annotations

import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mlgate import tracking
from tests.support.ports import LOCALHOST
from tests.support.processes import Server
from tests.support.project import VENV_BIN, clean_env

START_TIMEOUT_SECONDS = 90
TRACKING_SERVER_START_SECONDS = 120
SIDECAR_START_SECONDS = 20


@dataclass(frozen=True)
class Registered:
    folder: Path
    tracking_uri: str
    model_uri: str  # models:/<name>@champion
    model: object  # the fitted pipeline, for in-process predictions
    features: object  # the training features as the model takes them
    settings: object


def register_model(folder: Path, frame, target: str, model_name: str = "mlgate-classifier", **overrides) -> Registered:
    """Train on `frame`, log with a signature, register as `model_name` and crown it."""
    from mlgate.compiler.translate import compile_model
    from mlgate.data import load_dataset
    from mlgate.settings import load_settings
    from mlgate.training import as_model_input, as_served_input, train_model
    from mlgate.monitoring.drift import PROFILE_FILE, build_profile

    folder.mkdir(parents=True, exist_ok=True)
    data = folder / f"{model_name}.csv"
    frame.to_csv(data, index=False)
    tracking_uri = f"sqlite:///{folder / 'mlflow.db'}"
    settings = load_settings(
        overrides={"dataset": str(data), "target": target, "model_name": model_name, **overrides},
        environ={"MLFLOW_TRACKING_URI": tracking_uri},
        workdir=folder,
    )
    dataset = load_dataset(settings.dataset, settings.target)
    model = train_model(dataset, settings)
    client = tracking.client_for(settings)
    if client.get_experiment_by_name(settings.experiment_name) is None:
        # Artifacts under the test's folder, not ./mlruns in whatever the cwd is.
        client.create_experiment(settings.experiment_name, artifact_location=(folder / "artifacts").as_uri())
    run_id = tracking.start_gate_run(settings, client)
    example = as_served_input(dataset.features.head(5))
    tags = {tracking.metric_tag_key("accuracy"): "0.97", tracking.TAG_GATED_AT: str(time.time())}
    # Registered as a green session registers it: with its compiled form, so our server runs onnxruntime.
    compiled = compile_model(model, example).compiled
    extra_files = sorted(compiled.save(folder / "compiled").iterdir()) if compiled is not None else []
    # And with its drift profile (of the whole table: no holdout here), so our server exports drift gauges.
    features = as_model_input(dataset.features)
    from sklearn.base import is_regressor

    profile = build_profile(features, model.predict(features), bins=settings.drift_profile_bins,
                            values=is_regressor(model))
    (folder / "profile").mkdir(exist_ok=True)
    extra_files.append(folder / "profile" / PROFILE_FILE)
    extra_files[-1].write_text(profile.to_json(), encoding="utf-8")
    version, _ = tracking.log_and_register(settings, client, run_id, model, example, tags, extra_files=extra_files)
    tracking.crown(settings, client, version)
    tracking.finish_run(client, run_id, passed=True)
    return Registered(
        folder, tracking_uri, f"models:/{model_name}@champion", model, as_model_input(dataset.features), settings
    )


def url_of(port: int) -> str:
    return f"http://{LOCALHOST}:{port}"


def mlgate_server(tracking_uri: str, port: int, *args: str, cwd: Path, log: Path | None = None) -> Server:
    """`mlgate serve` on the store at `tracking_uri`."""
    return Server(
        [sys.executable, "-m", "mlgate", "serve", "--port", str(port), *args],
        url_of(port), cwd=cwd, env=clean_env(MLFLOW_TRACKING_URI=tracking_uri), log=log,
        start_timeout_seconds=START_TIMEOUT_SECONDS, name="mlgate serve",
    )


def mlflow_models_server(tracking_uri: str, model_uri: str, port: int, *, cwd: Path, log: Path | None = None) -> Server:
    """`mlflow models serve` on this interpreter's environment, in its own process group (it forks uvicorn)."""
    command = [
        str(VENV_BIN / "mlflow"), "models", "serve", "-m", model_uri, "--env-manager", "local",
        "-h", LOCALHOST, "-p", str(port),
    ]
    env = clean_env(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_ALLOW_PICKLE_DESERIALIZATION="true")
    return Server(
        command, url_of(port), cwd=cwd, env=env, log=log, own_group=True,
        start_timeout_seconds=START_TIMEOUT_SECONDS, name="mlflow models serve",
    )


def mlflow_tracking_server(backend_uri: str, port: int, *extra: str, cwd: Path, log: Path | None = None) -> Server:
    """A real `mlflow server`, one worker, in its own process group so its workers stop with it."""
    command = [
        str(VENV_BIN / "mlflow"), "server", "--backend-store-uri", backend_uri,
        *extra, "--host", LOCALHOST, "--port", str(port), "--workers", "1",
    ]
    return Server(
        command, url_of(port), ready_path="/health", cwd=cwd, env=clean_env(), log=log, own_group=True,
        start_timeout_seconds=TRACKING_SERVER_START_SECONDS, name="mlflow server",
    )


def sidecar_server(upstream_url: str, port: int, *extra: str, cwd: Path, log: Path | None = None, env=None) -> Server:
    """`mlgate sidecar --upstream URL` as users start it; ready when its own /metrics answers.

    Stopped with SIGINT, as a user's Ctrl-C: uvicorn shuts down cleanly and the log stays free of tracebacks.
    """
    return Server(
        [sys.executable, "-m", "mlgate", "sidecar", "--upstream", upstream_url, "--port", str(port), *extra],
        url_of(port), ready_path="/metrics", cwd=cwd, env=env or clean_env(), log=log,
        stop_signal=signal.SIGINT, start_timeout_seconds=SIDECAR_START_SECONDS, name="the sidecar",
    )
