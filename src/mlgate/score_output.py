"""What `mlgate score` shows: a progress line on stderr while it runs, then the summary and the drift."""

from __future__ import annotations

import time

from mlgate.scoring import Scored


class ProgressLine:
    """Progress on `stream`: the share read, rows done, rows per second.

    On a terminal one line rewritten per chunk; into a log a line every
    LOG_EVERY_SECONDS and a last one, so a CI log is not one line per chunk.
    """

    LOG_EVERY_SECONDS = 5.0

    def __init__(self, stream) -> None:
        self.stream, self.clock, self.tty = stream, time.perf_counter, stream.isatty()
        self.started = self.logged = None
        self.last = ""

    def __call__(self, rows: int, share: float | None) -> None:
        now = self.clock()
        if self.started is None:  # the first call, before the first chunk: scoring starts now
            self.started = self.logged = now
        done = f" {share:6.1%}" if share is not None else ""
        self.last = f"scoring:{done} {rows:,} rows, {rows / max(now - self.started, 1e-9):,.0f} rows/s"
        if self.tty:
            self.stream.write(f"\r{self.last}")
        elif now - self.logged >= self.LOG_EVERY_SECONDS:
            self.stream.write(f"{self.last}\n")
            self.logged = now
        self.stream.flush()

    def end(self) -> None:
        if self.last:
            self.stream.write("\n" if self.tty else f"{self.last}\n")
            self.stream.flush()


def summary_lines(scored: Scored, model: str, version: str, max_psi: float) -> list[str]:
    lines = [
        f"scored {scored.rows:,} rows with {model} version {version or '-'} ({scored.engine}) in "
        f"{scored.seconds:.1f}s, {scored.rows_per_second:,.0f} rows/s; wrote {scored.output}"
    ]
    if not scored.profiled:
        return [*lines, "no drift report: the model has no reference drift profile (a gate session registers one)"]
    drifted = [d for d in scored.drifts if d.psi > max_psi]
    lines.append(
        f"drift against the training profile (PSI; above {max_psi:g}, max_serving_drift_psi, is drifted): "
        + (f"{len(drifted)} feature(s) drifted" if drifted else "no feature drifted")
    )
    lines += [f"  {'DRIFTED ' if d.psi > max_psi else ''}{d.describe()}" for d in scored.drifts]
    if scored.label_drift is not None:
        lines.append(f"  {scored.label_drift.describe()}")
    return lines
