"""The lines every gate session ends with: candidate against champion, metric by metric."""

from __future__ import annotations

import math

from mlgate.session.scoreboard import GATE_OF_METRIC, render, rows

PASSED = {gate: "passed" for gate in GATE_OF_METRIC.values()}


def test_each_metric_row_says_better_worse_or_same_by_its_delta():
    board = rows({"accuracy": 0.95, "macro_f1": 0.90, "roc_auc": 0.99},
                 {"accuracy": 0.96, "macro_f1": 0.90, "roc_auc": 0.98}, PASSED)
    assert [(r.metric, r.verdict) for r in board] == [("accuracy", "worse"), ("macro_f1", "same"), ("roc_auc", "better")]
    assert math.isclose(board[0].delta, -0.01)


def test_rendered_board_shows_value_champion_delta_verdict_and_gate():
    status = {**PASSED, GATE_OF_METRIC["roc_auc"]: "failed"}
    lines = render(rows({"accuracy": 0.95, "roc_auc": 0.90}, {"accuracy": 0.93, "roc_auc": 0.97}, status), "4",
                   ["test_roc_auc_meets_minimum"])
    assert lines[0] == "candidate vs champion version 4:"
    assert lines[1].split() == ["metric", "candidate", "champion", "delta", "verdict", "gate"]
    assert lines[2].split() == ["accuracy", "0.9500", "0.9300", "+0.0200", "better", "passed"]
    assert lines[3].split() == ["roc_auc", "0.9000", "0.9700", "-0.0700", "worse", "failed"]
    assert lines[-1] == "  gates that did not pass: test_roc_auc_meets_minimum"


def test_without_a_champion_the_board_says_so_and_shows_no_delta():
    lines = render(rows({"accuracy": 0.95}, None, {}), None, [])
    assert lines[0] == "candidate vs no champion yet:"
    assert lines[2].split() == ["accuracy", "0.9500", "—", "—", "no", "champion", "score", "not", "run"]
    assert lines[-1] == "  every gate that ran passed"


def test_a_session_that_scored_no_candidate_says_so_in_one_line():
    assert render([], "3", []) == ["candidate vs champion: no candidate was scored in this session (no model gate ran)."]
