"""The README passes the two-minute test: short, the two commands first, every docs link alive."""

from __future__ import annotations

import re

from tests.support.project import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
FIRST_SCREEN_LINES = 12


def test_the_readme_is_at_most_160_lines():
    assert len(README.splitlines()) <= 160


def test_the_two_commands_are_on_the_first_screen_and_make_test_says_it_is_the_harness_suite():
    first_screen = README.splitlines()[:FIRST_SCREEN_LINES]
    gates = [line for line in first_screen if line.startswith("make gates")]
    test = [line for line in first_screen if line.startswith("make test")]
    assert gates and test, "make gates and make test must be within the README's first lines"
    assert "harness's own suite" in test[0]


def test_every_relative_link_of_the_readme_points_at_a_file():
    targets = re.findall(r"\]\((?!https?://|#)([^)#]+)", README)
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert targets and not missing, f"README links to files that do not exist: {missing}"


def test_the_readme_has_no_placeholder_badge():
    assert "OWNER/REPO" not in README
