"""The scoring core without a socket: payloads to frames, client mistakes to 4xx, micro-batches."""

from __future__ import annotations

import asyncio
import json
import time

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from mlgate.serving.app import discard_body, read_body
from mlgate.serving.batching import MicroBatcher
from mlgate.serving.payload import (
    ClientError,
    Columns,
    InputSchema,
    parse_columns,
    parse_request,
    predictions_body,
)
from mlgate.training import as_model_input

# A user's kind of signature: every type but float/integer, one optional column.
MIXED = InputSchema.of(
    [("colour", "string"), ("size", "double"), ("indoor", "boolean"), ("count", "long")],
    required={"size", "indoor", "count"},
)
ROWS = pd.DataFrame(
    {
        "colour": pd.Series(["red", None, "blue"], dtype=object),
        "size": [0.5, 2.25, -1.0],
        "indoor": [True, False, True],
        "count": [3, 0, 7],
    }
)
# An integer column reaches the model as float64 (NaN for a gap): the pipeline imputes it as any number.
EXPECTED = as_model_input(ROWS).assign(colour=pd.Series(["red", np.nan, "blue"], dtype=object), count=[3.0, 0.0, 7.0])
RECORDS = [
    {"colour": "red", "size": 0.5, "indoor": True, "count": 3},
    {"colour": None, "size": 2.25, "indoor": False, "count": 0},
    {"colour": "blue", "size": -1.0, "indoor": True, "count": 7},
]
COLUMNS = {k: [r[k] for r in RECORDS] for k in RECORDS[0]}
NAMES = list(RECORDS[0])
JSON = "application/json"


def _json(document) -> bytes:
    return json.dumps(document).encode()


BODIES = {
    "dataframe_split": _json({"dataframe_split": {"columns": NAMES, "data": [list(r.values()) for r in RECORDS]}}),
    "dataframe_split with index": _json(
        {"dataframe_split": {"columns": NAMES, "index": [7, 8, 9], "data": [list(r.values()) for r in RECORDS]}}
    ),
    "dataframe_records": _json({"dataframe_records": RECORDS}),
    "instances": _json({"instances": RECORDS}),
    "inputs as columns": _json({"inputs": COLUMNS}),
    "inputs as records": _json({"inputs": RECORDS}),
    "params ignored, as MLflow does for scikit-learn": _json({"dataframe_records": RECORDS, "params": {}}),
}


@pytest.mark.parametrize("form", list(BODIES))
def test_every_json_form_gives_the_frame_the_model_was_trained_on(form):
    assert_frame_equal(parse_request(BODIES[form], JSON, MIXED), EXPECTED)


def test_csv_gives_the_same_frame_as_json():
    body = ROWS.to_csv(index=False).encode()
    assert_frame_equal(parse_request(body, "text/csv; charset=utf-8", MIXED), EXPECTED)


def test_columns_in_any_order_are_put_in_signature_order():
    reordered = list(reversed(NAMES))
    body = _json({"dataframe_split": {"columns": reordered, "data": [[r[c] for c in reordered] for r in RECORDS]}})
    assert_frame_equal(parse_request(body, JSON, MIXED), EXPECTED)


def test_an_optional_column_may_be_left_out():
    rows = [{k: v for k, v in r.items() if k != "colour"} for r in RECORDS]
    frame = parse_request(_json({"dataframe_records": rows}), JSON, MIXED)
    assert list(frame.columns) == NAMES
    assert frame["colour"].isna().all() and frame["colour"].dtype == object


def test_whole_floats_are_accepted_in_an_integer_column():
    rows = [{**r, "count": float(r["count"])} for r in RECORDS]
    assert_frame_equal(parse_request(_json({"dataframe_records": rows}), JSON, MIXED), EXPECTED)


@pytest.mark.parametrize("body", ["json records", "json split", "csv"])
def test_a_null_in_an_integer_column_is_taken_as_missing(body):
    rows = [RECORDS[0], {**RECORDS[1], "count": None}]
    bodies = {
        "json records": (_json({"dataframe_records": rows}), JSON),
        "json split": (_json({"dataframe_split": {"columns": NAMES, "data": [list(r.values()) for r in rows]}}), JSON),
        "csv": (b"colour,size,indoor,count\nred,0.5,true,3\n,2.25,false,\n", "text/csv"),
    }
    frame = parse_request(*bodies[body], MIXED)
    assert frame["count"].dtype == np.float64 and frame["count"].iloc[0] == 3.0 and np.isnan(frame["count"].iloc[1])


