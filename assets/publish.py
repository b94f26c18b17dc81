"""The published warehouse: the marts copied to the file BI tools read, once every check has passed."""

import dagster as dg

from assets.half_year import HALF_YEAR_ASSETS
from assets.monthly import MONTHLY_MART_ASSETS, snapshot_metadata
from assets.months import MONTH_ASSETS
from assets.resources import WRITER_POOL, WorkingWarehouse
from assets.service_monthly import SERVICE_ASSETS
from warehouse.lake import whole_scope
from warehouse.store import publish_if_changed

MART_ASSETS = [
    a for a in (*MONTHLY_MART_ASSETS, *MONTH_ASSETS, *SERVICE_ASSETS, *HALF_YEAR_ASSETS) if a.key.path[0] == "marts"
]


def runs_midway(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """Other runs in progress that have written the working database (materialised an asset) and
    have not reached their publish: the steps of runs interleave on the writer pool (one slot, taken
    a step at a time), so another run's publish between their steps would copy some marts refreshed
    and some not, and marts whose blocking checks have not run yet (found by the soak, issue 24)."""
    midway = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        other = record.dagster_run
        if other.run_id == run_id or not publishes(instance, other):
            continue  # a run without a publish of its own (facts only, the report) is not waited for
        written = instance.get_records_for_run(
            other.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION, limit=1000
        ).records
        keys = {r.event_log_entry.dagster_event.asset_key for r in written if r.event_log_entry.dagster_event}
        if keys & MART_KEYS and published_warehouse_key not in keys:
            midway.append(other.run_id)
    return midway


def publishes(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    plan = (
        instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id) if run.execution_plan_snapshot_id else None
    )
    return plan is not None and any(step.key == published_warehouse_key.path[-1] for step in plan.steps)


published_warehouse_key = dg.AssetKey("published_warehouse")
MART_KEYS = {a.key for a in MART_ASSETS}


@dg.asset(
    group_name="publish",
    pool=WRITER_POOL,
    deps=MART_ASSETS,
    kinds={"duckdb"},
    description="The published warehouse (VOB_WAREHOUSE): the marts copied to a new DuckDB file "
    "and renamed into place atomically, only once every blocking check of the run has passed. "
    "When the file already holds the same marts it is not written again (metadata `written`).",
)
def published_warehouse(context: dg.AssetExecutionContext, warehouse: WorkingWarehouse) -> dg.MaterializeResult:
    settings = warehouse.settings
    midway = runs_midway(context.instance, context.run.run_id)
    if midway:  # its marts are half refreshed in the working database: its own publish carries ours too
        context.log.info(
            f"publish left to run(s) {', '.join(midway)}: they have written the working database and not "
            "published yet; publishing now would show their months half refreshed, before their checks"
        )
        return dg.MaterializeResult(metadata={"written": dg.MetadataValue.bool(False), "left_to": ", ".join(midway)})
    # lake mode: every marts table read at its recorded snapshots (warehouse/lake.py), published as today
    with warehouse.work_session(whole_scope("marts", "meta.publications"), context.run.run_id) as work:
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
