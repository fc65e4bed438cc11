"""The compiled model at serving time: an ONNX graph of the whole pipeline, run by onnxruntime.

`CompiledModel` needs only onnx, onnxruntime and numpy: it predicts from one
array per column (what `mlgate.serving.payload.Columns` holds), with no
DataFrame and no scikit-learn on the way. `parity` measures it against the
scikit-learn model it was compiled from; the gate holds that to
`compiled_parity_atol`. `mlgate.compiler` builds it (`compile_model`).

The feed does what ONNX cannot do exactly: each categorical value becomes its
index in the fitted `OneHotEncoder.categories_` by a Python dict lookup -- the
same lookup scikit-learn's encoder does, so `1 == 1.0 == True` and `"a"` vs
`np.str_("a")` behave alike. Missing (None, any NaN, pd.NA) is code -1, an
unseen category is code `len(categories)`. scikit-learn's `SimpleImputer`
takes only NaN as missing in an object column (a None stays None and encodes
as unseen); here None is missing, as the payload parser makes it (None -> NaN)
before a scikit-learn model sees it, so parity holds on the frames the server
and `as_model_input` build.

Portable form: `to_bytes()` is the ONNX model with the columns, their kinds,
the categories and the classes in its `metadata_props` under
"mlgate.compiled" (JSON), so those bytes alone load (`from_bytes`).
`save(folder)` writes them as `model.onnx` plus `compiled.json`, a readable
copy of that metadata; `load(folder)` reads `model.onnx`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime

METADATA_KEY = "mlgate.compiled"
FORMAT_VERSION = 1
MISSING = -1
NUMERIC = "numeric"
CATEGORICAL = "categorical"
MODEL_FILE = "model.onnx"
SIDECAR_FILE = "compiled.json"




@dataclass(frozen=True)
class Parity:
    """How far the compiled model is from the scikit-learn one on some rows."""

    rows: int
    label_mismatches: int
    max_abs_proba_diff: float
    # Position (0-based) of the row with the largest difference; -1 without rows.
    worst_row: int

    def within(self, atol: float) -> bool:
        return self.label_mismatches == 0 and self.max_abs_proba_diff <= atol


@dataclass(frozen=True)
class Compilation:
    compiled: CompiledModel | None
    # Why there is no compiled model; "" when there is one.
    skipped_because: str = ""


# --- the compiled model ------------------------------------------------------------------------


def is_missing(value: Any) -> bool:
    if value is None:
        return True
    try:
        return bool(value != value)  # noqa: PLR0124 - NaN of any float type
    except TypeError:  # pd.NA refuses to be a bool
        return True


def _category_encoder(categories: Sequence[Any]) -> Callable[[Any], int]:
    table: dict[Any, int] = {value: code for code, value in enumerate(categories)}
    table[None] = MISSING
    table[math.nan] = MISSING  # np.nan is math.nan: found by identity, no fallback
    unseen = len(categories)
    get = table.get

    def code(value: Any) -> int:
        found = get(value)
        if found is None:
            return MISSING if is_missing(value) else unseen
        return found

    return code


class CompiledModel:
    """An ONNX graph computing the pipeline's `predict_proba`, and its input contract.

    `columns` are the model's input columns in frame order; `kinds[name]` is
    "numeric" (fed as float64, NaN for missing) or "categorical" (fed as
    objects, None or NaN for missing). `classes_` equals the scikit-learn
    model's `classes_`, values and dtype.
    """

    def __init__(self, onnx_bytes: bytes) -> None:
        model = onnx.load_from_string(onnx_bytes)
        props = {p.key: p.value for p in model.metadata_props}
        if METADATA_KEY not in props:
            raise ValueError(f"this ONNX model has no '{METADATA_KEY}' metadata; compile it with compile_model")
        meta = json.loads(props[METADATA_KEY])
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"compiled model format {meta.get('format')!r}; this code reads {FORMAT_VERSION}")
        self._bytes = onnx_bytes
        self.metadata: dict[str, Any] = meta
        self.columns: tuple[str, ...] = tuple(meta["columns"])
        self.kinds: dict[str, str] = dict(meta["kinds"])
        self.numeric: tuple[str, ...] = tuple(meta["numeric"])
        self.categorical: tuple[str, ...] = tuple(meta["categorical"])
        self.categories: dict[str, list[Any]] = {k: list(v) for k, v in meta["categories"].items()}
        self.estimator: str = meta["estimator"]
        self.precision: str = meta["precision"]
        classes = meta["classes"]
        self.classes_: np.ndarray = np.array(classes["values"], dtype=np.dtype(classes["dtype"]))
        self._encoders = tuple(_category_encoder(self.categories[c]) for c in self.categorical)
        # A regressor's graph gives one value per row ("predictions"), a classifier's the class probabilities.
        self.task: str = meta.get("task", "classification")
        self._values = self.task == "regression"

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        self.session = onnxruntime.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
        self._output = [self.session.get_outputs()[0].name]
        self._run = self.session.run

    # -- portable form

    def to_bytes(self) -> bytes:
        """The ONNX model, metadata included: all `from_bytes` needs."""
        return self._bytes

    @classmethod
    def from_bytes(cls, onnx_bytes: bytes) -> CompiledModel:
        return cls(onnx_bytes)

    def __reduce__(self):
        # A session cannot be pickled; the bytes rebuild it (server workers are spawned).
        return (CompiledModel.from_bytes, (self._bytes,))

    def save(self, folder: str | Path) -> Path:
        """`model.onnx` (loadable alone) and `compiled.json` (a readable copy of its metadata)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / MODEL_FILE).write_bytes(self._bytes)
        (folder / SIDECAR_FILE).write_text(json.dumps(self.metadata, indent=2), encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: str | Path) -> CompiledModel:
        return cls((Path(folder) / MODEL_FILE).read_bytes())

    # -- hot path

    def feed(self, columns: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The graph's inputs for some rows given as one array per column."""
        feed = {}
        n_rows = None
        if self.numeric:
            # (columns x rows) then transposed: for one row already C-contiguous, no copy.
            numeric = np.ascontiguousarray(np.array([columns[name] for name in self.numeric], dtype=np.float64).T)
            n_rows = numeric.shape[0]
            if np.isinf(numeric).any():
                # scikit-learn's imputer refuses infinities; so does this.
                raise ValueError("Input X contains infinity or a value too large for dtype('float64').")
            feed[NUMERIC] = numeric
        if self.categorical:
            if n_rows is None:
                n_rows = len(columns[self.categorical[0]])
            codes = np.empty((n_rows, len(self.categorical)), dtype=np.int64)
            for j, name in enumerate(self.categorical):
                codes[:, j] = np.fromiter(map(self._encoders[j], columns[name]), dtype=np.int64, count=n_rows)
            feed[CATEGORICAL] = codes
        return feed

    def predict_proba_columns(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Class probabilities (float64, rows x classes), columns as in `classes_`."""
        return self._run(self._output, self.feed(columns))[0]

    def predict_columns(self, columns: Mapping[str, np.ndarray]) -> np.ndarray:
        """Labels: `classes_` at each row's largest probability, the first on a tie; a regressor's values."""
        out = self._run(self._output, self.feed(columns))[0]
        return out[:, 0] if self._values else self.classes_.take(out.argmax(axis=1))

    # -- DataFrame convenience (gates, parity): not the hot path

    def frame_columns(self, frame) -> dict[str, np.ndarray]:
        columns = {}
        for name in self.numeric:
            columns[name] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
        for name in self.categorical:
            columns[name] = frame[name].to_numpy(dtype=object)
        return columns

    def predict_proba(self, frame) -> np.ndarray:
        return self.predict_proba_columns(self.frame_columns(frame))

    def predict(self, frame) -> np.ndarray:
        return self.predict_columns(self.frame_columns(frame))

    def __repr__(self) -> str:
        return (
            f"CompiledModel({self.estimator}, {len(self.numeric)} numeric + {len(self.categorical)} "
            f"categorical columns, classes={list(self.classes_)}, precision={self.precision})"
        )


def parity(model, compiled: CompiledModel, frame, expected_answers=None) -> Parity:
    """Label mismatches and the largest |probability difference| of `compiled` against `model`.

    `expected_answers` (labels, proba): the model's own on `frame`, when the session
    already computed them; the compiled labels are its probabilities' argmax, as it serves them.
    """
    rows = len(frame)
    if rows == 0:
        return Parity(0, 0, 0.0, -1)
    if expected_answers is None:
        expected_answers = (model.predict(frame), model.predict_proba(frame))
    labels_expected, expected = np.asarray(expected_answers[0]), np.asarray(expected_answers[1], dtype=np.float64)
    actual = compiled.predict_proba(frame)
    if actual.shape != expected.shape:
        return Parity(rows, rows, math.inf, 0)
    diff = np.abs(actual - expected)
    diff[np.isnan(diff)] = math.inf
    per_row = diff.max(axis=1)
    worst = int(per_row.argmax())
    labels_actual = compiled.classes_.take(actual.argmax(axis=1))
    mismatches = int(np.count_nonzero(labels_expected != labels_actual))
    return Parity(rows, mismatches, float(per_row[worst]), worst)
