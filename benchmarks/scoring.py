"""Batch scoring: `mlgate score` against `mlflow models predict` on the same file.

A champion is trained on 5,000 penguin-like rows (strings with gaps, numbers
with gaps, an integer `year`; tests/support/penguins.py) and registered in a
fresh SQLite store with its compiled form and drift profile, as a green gate
session leaves it. Then, on a CSV of `--rows` rows drawn the same way:

- wall time and peak memory (the process's max RSS, from /usr/bin/time) of
  `mlgate score` and of `mlflow models predict -t csv --env-manager local`;
  rows per second over the whole command, start-up included;
- whether the two wrote the same labels, row for row;
- `mlgate score`'s peak memory on a 10x smaller file of the same rows:
  chunked scoring should cost the same memory whatever the file's length.

    python benchmarks/scoring.py [--rows 1000000] [--folder /tmp/mlgate-bench-score]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.penguins import TARGET, penguins_frame  # noqa: E402
from tests.support.serving import register_model  # noqa: E402

TRAINING_ROWS = 5000
MODEL = "penguins"


def measured(command: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GB) of `command`, which must succeed."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} failed:\n{done.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return seconds, peak_kb / 1024**2


def write_input(folder: Path, rows: int, seed: int) -> Path:
    path = folder / f"rows-{rows}.csv"
    if not path.exists():
        penguins_frame(rows, seed=seed).drop(columns=[TARGET]).to_csv(path, index=False)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=None, help="keep the store and files here (default: a temp folder)")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="mlgate-bench-score-"))
    folder.mkdir(parents=True, exist_ok=True)
    registered = register_model(folder / "store", penguins_frame(TRAINING_ROWS), TARGET, model_name=MODEL)
    env = {**os.environ, "MLFLOW_TRACKING_URI": registered.tracking_uri}
    small, large = write_input(folder, args.rows // 10, 1), write_input(folder, args.rows, 1)
    print(f"{args.rows:,} rows ({large.stat().st_size / 1e6:.0f} MB CSV); load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    score = [sys.executable, "-m", "mlgate", "score", "--model-uri", registered.model_uri]
    small_s, small_gb = measured([*score, str(small), "small-out.csv"], env, folder)
    ours_s, ours_gb = measured([*score, str(large), "mlgate-out.csv"], env, folder)
    sk_s, sk_gb = measured([*score, "--engine", "scikit-learn", str(large), "mlgate-sklearn-out.csv"], env, folder)
    predict = [
        str(Path(sys.executable).parent / "mlflow"), "models", "predict", "-m", registered.model_uri,
        "-i", str(large), "-t", "csv", "-o", "mlflow-out.json", "--env-manager", "local",
    ]
    theirs_s, theirs_gb = measured(predict, env, folder)

    ours = pd.read_csv(folder / "mlgate-out.csv")["prediction"].to_numpy()
    theirs = json.loads((folder / "mlflow-out.json").read_text())["predictions"]
    differ = int((ours != pd.Series(theirs).to_numpy()).sum()) if len(theirs) == len(ours) else -1
    sklearn_labels = pd.read_csv(folder / "mlgate-sklearn-out.csv")["prediction"].to_numpy()
    differ += int((sklearn_labels != ours).sum())

    print(f"\n{'command':<24}{'rows':>11}{'wall s':>9}{'rows/s':>11}{'peak GB':>9}")
    print(f"{'mlgate score':<24}{args.rows // 10:>11,}{small_s:>9.1f}{args.rows // 10 / small_s:>11,.0f}{small_gb:>9.2f}")
    print(f"{'mlgate score':<24}{args.rows:>11,}{ours_s:>9.1f}{args.rows / ours_s:>11,.0f}{ours_gb:>9.2f}")
    print(f"{'mlgate score (sklearn)':<24}{args.rows:>11,}{sk_s:>9.1f}{args.rows / sk_s:>11,.0f}{sk_gb:>9.2f}")
    print(f"{'mlflow models predict':<24}{args.rows:>11,}{theirs_s:>9.1f}{args.rows / theirs_s:>11,.0f}{theirs_gb:>9.2f}")
    print(f"\nmlgate score is {theirs_s / ours_s:.1f}x as fast and uses {ours_gb / theirs_gb:.2f}x the memory; "
          f"peak memory {ours_gb / small_gb:.2f}x at 10x the rows")
    print("same labels on every row" if differ == 0 else f"LABELS DIFFER on {differ} rows (-1: different lengths)")
    return 0 if differ == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
