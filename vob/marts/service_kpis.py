"""Service KPIs of the contact centre (WAREHOUSE.md, "Service KPIs and figure sources").

Pure SQL over the working database, one month at a time, each function
replacing exactly the rows it owns (delete, then insert), like the channel and
ticket facts. The records are the de-duplicated ones of `staging.<source>`, the
same that give `fct_channel_monthly`; tickets are every ticket of a CRM
snapshot (`raw.crm`, the last valid line of each id), whatever month it was
created in.

Exact arithmetic: durations are whole microseconds (BIGINT), ratios are
computed on integers and rounded half away from zero (`exact_ratio`), then
stored as DECIMAL; quantiles are DuckDB's `quantile_cont` on the unrounded
durations (exact DECIMAL seconds, or microseconds turned into hours on integers),
rounded half away from zero. Anything over zero records is NULL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from vob.landing.contract import CLOSED_STATUSES, OPEN_STATUSES
from vob.marts.months import HAS_OWN_RECORDS
from vob.marts.transforms import month_window

SERVICE_LEVEL_SECONDS = 20  # a call answered within 20 s (20 s included) meets the service level
ALL = "all"  # the row of every queue / entry point
UNKNOWN = "unknown"  # an empty queue / entry point
BACKLOG_BANDS = (  # (band, last whole day of age in it); ages below 0 (clock skew) fall in the first
    ("0-7d", 7),
    ("8-30d", 30),
    ("31-90d", 90),
    (">90d", None),
)
MICROS = 1_000_000
MICROS_PER_HOUR = 3_600 * MICROS


def exact_ratio(numerator: str, denominator: str, scale: int, decimal_type: str) -> str:
    """SQL for numerator / denominator (integers), rounded half away from zero to `scale`
    decimals, as `decimal_type`; NULL when the denominator is 0 or NULL."""
    unit = 10**scale
    rounded = (
        f"sign({numerator}) * ((abs({numerator})::HUGEINT * {2 * unit} + ({denominator})::HUGEINT) "
        f"// (2 * ({denominator})::HUGEINT))"
    )
    return (
        f"CASE WHEN coalesce({denominator}, 0) = 0 THEN NULL "
        f"ELSE CAST(CAST({rounded} AS DECIMAL(38,0)) * CAST(1 / {unit} AS DECIMAL(38,{scale})) "
        f"AS {decimal_type}) END"
    )


def rounded_decimal(value: str, scale: int, decimal_type: str) -> str:
    """A DECIMAL value rounded half away from zero (DuckDB's ROUND on DECIMAL does so)."""
    return f"CAST(round({value}, {scale}) AS {decimal_type})"


def seconds(micros: str) -> str:
    """Exact seconds of a microsecond count, as DECIMAL (quantile_cont keeps DECIMAL exact)."""
    return f"CAST({micros} AS DECIMAL(18,0)) * CAST(0.000001 AS DECIMAL(7,6))"


def _label(column: str) -> str:
    return f"coalesce(nullif(trim({column}), ''), '{UNKNOWN}')"


def _grouped_by_label_and_all(label: str) -> str:
    """GROUP BY clause giving one row per label plus one `all` row."""
    return f"GROUP BY GROUPING SETS (({label}), ())"


ANSWERED = "disposition = 'answered'"


@dataclass(frozen=True)
class Ratio:
    """numerator × times / (denominator × per) of two parts of the records, rounded half away
    from zero to `scale` decimals; NULL over zero records."""

    numerator: str
    denominator: str
    scale: int
    sql_type: str
    times: int = 1
    per: int = 1

    def sql(self) -> str:
        return exact_ratio(
            f"{self.numerator} * {self.times}", f"{self.denominator} * {self.per}", self.scale, self.sql_type
        )


@dataclass(frozen=True)
class Quantile:
    """quantile_cont of a duration of the records (microseconds), in `unit` microseconds
    (seconds or hours), rounded half away from zero to 1 decimal; NULL over no value."""

    values: str
    fraction: float
    unit: int = MICROS


def call_records_sql() -> str:
    """The month's ($month) de-duplicated calls: file, queue label, disposition, wait and handle
    time in microseconds (answered calls; handle time once ended)."""
    wait = "epoch_us(answered_at - offered_at)"
    handle = "epoch_us(ended_at - answered_at)"
    return f"""SELECT file, {_label("queue")} AS queue, disposition,
                      CASE WHEN {ANSWERED} AND answered_at IS NOT NULL THEN {wait} END AS wait_us,
                      CASE WHEN {ANSWERED} AND answered_at IS NOT NULL AND ended_at IS NOT NULL
                           THEN {handle} END AS handle_us
               FROM staging.calls WHERE month = $month"""


CALL_PARTS = {  # what the call KPIs are computed from: aggregates over call_records_sql()
    "offered": "count(*)",
    "answered": f"count(*) FILTER (WHERE {ANSWERED})",
    "abandoned": "count(*) FILTER (WHERE disposition = 'abandoned')",
    "within_20s": f"count(*) FILTER (WHERE wait_us <= {SERVICE_LEVEL_SECONDS * MICROS})",
    "waits": "count(wait_us)",
    "wait_sum": "sum(wait_us)",
    "handles": "count(handle_us)",
    "handle_sum": "sum(handle_us)",
}
CALL_KPIS: dict[str, Ratio | Quantile] = {
    "abandon_rate_pct": Ratio("abandoned", "offered", 2, "DECIMAL(5,2)", times=100),
    "service_level_20s_pct": Ratio("within_20s", "offered", 2, "DECIMAL(5,2)", times=100),
    "avg_wait_s": Ratio("wait_sum", "waits", 1, "DECIMAL(9,1)", per=MICROS),
    "p90_wait_s": Quantile("wait_us", 0.9),
    "avg_handle_s": Ratio("handle_sum", "handles", 1, "DECIMAL(9,1)", per=MICROS),
}


def _parts(parts: dict[str, str]) -> str:
    return ", ".join(f"{sql} AS {name}" for name, sql in parts.items())


def _kpi(kpi: Ratio | Quantile, name: str) -> str:
    """A KPI of the final SELECT: a ratio of the parts, or the quantile `name` rounded."""
    return kpi.sql() if isinstance(kpi, Ratio) else rounded_decimal(name, 1, "DECIMAL(9,1)")


def _quantile(kpi: Ratio | Quantile, name: str) -> str:
    assert isinstance(kpi, Quantile)
    return f"quantile_cont({seconds(kpi.values)}, {kpi.fraction}) AS {name}"


def build_calls_service(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Offered, answered, abandoned, rates and waits of the month's calls, per queue and `all`."""
    con.execute("DELETE FROM marts.fct_calls_service_monthly WHERE month = $month", {"month": month})
    con.execute(
        f"""INSERT INTO marts.fct_calls_service_monthly
            WITH calls AS ({call_records_sql()}),
            counted AS (
                SELECT CASE WHEN grouping(queue) = 1 THEN '{ALL}' ELSE queue END AS queue,
                       {_parts(CALL_PARTS)}, {_quantile(CALL_KPIS["p90_wait_s"], "p90_wait_s")}
                FROM calls {_grouped_by_label_and_all("queue")}
            )
            SELECT $month, queue, offered, answered, abandoned,
                   {", ".join(_kpi(kpi, name) for name, kpi in CALL_KPIS.items())}
            FROM counted WHERE {HAS_OWN_RECORDS} ORDER BY queue = '{ALL}', queue""",
        {"month": month},
    )


def chat_records_sql() -> str:
    """The month's ($month) de-duplicated chat sessions: file, entry point label, rating, and
    duration in microseconds (sessions with ended_at)."""
    return f"""SELECT file, {_label("entry_point")} AS entry_point, CAST(rating AS INTEGER) AS rating,
                      CASE WHEN ended_at IS NOT NULL THEN epoch_us(ended_at - started_at) END AS duration_us
               FROM staging.chat WHERE month = $month"""


CHAT_PARTS = {"sessions": "count(*)", "rated": "count(rating)", "rating_sum": "sum(rating)"}
CHAT_KPIS: dict[str, Ratio | Quantile] = {
    "avg_rating": Ratio("rating_sum", "rated", 2, "DECIMAL(3,2)"),
    "p50_duration_s": Quantile("duration_us", 0.5),
}


def build_chat_service(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Sessions, ratings and median duration of the month's chats, per entry point and `all`."""
    con.execute("DELETE FROM marts.fct_chat_service_monthly WHERE month = $month", {"month": month})
    con.execute(
        f"""INSERT INTO marts.fct_chat_service_monthly
            WITH chats AS ({chat_records_sql()}),
            counted AS (
                SELECT CASE WHEN grouping(entry_point) = 1 THEN '{ALL}' ELSE entry_point END AS entry_point,
                       {_parts(CHAT_PARTS)}, {_quantile(CHAT_KPIS["p50_duration_s"], "p50_duration_s")}
                FROM chats {_grouped_by_label_and_all("entry_point")}
            )
            SELECT $month, entry_point, sessions, rated,
                   {", ".join(_kpi(kpi, name) for name, kpi in CHAT_KPIS.items())}
            FROM counted WHERE {HAS_OWN_RECORDS} ORDER BY entry_point = '{ALL}', entry_point""",
        {"month": month},
    )


def snapshot_tickets_sql(having_a_line: str) -> str:
    """Every ticket of every CRM snapshot the working database holds, as its last valid line gives
    it, among the tickets with at least one line matching `having_a_line`: a ticket that the
    caller's filter will keep has such a last line, so the filter is safe, and it spares the
    de-duplication of every other ticket (4x faster on the sample)."""
    return f"""SELECT file, file_date AS snapshot_date, ticket_id, created_at, status, closed_at
               FROM raw.crm
               WHERE file_date IS NOT NULL
                 AND (file, ticket_id) IN (SELECT file, ticket_id FROM raw.crm WHERE {having_a_line})
               QUALIFY row_number() OVER (PARTITION BY file, ticket_id ORDER BY line_no DESC) = 1"""


def closed_tickets_sql() -> str:
    """Every snapshot's tickets closed in the month ($start, $end: Riyadh month of closed_at),
    whatever month they were created in: file, snapshot_date, microseconds to close."""
    closed_in_month = "closed_at >= $start AND closed_at < $end"
    return f"""SELECT file, snapshot_date, CAST(epoch_us(closed_at - created_at) AS DECIMAL(18,0)) AS micros_to_close
               FROM ({snapshot_tickets_sql(closed_in_month)})
               WHERE status IN {CLOSED_STATUSES} AND {closed_in_month}"""


RESOLUTION_KPIS = {
    "p50_hours_to_close": Quantile("micros_to_close", 0.5, MICROS_PER_HOUR),
    "p90_hours_to_close": Quantile("micros_to_close", 0.9, MICROS_PER_HOUR),
}


def build_ticket_resolution(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Tickets closed in the month (Riyadh month of closed_at), per snapshot, whatever month they
    were created in; for a published month (vob/marts/months.py) a row for every snapshot, closed = 0
    with NULL quantiles when none closed."""
    start, end = month_window(month)
    quantiles = ", ".join(f"quantile_cont({q.values}, {q.fraction}) AS {name}" for name, q in RESOLUTION_KPIS.items())
    hours = ", ".join(
        exact_ratio(f"CAST(c.{name} AS HUGEINT)", str(q.unit), 1, "DECIMAL(9,1)") for name, q in RESOLUTION_KPIS.items()
    )
    con.execute("DELETE FROM marts.fct_ticket_resolution_monthly WHERE month = $month", {"month": month})
    con.execute(
        f"""INSERT INTO marts.fct_ticket_resolution_monthly
            WITH snapshots AS (SELECT DISTINCT file_date AS snapshot_date FROM meta.landing_files
                               WHERE source = 'crm' AND file_date IS NOT NULL),
            closed AS (
                SELECT snapshot_date, count(*) AS closed, {quantiles}
                FROM ({closed_tickets_sql()}) GROUP BY snapshot_date
            )
            SELECT $month, s.snapshot_date, coalesce(c.closed, 0), {hours}
            FROM snapshots s LEFT JOIN closed c USING (snapshot_date)
            WHERE {HAS_OWN_RECORDS} ORDER BY s.snapshot_date""",
        {"month": month, "start": start, "end": end},
    )


def _bands_sql() -> str:
    """The age bands as rows (age_band, sort_order, last_day)."""
    bands = ", ".join(
        f"('{band}', {i + 1}, {'NULL' if last is None else last})" for i, (band, last) in enumerate(BACKLOG_BANDS)
    )
    return f"SELECT * FROM (VALUES {bands}) AS b(age_band, sort_order, last_day)"


def banded_open_tickets_sql() -> str:
    """Every snapshot's open tickets: file, snapshot_date and the sort_order of their age band
    (whole days from the Riyadh date of created_at to the snapshot date)."""
    age = "date_diff('day', CAST(timezone('Asia/Riyadh', created_at) AS DATE), snapshot_date)"
    return f"""SELECT file, snapshot_date,
                      (SELECT min(sort_order) FROM ({_bands_sql()}) WHERE last_day IS NULL OR {age} <= last_day)
                          AS sort_order
               FROM ({snapshot_tickets_sql(f"status IN {OPEN_STATUSES}")}) WHERE status IN {OPEN_STATUSES}"""


def build_ticket_backlog(con: duckdb.DuckDBPyConnection) -> None:
    """Open tickets of every CRM snapshot by age band (whole days from the Riyadh date of
    created_at to the snapshot date); every band a row, 0 included."""
    con.execute("DELETE FROM marts.fct_ticket_backlog")
    con.execute(
        f"""INSERT INTO marts.fct_ticket_backlog
            WITH snapshots AS (SELECT DISTINCT file_date AS snapshot_date FROM meta.landing_files
                               WHERE source = 'crm' AND file_date IS NOT NULL),
            bands AS ({_bands_sql()}),
            banded AS ({banded_open_tickets_sql()})
            SELECT s.snapshot_date, b.age_band, count(t.sort_order), b.sort_order
            FROM snapshots s CROSS JOIN bands b
            LEFT JOIN banded t ON t.snapshot_date = s.snapshot_date AND t.sort_order = b.sort_order
            GROUP BY ALL ORDER BY s.snapshot_date, b.sort_order"""
    )
