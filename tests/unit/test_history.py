"""The history's pure core: what each version's tags and run say, as rows, Markdown and plots."""

from __future__ import annotations

import math

import pytest

from mlgate import tracking
from mlgate.session.history import (
    CHAMPION,
    CROWNED,
    LATENCY_PLOT,
    REFUSED,
    SCORES_PLOT,
    UNGATED,
    History,
    draw_trends,
    to_markdown,
    version_rows,
)
from mlgate.tracking import RunFacts, VersionFacts

REFUSAL = "@champion moved from version 1 to 3 while this session ran; rerun the gates."


@pytest.fixture
def facts():
    """Four versions as a store holds them: crowned, refused, champion, and one registered by hand."""
    def run(number: int, accuracy: float) -> RunFacts:
        return RunFacts(
            f"run{number}",
            "FINISHED",
            {"accuracy": accuracy, "macro_f1": accuracy - 0.01, "recall_0": 0.9, "perf.serving_p99_seconds": 0.002 * number},
            {tracking.TAG_DATASET: "sklearn:breast_cancer", tracking.TAG_DATA_FINGERPRINT: "ab" * 32,
             tracking.TAG_GIT_COMMIT: "c0ffee" * 6, tracking.TAG_SERVING_ENGINE: "onnxruntime"},
        )

    versions = [
        VersionFacts("1", "run1", 1_700_000_000_000, {tracking.TAG_GATED_AT: "1700000001"}),
        VersionFacts("2", "run2", 1_700_000_100_000, {tracking.TAG_GATED_AT: "1700000101", tracking.TAG_REFUSED_BECAUSE: REFUSAL}),
        VersionFacts("3", "run3", 1_700_000_200_000, {tracking.TAG_GATED_AT: "1700000201"}),
        VersionFacts("10", "", 1_700_000_300_000, {tracking.metric_tag_key("accuracy"): "0.5"}),
    ]
    runs = {f"run{n}": run(n, 0.9 + n / 100) for n in (1, 2, 3)}
    return versions, runs, {tracking.CHAMPION_ALIAS: "3"}


def test_each_version_is_crowned_refused_champion_or_not_gated(facts):
    rows = version_rows(*facts)
    assert [(r.version, r.outcome) for r in rows] == [(1, CROWNED), (2, REFUSED), (3, CHAMPION), (10, UNGATED)]
    assert rows[1].refused_because == REFUSAL and rows[1].crowned_at is None
    assert rows[0].crowned_at == 1700000001


def test_scores_come_from_the_run_and_from_version_tags_without_one(facts):
    rows = version_rows(*facts)
    assert rows[2].scores == pytest.approx({"accuracy": 0.93, "macro_f1": 0.92, "recall_0": 0.9})
    assert rows[2].serving_seconds == {"p99": 0.006}
    assert rows[3].scores == {"accuracy": 0.5} and rows[3].dataset == "" and rows[3].code_version == ""


def test_markdown_lists_newest_first_with_why_refused(facts):
    markdown = to_markdown(History("m", "sqlite:///x.db", version_rows(*facts), {"0": "malignant"}), [SCORES_PLOT])
    table = [line for line in markdown.splitlines() if line.startswith("| ") and not line.startswith("| ---")]
    assert [row.split(" | ")[0] for row in table[1:]] == ["| 10", "| 3", "| 2", "| 1"]
    assert "recall malignant (0)" in table[0] and "p99 ms" in table[0]
    assert "| 3 | 2023-11-14 22:16 | 👑 champion | 2023-11-14 22:16 | 0.93 |" in markdown
    assert "`ababababab" in markdown and "`c0ffeec0ff`" in markdown
    assert f"- version 2: {REFUSAL}" in markdown
    assert "4 version(s) in `sqlite:///x.db`: 2 crowned, 1 refused, 1 registered outside the gates" in markdown
    assert f"![{SCORES_PLOT}]({SCORES_PLOT})" in markdown


def test_trend_plots_are_written_and_skipped_without_any_value(facts, tmp_path):
    history = History("m", "sqlite:///x.db", version_rows(*facts))
    assert [p.name for p in draw_trends(history, tmp_path)] == [SCORES_PLOT, LATENCY_PLOT]
    assert all(p.stat().st_size > 10_000 for p in tmp_path.iterdir())
    untimed = tmp_path / "untimed"
    untimed.mkdir()
    rows = [row for row in history.rows if not row.serving_seconds]
    assert [p.name for p in draw_trends(History("m", "s", rows), untimed)] == [SCORES_PLOT]


def test_a_nan_tag_is_not_a_score():
    broken = [VersionFacts("1", "", 0, {tracking.metric_tag_key("accuracy"): "nan", tracking.TAG_GATED_AT: "x"})]
    (row,) = version_rows(broken, {}, {})
    assert row.scores == {} and row.outcome == UNGATED and not math.isnan(row.registered_at)
