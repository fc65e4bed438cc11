"""A gate session on a table above `gate_sample_rows` draws its seeded samples and its report names them.

A whole `pytest gates/` on the default data with the cap set to 100 rows: the
compile check and the drift profile each read 100 of the ~460 training rows, the
perf gates send 100 of the ~105 holdout rows, and it still promotes. At the default
cap `pytest gates/model` (partial: it promotes nothing, exits 1, and still writes
the report) draws nothing and the report has no Samples section.
"""

from __future__ import annotations

import json
import sys

import pytest

pytestmark = pytest.mark.slow

TIMEOUT_SECONDS = 600


def model_session(project, *args: str):
    return project.run(sys.executable, "-m", "pytest", "gates/model", "-p", "no:cacheprovider", *args,
                       timeout=TIMEOUT_SECONDS)


def test_a_capped_session_draws_seeded_samples_and_its_report_names_them(project):
    config = project.write_config(gate_sample_rows=100)
    done = project.run_gates("--mlgate-config", str(config), timeout=TIMEOUT_SECONDS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))
    samples = report["samples"]
    training_rows = samples["compile check (training rows)"]["of"]
    assert training_rows > 100  # the split's training side, all of which it read before
    assert samples["compile check (training rows)"] == {
        "gate": "compile check (training rows)", "rows": 100, "of": training_rows, "seed": 42,
    }
    assert samples["drift profile (training rows)"] == {**samples["compile check (training rows)"],
                                                        "gate": "drift profile (training rows)"}
    assert samples["perf requests (holdout rows)"]["rows"] == 100 < samples["perf requests (holdout rows)"]["of"]
    markdown = (project.artifacts / "gate_report.md").read_text(encoding="utf-8")
    assert f"| compile check (training rows) | 100 | {training_rows:,} | 42 |" in markdown


def test_at_the_default_cap_the_default_data_is_read_whole(project):
    done = model_session(project)
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((project.artifacts / "gate_report.json").read_text(encoding="utf-8"))
    assert report["samples"] == {}
    assert "## Samples" not in (project.artifacts / "gate_report.md").read_text(encoding="utf-8")
