"""Monthly staging and facts: SQL over the working database, one month at a time.

Each function replaces exactly one month's rows (delete, then insert), so a
month can be re-run at will and never touches another.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import duckdb

from vob.landing.contract import CHANNELS, CLOSED_STATUSES, EVENT_SOURCES, OPEN_STATUSES, Source, next_month
from vob.marts.months import HAS_OWN_RECORDS

RIYADH = ZoneInfo("Asia/Riyadh")


def month_window(month: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar month in Riyadh time, as aware datetimes."""
    start = datetime(month.year, month.month, 1, tzinfo=RIYADH)
    end_day = next_month(month)
    return start, datetime(end_day.year, end_day.month, 1, tzinfo=RIYADH)


def stage_events(con: duckdb.DuckDBPyConnection, source: Source, month: date, files: list[str]) -> int:
    """One row per id among the valid records of `files` whose own timestamp is in the month.

    The same id in several files is one contact; its row is taken from the
    latest export (then the last line), which is the newest word on it.
    """
    start, end = month_window(month)
    id_column = source.field(source.id_field).column
    con.execute(f"DELETE FROM staging.{source.name} WHERE month = $month", {"month": month})
    # Most ids come once: only the repeated ones are ranked (sorting every row of a month was a third
    # of the calls' staging at 10x, and spilled); the rows of the others go in as they are.
    in_month = f"file IN (SELECT unnest($files)) AND {source.time_field} >= $start AND {source.time_field} < $end"
    con.execute(
        f"""INSERT INTO staging.{source.name}
            WITH repeated AS (
                SELECT {id_column} FROM raw.{source.name} WHERE {in_month} GROUP BY {id_column} HAVING count(*) > 1
            )
            SELECT $month AS month, * FROM raw.{source.name}
            WHERE {in_month} AND {id_column} NOT IN (SELECT {id_column} FROM repeated)
            UNION ALL
            (SELECT $month AS month, * FROM raw.{source.name}
             WHERE {in_month} AND {id_column} IN (SELECT {id_column} FROM repeated)
             QUALIFY row_number() OVER (
                 PARTITION BY {id_column} ORDER BY file_date DESC, file DESC, line_no DESC) = 1)""",
        {"month": month, "files": files, "start": start, "end": end},
    )
    return _count(con, f"staging.{source.name}", month)


def stage_counts(con: duckdb.DuckDBPyConnection, source: Source, month: date, files: list[str]) -> int:
    """Daily counts of the month's dates. A (date, category) found in two files
    (a neighbour month's file holding a stray day) is taken from the file of its
    own month, else from the latest file."""
    con.execute(
        "DELETE FROM staging.daily_counts WHERE month = $month AND source = $source",
        {"month": month, "source": source.name},
    )
    con.execute(
        f"""INSERT INTO staging.daily_counts
            SELECT $month, $source, date, category, count, file, line_no FROM raw.{source.name}
            WHERE file IN (SELECT unnest($files)) AND date >= $month AND date < $end
            QUALIFY row_number() OVER (
                PARTITION BY date, category
                ORDER BY (date_trunc('month', date) = file_date) DESC, file_date DESC, file DESC) = 1""",
        {"month": month, "source": source.name, "files": files, "end": next_month(month)},
    )
    return con.execute(
        "SELECT count(*) FROM staging.daily_counts WHERE month = $month AND source = $source",
        {"month": month, "source": source.name},
    ).fetchall()[0][0]


def stage_tickets(con: duckdb.DuckDBPyConnection, month: date, files: list[str]) -> int:
    """Tickets created in the month, as each snapshot taken after the month began sees them."""
    start, end = month_window(month)
    con.execute("DELETE FROM staging.crm WHERE month = $month", {"month": month})
    con.execute(
        """INSERT INTO staging.crm
           SELECT $month AS month, * FROM raw.crm
           WHERE file IN (SELECT unnest($files)) AND file_date > $month
             AND created_at >= $start AND created_at < $end
           QUALIFY row_number() OVER (PARTITION BY file, ticket_id ORDER BY line_no DESC) = 1""",
        {"month": month, "files": files, "start": start, "end": end},
    )
    return _count(con, "staging.crm", month)


def build_channel_facts(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Contacts per channel: distinct ids for event logs, summed counts for the rest.
    Once the month has a record of its own in any source, every channel gets a row, 0 when the
    month had no valid record of it; a month without one has no rows (vob/marts/months.py)."""
    event_counts = " UNION ALL ".join(
        f"SELECT '{s.channel}' AS channel, count(*) AS contacts FROM staging.{s.name} WHERE month = $month"
        for s in EVENT_SOURCES
    )
    channels = ", ".join(f"('{c}', {i})" for i, c in enumerate(CHANNELS))
    con.execute("DELETE FROM marts.fct_channel_monthly WHERE month = $month", {"month": month})
    con.execute(
        f"""INSERT INTO marts.fct_channel_monthly
            SELECT $month, c.channel, coalesce(n.contacts, 0)::BIGINT
            FROM (VALUES {channels}) AS c(channel, sort_order)
            LEFT JOIN ({event_counts}
                       UNION ALL SELECT source, sum(count) FROM staging.daily_counts
                       WHERE month = $month GROUP BY source) AS n USING (channel)
            WHERE {HAS_OWN_RECORDS}
            ORDER BY c.sort_order""",
        {"month": month},
    )


def build_ticket_facts(con: duckdb.DuckDBPyConnection, month: date) -> None:
    con.execute("DELETE FROM marts.fct_tickets_monthly WHERE month = $month", {"month": month})
    con.execute(
        f"""INSERT INTO marts.fct_tickets_monthly
            SELECT month, file_date AS snapshot_date, count(*),
                   count(*) FILTER (WHERE status IN {OPEN_STATUSES}),
                   count(*) FILTER (WHERE status IN {CLOSED_STATUSES})
            FROM staging.crm WHERE month = $month
            GROUP BY month, file_date ORDER BY snapshot_date""",
        {"month": month},
    )


def _count(con: duckdb.DuckDBPyConnection, table: str, month: date) -> int:
    return con.execute(f"SELECT count(*) FROM {table} WHERE month = $month", {"month": month}).fetchall()[0][0]
