"""The data gate's Great Expectations suite: draft one from reference data, validate a table.

A suite is a JSON file under the expectations folder, one per dataset, meant
to be read and edited by people: every expectation carries `meta.guards`, the
sentence a failing gate shows. great_expectations is imported lazily (it
costs ~2 s) and only here.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from mlgate.data import Dataset

# Numeric columns may arrive as ints or floats (one null turns a CSV int column to float).
NUMERIC_TYPES = ["int", "int8", "int16", "int32", "int64", "Int64", "float", "float32", "float64", "Float64"]
# Beyond this many distinct values a text column is an identifier, not a category.
MAX_CATEGORIES = 50
RANGE_MARGIN = 0.10
ROW_COUNT_BAND = (0.5, 2.0)
SAMPLE_SIZE = 5


def expectation_id(expectation: dict[str, Any]) -> str:
    """A stable, readable test id: `<type without expect_>[<column>]`."""
    kind = expectation["type"].removeprefix("expect_")
    column = expectation.get("kwargs", {}).get("column")
    return f"{kind}[{column}]" if column is not None else kind


def read_suite(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def draft_suite(dataset: Dataset, name: str, task: str | None = None) -> dict[str, Any]:
    """A starting suite describing `dataset` as it is now, with margins.

    A classification target gets its set of labels; a regression target (`task`, inferred
    from the column when None) a numeric range, as a numeric feature does.
    """
    import great_expectations as gx
    from great_expectations import expectations as gxe

    from mlgate.task import REGRESSION, infer_task

    frame = dataset.frame
    # A regression target is drafted as a numeric feature is: a range, not a set of labels.
    numeric_target = (task or infer_task(frame[dataset.target]).task) == REGRESSION
    found = _table_expectations(gxe, frame)
    for column in frame.columns:
        found += _column_expectations(gxe, frame[column], column, is_label=column == dataset.target and not numeric_target,
                                      is_target=column == dataset.target)
    suite = gx.ExpectationSuite(name=name, expectations=found)
    document = suite.to_json_dict()
    document.pop("id", None)
    for expectation in document["expectations"]:
        expectation.pop("id", None)
    return document


def _table_expectations(gxe, frame: pd.DataFrame) -> list:
    """The columns, exactly; the row count within ROW_COUNT_BAND of the reference's."""
    rows = len(frame)
    return [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=list(frame.columns),
            exact_match=True,
            meta={"guards": "the columns the model was built for, no more and no fewer"},
        ),
        gxe.ExpectTableRowCountToBeBetween(
            min_value=math.ceil(rows * ROW_COUNT_BAND[0]),
            max_value=math.floor(rows * ROW_COUNT_BAND[1]),
            meta={"guards": f"a truncated or duplicated file (reference: {rows} rows)"},
        ),
    ]


def _column_expectations(gxe, values: pd.Series, column: str, is_label: bool, is_target: bool = False) -> list:
    """Nulls, then known values (labels, categories), then numeric type and range, for one column."""
    found = [_null_expectation(gxe, values, column, is_target or is_label)]
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    distinct = values.dropna().unique()
    if is_label or (not numeric and len(distinct) <= MAX_CATEGORIES):
        found.append(
            gxe.ExpectColumnValuesToBeInSet(
                column=column,
                value_set=sorted(_plain(v) for v in distinct),
                meta={"guards": f"{'labels' if is_label else 'categories'} never seen in '{column}'"},
            )
        )
    if numeric and not is_label:
        low, high = float(values.min()), float(values.max())
        margin = (high - low) * RANGE_MARGIN or abs(high) * RANGE_MARGIN or 1.0
        found.append(
            gxe.ExpectColumnValuesToBeInTypeList(
                column=column, type_list=NUMERIC_TYPES, meta={"guards": f"text in numeric '{column}'"}
            )
        )
        found.append(
            gxe.ExpectColumnValuesToBeBetween(
                column=column,
                min_value=round(low - margin, 6),
                max_value=round(high + margin, 6),
                meta={"guards": f"'{column}' outside its reference range [{low:g}, {high:g}] ± 10%"},
            )
        )
    return found


def _null_expectation(gxe, values: pd.Series, column: str, is_label: bool):
    """No nulls where the reference has none (or in the label); else at most twice its share."""
    null_share = float(values.isna().mean())
    if null_share == 0 or is_label:
        return gxe.ExpectColumnValuesToNotBeNull(column=column, meta={"guards": f"missing values in '{column}'"})
    return gxe.ExpectColumnValuesToNotBeNull(
        column=column,
        mostly=round(max(0.0, 1 - 2 * null_share), 3),
        meta={"guards": f"more than twice the reference share ({null_share:.1%}) of nulls"},
    )


def write_suite(document: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


@dataclass(frozen=True)
class ExpectationOutcome:
    id: str
    type: str
    column: str | None
    success: bool
    guards: str
    observed: Any = None
    unexpected_count: int | None = None
    unexpected_sample: list[Any] = field(default_factory=list)
    error: str = ""

    def explain(self) -> str:
        """What a failing data gate tells the reader."""
        where = f"column '{self.column}'" if self.column is not None else "the table"
        parts = [f"{self.type} failed on {where}: guards against {self.guards}."]
        if self.error:
            parts.append(f"Error: {self.error}.")
        if self.unexpected_count:
            parts.append(f"{self.unexpected_count} unexpected value(s), e.g. {self.unexpected_sample}.")
        elif self.observed is not None:
            parts.append(f"Observed: {self.observed}.")
        return " ".join(parts)


@dataclass(frozen=True)
class SuiteValidation:
    success: bool
    outcomes: dict[str, ExpectationOutcome]
    result_json: dict[str, Any]

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> "SuiteValidation":
        document = json.loads(text)
        outcomes = {k: ExpectationOutcome(**v) for k, v in document["outcomes"].items()}
        return cls(document["success"], outcomes, document["result_json"])


def validate_frame(frame: pd.DataFrame, suite_document: dict[str, Any]) -> SuiteValidation:
    """Run the suite on the whole frame in an ephemeral GE context."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    suite = context.suites.add(
        gx.ExpectationSuite(
            name=suite_document.get("name", "mlgate"),
            expectations=suite_document["expectations"],
            meta=suite_document.get("meta") or {},
        )
    )
    batch = (
        context.data_sources.add_pandas("mlgate")
        .add_dataframe_asset("dataset")
        .add_batch_definition_whole_dataframe("whole")
    )
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name="mlgate-data-gate")
    )
    result = definition.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_SIZE},
    )
    outcomes: dict[str, ExpectationOutcome] = {}
    for item in result.results:
        config = item.expectation_config
        key = expectation_id({"type": config.type, "kwargs": config.kwargs})
        details = item.result or {}
        error = (item.exception_info or {}).get("exception_message") or ""
        outcomes[key] = ExpectationOutcome(
            id=key,
            type=config.type,
            column=config.kwargs.get("column"),
            success=bool(item.success),
            guards=(config.meta or {}).get("guards", config.type),
            observed=_jsonable(details.get("observed_value")),
            unexpected_count=details.get("unexpected_count"),
            unexpected_sample=_jsonable(details.get("partial_unexpected_list") or []),
            error=error if item.exception_info and item.exception_info.get("raised_exception") else "",
        )
    return SuiteValidation(success=bool(result.success), outcomes=outcomes, result_json=result.to_json_dict())


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str)) if value is not None else None
