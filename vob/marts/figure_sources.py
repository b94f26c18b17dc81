"""Where every published figure comes from: `marts.figure_sources` (WAREHOUSE.md).

For every figure of `fct_channel_monthly` (key `YYYY-MM|channel`) and every
ticket figure of `fct_tickets_monthly` (key `YYYY-MM|YYYY-MM-DD|measure`), one
row per landing file the figure's month read, with the file's rows read and
rejected (`meta.landing_files`) and what it gave to the figure (`counted`).

- Event logs: a record is counted in exactly one file, the one whose row won
  the de-duplication (`staging.<source>.file`); a file the month read that gave
  nothing (its rows were of another month, duplicates of a later export, or
  rejected) is listed with `counted = 0`, so an auditor sees every file read.
- Daily counts: the sum of the file's `count` values that the month adds up.
- Tickets: the one snapshot file of the figure's snapshot date (other
  snapshots do not feed that figure and are not listed).
- A figure of 0 for which the month read no file at all has no rows.

So for every figure, `sum(counted) = figure_value` (checked by the blocking
check `figures_add_up`).
"""

from __future__ import annotations

from datetime import date

import duckdb

from vob.landing.contract import CLOSED_STATUSES, COUNT_SOURCES, EVENT_SOURCES, OPEN_STATUSES

CHANNEL_TABLE = "fct_channel_monthly"
TICKETS_TABLE = "fct_tickets_monthly"
TICKET_MEASURES = ("tickets_total", "tickets_open", "tickets_closed")
EXPLAINED_TABLES = (CHANNEL_TABLE, TICKETS_TABLE)


def channel_sources_sql() -> str:
    """SELECT of the figure_sources rows of one month ($month) of fct_channel_monthly."""
    given = " UNION ALL ".join(
        f"SELECT '{s.name}' AS source, file, count(*) AS counted FROM staging.{s.name} "
        f"WHERE month = $month GROUP BY file"
        for s in EVENT_SOURCES
    )
    given += (
        " UNION ALL SELECT source, file, sum(count) FROM staging.daily_counts "
        "WHERE month = $month GROUP BY source, file"
    )
    channels = ", ".join(f"('{s.name}', '{s.channel}')" for s in (*EVENT_SOURCES, *COUNT_SOURCES))
    return f"""
        SELECT '{CHANNEL_TABLE}' AS table_name, strftime(f.month, '%Y-%m') || '|' || f.channel AS figure_key,
               f.contacts AS figure_value, mf.path AS file, lf.rows_read, lf.rows_rejected,
               coalesce(g.counted, 0)::BIGINT AS counted, f.month
        FROM marts.fct_channel_monthly f
        JOIN (VALUES {channels}) AS c(source, channel) USING (channel)
        JOIN meta.month_files mf ON mf.month = f.month AND mf.source = c.source
        LEFT JOIN meta.landing_files lf ON lf.source = mf.source AND lf.path = mf.path
        LEFT JOIN ({given}) AS g ON g.source = mf.source AND g.file = mf.path
        WHERE f.month = $month"""


def ticket_sources_sql() -> str:
    """SELECT of the figure_sources rows of one month ($month) of fct_tickets_monthly."""
    return f"""
        WITH given AS (
            SELECT month, file_date AS snapshot_date, file,
                   count(*) AS tickets_total,
                   count(*) FILTER (WHERE status IN {OPEN_STATUSES}) AS tickets_open,
                   count(*) FILTER (WHERE status IN {CLOSED_STATUSES}) AS tickets_closed
            FROM staging.crm WHERE month = $month GROUP BY ALL
        ), facts AS (
            UNPIVOT (SELECT * FROM marts.fct_tickets_monthly WHERE month = $month)
            ON {", ".join(TICKET_MEASURES)} INTO NAME measure VALUE figure_value
        ), parts AS (
            UNPIVOT given ON {", ".join(TICKET_MEASURES)} INTO NAME measure VALUE counted
        )
        SELECT '{TICKETS_TABLE}' AS table_name,
               strftime(f.month, '%Y-%m') || '|' || strftime(f.snapshot_date, '%Y-%m-%d') || '|' || f.measure
                   AS figure_key,
               f.figure_value, p.file, lf.rows_read, lf.rows_rejected, p.counted::BIGINT AS counted, f.month
        FROM facts f
        JOIN parts p USING (month, snapshot_date, measure)
        LEFT JOIN meta.landing_files lf ON lf.source = 'crm' AND lf.path = p.file"""


SOURCES_SQL = {CHANNEL_TABLE: channel_sources_sql, TICKETS_TABLE: ticket_sources_sql}


def build_figure_sources(con: duckdb.DuckDBPyConnection, month: date) -> None:
    """Replace the month's rows of marts.figure_sources (both fact tables)."""
    con.execute("DELETE FROM marts.figure_sources WHERE month = $month", {"month": month})
    for sql in SOURCES_SQL.values():
        con.execute(
            "INSERT INTO marts.figure_sources (table_name, figure_key, figure_value, file, rows_read, "
            f"rows_rejected, counted, month) {sql()} ORDER BY figure_key, file",
            {"month": month},
        )


def reconciliation_sql(table: str) -> str:
    """Per figure of `table` in the month $month: the files read, what they read, rejected and
    gave, and whether they add up (for the assets' metadata in the UI)."""
    return f"""
        SELECT replace(figure_key, '|', ' ') AS figure, any_value(figure_value) AS value, count(*) AS files,
               count(*) FILTER (WHERE counted > 0) AS files_contributing,
               sum(rows_read) AS rows_read, sum(rows_rejected) AS rows_rejected, sum(counted) AS counted,
               CASE WHEN sum(counted) = any_value(figure_value) THEN '✅' ELSE '❌' END AS adds_up
        FROM ({SOURCES_SQL[table]()}) GROUP BY figure_key ORDER BY figure_key"""  # a | would split the markdown cell


def figures_not_adding_up(con: duckdb.DuckDBPyConnection, month: date) -> list[str]:
    """Published figures of the month whose files do not add up to them (or have no file although
    the figure is not 0)."""
    rows = con.execute(
        f"""WITH figures AS (
                SELECT '{CHANNEL_TABLE}' AS table_name, strftime(month, '%Y-%m') || '|' || channel AS figure_key,
                       contacts AS figure_value
                FROM marts.fct_channel_monthly WHERE month = $month
                UNION ALL
                SELECT '{TICKETS_TABLE}', strftime(month, '%Y-%m') || '|' || strftime(snapshot_date, '%Y-%m-%d')
                       || '|' || measure, value
                FROM (UNPIVOT (SELECT * FROM marts.fct_tickets_monthly WHERE month = $month)
                      ON {", ".join(TICKET_MEASURES)} INTO NAME measure VALUE value)
            ), sources AS (
                SELECT table_name, figure_key, sum(counted) AS counted, count(*) AS files,
                       count(DISTINCT figure_value) AS values, any_value(figure_value) AS recorded
                FROM marts.figure_sources WHERE month = $month GROUP BY ALL
            )
            SELECT f.table_name, f.figure_key, f.figure_value, coalesce(s.counted, 0), coalesce(s.files, 0)
            FROM figures f LEFT JOIN sources s USING (table_name, figure_key)
            WHERE coalesce(s.counted, 0) <> f.figure_value OR s.values > 1 OR s.recorded <> f.figure_value
            ORDER BY ALL""",
        {"month": month},
    ).fetchall()
    return [
        f"{table} {key}: figure {value:,} but its {files} file(s) give {counted:,}"
        for table, key, value, counted, files in rows
    ]