def test_an_integer_signature_takes_one_float_block_with_gaps_but_refuses_a_fraction():
    schema = InputSchema.of([("a", "double"), ("year", "long")], {"a", "year"})
    columns = parse_columns(_json({"dataframe_split": {"columns": ["a", "year"], "data": [[1, 2007], [None, None]]}}), JSON, schema)
    assert columns.block is not None
    assert columns.block[0].tolist() == [1.0, 2007.0] and np.isnan(columns.block[1]).all()
    with pytest.raises(ClientError, match="column 'year' takes an integer"):
        parse_columns(_json({"dataframe_split": {"columns": ["a", "year"], "data": [[1, 2007.5]]}}), JSON, schema)
    with pytest.raises(ClientError, match="too large for its type 'long'"):
        parse_columns(_json({"dataframe_split": {"columns": ["a", "year"], "data": [[1, 2**70]]}}), JSON, schema)


def test_all_double_signature_takes_one_float_block():
    schema = InputSchema.of([("a", "double"), ("b", "double")], {"a", "b"})
    frame = parse_request(
        _json({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.5], [None, 4]]}}), JSON, schema
    )
    expected = pd.DataFrame({"a": [1.0, np.nan], "b": [2.5, 4.0]})
    assert_frame_equal(frame, expected)


def _record(**changes) -> bytes:
    return _json({"dataframe_records": [{**RECORDS[0], **changes}]})


BAD, SCHEMA, MEDIA = (400, "BAD_REQUEST"), (400, "INVALID_PARAMETER_VALUE"), (415, "UNSUPPORTED_MEDIA_TYPE")
# name -> (body, content type, (status, error_code), words the message must contain)
CLIENT_MISTAKES = {
    "malformed JSON": (b'{"dataframe_records": [', JSON, BAD, "not valid JSON"),
    "empty body": (b"", JSON, BAD, "empty"),
    "JSON list at the top": (_json(RECORDS), JSON, BAD, "wrap the data"),
    "unknown format key": (_json({"records": RECORDS}), JSON, BAD, "unknown key(s) ['records']"),
    "several format keys": (
        _json({"dataframe_records": RECORDS, "instances": RECORDS}),
        JSON,
        BAD,
        "several format keys",
    ),
    "split without columns": (_json({"dataframe_split": {"data": [[1]]}}), JSON, BAD, "'columns'"),
    "ragged rows": (
        _json({"dataframe_split": {"columns": NAMES, "data": [["red", 1.0, True]]}}),
        JSON,
        BAD,
        "row 0 has 3 values",
    ),
    "no rows": (_json({"dataframe_split": {"columns": NAMES, "data": []}}), JSON, BAD, "no rows"),
    "missing column": (
        _json({"dataframe_records": [{"size": 1.0, "indoor": True}]}),
        JSON,
        SCHEMA,
        "missing column(s) ['count']",
    ),
    "extra column": (_record(weight=3), JSON, SCHEMA, "unknown column(s) ['weight']"),
    "text in a number column": (_record(size="big"), JSON, SCHEMA, "column 'size' takes a number"),
    "true in a number column": (_record(size=True), JSON, SCHEMA, "column 'size'"),
    "fraction in an integer column": (_record(count=1.5), JSON, SCHEMA, "column 'count' takes an integer"),
    "number in a boolean column": (_record(indoor=1), JSON, SCHEMA, "column 'indoor' takes true or false"),
    "number in a string column": (_record(colour=4), JSON, SCHEMA, "column 'colour' takes a string"),
    "nested list in a cell": (_record(size=[1, 2]), JSON, SCHEMA, "column 'size'"),
    "integer too large": (_record(count=2**70), JSON, SCHEMA, "too large"),
    "CSV with text in a number column": (
        b"colour,size,indoor,count\nred,big,true,1\n",
        "text/csv",
        SCHEMA,
        "column 'size'",
    ),
    "CSV missing a column": (b"colour,size,indoor\nred,1,true\n", "text/csv", SCHEMA, "['count']"),
    "CSV header only": (b"colour,size,indoor,count\n", "text/csv", BAD, "no rows"),
    "not UTF-8": (b'{"dataframe_records": ["\xff"]}', JSON, BAD, "UTF-8"),
    "unsupported content type": (BODIES["instances"], "text/plain", MEDIA, "'text/plain'"),
    "no content type": (BODIES["instances"], None, MEDIA, "no Content-Type"),
    "charset other than UTF-8": (BODIES["instances"], "application/json; charset=latin-1", MEDIA, "UTF-8"),
    "MLflow 1.x format parameter": (BODIES["instances"], "application/json; format=pandas-split", MEDIA, "format="),
}


