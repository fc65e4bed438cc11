"""Wall time of gate sessions against a seed-style bare training script (issue 13's targets).

Every gate session runs in a copy of the project without gates/perf (the perf
family times servers; the bare script has nothing like it), so the copy's
full gate set is the data and model gates and a green session promotes. Each
repeat runs, in turn, in the same run and so under the same load:

* the bare script, in a fresh folder;
* a cold `pytest gates/` in a fresh copy with a fresh store (the old table);
* a cold process on a warm store: `pytest gates/` in a copy that already has a
  champion and a recorded data verdict (target <= 0.8x the bare script);
* `pytest gates/model` in that warm copy right after an edit to the pipeline
  function (`bench_pipeline:build`, today's builder behind it) (target <= 0.5x);

then the behavioural family in-process: the generic and declared searches and
the champion replay at `behaviour_max_examples` (target <= 1 s). Medians are
printed as the README's table.

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


def _timed(command: list[str], cwd: Path, ok: tuple[int, ...] = (0,)) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=clean_env(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode not in ok or "Traceback" in done.stderr:
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


# The user's pipeline module in the warm copy: today's builder, and a line the benchmark edits.
BENCH_PIPELINE = '''
from model.pipeline import build_pipeline


def build(features, settings):
    edit = {edit}  # changed before each timed `pytest gates/model`: a new source hash
    return build_pipeline(features, settings)
'''


def warm_project(folder: Path) -> Path:
    """A copy whose store has a champion and a recorded data verdict, its pipeline in bench_pipeline.py."""
    project = copy_project(folder)
    shutil.rmtree(project.root / "gates" / "perf")
    (project.root / "bench_pipeline.py").write_text(BENCH_PIPELINE.format(edit=0), encoding="utf-8")
    pyproject = project.root / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text(encoding="utf-8").replace("[tool.mlgate]\n", '[tool.mlgate]\npipeline = "bench_pipeline:build"\n', 1),
        encoding="utf-8",
    )
    _timed([sys.executable, "-m", "pytest", "gates/", "-q", "-p", "no:cacheprovider"], project.root)
    return project.root


def warm_run(root: Path, profile: bool) -> float:
    prefix = [sys.executable, "-m", "cProfile", "-o", str(root / "warm.prof")] if profile else [sys.executable]
    elapsed = _timed([*prefix, "-m", "pytest", "gates/", "-q", "-p", "no:cacheprovider"], root)
    if profile:
        import pstats

        pstats.Stats(str(root / "warm.prof")).sort_stats("cumulative").print_stats(40)
    return elapsed


def model_after_edit(root: Path, edit: int) -> float:
    """`pytest gates/model` right after the pipeline function changed: partial, so it exits 1."""
    (root / "bench_pipeline.py").write_text(BENCH_PIPELINE.format(edit=edit), encoding="utf-8")
    return _timed([sys.executable, "-m", "pytest", "gates/model", "-q", "-p", "no:cacheprovider"], root, ok=(0, 1))


def behaviour_seconds() -> float:
    """The behavioural family in-process on the default forest: generic, declared, replay on a champion twin."""
    from mlgate.behaviour import search
    from mlgate.behaviour.schema import hypothesis_profile, schema_for
    from mlgate.behaviour.spec import read_spec
    from mlgate.data import load_dataset, split_holdout
    from mlgate.expectations import read_suite
    from mlgate.settings import Settings
    from mlgate.training import as_model_input, train_model

    root = Path(__file__).resolve().parents[1]
    settings = Settings()
    split = split_holdout(load_dataset(settings.dataset, settings.target), settings.holdout_fraction, key=settings.split_key)
    model = train_model(split.train, settings)
    holdout = as_model_input(split.holdout.features)
    schema = schema_for(read_suite(root / settings.suite_path), holdout, [0, 1], settings.target)
    spec = read_spec(root / "gates" / "expectations" / "breast_cancer.behaviour.toml", schema)
    profile = hypothesis_profile("gate", settings.behaviour_max_examples)
    started = time.perf_counter()
    search.search_generic(model, schema, profile)
    declared = search.search_declared(model, spec, holdout, profile)
    search.replay(model, spec, holdout, declared)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="cProfile the last warm gate session")
    args = parser.parse_args()
    bare, cold, warm, model, behaviour = [], [], [], [], []
    with tempfile.TemporaryDirectory() as w:
        root = warm_project(Path(w) / "project")
        for attempt in range(args.repeats):
            with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
                bare.append(bare_run(Path(a)))
                cold.append(gate_run(Path(b), False))
            warm.append(warm_run(root, args.profile and attempt == args.repeats - 1))
            model.append(model_after_edit(root, attempt + 1))
            behaviour.append(behaviour_seconds())
    b = statistics.median(bare)
    rows = [
        ("bare script (fit + log_model, no gates)", b, ""),
        ("cold `pytest gates/`, fresh store: data + model gates, promote", statistics.median(cold), ""),
        ("cold process, warm store: `pytest gates/` (champion, cached data verdict)", statistics.median(warm), "<= 0.8"),
        ("`pytest gates/model` after an edit to the pipeline function", statistics.median(model), "<= 0.5"),
    ]
    print(f"| run | median wall seconds (n={args.repeats}) | ratio to bare | target |\n| --- | --- | --- | --- |")
    for name, seconds, target in rows:
        print(f"| {name} | {seconds:.2f} | {seconds / b:.2f} | {target} |")
    print(f"| behavioural family in-process (generic + declared + replay, 60 examples' depth) | "
          f"{statistics.median(behaviour):.2f} | | <= 1 s |")
    print("raw seconds: " + ", ".join(f"{n}={[round(x, 2) for x in v]}" for n, v in
                                      (("bare", bare), ("cold", cold), ("warm", warm), ("model", model), ("behaviour", behaviour))))


if __name__ == "__main__":
    main()
