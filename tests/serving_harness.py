"""Registered models and running servers for the serving tests.

Models are trained and logged straight through model/ (no gate session), into
a store and an artifact folder under the test's temporary directory, so the
serving tests neither wait for nor depend on the gates.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.project import clean_env

START_TIMEOUT_SECONDS = 90


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
    import mlflow

    from model import tracking
    from model.data import load_dataset
    from model.settings import load_settings
    from model.training import as_model_input, train_model

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
    previous_uri = mlflow.get_tracking_uri()
    try:
        client = tracking.client_for(settings)
        if client.get_experiment_by_name(settings.experiment_name) is None:
            # Artifacts under the test's folder, not ./mlruns in whatever the cwd is.
            client.create_experiment(settings.experiment_name, artifact_location=(folder / "artifacts").as_uri())
        run_id = tracking.start_gate_run(settings, client)
        example = as_model_input(dataset.features.head(5))
        tags = {"mlgate.metric.accuracy": "0.97", "mlgate.gated_at": str(time.time())}
        version, _ = tracking.log_and_register(settings, client, run_id, model, example, tags)
        tracking.crown(settings, client, version)
        tracking.finish_run(client, run_id, passed=True)
    finally:
        mlflow.set_tracking_uri(previous_uri)
        mlflow.set_registry_uri(previous_uri)
    return Registered(
        folder, tracking_uri, f"models:/{model_name}@champion", model, as_model_input(dataset.features), settings
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float = START_TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"the server exited with {process.returncode} before answering:\n{output[-3000:]}")
        try:
            if httpx.get(f"{url}/ping", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise AssertionError(f"{url} did not answer /ping within {timeout}s")


def start_processes(
    commands: dict[str, tuple[list[str], int, str, dict[str, str]]], cwd: Path
) -> dict[str, subprocess.Popen]:
    """Server subprocesses started together (their imports overlap), each answering /ping.

    `commands` maps a name to (command, port, tracking URI, extra environment).
    """
    started: dict[str, subprocess.Popen] = {}
    try:
        for name, (command, _, tracking_uri, extra) in commands.items():
            # mlflow.set_registry_uri() in this process exports MLFLOW_REGISTRY_URI: name the store for both.
            env = clean_env(MLFLOW_TRACKING_URI=tracking_uri, MLFLOW_REGISTRY_URI=tracking_uri, **extra)
            started[name] = subprocess.Popen(
                command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
        for name, (_, port, _, _) in commands.items():
            wait_until_up(f"http://127.0.0.1:{port}", started[name])
    except BaseException:
        for process in started.values():
            stop_process(process)
        raise
    return started


def stop_process(process: subprocess.Popen) -> str:
    if process.poll() is None:
        process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


def mlgate_serve(tracking_uri: str, port: int, *args: str):
    """`python -m model serve` as start_processes takes it."""
    return [sys.executable, "-m", "model", "serve", "--port", str(port), *args], port, tracking_uri, {}


def mlflow_serve(tracking_uri: str, model_uri: str, port: int):
    """`mlflow models serve` as start_processes takes it, on this interpreter's environment."""
    mlflow = str(Path(sys.executable).parent / "mlflow")
    command = [mlflow, "models", "serve", "-m", model_uri, "--env-manager", "local", "-h", "127.0.0.1", "-p", str(port)]
    return command, port, tracking_uri, {"MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true"}