@pytest.mark.parametrize("mistake", list(CLIENT_MISTAKES))
def test_each_client_mistake_is_a_4xx_naming_the_problem(mistake):
    body, content_type, (status, code), words = CLIENT_MISTAKES[mistake]
    with pytest.raises(ClientError) as raised:
        parse_request(body, content_type, MIXED)
    error = raised.value
    assert (error.status, error.error_code) == (status, code)
    assert words in error.message
    assert json.loads(error.body()) == {"error_code": code, "message": error.message}


def test_an_unservable_signature_type_is_refused_naming_the_column():
    with pytest.raises(ValueError, match="'when', 'datetime'"):
        InputSchema.of([("when", "datetime")], {"when"})


@pytest.mark.parametrize(
    "labels, text",
    [
        (np.array([0, 1, 1]), '{"predictions": [0, 1, 1]}'),
        (np.array(["low", "high"], dtype=object), '{"predictions": ["low", "high"]}'),
        (np.array([True, False]), '{"predictions": [true, false]}'),
    ],
)
def test_predictions_are_rendered_as_mlflow_renders_them(labels, text):
    assert predictions_body(labels).decode() == text


# --- the body limit ---------------------------------------------------------------------


class _Body:
    """An ASGI request whose body arrives in chunks, counting how many were read."""

    def __init__(self, chunks: int, chunk_bytes: int, declared: int | None) -> None:
        from starlette.requests import Request

        self.left, self.chunk, self.read = chunks, b"x" * chunk_bytes, 0
        headers = [(b"content-type", b"application/json")]
        if declared is not None:
            headers.append((b"content-length", str(declared).encode()))
        self.request = Request(
            {"type": "http", "method": "POST", "path": "/invocations", "headers": headers}, self.receive
        )

    async def receive(self):
        self.read += 1
        self.left -= 1
        return {"type": "http.request", "body": self.chunk, "more_body": self.left > 0}


def test_a_body_declared_over_the_limit_is_refused_before_any_of_it_is_read():
    body = _Body(chunks=100, chunk_bytes=1000, declared=100_000)
    with pytest.raises(ClientError) as raised:
        asyncio.run(read_body(body.request, max_bytes=10_000))
    assert raised.value.status == 413 and "10000 bytes" in raised.value.message
    assert body.read == 0


def test_a_streamed_body_over_the_limit_is_refused_without_reading_the_rest():
    body = _Body(chunks=100, chunk_bytes=1000, declared=None)
    with pytest.raises(ClientError) as raised:
        asyncio.run(read_body(body.request, max_bytes=10_000))
    assert raised.value.status == 413
    assert body.read == 11  # the chunk that crossed the limit, and not one more


# --- micro-batching -----------------------------------------------------------------------


class _Recorder:
    """A model whose prediction for a row is its `a` value times 10; remembers each call's size."""

    def __init__(self, fail_on: float | None = None) -> None:
        self.calls: list[int] = []
        self.fail_on = fail_on

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        self.calls.append(len(frame))
        if self.fail_on is not None and (frame["a"] == self.fail_on).any():
            raise ValueError("this row breaks the model")
        return frame["a"].to_numpy() * 10


def _frames(count: int, rows: int = 1) -> list[pd.DataFrame]:
    return [pd.DataFrame({"a": [float(i * 100 + r) for r in range(rows)]}) for i in range(count)]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The batcher joins requests with what it is given: frames here, the server's Columns in production."""
    return pd.concat(frames, ignore_index=True)


async def _concurrently(batcher: MicroBatcher, frames: list[pd.DataFrame]):
    return await asyncio.gather(*(batcher.predict(f) for f in frames), return_exceptions=True)


def test_concurrent_requests_share_one_predict_call_and_each_gets_its_own_rows():
    model = _Recorder()
    frames = _frames(20, rows=3)
    answers = asyncio.run(_concurrently(MicroBatcher(model.predict, _concat, 0.0003, 256), frames))
    assert model.calls == [60]
    for frame, answer in zip(frames, answers, strict=True):
        assert answer.tolist() == (frame["a"] * 10).tolist()


def test_a_lone_request_is_predicted_without_waiting_for_the_window():
    model = _Recorder()
    batcher = MicroBatcher(model.predict, _concat, window_seconds=5.0, max_rows=256)
    started = time.perf_counter()
    answer = asyncio.run(batcher.predict(_frames(1)[0]))
    assert time.perf_counter() - started < 1.0
    assert answer.tolist() == [0.0]


def test_batches_hold_at_most_max_batch_rows():
    model = _Recorder()
    frames = _frames(10, rows=3)
    answers = asyncio.run(_concurrently(MicroBatcher(model.predict, _concat, 0.0003, max_rows=7), frames))
    assert max(model.calls) <= 7 and sum(model.calls) == 30
    assert [a.tolist() for a in answers] == [(f["a"] * 10).tolist() for f in frames]


