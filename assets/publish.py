"""The published warehouse: the marts copied to the file BI tools read, once every check has passed."""

import dagster as dg

from assets.half_year import HALF_YEAR_ASSETS
from assets.monthly import MONTHLY_MART_ASSETS, snapshot_metadata
from assets.months import MONTH_ASSETS
from assets.resources import WRITER_POOL, VobWarehouse
from assets.service_monthly import SERVICE_ASSETS
from warehouse.lake import whole_scope
from warehouse.store import publish_if_changed

MART_ASSETS = [
    a for a in (*MONTHLY_MART_ASSETS, *MONTH_ASSETS, *SERVICE_ASSETS, *HALF_YEAR_ASSETS) if a.key.path[0] == "marts"
]


@dg.asset(
    group_name="publish",
    pool=WRITER_POOL,
    deps=MART_ASSETS,
    kinds={"duckdb"},
    description="The published warehouse (VOB_WAREHOUSE): the marts copied to a new DuckDB file "
    "and renamed into place atomically, only once every blocking check of the run has passed. "
    "When the file already holds the same marts it is not written again (metadata `written`).",
)
def published_warehouse(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    settings = vob.settings()
    # lake mode: every marts table read at its recorded snapshots (warehouse/lake.py), published as today
    with vob.work_session(whole_scope("marts", "meta.publications"), context.run.run_id) as work:
        counts, written = publish_if_changed(settings, work.con, context.run.run_id)
    if written:
        context.log.info(f"published {settings.warehouse_path}: {counts}")
    else:
        context.log.info(
            f"published warehouse unchanged: {settings.warehouse_path} already holds these marts "
            "(not written again; BI tools keep their open file)"
        )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(settings.warehouse_path)),
            "tables": dg.MetadataValue.json(counts),
            "dagster/row_count": dg.MetadataValue.int(sum(counts.values())),
            "written": dg.MetadataValue.bool(written),
            **snapshot_metadata(work.snapshots),
        }
    )
