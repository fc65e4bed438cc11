"""The data verdict's key: the same bytes, suite and judges give the same key; any change another."""

from __future__ import annotations

import json

import pytest

from mlgate import data_verdicts
from mlgate.settings import Settings


@pytest.fixture
def suite_settings(tmp_path) -> Settings:
    """A suite file of our own, so a test can change it."""
    (tmp_path / "table.json").write_text(json.dumps({"expectations": [{"type": "a"}]}))
    return Settings(dataset=str(tmp_path / "table.csv"), expectations_dir=str(tmp_path), target="y")


def test_same_bytes_suite_and_judges_give_the_same_key(suite_settings):
    assert data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n") == data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n")


def test_one_changed_byte_changes_the_key(suite_settings):
    assert data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n") != data_verdicts.verdict_key(suite_settings, b"x,y\n2,a\n")


def test_a_changed_suite_changes_the_key(suite_settings):
    before = data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n")
    suite_settings.suite_path.write_text(json.dumps({"expectations": [{"type": "b"}]}))
    assert data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n") != before


def test_another_target_or_judge_version_changes_the_key(suite_settings, monkeypatch):
    import dataclasses

    before = data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n")
    assert data_verdicts.verdict_key(dataclasses.replace(suite_settings, target="x"), b"x,y\n1,a\n") != before
    real = data_verdicts.installed_version
    monkeypatch.setattr(data_verdicts, "installed_version",
                        lambda name: "0.0.1" if name == "great_expectations" else real(name))
    assert data_verdicts.verdict_key(suite_settings, b"x,y\n1,a\n") != before