def test_a_request_that_breaks_its_batch_fails_alone():
    model = _Recorder(fail_on=300.0)
    frames = _frames(6)
    answers = asyncio.run(_concurrently(MicroBatcher(model.predict, _concat, 0.0003, 256), frames))
    assert isinstance(answers[3], ValueError)
    assert [a.tolist() for i, a in enumerate(answers) if i != 3] == [[i * 1000.0] for i in (0, 1, 2, 4, 5)]


# --- columns: what the server predicts from ------------------------------------------------


def test_columns_hold_one_typed_array_per_model_column_in_schema_order():
    columns = parse_columns(json.dumps({"dataframe_records": RECORDS}).encode(), JSON, MIXED)
    assert len(columns) == 3 and columns.block is None
    by_name = columns.as_mapping()
    assert list(by_name) == list(MIXED.names)
    assert by_name["size"].dtype == np.float64 and by_name["count"].dtype == np.float64
    assert by_name["colour"].dtype == object and by_name["colour"][0] == "red" and np.isnan(by_name["colour"][1])
    assert_frame_equal(columns.to_frame(), EXPECTED[list(MIXED.names)])


def test_columns_of_several_requests_concatenate_in_order_for_both_layouts():
    double = InputSchema.of([("a", "double"), ("b", "double")], {"a", "b"})
    parts = [
        parse_columns(json.dumps({"dataframe_split": {"columns": ["a", "b"], "data": [[i, -i]]}}).encode(), JSON, double)
        for i in range(3)
    ]
    assert all(p.block is not None for p in parts)
    joined = Columns.concat(parts)
    assert joined.as_mapping()["a"].tolist() == [0.0, 1.0, 2.0] and joined.as_mapping()["b"].tolist() == [0.0, -1.0, -2.0]
    mixed = [parse_columns(json.dumps({"dataframe_records": [r]}).encode(), JSON, MIXED) for r in RECORDS]
    assert_frame_equal(Columns.concat(mixed).to_frame(), EXPECTED[list(MIXED.names)])


def test_the_server_predicts_with_the_compiled_model_when_there_is_one(mixed_frame):
    from types import SimpleNamespace

    from mlgate import tracking
    from mlgate.compiler.translate import compile_model
    from mlgate.data import Dataset
    from mlgate.serving.predict import engine_of, predictor_for
    from mlgate.settings import Settings
    from mlgate.training import train_model

    # Missing categories as a CSV gives them (NaN), not None: None would be a category of its own.
    frame = mixed_frame.assign(colour=mixed_frame["colour"].where(mixed_frame["colour"].notna(), np.nan))
    dataset = Dataset(frame, "grade")
    model = train_model(dataset, Settings(estimator_params={"n_estimators": 20}))
    features = as_model_input(dataset.features)
    compiled = compile_model(model, features.head(5)).compiled
    servable = tracking.servable_from_model(model, features.head(5), compiled=compiled)  # the signature it registers with
    schema = InputSchema.of(servable.input_schema, servable.required)
    body = json.dumps({"dataframe_split": json.loads(features.to_json(orient="split", index=False))}).encode()
    columns = parse_columns(body, JSON, schema)

    with_compiled = SimpleNamespace(model=None, compiled=compiled)  # no sklearn model: only the graph can answer
    without = SimpleNamespace(model=model, compiled=None)
    assert engine_of(with_compiled) == "onnxruntime" and engine_of(without) == "scikit-learn"
    assert predictor_for(with_compiled)(columns).tolist() == model.predict(features).tolist()
    assert predictor_for(without)(columns).tolist() == model.predict(features).tolist()


# --- after a 413: the rest of the body is read and dropped, within bounds ----------------


def test_discarding_reads_the_rest_of_a_refused_body_to_its_end():
    body = _Body(chunks=30, chunk_bytes=1000, declared=None)
    assert asyncio.run(discard_body(body.receive, max_bytes=10**6, max_seconds=5)) == 30_000
    assert body.read == 30  # and no read past the last chunk, which would wait for a disconnect


def test_discarding_stops_at_its_byte_bound():
    body = _Body(chunks=1000, chunk_bytes=1000, declared=None)
    assert asyncio.run(discard_body(body.receive, max_bytes=10_000, max_seconds=5)) == 11_000
    assert body.read == 11  # the chunk that crossed the bound, and not one more


def test_discarding_stops_at_its_time_bound_when_the_client_goes_quiet():
    async def silent_client():
        await asyncio.sleep(3600)

    started = time.monotonic()
    assert asyncio.run(discard_body(silent_client, max_bytes=10**9, max_seconds=0.05)) == 0
    assert time.monotonic() - started < 2
