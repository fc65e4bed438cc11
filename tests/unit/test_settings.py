"""Settings: one typed, frozen object from layered sources, and one usage error per bad value.

These tests call `load_settings` directly with an explicit environment and
working folder. That a bad value stops a real session at once is checked in
tests/system/test_usage_errors.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgate.data import check_target
from mlgate.settings import Settings, SettingsError, load_settings
from mlgate.training import resolve_estimator


def write_toml(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


@pytest.fixture
def pyproject(tmp_path: Path) -> Path:
    """A project file with its own [tool.mlgate] table: the layer every override sits on."""
    return write_toml(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.mlgate]\nmin_roc_auc = 0.9\nmodel_name = "from-pyproject"\n'
        "holdout_fraction = 0.3\nestimator_params = { n_estimators = 7 }\n",
    )


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """A --mlgate-config file that overrides part of the pyproject table."""
    return write_toml(
        tmp_path / "override.toml",
        '[tool.mlgate]\nmodel_name = "from-config"\nmin_macro_f1 = 0.5\n',
    )


def load(tmp_path: Path, **kwargs) -> Settings:
    """load_settings with no ambient environment and `tmp_path` as the working folder."""
    kwargs.setdefault("environ", {})
    kwargs.setdefault("workdir", tmp_path)
    return load_settings(**kwargs)


# --- layering ---------------------------------------------------------------------------


def test_defaults_apply_without_any_table(tmp_path):
    settings = load(tmp_path)
    assert settings.dataset == "sklearn:breast_cancer"
    assert settings.estimator == "sklearn.ensemble.RandomForestClassifier"
    assert dict(settings.estimator_params) == {"n_estimators": 100}
    assert settings.model_name == "mlgate-classifier"
    assert settings.champion_uri == "models:/mlgate-classifier@champion"


def test_pyproject_table_overrides_defaults(tmp_path, pyproject):
    settings = load(tmp_path, pyproject=pyproject)
    assert settings.min_roc_auc == 0.9
    assert settings.holdout_fraction == 0.3
    assert dict(settings.estimator_params) == {"n_estimators": 7}
    assert settings.min_macro_f1 == Settings().min_macro_f1


def test_config_file_overrides_pyproject_key_by_key(tmp_path, pyproject, config_file):
    settings = load(tmp_path, pyproject=pyproject, config_file=config_file)
    assert settings.model_name == "from-config"
    assert settings.min_macro_f1 == 0.5
    assert settings.min_roc_auc == 0.9  # untouched by the config file, kept from pyproject


def test_command_line_overrides_config_file_and_none_means_not_given(tmp_path, pyproject, config_file):
    settings = load(
        tmp_path,
        pyproject=pyproject,
        config_file=config_file,
        overrides={"model_name": "from-cli", "target": None},
    )
    assert settings.model_name == "from-cli"
    assert settings.target == "target"


def test_tracking_uri_comes_from_mlflow_tracking_uri(tmp_path):
    settings = load(tmp_path, environ={"MLFLOW_TRACKING_URI": "http://127.0.0.1:5000"})
    assert settings.tracking_uri == "http://127.0.0.1:5000"


def test_tracking_uri_defaults_to_sqlite_in_the_working_folder(tmp_path):
    assert load(tmp_path).tracking_uri == f"sqlite:///{tmp_path / 'mlflow.db'}"


def test_relative_paths_resolve_against_the_working_folder(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "table.csv").write_text("a,target\n1,0\n", encoding="utf-8")
    settings = load(tmp_path, overrides={"dataset": "data/table.csv"})
    assert settings.dataset == str(tmp_path / "data" / "table.csv")
    assert settings.artifacts_dir == str(tmp_path / "artifacts")
    assert settings.suite_path == tmp_path / "gates" / "expectations" / "table.json"


def test_integer_accepted_where_a_fraction_is_expected(tmp_path):
    config = write_toml(tmp_path / "c.toml", "[tool.mlgate]\nmin_holdout_accuracy = 1\n")
    settings = load(tmp_path, config_file=config)
    assert settings.min_holdout_accuracy == 1.0
    assert isinstance(settings.min_holdout_accuracy, float)


def test_settings_are_frozen_down_to_estimator_params(tmp_path, pyproject):
    settings = load(tmp_path, pyproject=pyproject)
    with pytest.raises(AttributeError):
        settings.min_roc_auc = 0.1  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.estimator_params["n_estimators"] = 1  # type: ignore[index]


def test_random_seed_zero_is_a_valid_seed(tmp_path):
    # 0 is the seed scikit-learn's own examples use most; it is not a bad value.
    config = write_toml(tmp_path / "c.toml", "[tool.mlgate]\nrandom_seed = 0\n")
    assert load(tmp_path, config_file=config).random_seed == 0


def test_evidence_settings_default_and_accept_an_empty_split_key_and_zero_margins(tmp_path):
    assert load(tmp_path).split_key == "" and load(tmp_path).threshold_straddle == "pass"
    config = write_toml(tmp_path / "c.toml", '[tool.mlgate]\nsplit_key = ""\nchampion_score_tolerance = 0\n'
                        'threshold_straddle = "refuse"\nthreshold_confidence_level = 0.9\n')
    settings = load(tmp_path, config_file=config)
    assert (settings.split_key, settings.champion_score_tolerance) == ("", 0.0)
    assert (settings.threshold_straddle, settings.threshold_confidence_level) == ("refuse", 0.9)


# --- each bad value is one SettingsError naming the key and what is allowed ------------

BAD_VALUES = {
    "unknown key": ("min_accuracy = 0.9", ["unknown setting 'min_accuracy'", "min_holdout_accuracy"]),
    "text for a number": ('random_seed = "forty-two"', ["'random_seed'", "int"]),
    "boolean for a number": ("random_seed = true", ["'random_seed'", "int"]),
    "number for text": ("model_name = 3", ["'model_name'", "str"]),
    "text for a table": ('estimator_params = "n_estimators=5"', ["'estimator_params'", "TOML table"]),
    "threshold above 1": ("min_roc_auc = 1.5", ["'min_roc_auc'", "between 0 and 1"]),
    "threshold below 0": ("champion_tolerance = -0.1", ["'champion_tolerance'", "between 0 and 1"]),
    "holdout of nothing": ("holdout_fraction = 0.0", ["'holdout_fraction'", "above 0 and below 1"]),
    "holdout of everything": ("holdout_fraction = 1.0", ["'holdout_fraction'", "above 0 and below 1"]),
    "non-positive count": ("max_batch_rows = 0", ["'max_batch_rows'", "above 0"]),
    "empty text": ('model_name = "  "', ["'model_name'", "empty"]),
    "a straddle rule not offered": ('threshold_straddle = "toss"', ["'threshold_straddle'", "'pass', 'refuse'"]),
    "a two-sided champion level": ("champion_significance_level = 0.5", ["'champion_significance_level'", "below 0.5"]),
    "a confidence of 1": ("threshold_confidence_level = 1.0", ["'threshold_confidence_level'", "below 1"]),
    "a negative margin in nats": ("calibration_tolerance_nats = -0.01", ["'calibration_tolerance_nats'", "0 or above"]),
    "unknown bundled dataset": ('dataset = "sklearn:digits"', ["sklearn:digits", "sklearn:breast_cancer"]),
    "missing dataset file": ('dataset = "nowhere/table.csv"', ["nowhere/table.csv", "does not exist"]),
}


@pytest.mark.parametrize(
    "line, suggested",
    [("min_accuracy = 0.9", "did you mean 'min_holdout_accuracy'"),
     ("serving_p99_budget = 0.05", "did you mean 'serving_p99_budget_seconds'"),
     ("modelname = \"x\"", "did you mean 'model_name'")],
    ids=["a word left out", "the unit left out", "an underscore left out"],
)
def test_a_misspelt_setting_gets_a_did_you_mean_with_the_closest_names(tmp_path, line, suggested):
    config = write_toml(tmp_path / "override.toml", f"[tool.mlgate]\n{line}\n")
    with pytest.raises(SettingsError) as error:
        load(tmp_path, config_file=config)
    assert suggested in str(error.value)
    assert "known settings are" not in str(error.value)


def test_a_setting_like_no_other_lists_every_known_setting(tmp_path):
    config = write_toml(tmp_path / "override.toml", "[tool.mlgate]\nzzz = 1\n")
    with pytest.raises(SettingsError) as error:
        load(tmp_path, config_file=config)
    assert "did you mean" not in str(error.value)
    assert "known settings are: abandoned_after_seconds, artifacts_dir" in str(error.value)


@pytest.mark.parametrize("line, named", BAD_VALUES.values(), ids=BAD_VALUES.keys())
def test_bad_value_raises_settings_error_naming_key_and_source(tmp_path, line, named):
    config = write_toml(tmp_path / "override.toml", f"[tool.mlgate]\n{line}\n")
    with pytest.raises(SettingsError) as error:
        load(tmp_path, config_file=config)
    message = str(error.value)
    for fragment in named:
        assert fragment in message
    if "dataset" not in line:
        assert f"from [tool.mlgate] in {config}" in message


def test_bad_command_line_value_names_the_command_line(tmp_path):
    with pytest.raises(SettingsError, match=r"'target' \(from the command line\) is empty"):
        load(tmp_path, overrides={"target": ""})


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(SettingsError, match=r"config file .*absent\.toml does not exist"):
        load(tmp_path, config_file=tmp_path / "absent.toml")


def test_config_file_without_mlgate_table_is_refused(tmp_path):
    config = write_toml(tmp_path / "c.toml", "[tool.other]\nx = 1\n")
    with pytest.raises(SettingsError, match=r"has no \[tool.mlgate\] table"):
        load(tmp_path, config_file=config)


def test_invalid_toml_is_refused_with_its_path(tmp_path):
    config = write_toml(tmp_path / "c.toml", "[tool.mlgate\nmin_roc_auc = \n")
    with pytest.raises(SettingsError, match=r"c\.toml is not valid TOML"):
        load(tmp_path, config_file=config)


@pytest.mark.parametrize(
    "estimator, params, named",
    [
        ("sklearn.ensemble.RandomForrestClassifier", {}, "does not exist"),
        ("catboostx.CatBoostClassifier", {}, "cannot be imported"),
        ("sklearn.linear_model.LinearRegression", {}, "a regressor, but the task is classification"),
        ("sklearn.ensemble.RandomForestClassifier", {"n_trees": 10}, "['n_trees']"),
    ],
    ids=["misspelt class", "module not installed", "a regressor", "unknown parameter"],
)
def test_bad_estimator_is_a_settings_error(estimator, params, named):
    with pytest.raises(SettingsError) as error:
        resolve_estimator(estimator, params)
    assert named in str(error.value)
    assert "estimator" in str(error.value)


def test_missing_target_column_names_column_and_offers_the_real_ones(tmp_path):
    csv = tmp_path / "table.csv"
    csv.write_text("height,label\n1,a\n", encoding="utf-8")
    settings = load(tmp_path, overrides={"dataset": str(csv), "target": "target"})
    with pytest.raises(SettingsError, match=r"target column 'target' is not in .*table\.csv.*height, label"):
        check_target(settings)


def test_table_of_only_the_target_column_has_no_features(tmp_path):
    csv = tmp_path / "table.csv"
    csv.write_text("label\na\nb\n", encoding="utf-8")
    settings = load(tmp_path, overrides={"dataset": str(csv), "target": "label"})
    with pytest.raises(SettingsError, match="no feature columns"):
        check_target(settings)
