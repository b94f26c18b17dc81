"""Which months the monthly marts publish, and how far each one's data goes (WAREHOUSE.md,
"Months in progress").

- A month is **published** once it has a valid record of its own in any monthly source: a
  de-duplicated event, a daily count of one of its dates, or a ticket created in it
  (`staging.*` rows of the month). A month whose only files hold other months' records (the
  first export of the next month) has none, and every monthly mart leaves it without rows.
- `marts.dim_month` has one row per published month: `data_through`, the last day whose
  contacts are all in, from the daily export files the month read (calls, email, chat) and
  VOB_EXPORT_LAG_DAYS; `status` `complete` once that is the month's last day and the month's
  file of each monthly count source (x, sms, self_service) was read, else `in_progress`.

Both are SQL over the working database's staging tables and `meta.month_files` (the files each
month read in its last load), so they need no landing zone and no clock.
"""

from __future__ import annotations

import calendar
from datetime import date

import duckdb

from vob.base.db import transaction
from vob.base.text import sql_quote
from vob.landing.contract import COUNT_SOURCES, CRM, EVENT_SOURCES

COMPLETE = "complete"
IN_PROGRESS = "in_progress"
MONTH_NAMES_AR = (  # as the VoB report names them
    "يناير",
    "فبراير",
    "مارس",
    "أبريل",
    "مايو",
    "يونيو",
    "يوليو",
    "أغسطس",
    "سبتمبر",
    "أكتوبر",
    "نوفمبر",
    "ديسمبر",
)
MONTH_NAMES_EN = tuple(calendar.month_name[1:])

# True when the month $month has a valid record of its own in a monthly source (SQL condition).
HAS_OWN_RECORDS = (
    "("
    + " OR ".join(
        [f"EXISTS (SELECT 1 FROM staging.{s.name} WHERE month = $month)" for s in (*EVENT_SOURCES, CRM)]
        + ["EXISTS (SELECT 1 FROM staging.daily_counts WHERE month = $month)"]
    )
    + ")"
)


def has_own_records(con: duckdb.DuckDBPyConnection, month: date) -> bool:
    return con.execute(f"SELECT {HAS_OWN_RECORDS}", {"month": month}).fetchall()[0][0]


def published_months(con: duckdb.DuckDBPyConnection, months: list[date]) -> list[date]:
    """Those of `months` that have records of their own (the others have no rows in the marts)."""
    return [month for month in months if has_own_records(con, month)]


def _names(table: str, names: tuple[str, ...]) -> str:
    return f"(VALUES {', '.join(f'({i + 1}, {sql_quote(n)})' for i, n in enumerate(names))}) AS {table}(number, name)"


DAILY = ", ".join(sql_quote(s.name) for s in EVENT_SOURCES)
MONTHLY_COUNTS = ", ".join(sql_quote(s.name) for s in COUNT_SOURCES)

DIM_MONTH_SQL = f"""
    WITH published AS (SELECT DISTINCT month FROM marts.fct_channel_monthly),
    exports AS (  -- the export dates from the month's first day that each daily source's files give
        SELECT DISTINCT mf.month, mf.source, lf.file_date
        FROM meta.month_files mf JOIN meta.landing_files lf ON lf.source = mf.source AND lf.path = mf.path
        WHERE mf.source IN ({DAILY}) AND lf.file_date >= mf.month AND mf.month IN (SELECT month FROM published)
    ),
    runs AS (  -- consecutive dates: file_date - position is the same along an unbroken run
        SELECT month, source, file_date,
               file_date - CAST(row_number() OVER (PARTITION BY month, source ORDER BY file_date) AS INTEGER)
                   AS run_start
        FROM exports
    ),
    through AS (  -- per source, the last date of the unbroken run that starts on the month's first day
        SELECT month, source, max(file_date) AS last_export
        FROM runs WHERE run_start = month - 1 GROUP BY month, source
    ),
    all_in AS (  -- E: every daily source has a file for every date from the first day through E
        SELECT month, CASE WHEN count(*) = {len(EVENT_SOURCES)} THEN min(last_export) END AS e
        FROM through GROUP BY month
    ),
    counts_read AS (  -- the month's own file of each monthly count source was read
        SELECT mf.month, count(DISTINCT mf.source) AS sources
        FROM meta.month_files mf JOIN meta.landing_files lf ON lf.source = mf.source AND lf.path = mf.path
        WHERE mf.source IN ({MONTHLY_COUNTS}) AND lf.file_date = mf.month
        GROUP BY mf.month
    ),
    dated AS (
        SELECT p.month, last_day(p.month) AS last_day,
               CASE WHEN a.e IS NULL THEN p.month - 1
                    ELSE least(a.e - $lag_days, last_day(p.month)) END AS data_through,
               coalesce(c.sources, 0) = {len(COUNT_SOURCES)} AS counts_in
        FROM published p LEFT JOIN all_in a USING (month) LEFT JOIN counts_read c USING (month)
    )
    SELECT d.month,
           CASE WHEN d.data_through = d.last_day AND d.counts_in THEN '{COMPLETE}' ELSE '{IN_PROGRESS}' END,
           d.data_through,
           ar.name || ' ' || year(d.month), en.name || ' ' || year(d.month)
    FROM dated d
    JOIN {_names("ar", MONTH_NAMES_AR)} ON ar.number = month(d.month)
    JOIN {_names("en", MONTH_NAMES_EN)} ON en.number = month(d.month)
    ORDER BY d.month"""


def build_dim_month(con: duckdb.DuckDBPyConnection, lag_days: int) -> None:
    """Replace marts.dim_month: a row for every month of marts.fct_channel_monthly (the published ones)."""
    with transaction(con):
        con.execute("DELETE FROM marts.dim_month")
        con.execute(f"INSERT INTO marts.dim_month {DIM_MONTH_SQL}", {"lag_days": lag_days})
