"""Monthly assets of the service KPIs and of marts.figure_sources.

Same partitions, backfill policy and writer pool as the channel and ticket
facts; thin wrappers around vob/service_kpis.py and vob/figure_sources.py.

The backlog is per CRM snapshot, not per month: every monthly CRM load reads
all snapshots (vob/landing.py `files_for_month`), so a run of any month
rebuilds the backlog of every snapshot the working database holds — the latest
snapshot, which the report shows, is usually dated after the run's months.
"""

import dagster as dg

from assets.monthly import build_monthly_fact
from assets.partitions import monthly_partitions
from assets.resources import MONTH_POOL, WRITER_POOL, VobWarehouse
from vob.figure_sources import CHANNEL_TABLE, TICKETS_TABLE, build_figure_sources
from vob.landing import CRM
from vob.service_kpis import build_calls_service, build_chat_service, build_ticket_backlog, build_ticket_resolution
from vob.text import query_table
from warehouse.lake import whole_scope

MONTHLY = {
    "partitions_def": monthly_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": MONTH_POOL,
    "key_prefix": "marts",
    "group_name": "marts",
    "kinds": {"duckdb"},
}


def monthly_kpi_asset(name: str, staging: str, build, description: str):
    """A monthly KPI fact over one staging asset: `build(con, month)` for each month of the run."""

    @dg.asset(name=name, deps=[dg.AssetKey(["staging", staging])], description=description, **MONTHLY)
    def _asset(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
        return build_monthly_fact(context, vob, build, f"marts.{name}")

    return _asset


fct_calls_service_monthly = monthly_kpi_asset(
    "fct_calls_service_monthly",
    "calls",
    build_calls_service,
    "Calls offered, answered, abandoned, abandonment rate, service level at 20 s, waits and handle time per "
    "month and queue, plus `all` (marts.fct_calls_service_monthly, WAREHOUSE.md).",
)
fct_chat_service_monthly = monthly_kpi_asset(
    "fct_chat_service_monthly",
    "chat",
    build_chat_service,
    "Chat sessions, rated sessions, average rating and median duration per month and entry point, plus `all` "
    "(marts.fct_chat_service_monthly, WAREHOUSE.md).",
)
fct_ticket_resolution_monthly = monthly_kpi_asset(
    "fct_ticket_resolution_monthly",
    CRM.name,
    build_ticket_resolution,
    "Tickets closed in each month (Riyadh month of closed_at) and hours to close (p50, p90), per CRM snapshot "
    "(marts.fct_ticket_resolution_monthly, WAREHOUSE.md).",
)


@dg.asset(
    deps=[dg.AssetKey(["staging", CRM.name])],
    description="Open tickets of each CRM snapshot by age band 0-7d, 8-30d, 31-90d, >90d; every snapshot "
    "the working database holds is rebuilt (marts.fct_ticket_backlog, WAREHOUSE.md).",
    **{**MONTHLY, "pool": WRITER_POOL},  # every snapshot: the whole store
)
def fct_ticket_backlog(vob: VobWarehouse) -> dg.MaterializeResult:
    with vob.work_db(whole_scope("raw.crm", "meta.landing_files", "marts.fct_ticket_backlog")) as con:
        build_ticket_backlog(con)
        rows = con.execute("SELECT count(*) FROM marts.fct_ticket_backlog").fetchall()[0][0]
        preview = query_table(
            con,
            "PIVOT (SELECT snapshot_date, age_band, open_tickets, sort_order FROM marts.fct_ticket_backlog) "
            "ON age_band IN ('0-7d', '8-30d', '31-90d', '>90d') USING sum(open_tickets) "
            "GROUP BY snapshot_date ORDER BY snapshot_date",
        )
    return dg.MaterializeResult(
        metadata={"dagster/row_count": dg.MetadataValue.int(rows), "preview": dg.MetadataValue.md(preview)}
    )


@dg.asset(
    deps=[dg.AssetKey(["marts", CHANNEL_TABLE]), dg.AssetKey(["marts", TICKETS_TABLE])],
    description="Every figure of fct_channel_monthly and every ticket figure of fct_tickets_monthly with the "
    "landing files that make it up: rows read, rejected, and what each gave; the files add up to the "
    "figure (marts.figure_sources, WAREHOUSE.md; `vob explain`).",
    **MONTHLY,
)
def figure_sources(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    return build_monthly_fact(
        context,
        vob,
        build_figure_sources,
        "marts.figure_sources",
        preview="SELECT table_name, replace(figure_key, '|', ' ') AS figure, any_value(figure_value) AS value, count(*) AS files, "
        "sum(rows_read) AS rows_read, sum(rows_rejected) AS rows_rejected, sum(counted) AS counted "
        "FROM ({rows}) GROUP BY ALL ORDER BY ALL",
    )


SERVICE_ASSETS = [
    fct_calls_service_monthly,
    fct_chat_service_monthly,
    fct_ticket_resolution_monthly,
    fct_ticket_backlog,
    figure_sources,
]
