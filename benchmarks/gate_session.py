"""Wall time of a cold `pytest gates/` against a seed-style bare training script.

The gate session runs in a copy of the project without gates/perf (the perf
family times servers; the bare script has nothing like it), so the copy's
full gate set is the data and model gates and a green session promotes.
Both run in fresh temporary folders with a fresh SQLite store, alternately,
several times; the medians and their ratio are printed. The target is a
ratio <= 1.0: the gate session does far more work in no more time.

    python benchmarks/gate_session.py [--repeats 3] [--profile]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from project_copy import clean_env, copy_project

# What the seed project did: import everything, fit, log accuracy, log_model with defaults.
BARE_SCRIPT = '''
import great_expectations, matplotlib.pyplot, pytest
import mlflow, mlflow.sklearn
import pandas as pd
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import accuracy_score
from sklearn.model_selection import train_test_split

mlflow.set_tracking_uri("sqlite:///mlflow.db")
frame = load_breast_cancer(as_frame=True).frame
X, y = frame.drop(columns=["target"]), frame["target"]
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=42)
with mlflow.start_run():
    model = RandomForestClassifier(n_estimators=100, random_state=42).fit(X_train, y_train)
    mlflow.log_metric("accuracy", accuracy_score(y_test, model.predict(X_test)))
    mlflow.sklearn.log_model(model, name="model", serialization_format="cloudpickle")
'''


def _timed(command: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return elapsed


def bare_run(folder: Path) -> float:
    script = folder / "train.py"
    script.write_text(BARE_SCRIPT, encoding="utf-8")
    return _timed([sys.executable, str(script)], folder)


def gate_run(folder: Path, profile: bool) -> float:
    project = copy_project(folder)
    # Data and model gates (behaviour included), promotion and all: the perf family
    # starts servers to time them and has no counterpart in the bare script.
    shutil.rmtree(project.root / "gates" / "perf")
    prefix = [sys.executable, "-m", "cProfile", "-o", str(folder / "gates.prof")] if profile else [sys.executable]
    elapsed = _timed([*prefix, "-m", "pytest", "gates/", "-q", "-p", "no:cacheprovider"], project.root)
    if profile:
        import pstats

        pstats.Stats(str(folder / "gates.prof")).sort_stats("cumulative").print_stats(25)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the last gate session")
    args = parser.parse_args()
    bare, gates = [], []
    for attempt in range(args.repeats):
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            bare.append(bare_run(Path(a)))
            gates.append(gate_run(Path(b), args.profile and attempt == args.repeats - 1))
    b, g = statistics.median(bare), statistics.median(gates)
    print(f"| run | median wall seconds (n={args.repeats}) |\n| --- | --- |")
    print(f"| bare script (fit + log_model, no gates) | {b:.2f} |")
    print(f"| cold `pytest gates/` (data + model gates, promote) | {g:.2f} |")
    print(f"| ratio gates / bare | {g / b:.2f} |")


if __name__ == "__main__":
    main()
