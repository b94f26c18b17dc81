"""Great Expectations suites for the staged months of each source: over month profiles.

Ingest applies LANDING.md to every row and staging de-duplicates; the gate is the
second, independent guard over what came out: for each staged month, every rule
(ids present and unique, timestamps inside their month, values in their sets, the
landing rules across fields, ...) is counted over all its rows in one DuckDB
aggregate (`profile_sql`), and Great Expectations validates those counts: one batch
of a few rows per source and month for the whole run, instead of a batch of every
staged row per source (before issue 20: 16 s of the six-month run at scale 1,
docs/benchmarks.md). A rule broken by a single row still fails the check.

GX Core 1.x has no DuckDB engine (shared/GUIDE.md). The suites run as SQL pushed
down into DuckDB through GX's SQLAlchemy engine and `duckdb-engine`, with a
one-line shim: GX must keep its DuckDB connection open between statements, as it
already does for SQLite, or every expectation fails with "list index out of
range". Tests keep a known-good and a known-bad batch going through this path, so
a GX upgrade that breaks the shim fails loudly. Each batch's query runs once, into
a temporary table of GX's connection; the suite is first evaluated pass/fail only,
and only the failed expectations again for their details. Great Expectations is
imported inside the functions that validate, never at module level: a run that
validates nothing does not pay its import.

Suites are built from the landing descriptions (vob/landing/contract.py), so a field
added there is checked here without a second list.
"""

from __future__ import annotations

import gc
import os
import threading
import uuid
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from vob.base.settings import DEFAULT_MEMORY_LIMIT, memory_settings
from vob.landing.contract import CLOSED_STATUSES, Source

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


# ---------------------------------------------------------------- month profiles

# Ingest has already applied LANDING.md to every row, and staging has de-duplicated them: what
# can still go wrong is a loader or a staging query that lets a row through or keeps it twice.
# Each rule below is counted over every staged row of a month, in one DuckDB aggregate per
# source, and Great Expectations validates the counts (a few rows a month) instead of the
# rows themselves (millions): the same rules, as a second and independent guard.
RIYADH = "Asia/Riyadh"
PROFILE_COLUMNS = ("source", "month", "rule", "violations", "rows")


def _count(cond: str) -> str:
    return f"count(*) FILTER (WHERE {cond})"


def profile_rules(source: Source) -> list[tuple[str, str]]:
    """(rule, SQL counting the rows of a month that break it) for a source's staged rows,
    from its landing description."""
    if source.kind == "counts":
        rules = [(f"{name} missing", _count(f"{name} IS NULL")) for name in ("date", "category", "count")]
        rules += [
            ("date outside its month", _count("date < month OR date >= month + INTERVAL 1 MONTH")),
            ("count negative", _count("count < 0")),
            ("(date, category) repeated", "count(*) - count(DISTINCT (date, category))"),
        ]
        category = source.field("category")
        if category.values:
            allowed = ", ".join(f"'{v}'" for v in category.values)
            rules.append(("category not in its set", _count(f"category NOT IN ({allowed})")))
        return rules
    id_column = source.field(source.id_field).column
    time_column = source.field(source.time_field).column
    local = f"timezone('{RIYADH}', {time_column})"
    repeated = "(file_date, " + id_column + ")" if source.kind == "snapshot" else id_column
    rules = [
        (f"{id_column} missing", _count(f"{id_column} IS NULL")),
        (f"{time_column} missing", _count(f"{time_column} IS NULL")),
        (
            f"{time_column} outside its month",
            _count(f"{local} < month::TIMESTAMP OR {local} >= (month + INTERVAL 1 MONTH)::TIMESTAMP"),
        ),
        (
            f"{id_column} repeated" + (" in a snapshot" if source.kind == "snapshot" else ""),
            f"count(*) - count(DISTINCT {repeated})",
        ),
    ]
    for f in source.fields:
        if f.kind == "enum" and f.values:
            allowed = ", ".join(f"'{v}'" for v in f.values)
            rules.append((f"{f.column} not in its set", _count(f"{f.column} NOT IN ({allowed})")))
        if f.kind == "enum" and f.required:
            rules.append((f"{f.column} missing", _count(f"{f.column} IS NULL")))
    rules += [(reason, _count(cond)) for cond, reason in source.rules]
    if source.kind == "snapshot":
        rules.append(
            (
                "closed_at not set exactly for closed tickets",
                _count(f"(status IN {CLOSED_STATUSES}) <> (closed_at IS NOT NULL)"),
            )
        )
    return rules


def profile_sql(source: Source, months: list[date]) -> str:
    """One row per month of `months` that has staged rows and per rule: how many rows break it."""
    month_list = ", ".join(f"DATE '{m:%Y-%m-%d}'" for m in months)
    table = "staging.daily_counts" if source.kind == "counts" else f"staging.{source.name}"
    where = f"month IN ({month_list})" + (f" AND source = '{source.name}'" if source.kind == "counts" else "")
    rules = profile_rules(source)
    counted = ", ".join(f'{sql} AS "{rule}"' for rule, sql in rules)
    names = ", ".join(f'"{rule}"' for rule, _ in rules)
    return (
        f"SELECT '{source.name}' AS source, month, rule, violations, rows FROM ("
        f"SELECT month, count(*) AS rows, {counted} FROM {table} WHERE {where} GROUP BY month"
        f") UNPIVOT (violations FOR rule IN ({names}))"
    )


def profiles_sql(months_by_source: dict[Source, list[date]]) -> str:
    """The profiles of several sources' months, as one batch."""
    return " UNION ALL ".join(profile_sql(source, months) for source, months in months_by_source.items())


def expectations(source: Source) -> list:
    """The suite of a source over the month-profile batch: no staged row breaks a rule."""
    import_gx()
    import great_expectations.expectations as gxe

    return [
        gxe.UnexpectedRowsExpectation(
            unexpected_rows_query=(
                f"SELECT month, rule, violations FROM {{batch}} WHERE source = '{source.name}' AND violations > 0"
            ),
            description=f"no staged {source.name} row breaks a rule of LANDING.md",
        )
    ]


def _import_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")  # no calls home from a closed network
    import great_expectations  # noqa: F401
    import great_expectations.expectations  # noqa: F401


_warming: list[threading.Thread] = []


def warm_up() -> None:
    """Import Great Expectations in a background thread, once: a run whose staged rows changed
    will validate them, and the import (3 s of Python, 300 MB) then overlaps the staging work,
    which runs in DuckDB without the GIL. `_context` waits for it before it imports anything of
    GX itself: two threads importing one package at once can meet a half-initialised module."""
    if not _warming:
        _warming.append(threading.Thread(target=_import_gx, name="vob-gx-import", daemon=True))
        _warming[0].start()


def import_gx() -> None:
    """Import GX in this thread, after the warm-up's import has finished: every use of GX comes here
    first (a small month stages faster than GX imports, and its gate would meet the half-imported
    package)."""
    for thread in _warming:
        thread.join()
    _import_gx()


@lru_cache(maxsize=1)
def _context():
    import_gx()
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
    """The suites of several sources over one batch: their months' profiles (one GX data source,
    one batch of a few rows a month)."""
    if not months_by_source:
        return {}
    suites = {source: expectations(source) for source in months_by_source}
    batch = Batch("month_profiles", profiles_sql(months_by_source), [e for suite in suites.values() for e in suite])
    outcomes = iter(validate_batches(db_path, [batch], memory_limit)[0])
    return {
        source.name: SuiteOutcome(source.name, tuple(months), tuple(next(outcomes) for _ in suites[source]))
        for source, months in months_by_source.items()
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
