"""Great Expectations suites for the staged month of each source.

GX Core 1.x has no DuckDB or polars engine (shared/GUIDE.md). We validate with
GX's pandas engine: the month's rows come out of DuckDB as Arrow and become a
pandas DataFrame holding only the columns the suite looks at. This path needs
no patch of GX internals; the SQL-pushdown alternative (a shim that makes GX
keep its DuckDB connection open) was measured against it: see docs/quality.md.

Suites are built from the landing descriptions (assets/landing.py), so a field
added there is checked here without a second list.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any

import duckdb

from assets.landing import CLOSED_STATUSES, Source

SAMPLE_VALUES = 5  # unexpected values shown per expectation


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str
    success: bool
    observed_value: Any
    unexpected_count: int | None
    sample: list


@dataclass(frozen=True)
class SuiteOutcome:
    source: str
    months: tuple[date, ...]
    rows: int
    outcomes: tuple[ExpectationOutcome, ...]

    @property
    def success(self) -> bool:
        return all(o.success for o in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success]


# ---------------------------------------------------------------- batches


def batch_sql(source: Source) -> str:
    """The staged rows of the run's months as the suite sees them: timestamps in
    Riyadh local time (naive) beside their month's [start, end), and rules across
    fields as boolean columns."""
    window = "month::TIMESTAMP AS month_start, (month + INTERVAL 1 MONTH)::TIMESTAMP AS month_end"
    if source.kind == "counts":
        return (
            f"SELECT {window}, date::TIMESTAMP AS date, category, count FROM staging.daily_counts "
            "WHERE month IN (SELECT unnest($months)) AND source = $source"
        )
    columns = [window]
    for f in source.fields:
        if not f.stored:
            continue
        if f.kind == "ts":
            columns.append(f"timezone('Asia/Riyadh', {f.column}) AS {f.column}")
        elif f.kind in ("id", "enum"):
            columns.append(f.column)
    if source.kind == "snapshot":
        columns.append("file_date AS snapshot_date")
        columns.append(
            f"(status IN {CLOSED_STATUSES}) = (closed_at IS NOT NULL) AS closed_at_matches_status"
        )
    return f"SELECT {', '.join(columns)} FROM staging.{source.name} WHERE month IN (SELECT unnest($months))"


def read_batch(con: duckdb.DuckDBPyConnection, source: Source, months: list[date]):
    params = {"months": months, **({"source": source.name} if source.kind == "counts" else {})}
    return con.sql(batch_sql(source), params=params).to_arrow_table().to_pandas()


# ---------------------------------------------------------------- suites


def _inside_month(gxe, column: str) -> list:
    """A value lies in its row's month: month_start <= value < month_end."""
    return [
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A=column, column_B="month_start", or_equal=True),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="month_end", column_B=column, or_equal=False),
    ]


def expectations(source: Source) -> list:
    """The suite of a source, from its landing description."""
    import great_expectations.expectations as gxe

    window = ["month_start", "month_end"]
    suite: list = []
    if source.kind == "counts":
        suite += [
            gxe.ExpectTableColumnsToMatchSet(column_set=window + ["date", "category", "count"], exact_match=True),
            gxe.ExpectColumnValuesToNotBeNull(column="date"),
            *_inside_month(gxe, "date"),
            gxe.ExpectColumnValuesToNotBeNull(column="category"),
            gxe.ExpectColumnValuesToNotBeNull(column="count"),
            gxe.ExpectColumnValuesToBeInTypeList(column="count", type_list=["int64", "Int64", "int32"]),
            gxe.ExpectColumnValuesToBeBetween(column="count", min_value=0),
            gxe.ExpectCompoundColumnsToBeUnique(column_list=["date", "category"]),
        ]
        category = source.field("category")
        if category.values:
            suite.append(gxe.ExpectColumnValuesToBeInSet(column="category", value_set=list(category.values)))
        return suite

    id_column = source.field(source.id_field).column
    time_column = source.field(source.time_field).column
    stored = [f.column for f in source.fields if f.stored and f.kind in ("id", "ts", "enum")]
    suite += [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=window + stored
            + (["snapshot_date", "closed_at_matches_status"] if source.kind == "snapshot" else []),
            exact_match=True,
        ),
        gxe.ExpectColumnValuesToNotBeNull(column=id_column),
        gxe.ExpectColumnValuesToNotBeNull(column=time_column),
        *_inside_month(gxe, time_column),
    ]
    if source.kind == "snapshot":
        suite.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=["snapshot_date", id_column]))
    else:  # unique after de-duplication, within each month
        suite.append(gxe.ExpectCompoundColumnsToBeUnique(column_list=["month_start", id_column]))
    for f in source.fields:
        if f.kind == "enum" and f.values:
            suite.append(gxe.ExpectColumnValuesToBeInSet(column=f.column, value_set=list(f.values)))
        if f.kind == "enum" and f.required:
            suite.append(gxe.ExpectColumnValuesToNotBeNull(column=f.column))
        if f.kind == "ts" and f.name != source.time_field:
            # ended_at / answered_at / closed_at: never before the record's start
            suite.append(
                gxe.ExpectColumnPairValuesAToBeGreaterThanB(
                    column_A=f.column, column_B=time_column, or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    if source.kind == "snapshot":  # closed tickets have closed_at, open ones don't
        suite.append(gxe.ExpectColumnValuesToBeInSet(column="closed_at_matches_status", value_set=[True]))
    return suite


@lru_cache(maxsize=1)
def _datasource():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no calls home from a closed network
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context.data_sources.add_pandas("vob_staging")


@lru_cache(maxsize=None)
def _batch_definition(name: str):
    return _datasource().add_dataframe_asset(name).add_batch_definition_whole_dataframe("month")


def validate_frame(name: str, frame, suite_expectations: list) -> list[ExpectationOutcome]:
    """Run expectations on a DataFrame with GX; one outcome per expectation."""
    import great_expectations as gx

    suite = gx.ExpectationSuite(name=name, expectations=suite_expectations)
    result = _batch_definition(name).get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES}
    )
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        kwargs = config.kwargs
        column = kwargs.get("column") or ",".join(
            kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
        ).strip(",")
        details = item.result or {}
        if item.exception_info and item.exception_info.get("raised_exception"):
            details = {"observed_value": item.exception_info.get("exception_message")}
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=column,
                success=bool(item.success),
                observed_value=_plain(details.get("observed_value")),
                unexpected_count=details.get("unexpected_count"),
                sample=[_plain(v) for v in (details.get("partial_unexpected_list") or [])][:SAMPLE_VALUES],
            )
        )
    return outcomes


def validate_months(con: duckdb.DuckDBPyConnection, source: Source, months: list[date]) -> SuiteOutcome:
    """One validation over the staged rows of all `months` (GX's fixed cost is per call)."""
    frame = read_batch(con, source, months)
    outcomes = validate_frame(f"staging_{source.name}", frame, expectations(source))
    return SuiteOutcome(source.name, tuple(months), len(frame), tuple(outcomes))


def _plain(value: Any) -> Any:
    """JSON-friendly values for Dagster metadata."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
