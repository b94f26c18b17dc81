"""Great Expectations suites for the staged month of each source.

GX Core 1.x has no DuckDB engine (shared/GUIDE.md). We run the suites as SQL
pushed down into DuckDB through GX's SQLAlchemy engine and `duckdb-engine`,
with a one-line shim: GX must keep its DuckDB connection open between
statements, as it already does for SQLite, or every expectation fails with
"list index out of range". The rows never leave DuckDB, so memory stays flat
whatever the volume. The alternative (Arrow -> pandas, GX's pandas engine,
no shim) was measured against it: docs/quality.md. Tests keep a known-good
and a known-bad batch going through this path, so a GX upgrade that breaks
the shim fails loudly.

What a validation costs no longer grows with one query per expectation
(docs/quality.md, bench/gx_gate.py): one GX data source serves every batch
of a gate step; each batch's query runs once, into a temporary table of GX's
connection; the suite is first evaluated pass/fail only (BOOLEAN_ONLY: GX
bundles the aggregate metrics of single-column expectations into one query
per domain and asks for no unexpected values), and only the failed
expectations are evaluated again for their counts and sample values.
Great Expectations is imported inside the functions that validate, never at
module level: a run that validates nothing does not pay its import.

Suites are built from the landing descriptions (vob/landing.py), so a field
added there is checked here without a second list.
"""

from __future__ import annotations

import gc
import os
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from vob.landing import CLOSED_STATUSES, Source
from vob.settings import DEFAULT_MEMORY_LIMIT, memory_settings

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
        columns.append(f"(status IN {CLOSED_STATUSES}) = (closed_at IS NOT NULL) AS closed_at_matches_status")
    return f"SELECT {', '.join(columns)} FROM staging.{source.name} WHERE month IN (SELECT unnest($months))"


def batch_query(source: Source, months: list[date]) -> str:
    """`batch_sql` with its parameters written in (GX query assets take plain SQL)."""
    month_list = "[" + ", ".join(f"DATE '{m:%Y-%m-%d}'" for m in months) + "]"
    return batch_sql(source).replace("$months", month_list).replace("$source", f"'{source.name}'")


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
            gxe.ExpectTableRowCountToBeBetween(min_value=0),
            gxe.ExpectTableColumnsToMatchSet(column_set=window + ["date", "category", "count"], exact_match=True),
            gxe.ExpectColumnValuesToNotBeNull(column="date"),
            *_inside_month(gxe, "date"),
            gxe.ExpectColumnValuesToNotBeNull(column="category"),
            gxe.ExpectColumnValuesToNotBeNull(column="count"),
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
        gxe.ExpectTableRowCountToBeBetween(min_value=0),
        gxe.ExpectTableColumnsToMatchSet(
            column_set=window
            + stored
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
                    column_A=f.column,
                    column_B=time_column,
                    or_equal=True,
                    ignore_row_if="either_value_is_missing",
                )
            )
    if source.kind == "snapshot":  # closed tickets have closed_at, open ones don't
        suite.append(gxe.ExpectColumnValuesToBeInSet(column="closed_at_matches_status", value_set=[True]))
    return suite


@lru_cache(maxsize=1)
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no calls home from a closed network
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import sqlalchemy_execution_engine as engine

    class _DuckDBDialect(str):
        value = "duckdb"

    # The shim: keep the connection open for DuckDB, as GX does for SQLite.
    if "duckdb" not in engine._PERSISTED_CONNECTION_DIALECTS:
        engine._PERSISTED_CONNECTION_DIALECTS += (_DuckDBDialect("duckdb"),)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@dataclass(frozen=True)
class Batch:
    """A named SQL query over the DuckDB file and the expectations to run on its rows."""

    name: str
    query: str
    expectations: list


