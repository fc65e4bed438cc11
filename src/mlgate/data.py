"""Load a dataset (bundled or CSV) and split off a stable, stratified holdout (evaluation/split.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mlgate.evaluation.split import SplitError, SplitIndex, stable_split
from mlgate.settings import BUNDLED_PREFIX, Settings, SettingsError


class DataError(ValueError):
    """The dataset cannot be used as it is; the message says what to change."""


@dataclass(frozen=True)
class Dataset:
    """Feature columns and the label column of one table."""

    frame: pd.DataFrame
    target: str

    @property
    def features(self) -> pd.DataFrame:
        return self.frame.drop(columns=[self.target])

    @property
    def labels(self) -> pd.Series:
        return self.frame[self.target]


@dataclass(frozen=True)
class Split:
    train: Dataset
    holdout: Dataset
    # Rows whose target is missing: they cannot train or score, so the split drops them.
    rows_without_target: int = 0
    # The labelled rows the split was computed on, and which of them are held out (positional):
    # what the champion gate needs to find the holdout rows a champion trained on.
    labelled: Dataset | None = None
    index: SplitIndex | None = None

    @property
    def definition(self) -> str:
        """What decided each row's side, as recorded on the run and the version (tracking.TAG_SPLIT)."""
        return self.index.definition.describe() if self.index is not None else "unknown"


def _load_bundled(name: str) -> pd.DataFrame:
    from sklearn import datasets

    loader = getattr(datasets, f"load_{name}")
    return loader(as_frame=True).frame


def _read_csv(path: Path, content: bytes | None = None, **options) -> pd.DataFrame:
    try:
        return pd.read_csv(io.BytesIO(content) if content is not None else path, **options)
    except FileNotFoundError:
        raise DataError(f"dataset file {path} does not exist; check the --dataset path") from None
    except pd.errors.EmptyDataError:
        raise DataError(f"dataset file {path} is empty; give a CSV with a header row") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataError(f"dataset file {path} is not a readable CSV ({error}); fix the file") from None


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a table's columns and values: the same data gives the same print, whatever file held it."""
    import hashlib

    digest = hashlib.sha256("\x1f".join(map(str, frame.columns)).encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def class_names(dataset: str) -> dict[str, str]:
    """Label -> the class's name, for a bundled dataset whose labels are codes (breast_cancer: 0 = malignant).

    A CSV's labels are shown as they are: there they are the names.
    """
    if not dataset.startswith(BUNDLED_PREFIX):
        return {}
    from sklearn import datasets

    names = getattr(datasets, f"load_{dataset.removeprefix(BUNDLED_PREFIX)}")().get("target_names")
    if names is None:
        return {}
    return {str(code): str(name) for code, name in enumerate(names)}


def read_columns(dataset: str) -> list[str]:
    """The column names of a dataset, reading no more than its header."""
    if dataset.startswith(BUNDLED_PREFIX):
        return list(_load_bundled(dataset.removeprefix(BUNDLED_PREFIX)).columns)
    return list(_read_csv(Path(dataset), nrows=0).columns)


def read_sample(dataset: str, target: str, rows: int = 200) -> pd.DataFrame:
    """The feature columns of a dataset's first rows: enough to check a pipeline function at start-up."""
    if dataset.startswith(BUNDLED_PREFIX):
        frame = _load_bundled(dataset.removeprefix(BUNDLED_PREFIX)).head(rows)
    else:
        frame = _read_csv(Path(dataset), nrows=rows)
    return frame.drop(columns=[target], errors="ignore")


def read_target(dataset: str, target: str) -> pd.Series:
    """The target column alone: what the task is inferred from."""
    if dataset.startswith(BUNDLED_PREFIX):
        return _load_bundled(dataset.removeprefix(BUNDLED_PREFIX))[target]
    return _read_csv(Path(dataset), usecols=[target])[target]


def check_target(settings: Settings) -> None:
    """Fail at start-up, not after training, when the label column is absent."""
    columns = read_columns(settings.dataset)
    if settings.target not in columns:
        shown = ", ".join(columns[:20]) + (" ..." if len(columns) > 20 else "")
        raise SettingsError(
            f"target column '{settings.target}' is not in {settings.dataset}; "
            f"pass --target with one of its columns: {shown}"
        )
    if len(columns) < 2:
        raise SettingsError(f"{settings.dataset} has no feature columns besides '{settings.target}'")


def read_bytes(dataset: str) -> bytes | None:
    """A CSV dataset's bytes, read once so every reader in a session sees the same data."""
    if dataset.startswith(BUNDLED_PREFIX):
        return None
    try:
        return Path(dataset).read_bytes()
    except FileNotFoundError:
        raise DataError(f"dataset file {dataset} does not exist; check the --dataset path") from None


def load_dataset(dataset: str, target: str, content: bytes | None = None) -> Dataset:
    """The whole table, from `content` when given (the bytes of the CSV at `dataset`)."""
    if dataset.startswith(BUNDLED_PREFIX):
        frame = _load_bundled(dataset.removeprefix(BUNDLED_PREFIX))
    else:
        frame = _read_csv(Path(dataset), content)
    if target not in frame.columns:
        raise DataError(f"target column '{target}' is not in {dataset}; pass --target")
    if frame.empty:
        raise DataError(f"dataset {dataset} has a header but no rows")
    return Dataset(frame=frame, target=target)


def split_holdout(dataset: Dataset, fraction: float, *, key: str | None = None, task: str = "classification") -> Split:
    """A stable split: a row keeps its side as rows are appended (mlgate.evaluation.split.stable_split).

    Stratified by label; a regression's target is spread by the hash in expectation only. Rows
    without a target cannot train or score: dropped, and counted. `key` names a column whose value
    decides a row's side (an id); without one, the row's content does.
    """
    missing = dataset.labels.isna()
    # Filtering copies the whole table: only when some rows have no target.
    labelled = dataset.frame[~missing].reset_index(drop=True) if missing.any() else dataset.frame
    if task == "regression":
        if labelled[dataset.target].nunique() < 2:
            raise DataError(f"column '{dataset.target}' has fewer than 2 distinct values; a regressor needs a varying target")
    else:
        _check_labels(labelled[dataset.target], dataset.target)
    try:
        index = stable_split(labelled, dataset.target, fraction, key=key or None, stratify=task != "regression")
    except SplitError as error:
        raise DataError(str(error)) from None
    train, holdout = index.apply(labelled)
    return Split(
        train=Dataset(train.reset_index(drop=True), dataset.target),
        holdout=Dataset(holdout.reset_index(drop=True), dataset.target),
        rows_without_target=len(dataset.frame) - len(labelled),
        labelled=Dataset(labelled, dataset.target),
        index=index,
    )


def _check_labels(labels: pd.Series, target: str) -> None:
    counts = labels.value_counts()
    if len(counts) < 2:
        raise DataError(f"column '{target}' has {len(counts)} distinct label(s); a classifier needs at least 2")
    rare = counts[counts < 2]
    if not rare.empty:
        raise DataError(
            f"label(s) {list(rare.index)} of '{target}' occur only once; "
            "a stratified holdout needs at least 2 rows per label"
        )
