"""How often the perf gates go red on a model that did not change: their false-alarm rate under load.

For each dataset, N full gate sessions (`pytest gates/`) run one after the
other in a temporary project copy with a fresh SQLite store, so the first
promotes a champion and the later ones are compared with it (latency vs
champion served side by side). The model is the same every time (same data,
same seed): any red perf gate is a false alarm. Beside them, the whole time,
a loop of gate sessions in a second copy loads the machine as another job
would. After each session `artifacts/gate_report.json` is read: `gates` for
each gate's status, `perf` for each measure's value and budget.

Printed: red perf gates per gate and dataset, the sessions that were not
promoted and why, and each perf measure's min/median/max against its budget
(the margin), with the load average sampled during the run.

    python benchmarks/false_alarms.py [--sessions 10] [--datasets breast_cancer wine_categorical] [--no-load]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mlgate.child_process import stop_child
from project_copy import DATASETS, Project, clean_env, copy_project, use_dataset

SESSION_TIMEOUT_SECONDS = 900
LOAD_SAMPLE_SECONDS = 5.0


@dataclass
class Session:
    dataset: str
    index: int
    seconds: float
    returncode: int
    promoted: bool
    reasons: list[str]
    had_champion: bool
    # Gates that did not pass: name -> (family, status, value, threshold, message).
    not_passed: dict[str, tuple[str, str, object, object, str]]
    perf: dict[str, dict]
    perf_gates: list[str]

    @property
    def red_perf(self) -> dict[str, tuple[str, str, object, object, str]]:
        return {name: row for name, row in self.not_passed.items() if row[0] == "perf"}


@dataclass
class LoadLoop:
    """Gate sessions in a loop in their own copy, until stopped: the other job on the machine."""

    project: Project
    # Each finished session: its exit code and the gates that did not pass (name: status, value, threshold).
    sessions: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    stopped: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen | None = None

    def run(self) -> None:
        command = [sys.executable, "-m", "pytest", "gates/", "-q", "-p", "no:cacheprovider"]
        report = self.project.artifacts / "gate_report.json"
        while not self.stopped.is_set():
            report.unlink(missing_ok=True)
            self.process = subprocess.Popen(
                command, cwd=self.project.root, env=clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            code = self.process.wait()
            if self.stopped.is_set():
                break
            not_passed = {"(no gate report)": str(code)}
            if report.is_file():
                gates = json.loads(report.read_text(encoding="utf-8"))["gates"]
                not_passed = {
                    g["name"]: f"{g['status']}, value {g.get('value')} vs threshold {g.get('threshold')}"
                    for g in gates
                    if g["status"] != "passed"
                }
            self.sessions.append((code, not_passed))

    def stop(self) -> None:
        self.stopped.set()
        if self.process is not None and self.process.poll() is None:
            stop_child(self.process, timeout_seconds=30)


class LoadSampler:
    """The 1-minute load average every few seconds, on a thread."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(LOAD_SAMPLE_SECONDS):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self):
        self.samples.append(os.getloadavg()[0])
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()


def run_session(project: Project, arguments: list[str], dataset: str, index: int) -> Session:
    report_path = project.artifacts / "gate_report.json"
    report_path.unlink(missing_ok=True)  # never read the previous session's report
    started = time.perf_counter()
    done = project.run_gates(*arguments, timeout=SESSION_TIMEOUT_SECONDS)
    seconds = time.perf_counter() - started
    if not report_path.is_file():
        tail = (done.stdout[-2000:] + done.stderr[-2000:]).strip()
        return Session(
            dataset,
            index,
            seconds,
            done.returncode,
            False,
            [f"no gate report (exit {done.returncode}): {tail}"],
            False,
            {},
            {},
            [],
        )
    report = json.loads(report_path.read_text(encoding="utf-8"))
    not_passed = {
        g["name"]: (g["family"], g["status"], g.get("value"), g.get("threshold"), g.get("message") or "")
        for g in report["gates"]
        if g["status"] != "passed"
    }
    perf = report.get("perf", {})
    had_champion = any(row.get("champion") is not None for row in perf.values())
    perf_gates = [g["name"] for g in report["gates"] if g["family"] == "perf"]
    return Session(
        dataset,
        index,
        seconds,
        done.returncode,
        bool(report["promoted"]),
        list(report.get("reasons", [])),
        had_champion,
        not_passed,
        perf,
        perf_gates,
    )


def _is_champion_ratio(measure: str) -> bool:
    return measure.endswith("_vs_champion")


def _fmt(value: float | None, measure: str) -> str:
    if value is None:
        return "—"
    if "_seconds" in measure:
        return f"{value * 1e3:.3f} ms"
    return f"{value:.3f}"


