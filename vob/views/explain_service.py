"""`vob explain` for the service KPIs (vob/marts/service_kpis.py): calls and chat per month and queue /
entry point, tickets resolved per month and snapshot, the backlog per snapshot and age band.

Every figure is re-done from the working database with the builders' own records and parts
(`call_records_sql`, `CALL_PARTS`, `CALL_KPIS`, ...): a count from its files, a ratio from its
numerator and denominator, a quantile from its values' count and the two values it lies between.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import duckdb

from vob.landing.contract import CLOSED_STATUSES, OPEN_STATUSES
from vob.marts.service_kpis import (
    ALL,
    BACKLOG_BANDS,
    CALL_KPIS,
    CALL_PARTS,
    CHAT_KPIS,
    CHAT_PARTS,
    MICROS,
    RESOLUTION_KPIS,
    Quantile,
    Ratio,
    banded_open_tickets_sql,
    call_records_sql,
    chat_records_sql,
    closed_tickets_sql,
)
from vob.marts.transforms import month_window
from vob.views.explain_parts import (
    FactTable,
    Key,
    Reckoning,
    file_rows,
    month_words,
    neighbours,
    quantile_lines,
    ratio_lines,
    rejected_reasons,
)

PART_WORDS = {
    "offered": "calls of the month, each once",
    "answered": "calls with disposition answered",
    "abandoned": "calls with disposition abandoned",
    "within_20s": "answered calls whose wait answered_at − offered_at is 20 s or less",
    "waits": "answered calls with answered_at",
    "wait_sum": "the sum of their waits, answered_at − offered_at",
    "handles": "answered calls with answered_at and ended_at",
    "handle_sum": "the sum of their handle times, ended_at − answered_at",
    "wait_us": "waits answered_at − offered_at of the answered calls",
    "sessions": "chat sessions of the month, each once",
    "rated": "sessions with a rating",
    "rating_sum": "the sum of their ratings",
    "duration_us": "durations ended_at − started_at of the sessions with ended_at",
    "closed": "tickets closed (resolved, closed) in the snapshot whose closed_at falls in the month",
    "micros_to_close": "times to close, closed_at − created_at, of those tickets",
    "open_tickets": "open tickets (new, in_progress, pending) of the snapshot in the age band",
}
MEASURE_WORDS = {
    "offered": "calls offered",
    "answered": "calls answered",
    "abandoned": "calls abandoned",
    "abandon_rate_pct": "abandonment rate (%)",
    "service_level_20s_pct": "service level (% of calls answered within 20 s)",
    "avg_wait_s": "average wait (s) of the answered calls",
    "p90_wait_s": "90th percentile wait (s) of the answered calls",
    "avg_handle_s": "average handle time (s) of the answered calls",
    "sessions": "chat sessions",
    "rated": "rated chat sessions",
    "avg_rating": "average rating (1 to 5)",
    "p50_duration_s": "median session duration (s)",
    "closed": "tickets closed",
    "p50_hours_to_close": "median hours to close",
    "p90_hours_to_close": "90th percentile hours to close",
    "open_tickets": "open tickets",
}


def _kpi_rule(kpi: Ratio | Quantile | None, measure: str, scope: str) -> str:
    if isinstance(kpi, Ratio):
        times = " × 100" if kpi.times != 1 else ""
        return (
            f"{kpi.numerator}{times} / {kpi.denominator} over {scope}, exact, rounded half away from zero to "
            f"{kpi.scale} decimal{'s' if kpi.scale > 1 else ''}; NULL when {kpi.denominator} is 0."
        )
    if isinstance(kpi, Quantile):
        unit = "hours" if kpi.unit != MICROS else "seconds"
        return (
            f"DuckDB's quantile_cont at {kpi.fraction} of the {PART_WORDS[kpi.values]}, over {scope}, "
            f"unrounded, in {unit}, then rounded half away from zero to 1 decimal; NULL over no value."
        )
    return f"the number of {PART_WORDS[measure]}, over {scope}."


def _gives(kpi: Ratio | Quantile | None, measure: str, parts: dict[str, str]) -> dict[str, str]:
    """The columns each file gives to the figure: the count, the ratio's two parts, or the values."""
    if isinstance(kpi, Ratio):
        return {kpi.numerator: parts[kpi.numerator], kpi.denominator: parts[kpi.denominator]}
    if isinstance(kpi, Quantile):
        return {"values": f"count({kpi.values})"}
    return {measure: parts[measure]}


