"""The quality gate of the service KPIs and of marts.figure_sources, as Dagster asset checks.

One pooled step (it reads the working DuckDB file) evaluates, on each month of the run:

- `offered_adds_up` (blocking, calls): answered + abandoned = offered on every row;
- `all_equals_channel` (blocking, calls and chat): the `all` row equals the channel's figure in
  fct_channel_monthly (offered = calls contacts, sessions = chat contacts), and the
  queues / entry points add up to it;
- `values_in_range` (blocking): rates between 0 and 100, ratings between 1 and 5, no negative duration;
- `kpi_in_band` (warning, calls): the abandonment rate and the p90 wait stay within
  VOB_KPI_BAND_PCT (default 50) percent of the median of up to three previous months;
- `figures_add_up` (blocking, figure_sources): for every published channel and ticket figure, the
  files' `counted` add up to the figure.

A failed blocking check stops the run before the publish step.
"""

import statistics
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import duckdb

from assets.resources import MONTH_POOL, VobWarehouse
from checks.monthly_checks import CheckOutcome, _result
from vob.figure_sources import figures_not_adding_up
from vob.landing import next_month
from vob.months import published_months
from vob.periods import month_of
from vob.settings import DEFAULT_KPI_BAND_PCT
from warehouse.lake import month_scope

HISTORY_MONTHS = 3
DRIFTING_KPIS = (("abandon_rate_pct", "abandonment rate %"), ("p90_wait_s", "p90 wait s"))

CALLS = dg.AssetKey(["marts", "fct_calls_service_monthly"])
CHAT = dg.AssetKey(["marts", "fct_chat_service_monthly"])
SOURCES = dg.AssetKey(["marts", "figure_sources"])


def _problems(con: duckdb.DuckDBPyConnection, sql: str, months: list[date]) -> list[str]:
    """Rows of `sql` (one text column, problems of month $month) over the months."""
    return [row[0] for month in months for row in con.execute(sql, {"month": month}).fetchall()]


def _outcome(problems: list[str], months: list[date], what: str) -> CheckOutcome:
    shown = ", ".join(f"{m:%Y-%m}" for m in months)
    summary = f"{what}: {len(problems)} problem(s) in {shown}" if problems else f"{what}: holds in {shown}"
    return CheckOutcome(not problems, summary, problems)


def check_offered_adds_up(con, months: list[date]) -> CheckOutcome:
    problems = _problems(
        con,
        """
        SELECT strftime(month, '%Y-%m') || ' queue ' || queue || ': answered ' || answered || ' + abandoned '
               || abandoned || ' <> offered ' || offered
        FROM marts.fct_calls_service_monthly WHERE month = $month AND answered + abandoned <> offered
        ORDER BY queue""",
        months,
    )
    return _outcome(problems, months, "answered + abandoned = offered")


def _all_equals_channel_sql(table: str, label: str, measure: str, channel: str) -> str:
    return f"""
        WITH s AS (SELECT * FROM marts.{table} WHERE month = $month),
        parts AS (SELECT coalesce(sum({measure}) FILTER (WHERE {label} <> 'all'), 0) AS parts,
                         max({measure}) FILTER (WHERE {label} = 'all') AS whole FROM s),
        figure AS (SELECT max(contacts) AS contacts FROM marts.fct_channel_monthly
                   WHERE month = $month AND channel = '{channel}')
        SELECT strftime($month::DATE, '%Y-%m') || ': {table} all {measure} ' || coalesce(whole::VARCHAR, 'missing')
               || ', {channel} contacts ' || coalesce(contacts::VARCHAR, 'missing')
               || ', the {label}s add up to ' || parts
        FROM parts, figure
        WHERE whole IS DISTINCT FROM contacts OR parts IS DISTINCT FROM whole"""


def check_all_equals_channel(
    con, months: list[date], table: str, label: str, measure: str, channel: str
) -> CheckOutcome:
    problems = _problems(con, _all_equals_channel_sql(table, label, measure, channel), months)
    return _outcome(problems, months, f"`all` {measure} = {channel} contacts")


RANGES = {  # table -> (label column, [(column, low, high)])
    "fct_calls_service_monthly": (
        "queue",
        [
            ("abandon_rate_pct", 0, 100),
            ("service_level_20s_pct", 0, 100),
            ("avg_wait_s", 0, None),
            ("p90_wait_s", 0, None),
            ("avg_handle_s", 0, None),
        ],
    ),
    "fct_chat_service_monthly": ("entry_point", [("avg_rating", 1, 5), ("p50_duration_s", 0, None)]),
}


def check_values_in_range(con, months: list[date], table: str) -> CheckOutcome:
    label, ranges = RANGES[table]
    selects = []
    for column, low, high in ranges:
        broken = f"{column} < {low}" + (f" OR {column} > {high}" if high is not None else "")
        bounds = f"[{low}, {high}]" if high is not None else f">= {low}"
        selects.append(
            f"SELECT strftime(month, '%Y-%m') || ' {label} ' || {label} || ': {column} ' || {column} "
            f"|| ' not in {bounds}' FROM marts.{table} WHERE month = $month AND ({broken})"
        )
    problems = _problems(con, " UNION ALL ".join(selects), months)
    return _outcome(problems, months, f"{table} values in range")


