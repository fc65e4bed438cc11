"""`mlgate slices pin`: a found segment appended to [tool.mlgate] slices, nothing else rewritten."""

from __future__ import annotations

import json
import tomllib

import pytest

from mlgate.cli import main
from mlgate.session.slice_pin import PinError, find_entry, pin_slice, toml_value

PHONE = {"name": "channel = phone", "where": {"channel": "phone"}}
INCOME = {"name": "income in [1200, 3400)", "where": {"income": {"from": 1200.0, "to": 3400.0}}}
HEAD = '[project]\nname = "loans"  # a comment\n\n'
TAIL = '\n[tool.ruff]\nline-length = 120\n'


def report_with(*pins: dict) -> dict:
    red = [{"segment": pin["name"], "pin": pin} for pin in pins]
    return {"slices": {"discovered": {"red": red}}}


def mlgate_table(path) -> dict:
    return tomllib.loads(path.read_text(encoding="utf-8"))["tool"]["mlgate"]


@pytest.mark.parametrize("entry", [PHONE, INCOME, {"where": {"a b": {"in": [1, 2]}, "c": {"missing": True}}},
                                   {"column": "income", "bins": [0, 2e4, float("inf")], "min_accuracy": 0.7}])
def test_an_entry_reads_back_as_itself_from_toml(entry):
    assert tomllib.loads(f"x = {toml_value(entry)}")["x"] == entry


@pytest.mark.parametrize("slices_text", [
    None,
    "slices = []",
    'slices = [{column = "region"}]',
    'slices = [{column = "region"},]',
    'slices = [\n    {column = "region"},\n    {column = "age", bins = [20, 40, 70]}  # ages\n]',
    'slices = [\n    {column = "region"}\n]',
])
def test_appends_to_slices_and_leaves_every_other_line_as_it_was(tmp_path, slices_text):
    body = 'dataset = "data/loans.csv"\n' + (slices_text + "\n" if slices_text else "")
    path = tmp_path / "pyproject.toml"
    path.write_text(HEAD + "[tool.mlgate]\n" + body + TAIL, encoding="utf-8")
    before = mlgate_table(path).get("slices", [])
    pinned = pin_slice(path, PHONE)
    assert pinned.written
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEAD + '[tool.mlgate]\ndataset = "data/loans.csv"\n') and text.endswith(TAIL)
    assert mlgate_table(path)["slices"] == [*before, PHONE]


def test_a_shape_it_cannot_append_to_is_left_alone_and_the_lines_to_paste_are_given(tmp_path):
    text = '[tool.mlgate]\ndataset = "x.csv"\n\n[[tool.mlgate.slices]]\ncolumn = "region"\n'
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    pinned = pin_slice(path, PHONE)
    assert not pinned.written and path.read_text(encoding="utf-8") == text
    assert '{name = "channel = phone", where = {channel = "phone"}}' in pinned.paste


def test_finds_a_segment_by_name_or_index_and_names_the_choices_otherwise():
    report = report_with(PHONE, INCOME)
    assert find_entry(report, "channel = phone", None) == PHONE
    assert find_entry(report, None, 1) == INCOME
    with pytest.raises(PinError, match=r"no segment 'channel = Phone'.*\['channel = phone', 'income"):
        find_entry(report, "channel = Phone", None)
    with pytest.raises(PinError, match="--index 2 is out of range"):
        find_entry(report, None, 2)
    with pytest.raises(PinError, match="no red or weakest segment"):
        find_entry({"slices": {"discovered": {"red": []}}}, "channel = phone", None)


def test_the_command_pins_from_the_report_and_the_settings_accept_it(tmp_path, monkeypatch, capsys):
    from mlgate.settings import load_settings

    (tmp_path / "artifacts").mkdir()
    (tmp_path / "artifacts" / "gate_report.json").write_text(json.dumps(report_with(PHONE)), encoding="utf-8")
    (tmp_path / "data.csv").write_text("a,target\n1,0\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text('[tool.mlgate]\ndataset = "data.csv"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    assert main(["slices", "pin", "channel = phone"]) == 0
    assert "appended" in capsys.readouterr().out
    assert load_settings(pyproject=tmp_path / "pyproject.toml", workdir=tmp_path).slices == (PHONE,)
    with pytest.raises(SystemExit) as exit_:
        main(["slices", "pin", "region = north"])
    assert exit_.value.code == 2 and "no segment 'region = north'" in capsys.readouterr().err