def summarize(dataset: str, sessions: list[Session]) -> list[str]:
    n = len(sessions)
    lines = [f"## {dataset}: {n} sessions, {sum(s.promoted for s in sessions)} promoted", ""]
    lines += [
        "| # | seconds | exit | champion before | promoted | gates not passed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in sessions:
        red = ", ".join(f"{name} ({row[1]})" for name, row in s.not_passed.items()) or "—"
        lines.append(
            f"| {s.index} | {s.seconds:.0f} | {s.returncode} | {'yes' if s.had_champion else 'no'} | {'yes' if s.promoted else 'NO'} | {red} |"
        )

    gate_names = sorted({name for s in sessions for name in s.perf_gates})
    lines += ["", "| perf gate | red / sessions |", "| --- | --- |"]
    for name in gate_names:
        ran = sum(name in s.perf_gates for s in sessions)
        red = sum(name in s.red_perf for s in sessions)
        lines.append(f"| {name} | {red} / {ran} |")
    red_rows = [(s.index, name, row) for s in sessions for name, row in s.red_perf.items()]
    if red_rows:
        lines += ["", "Red perf gates, by how much:"]
        for index, name, (_, status, value, threshold, message) in red_rows:
            over = (
                f" ({value / threshold:.2f}x the budget)"
                if isinstance(value, float) and isinstance(threshold, float) and threshold
                else ""
            )
            lines.append(
                f"- session {index}: {name} {status}, value {value} vs threshold {threshold}{over}: {' '.join(message.split())[:300]}"
            )

    measures = sorted({m for s in sessions for m in s.perf})
    lines += [
        "",
        "| perf measure | budget | n | min | median | max | max / budget |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for measure in measures:
        # A ratio vs champion is 1.0 by definition when there is no champion yet: not a measurement.
        rows = [
            s.perf[measure]
            for s in sessions
            if measure in s.perf and (s.had_champion or not _is_champion_ratio(measure))
        ]
        values = [row["value"] for row in rows if row.get("value") is not None]
        if not values:
            continue
        budgets = {row.get("budget") for row in rows}
        budget = budgets.pop() if len(budgets) == 1 else None
        share = f"{max(values) / budget:.2f}" if budget else "—"
        lines.append(
            f"| {measure} | {_fmt(budget, measure)} | {len(values)} | {_fmt(min(values), measure)} | "
            f"{_fmt(statistics.median(values), measure)} | {_fmt(max(values), measure)} | {share} |"
        )

    refused = [s for s in sessions if not s.promoted]
    lines += ["", f"Not promoted: {len(refused)} of {n}"]
    for s in refused:
        lines.append(f"- session {s.index}: {' '.join(s.reasons)[:500]}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/false_alarms.py", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=10, help="gate sessions per dataset (default 10)")
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--no-load", action="store_true", help="no gate-session loop beside the measured sessions")
    args = parser.parse_args(argv)
    if args.sessions < 2:
        parser.error("--sessions must be at least 2: the second session is the first with a champion")

    results: dict[str, list[Session]] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mlgate-false-alarms-") as scratch, LoadSampler() as load:
        loop = None
        if not args.no_load:
            loop = LoadLoop(copy_project(Path(scratch) / "load"))
            threading.Thread(target=loop.run, daemon=True).start()
        try:
            for dataset in args.datasets:
                project = copy_project(Path(scratch) / dataset)  # its own SQLite store: mlflow.db in the copy
                arguments = use_dataset(project, dataset)
                results[dataset] = []
                for index in range(1, args.sessions + 1):
                    session = run_session(project, arguments, dataset, index)
                    results[dataset].append(session)
                    red = ", ".join(session.red_perf) or "none"
                    print(
                        f"[{time.perf_counter() - started:5.0f}s] {dataset} session {index}/{args.sessions}: "
                        f"{'promoted' if session.promoted else 'NOT promoted'} in {session.seconds:.0f}s, "
                        f"red perf gates: {red}, load {os.getloadavg()[0]:.2f}",
                        file=sys.stderr,
                        flush=True,
                    )
        finally:
            if loop is not None:
                loop.stop()

    samples = load.samples
    beside, load_lines = "no load beside them", []
    if loop is not None:
        not_green = [(i, code, gates) for i, (code, gates) in enumerate(loop.sessions, 1) if code != 0 or gates]
        beside = f"a gate-session loop beside them ({len(loop.sessions)} sessions finished, {len(not_green)} not green)"
        load_lines = [
            f"- load session {i} (breast_cancer, measured sessions beside it): exit {code}, not passed: "
            + (", ".join(f"{name} ({status})" for name, status in gates.items()) or "none")
            for i, code, gates in not_green
        ]
    lines = [
        "# Perf gates' false alarms",
        "",
        (
            f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}; {args.sessions} sessions per dataset, {beside}; "
            f"{time.perf_counter() - started:.0f}s in all"
        ),
        (
            f"1-minute load average during the run (every {LOAD_SAMPLE_SECONDS:g}s, {len(samples)} samples): "
            f"min {min(samples):.2f}, median {statistics.median(samples):.2f}, max {max(samples):.2f}"
        ),
        "",
    ]
    total_red = 0
    for dataset, sessions in results.items():
        lines += summarize(dataset, sessions) + [""]
        total_red += sum(len(s.red_perf) for s in sessions)
    if load_lines:
        lines += ["Load loop sessions that were not green (not counted above):", *load_lines, ""]
    lines.append(f"Red perf gates in all: {total_red} (goal: 0)")
    print("\n".join(lines))
    return 1 if total_red else 0


if __name__ == "__main__":
    sys.exit(main())
