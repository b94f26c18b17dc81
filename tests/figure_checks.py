"""Every published channel and ticket figure with what its landing files add up to, straight from
the published warehouse (written here, not taken from the pipeline's own check)."""

from __future__ import annotations

from pathlib import Path

from conftest import query

FIGURES_WITH_SOURCES = """
    WITH figures AS (
        SELECT 'fct_channel_monthly' AS t, strftime(month, '%Y-%m') || '|' || channel AS k, contacts AS v
        FROM marts.fct_channel_monthly
        UNION ALL
        SELECT 'fct_tickets_monthly', strftime(month, '%Y-%m') || '|' || strftime(snapshot_date, '%Y-%m-%d')
               || '|' || measure, value
        FROM (UNPIVOT marts.fct_tickets_monthly ON tickets_total, tickets_open, tickets_closed
              INTO NAME measure VALUE value))
    SELECT t, k, v, sum(s.counted), count(s.file), count(DISTINCT s.figure_value), max(s.figure_value)
    FROM figures f LEFT JOIN marts.figure_sources s ON s.table_name = f.t AND s.figure_key = f.k
    GROUP BY ALL ORDER BY ALL"""


def figures_with_sources(warehouse: Path) -> list[tuple]:
    """(table, key, figure, sum of counted, files, distinct figure_value, figure_value) per figure."""
    return query(warehouse, FIGURES_WITH_SOURCES)
