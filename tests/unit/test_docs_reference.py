"""The generated reference pages in docs/reference/ are what the code says today.

Each page is rendered from the code (mlgate.reference); a committed page that
differs from a fresh rendering means the code changed and the docs did not:
`make reference` (python -m mlgate.reference docs/reference) rewrites them.
"""

from __future__ import annotations

import dataclasses
import re

import pytest

from mlgate import tracking
from mlgate.reference.metrics_page import exported_metrics
from mlgate.reference.pages import render_all, stale_pages, write_all
from mlgate.reference.settings_page import setting_docs
from mlgate.reference.tags_page import tag_comments, tag_constants
from mlgate.settings import Settings
from tests.support.project import ROOT

REFERENCE = ROOT / "docs" / "reference"
FIX = "run `make reference` and commit docs/reference/"


@pytest.mark.parametrize("page", sorted(render_all()))
def test_committed_reference_page_equals_a_fresh_rendering(page):
    committed = (REFERENCE / page).read_text(encoding="utf-8") if (REFERENCE / page).is_file() else ""
    assert committed == render_all()[page], f"docs/reference/{page} is stale: {FIX}"


def test_a_page_edited_by_hand_or_missing_is_found_stale(tmp_path):
    write_all(tmp_path)
    assert stale_pages(tmp_path) == []
    settings_page = tmp_path / "settings.md"
    settings_page.write_text(settings_page.read_text(encoding="utf-8").replace("0.025", "0.030"), encoding="utf-8")
    (tmp_path / "cli.md").unlink()
    assert stale_pages(tmp_path) == ["cli.md", "settings.md"]


def test_every_setting_appears_in_the_settings_reference():
    page = (REFERENCE / "settings.md").read_text(encoding="utf-8")
    rows = set(re.findall(r"^\| `(\w+)` \|", page, flags=re.MULTILINE))
    missing = [f.name for f in dataclasses.fields(Settings) if f.name not in rows]
    assert not missing, f"settings missing from docs/reference/settings.md: {missing}; {FIX}"


def test_the_settings_reference_gives_each_setting_its_declared_default():
    docs = {doc.name: doc for doc in setting_docs()}
    assert docs["serving_p99_budget_seconds"].default == "0.05"
    assert docs["estimator_params"].default == "{ n_estimators = 100 }"
    assert docs["max_request_bytes"].default == "10485760 (10 * 1024 * 1024)"
    assert docs["dataset"].type == "str" and docs["dataset"].section == "data"


def test_every_tag_constant_of_tracking_has_a_comment():
    comments = tag_comments()
    undocumented = [name for name in tag_constants() if not comments.get(name)]
    assert not undocumented, f"tag constants of mlgate.tracking with no comment: {undocumented}"
    assert tag_constants()["TAG_VERDICT"] == tracking.TAG_VERDICT


def test_every_exported_metric_has_help_and_the_counters_end_in_total():
    metrics = exported_metrics()
    assert {name for name, *_ in metrics} >= {"mlgate_inference_requests_total", "mlgate_feature_drift_psi"}
    assert all(text for *_, text in metrics)
    assert all(name.endswith("_total") for name, kind, *_ in metrics if kind == "counter")


def test_every_setting_has_its_own_comment_in_the_settings_module():
    """The house rule (one comment line per setting) is what fills the reference's last column."""
    undocumented = [doc.name for doc in setting_docs() if not doc.doc]
    assert not undocumented, f"settings with no comment above them in mlgate.settings: {undocumented}"