def check_kpi_in_band(con, months: list[date], band_pct: float, now: datetime | None = None) -> CheckOutcome:
    now = now or datetime.now(UTC)
    problems, notes = [], []
    for month in months:
        if next_month(month) > now.date():
            notes.append(f"{month:%Y-%m}: month in progress, not compared")
            continue
        for column, name in DRIFTING_KPIS:
            value = _calls_kpi(con, column, "month = $m", {"m": month})
            history = [
                v
                for v in _calls_kpi(
                    con, column, "month < $m AND month >= $m - INTERVAL (12) MONTH", {"m": month}, HISTORY_MONTHS
                )
                if v is not None
            ]
            if not value or value[0] is None or not history:
                notes.append(f"{month:%Y-%m} {name}: nothing to compare")
                continue
            median = Decimal(statistics.median(history))
            low, high = median * Decimal(1 - band_pct / 100), median * Decimal(1 + band_pct / 100)
            line = (
                f"{month:%Y-%m} {name}: {value[0]} vs median {_shown(median)} of {len(history)} earlier "
                f"month(s), band [{_shown(low)}, {_shown(high)}] ({band_pct:g} %)"
            )
            notes.append(line)
            if not low <= value[0] <= high:
                problems.append(line)
    return CheckOutcome(not problems, "; ".join(notes), problems)


def _shown(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01"), ROUND_HALF_UP))  # half away from zero, like the marts


def _calls_kpi(con, column: str, where: str, params: dict, limit: int = 1) -> list:
    rows = con.execute(
        f"SELECT {column} FROM marts.fct_calls_service_monthly WHERE queue = 'all' AND {where} "
        f"ORDER BY month DESC LIMIT {limit}",
        params,
    ).fetchall()
    return [r[0] for r in rows]


def check_figures_add_up(con, months: list[date]) -> CheckOutcome:
    problems = [p for month in months for p in figures_not_adding_up(con, month)]
    return _outcome(problems, months, "files add up to every published figure")


# ---------------------------------------------------------------- Dagster wiring


CHECKS = (  # asset, check name, blocking, description
    (CALLS, "offered_adds_up", True, "answered + abandoned = offered on every row."),
    (
        CALLS,
        "all_equals_channel",
        True,
        "The `all` row's offered equals the calls contacts of fct_channel_monthly, and the queues add up to it.",
    ),
    (CALLS, "values_in_range", True, "Rates between 0 and 100; waits and handle times not negative."),
    (
        CALLS,
        "kpi_in_band",
        False,
        f"Abandonment rate and p90 wait within VOB_KPI_BAND_PCT (default "
        f"{DEFAULT_KPI_BAND_PCT:g}) % of the median of up to {HISTORY_MONTHS} previous months (warning).",
    ),
    (
        CHAT,
        "all_equals_channel",
        True,
        "The `all` row's sessions equal the chat contacts of fct_channel_monthly, and the entry points add up to it.",
    ),
    (CHAT, "values_in_range", True, "Average rating between 1 and 5; durations not negative."),
    (
        SOURCES,
        "figures_add_up",
        True,
        "For every published channel and ticket figure, the landing files' counted add up to the figure.",
    ),
)


def service_outcomes(con, months: list[date], band_pct: float) -> dict[tuple[dg.AssetKey, str], CheckOutcome]:
    return {
        (CALLS, "offered_adds_up"): check_offered_adds_up(con, months),
        (CALLS, "all_equals_channel"): check_all_equals_channel(
            con, months, "fct_calls_service_monthly", "queue", "offered", "calls"
        ),
        (CALLS, "values_in_range"): check_values_in_range(con, months, "fct_calls_service_monthly"),
        (CALLS, "kpi_in_band"): check_kpi_in_band(con, months, band_pct),
        (CHAT, "all_equals_channel"): check_all_equals_channel(
            con, months, "fct_chat_service_monthly", "entry_point", "sessions", "chat"
        ),
        (CHAT, "values_in_range"): check_values_in_range(con, months, "fct_chat_service_monthly"),
        (SOURCES, "figures_add_up"): check_figures_add_up(con, months),
    }


@dg.multi_asset_check(
    name="service_kpi_gate",
    pool=MONTH_POOL,  # one step reading the working DuckDB file, in turn with the writers
    specs=[
        dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=text) for key, name, blocking, text in CHECKS
    ],
)
def service_kpi_gate(context: dg.AssetCheckExecutionContext, vob: VobWarehouse):
    months = [month_of(k) for k in context.op_execution_context.partition_keys]
    scope = month_scope(*months, history=HISTORY_MONTHS, read_tables=("marts", "staging"))
    with vob.work_db(scope, context.op_execution_context.run_id) as con:
        months = published_months(con, months)  # a month without records of its own has no rows (vob/months.py)
        outcomes = service_outcomes(con, months, vob.settings().kpi_band_pct)
    for key, name, blocking, _ in CHECKS:
        outcome = outcomes[(key, name)]
        if not outcome.passed:
            context.log.warning(f"{key.to_user_string()} {name} failed: " + "; ".join(outcome.problems[:5]))
        yield _result(name, key, outcome, blocking)


service_checks = [service_kpi_gate]