def validate_query(
    db_path: Path, name: str, query: str, suite_expectations: list, memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> list[ExpectationOutcome]:
    """Run expectations with GX on the rows of a SQL query over a DuckDB file."""
    return validate_batches(db_path, [Batch(name, query, suite_expectations)], memory_limit)[0]


def validate_batches(
    db_path: Path, batches: list[Batch], memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> list[list[ExpectationOutcome]]:
    """Run each batch's expectations with GX, through one data source (one engine and one
    DuckDB connection) for all batches.

    GX opens the file with duckdb-engine's configuration, which DuckDB refuses
    while another connection of this process holds the file with another
    configuration: call this with no other connection to `db_path` open. It
    returns with GX's connection closed. `memory_limit`: the working connection's
    (Settings.duckdb_memory_limit)."""
    outcomes = _validate(db_path, batches, memory_limit)
    gc.collect()  # GX's objects hold the DuckDB connection in reference cycles
    return outcomes


def _validate(db_path: Path, batches: list[Batch], memory_limit: str) -> list[list[ExpectationOutcome]]:
    context = _context()
    datasource_name = f"work_{uuid.uuid4().hex[:8]}"
    # create_temp_table: each batch's query runs once, into a temporary table of GX's
    # connection, and every metric query reads that table instead of re-running the query.
    # GX's own connection gets the working connection's memory cap and spill folder (duckdb-engine
    # hands the URL's query parameters to DuckDB as its configuration); without them it would take
    # DuckDB's default, 80 % of RAM: the 10x six-month gate reached 4.4 GiB (docs/benchmarks.md).
    connection_string = f"duckdb:///{db_path}?{urlencode(memory_settings(db_path.parent, memory_limit))}"
    datasource = context.data_sources.add_sql(
        datasource_name, connection_string=connection_string, create_temp_table=True
    )
    try:
        return [_validate_batch(datasource, batch) for batch in batches]
    finally:
        engine = datasource.get_execution_engine()
        if engine._connection is not None:  # GX's close() leaves a persisted connection open
            engine._connection.close()
        engine.engine.dispose()
        context.data_sources.delete(datasource_name)


def _validate_batch(datasource, batch: Batch) -> list[ExpectationOutcome]:
    """Pass and fail for every expectation (aggregate metrics bundled, no queries for
    unexpected values), then the details (unexpected count, sample values) of the
    failed ones only. One GX validator, so the batch's rows are materialised once."""
    import great_expectations as gx
    from great_expectations.validator.v1_validator import Validator

    definition = datasource.add_query_asset(batch.name, query=batch.query).add_batch_definition_whole_table("batch")
    validator = Validator(batch_definition=definition, result_format="BOOLEAN_ONLY")
    try:
        verdicts = validator.validate_expectation_suite(
            gx.ExpectationSuite(name=batch.name, expectations=batch.expectations)
        ).results
        failed = [item.expectation_config for item in verdicts if not item.success]
        details = {}
        if failed:
            validator.result_format = {"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES}
            result = validator.validate_expectation_suite(
                gx.ExpectationSuite(name=f"{batch.name}_failed", expectations=[_expectation(c) for c in failed])
            )
            details = {_key(item.expectation_config): item for item in result.results}
        return [_outcome(details.get(_key(item.expectation_config), item)) for item in verdicts]
    finally:
        _drop_temporary_table(validator)


def _drop_temporary_table(validator) -> None:
    """The batch's rows, materialised by GX in a temporary table, are not needed any more."""
    import sqlalchemy as sa

    wrapped = validator._wrapped_validator_cache
    if wrapped is None:
        return
    table = getattr(wrapped.active_batch.data.selectable, "name", None)
    if table and table.startswith("gx_temp_"):
        wrapped.execution_engine.execute_query(sa.text(f'DROP TABLE IF EXISTS "{table}"'))


def _expectation(config):
    """A fresh expectation from the configuration GX reported (suites own their expectations)."""
    return config.to_domain_obj()


def _key(config) -> str:
    return f"{config.type}:{sorted((k, str(v)) for k, v in config.kwargs.items())}"


def _outcome(item) -> ExpectationOutcome:
    config = item.expectation_config
    kwargs = config.kwargs
    column = kwargs.get("column") or ",".join(
        kwargs.get("column_list") or [kwargs.get("column_A", ""), kwargs.get("column_B", "")]
    ).strip(",")
    details = item.result or {}
    if item.exception_info and item.exception_info.get("raised_exception"):
        details = {"observed_value": item.exception_info.get("exception_message")}
    return ExpectationOutcome(
        expectation=config.type,
        column=column,
        success=bool(item.success),
        observed_value=_plain(details.get("observed_value")),
        unexpected_count=details.get("unexpected_count"),
        sample=[_plain(v) for v in (details.get("partial_unexpected_list") or [])][:SAMPLE_VALUES],
    )


def validate_sources(
    db_path: Path, months_by_source: dict[Source, list[date]], memory_limit: str = DEFAULT_MEMORY_LIMIT
) -> dict[str, SuiteOutcome]:
    """The suites of several sources, each over its months' staged rows, through one GX data source."""
    batches = [
        Batch(f"staging_{s.name}", batch_query(s, months), expectations(s)) for s, months in months_by_source.items()
    ]
    results = validate_batches(db_path, batches, memory_limit) if batches else []
    return {
        source.name: SuiteOutcome(source.name, tuple(months), tuple(outcomes))
        for (source, months), outcomes in zip(months_by_source.items(), results)
    }


def _plain(value: Any) -> Any:
    """JSON-friendly values for Dagster metadata."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