def _reckon(
    con: duckdb.DuckDBPyConnection,
    source: str,
    kpi: Ratio | Quantile | None,
    measure: str,
    gives: dict[str, str],
    records_sql: str,
    files_sql: str,
    params: dict,
) -> Reckoning:
    """Per file what it gives, the parts' totals and the figure re-done from them."""
    select = ", ".join(f"{sql} AS {name}" for name, sql in gives.items())
    files = file_rows(con, files_sql, f"SELECT file, {select} FROM ({records_sql}) GROUP BY file", tuple(gives), params)
    columns = tuple(gives)
    if isinstance(kpi, Ratio) and kpi.per == MICROS:  # sums of microseconds, shown in seconds
        for f in files:
            f.gives = (Fraction(f.gives[0] or 0, MICROS), *f.gives[1:])
        columns = (f"{kpi.numerator} (s)", *columns[1:])
    totals = [sum(f.gives[i] or 0 for f in files) for i in range(len(columns))]
    reasons = rejected_reasons(con, source, [f.file for f in files])
    if isinstance(kpi, Ratio):
        unit = " s" if kpi.per == MICROS else ""
        lines, value = ratio_lines(
            (kpi.numerator, totals[0], PART_WORDS[kpi.numerator]),
            (kpi.denominator, int(totals[1]), PART_WORDS[kpi.denominator]),
            kpi.times,
            kpi.scale,
            unit,
        )
    elif isinstance(kpi, Quantile):
        count = int(totals[0])
        values_sql = f"SELECT {kpi.values} AS v FROM ({records_sql})"
        around = [v / MICROS for v in neighbours(con, values_sql, count, kpi.fraction, params)]
        lines, value = quantile_lines(kpi.fraction, count, around, " s", per=kpi.unit // MICROS)
        lines[0] += f"  ({PART_WORDS[kpi.values]})"
    else:
        value = int(totals[0])
        lines = [f"  {measure} = {value:,}  ({PART_WORDS[measure]})"]
    return Reckoning(lines, value, columns, files, reasons)


# ---------------------------------------------------------------- calls and chat


@dataclass(frozen=True)
class Contacts:
    """A monthly KPI table of an event source, per label (queue, entry point) and `all`."""

    table: str
    source: str
    label: str
    records_sql: str
    parts: dict[str, str]
    kpis: dict[str, Ratio | Quantile]
    counts: tuple[str, ...]  # the count columns the table publishes
    noun: str

    def scope(self, key: Key) -> str:
        label = key.values[self.label]
        which = f"every {self.label.replace('_', ' ')}" if label == ALL else f"{self.label.replace('_', ' ')} {label}"
        return f"{self.noun} of {which} in {month_words(key.day('month'))}"

    def words(self, key: Key) -> str:
        return f"{MEASURE_WORDS[key.measure]}; {self.scope(key)}"

    def rule(self, key: Key) -> str:
        records = (
            f"the month's de-duplicated {self.noun} (staging.{self.source}, the same records as "
            f"fct_channel_monthly {self.source})"
        )
        if key.values[self.label] != ALL:
            records += f" of {self.label} {key.values[self.label]} (an empty one is `unknown`)"
        return _kpi_rule(self.kpis.get(key.measure), key.measure, records)

    def reckon(self, con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
        kpi = self.kpis.get(key.measure)
        label = key.values[self.label]
        records = f"SELECT * FROM ({self.records_sql}) WHERE $label = '{ALL}' OR {self.label} = $label"
        files = f"SELECT source, path FROM meta.month_files WHERE month = $month AND source = '{self.source}'"
        reckoning = _reckon(
            con,
            self.source,
            kpi,
            key.measure,
            _gives(kpi, key.measure, self.parts),
            records,
            files,
            {"month": key.day("month"), "label": label},
        )
        reckoning.notes.append(
            f"Every file the month read is listed; a record is counted once, in the file whose row won the "
            f"de-duplication. Rows read and rejected are the whole file's"
            f"{'' if label == ALL else f' (every {self.label})'}; `vob explain fct_channel_monthly "
            f"{key.day('month'):%Y-%m} {self.source}` shows per file the rows of other months and the "
            "duplicates dropped."
        )
        return reckoning

    def fact_table(self, example: str) -> FactTable:
        return FactTable(
            self.table,
            ("month", self.label),
            (*self.counts, *self.kpis),
            example,
            self.words,
            self.rule,
            self.reckon,
        )


CALLS = Contacts(
    "fct_calls_service_monthly",
    "calls",
    "queue",
    call_records_sql(),
    CALL_PARTS,
    CALL_KPIS,
    ("offered", "answered", "abandoned"),
    "calls",
)
CHAT = Contacts(
    "fct_chat_service_monthly",
    "chat",
    "entry_point",
    chat_records_sql(),
    CHAT_PARTS,
    CHAT_KPIS,
    ("sessions", "rated"),
    "chat sessions",
)


# ---------------------------------------------------------------- tickets


SNAPSHOT_FILES = "SELECT source, path FROM meta.landing_files WHERE source = 'crm' AND file_date = $snapshot"
TICKETS_NOTE = (
    "A ticket is read from its last valid line in the snapshot file, whatever month it was created in; "
    "rows read and rejected are the whole file's."
)


def _resolution_words(key: Key) -> str:
    return (
        f"{MEASURE_WORDS[key.measure]}; tickets closed in {month_words(key.day('month'))}, "
        f"as the CRM snapshot of {key.day('snapshot_date'):%Y-%m-%d} sees them"
    )


def _resolution_rule(key: Key) -> str:
    return _kpi_rule(
        RESOLUTION_KPIS.get(key.measure),
        key.measure,
        f"the tickets of the snapshot crm/tickets_{key.day('snapshot_date'):%Y-%m-%d}.csv closed in the "
        "month (Riyadh month of closed_at)",
    )


def _resolution_reckon(con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
    kpi = RESOLUTION_KPIS.get(key.measure)
    start, end = month_window(key.day("month"))
    reckoning = _reckon(
        con,
        "crm",
        kpi,
        key.measure,
        _gives(kpi, key.measure, {"closed": "count(*)"}),
        f"SELECT * FROM ({closed_tickets_sql()}) WHERE snapshot_date = $snapshot",
        SNAPSHOT_FILES,
        {"start": start, "end": end, "snapshot": key.day("snapshot_date")},
    )
    reckoning.notes.append(TICKETS_NOTE)
    return reckoning


RESOLUTION = FactTable(
    "fct_ticket_resolution_monthly",
    ("month", "snapshot_date"),
    ("closed", *RESOLUTION_KPIS),
    "2025-06 2025-07-01 p90_hours_to_close",
    _resolution_words,
    _resolution_rule,
    _resolution_reckon,
)

BAND_ORDER = {band: i + 1 for i, (band, _) in enumerate(BACKLOG_BANDS)}


def _backlog_words(key: Key) -> str:
    return f"open tickets aged {key.values['age_band']} in the CRM snapshot of {key.day('snapshot_date'):%Y-%m-%d}"


def _backlog_rule(key: Key) -> str:
    return (
        f"the number of tickets of the snapshot with an open status ({', '.join(OPEN_STATUSES)}; not "
        f"{', '.join(CLOSED_STATUSES)}), "
        f"whatever month they were created in, whose age falls in the band {key.values['age_band']}: whole days "
        "from the Riyadh date of created_at to the snapshot date (bands 0-7d, 8-30d, 31-90d, >90d)."
    )


def _backlog_reckon(con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
    reckoning = _reckon(
        con,
        "crm",
        None,
        "open_tickets",
        {"open_tickets": "count(*)"},
        f"SELECT * FROM ({banded_open_tickets_sql()}) WHERE snapshot_date = $snapshot AND sort_order = $band",
        SNAPSHOT_FILES,
        {"snapshot": key.day("snapshot_date"), "band": BAND_ORDER.get(str(key.values["age_band"]), 0)},
    )
    reckoning.notes.append(TICKETS_NOTE)
    return reckoning


BACKLOG = FactTable(
    "fct_ticket_backlog",
    ("snapshot_date", "age_band"),
    ("open_tickets",),
    "2025-07-01 8-30d",
    _backlog_words,
    _backlog_rule,
    _backlog_reckon,
)

SERVICE_TABLES = (
    CALLS.fact_table("2025-03 all abandon_rate_pct"),
    CHAT.fact_table("2025-03 all avg_rating"),
    RESOLUTION,
    BACKLOG,
)
