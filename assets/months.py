"""marts.dim_month: the published months, complete or in progress (WAREHOUSE.md, "Months in progress").

Monthly like the facts it follows, so it runs in the same jobs and backfills; like the backlog it
rebuilds every published month of the working database (a few rows), from what each month's last
load read (vob/months.py).
"""

import dagster as dg

from assets.partitions import monthly_partitions
from assets.resources import WRITER_POOL, VobWarehouse
from vob.landing import COUNT_SOURCES, EVENT_SOURCES
from vob.months import build_dim_month
from vob.text import query_table
from warehouse.lake import whole_scope


@dg.asset(
    deps=[
        dg.AssetKey(["marts", "fct_channel_monthly"]),
        *(dg.AssetKey(["staging", s.name]) for s in (*EVENT_SOURCES, *COUNT_SOURCES)),
    ],
    description="One row per published month: `complete`, or `in_progress` with the last day whose contacts "
    "are all in (`data_through`, from the daily export files read and VOB_EXPORT_LAG_DAYS; the monthly count "
    "files read), and the month's Arabic and English names (marts.dim_month, WAREHOUSE.md).",
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WRITER_POOL,
    key_prefix="marts",
    group_name="marts",
    kinds={"duckdb"},
)
def dim_month(vob: VobWarehouse) -> dg.MaterializeResult:
    reads = whole_scope("marts.fct_channel_monthly", "meta.month_files", "meta.landing_files", "marts.dim_month")
    with vob.work_db(reads) as con:
        build_dim_month(con, vob.settings().export_lag_days)
        rows = con.execute("SELECT count(*) FROM marts.dim_month").fetchall()[0][0]
        preview = query_table(con, "SELECT * FROM marts.dim_month ORDER BY month")
    return dg.MaterializeResult(
        metadata={"dagster/row_count": dg.MetadataValue.int(rows), "preview": dg.MetadataValue.md(preview)}
    )


MONTH_ASSETS = [dim_month]
