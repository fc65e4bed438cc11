"""`mlflow models serve` against mlgate's server on the same champion, driven by the same client.

Both servers run as subprocesses on 127.0.0.1 (ports from 18000-18999). One
client process sends one-row `dataframe_split` requests over kept-alive
connections: first one client taking turns between the two in-process floors
(scikit-learn's `predict` on a one-row DataFrame; the compiled model's
`predict_columns` on that row's column arrays, what the server calls) and
each server, then 8 concurrent clients on each server for a fixed time.
Ratios measured in the same run hold on a noisy machine even where the
absolute numbers do not; the load average is printed beside them.

    python benchmarks/serving.py [--fresh-champion breast_cancer|wine_categorical | --model-uri URI]
                                 [--seconds 5] [--clients 8] [--workers 1]

Without --fresh-champion it serves the project's champion (run `pytest gates/`
first). With it, a champion is first made in a temporary project copy with its
own SQLite store (data and model gates; the perf family is left out, as a
loaded machine must not stop the benchmark before it starts).
`mlflow` must be in the venv's bin.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from http_client import Phase, drive, http_request, same_answer, sequential
from mlgate.child_process import stop_child
from project_copy import DATASETS, copy_project, use_dataset

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
START_TIMEOUT_SECONDS = 120
# Ports for the servers this script starts.
PORT_RANGE = range(18000, 19000)
# The targets (milliseconds and ratios).
HTTP_P50_TARGET_MS = {"numeric only": 0.5, "one-hot": 1.0}
THROUGHPUT_RATIO_TARGET = 20.0


# --- the servers --------------------------------------------------------------------------


def free_port(taken: set[int] = frozenset()) -> int:
    """A port of PORT_RANGE nobody listens on now, starting at a random one (other jobs use the range too)."""
    import random

    offset = random.randrange(len(PORT_RANGE))
    for i in range(len(PORT_RANGE)):
        port = PORT_RANGE[(offset + i) % len(PORT_RANGE)]
        if port in taken:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"no free port in {PORT_RANGE.start}-{PORT_RANGE.stop - 1}")


def start(command: list[str], port: int, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{command[0]} exited with {process.returncode}; see {log}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise SystemExit(f"{' '.join(command)} did not answer /ping within {START_TIMEOUT_SECONDS}s; see {log}")


def stop(process: subprocess.Popen) -> None:
    stop_child(process, timeout_seconds=20)


# --- the run ------------------------------------------------------------------------------


def _row(name: str, phase: Phase, show_rate: bool = True) -> str:
    rate = f"{phase.rate:10.0f}" if show_rate else f"{'-':>10}"
    ms = [phase.percentile(q) * 1e3 for q in (0.5, 0.95, 0.99)]
    return f"| {name:<44} | {rate} | {ms[0]:7.2f} | {ms[1]:7.2f} | {ms[2]:7.2f} |"


def fresh_champion(dataset: str, folder: Path) -> tuple[Path, dict[str, str]]:
    """A champion for `dataset` in a project copy under `folder`: (the copy, its settings overrides)."""
    project = copy_project(folder / "project")
    arguments = use_dataset(project, dataset)
    # The data and model gates (compiled parity included) decide; the perf family times
    # servers, and a loaded machine must not stop the benchmark before it starts.
    shutil.rmtree(project.root / "gates" / "perf")
    done = project.run_gates(*arguments)
    if done.returncode != 0:
        raise SystemExit(
            f"the gate session for {dataset} promoted nothing:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
        )
    return project.root, DATASETS[dataset]


def _floors(servable, frames, bodies) -> dict[str, Callable[[int], object]]:
    """The in-process predict calls the servers are measured above, each taking a row index."""
    from mlgate.serving.payload import InputSchema, parse_columns

    model = servable.model
    floors: dict[str, Callable[[int], object]] = {
        "scikit-learn predict (1-row DataFrame)": lambda i: model.predict(frames[i])
    }
    if servable.compiled is not None:
        schema = InputSchema.of(servable.input_schema, servable.required)
        # What the server hands the compiled model: the parsed request's column arrays.
        columns = [parse_columns(body, "application/json", schema).as_mapping() for body in bodies]
        predict_columns = servable.compiled.predict_columns
        floors["compiled predict_columns (1 row)"] = lambda i: predict_columns(columns[i])
    return floors


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/serving.py", description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model-uri", help="default: the champion from pyproject.toml's settings")
    source.add_argument(
        "--fresh-champion", choices=list(DATASETS), help="make a champion for this dataset in a temporary project copy"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each measured phase (default 5)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients in the second phase (default 8)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for both servers (default 1)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.clients < 1 or args.workers < 1:
        parser.error("--seconds must be above 0, --clients and --workers at least 1")
    with tempfile.TemporaryDirectory(prefix="mlgate-bench-serving-") as scratch:
        if args.fresh_champion:
            project, overrides = fresh_champion(args.fresh_champion, Path(scratch))
            environ = {"MLFLOW_TRACKING_URI": f"sqlite:///{project / 'mlflow.db'}"}
        else:
            project, overrides, environ = ROOT, {}, None
        return run(args, project, overrides, environ, Path(scratch))


def run(args, project: Path, overrides: dict[str, str], environ, logs: Path) -> int:
    from mlgate import tracking
    from mlgate.data import load_dataset
    from mlgate.settings import load_settings
    from mlgate.tracking import TrackingError, load_servable
    from mlgate.training import as_model_input, feature_kinds

    settings = load_settings(
        pyproject=project / "pyproject.toml", overrides=overrides, environ=environ, workdir=project
    )
    model_uri = args.model_uri or settings.champion_uri
    tracking.quiet_progress_bars()
    try:
        servable = load_servable(model_uri, settings.tracking_uri, tracking.user_code(settings))
    except TrackingError as error:
        raise SystemExit(f"benchmarks/serving.py: {error}") from None
    features = as_model_input(load_dataset(settings.dataset, settings.target).features)
    features = features[[name for name, _ in servable.input_schema]].head(200)
    frames = [features.iloc[[i]] for i in range(len(features))]
    expected = servable.model.predict(features).tolist()
    # json.dumps writes each float's shortest exact repr; DataFrame.to_json rounds to 10 digits,
    # which moved 3 of 200 diabetes rows across a tree's threshold.
    bodies = [
        json.dumps({"dataframe_split": {"columns": list(f.columns), "data": f.astype(object).where(f.notna(), None).values.tolist()}}).encode()
        for f in frames
    ]
    requests = [(http_request(body), e) for body, e in zip(bodies, expected, strict=True)]
    floors = _floors(servable, frames, bodies)
    compiled_wrong = 0
    if servable.compiled is not None:
        compiled, reference = servable.compiled.predict(features), servable.model.predict(features)
        compiled_wrong = sum(not same_answer([c], r) for c, r in zip(compiled.tolist(), reference.tolist(), strict=True))
    kind = "one-hot" if feature_kinds(features)[1] else "numeric only"

    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
        "MLFLOW_ALLOW_PICKLE_DESERIALIZATION": "true",
    }
    mlflow_port = free_port()
    mlgate_port = free_port({mlflow_port})
    workers = str(args.workers)
    host = "127.0.0.1"
    servers = {
        "mlflow models serve": (
            [
                str(VENV_BIN / "mlflow"),
                "models",
                "serve",
                "-m",
                model_uri,
                "--env-manager",
                "local",
                "-h",
                host,
                "-p",
                str(mlflow_port),
                "-w",
                workers,
            ],
            mlflow_port,
        ),
        "mlgate serve": (
            [
                sys.executable,
                "-m",
                "mlgate",
                "serve",
                "--model-uri",
                model_uri,
                "--host",
                host,
                "--port",
                str(mlgate_port),
                "--workers",
                workers,
            ],
            mlgate_port,
        ),
    }
    load_before = os.getloadavg()
    processes = {}
    try:
        for name, (command, port) in servers.items():
            processes[name] = start(command, port, env, logs / f"bench-{port}.log", project)
        ports = {name: port for name, (_, port) in servers.items()}
        alone = sequential(ports, requests, floors, args.seconds)
        together = {name: drive(port, requests, args.clients, args.seconds, name) for name, port in ports.items()}
        # One client sending back to back: the server never idles between requests, unlike the turns above.
        back_to_back = drive(mlgate_port, requests, 1, args.seconds, "mlgate serve, 1 client back to back")
    finally:
        for process in processes.values():
            stop(process)
    load_after = os.getloadavg()

    sklearn_floor = alone["scikit-learn predict (1-row DataFrame)"]
    compiled_floor = alone.get("compiled predict_columns (1 row)")
    mlflow_1, ours_1 = alone["mlflow models serve"], alone["mlgate serve"]
    mlflow_n, ours_n = together["mlflow models serve"], together["mlgate serve"]
    wrong = sum(p.wrong for p in [*alone.values(), *together.values(), back_to_back]) + compiled_wrong
    engine = "compiled (onnxruntime)" if servable.compiled is not None else "scikit-learn (not compiled)"
    lines = [
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; load average (1/5/15 min) {_load(load_before)} before, "
            f"{_load(load_after)} after"
        ),
        (
            f"Model {model_uri} ({servable.name} v{servable.version}), dataset {settings.dataset_shown} ({kind}, "
            f"{len(servable.input_schema)} columns), mlgate serves it {engine}; {args.seconds:g}s per phase, "
            f"{args.workers} worker(s), {len(ours_1.latencies)} sequential turns"
        ),
        "",
        f"| {'':<44} | {'requests/s':>10} | {'p50 ms':>7} | {'p95 ms':>7} | {'p99 ms':>7} |",
        f"| {'-' * 44} | {'-' * 10} | {'-' * 7} | {'-' * 7} | {'-' * 7} |",
        _row("in-process scikit-learn predict (1 row)", sklearn_floor, show_rate=False),
    ]
    if compiled_floor is not None:
        lines.append(_row("in-process compiled predict_columns (1 row)", compiled_floor, show_rate=False))
    lines += [
        _row("mlflow models serve, 1 client", mlflow_1, show_rate=False),
        _row("mlgate serve, 1 client", ours_1, show_rate=False),
        _row("mlgate serve, 1 client back to back", back_to_back),
        _row(f"mlflow models serve, {args.clients} clients", mlflow_n),
        _row(f"mlgate serve, {args.clients} clients", ours_n),
    ]
    p50_target = HTTP_P50_TARGET_MS[kind]
    ours_p50_ms = ours_1.percentile(0.5) * 1e3
    throughput = ours_n.rate / mlflow_n.rate
    p99_vs = ours_n.percentile(0.99) / mlflow_1.percentile(0.5)
    floor = compiled_floor or sklearn_floor
    lines += [
        "",
        (
            f"- mlgate one-row HTTP p50, 1 client: {ours_p50_ms:.3f} ms (target <= {p50_target:g} ms for a {kind} "
            f"pipeline): {_verdict(ours_p50_ms <= p50_target)}; back to back {back_to_back.percentile(0.5) * 1e3:.3f} ms"
        ),
        (
            f"- throughput with {args.clients} clients, mlgate / mlflow: {throughput:.1f}x "
            f"(target >= {THROUGHPUT_RATIO_TARGET:g}x): {_verdict(throughput >= THROUGHPUT_RATIO_TARGET)}"
        ),
        (
            f"- mlgate p99 with {args.clients} clients / mlflow p50 with 1 client: {p99_vs:.2f} "
            f"(target < 1): {_verdict(p99_vs < 1)}"
        ),
        (
            f"- above the in-process floor at p50, 1 client: mlgate {ours_p50_ms - floor.percentile(0.5) * 1e3:.3f} ms "
            f"(over {floor.name}), mlflow {(mlflow_1.percentile(0.5) - sklearn_floor.percentile(0.5)) * 1e3:.3f} ms "
            "(over scikit-learn predict)"
        ),
        f"- answers that differed from scikit-learn's predict: {wrong}",
    ]
    print("\n".join(lines))
    return 1 if wrong else 0


def _load(averages: tuple[float, float, float]) -> str:
    return "/".join(f"{a:.2f}" for a in averages)


if __name__ == "__main__":
    sys.exit(main())
