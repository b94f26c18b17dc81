"""Monthly assets: one per landing source (staging), the two monthly facts
and the channel dimension.

Assets are thin: they work out the months of the run and call the loaders and
transforms. A run may cover one month or a range (single-run backfills).
"""

from datetime import date

import dagster as dg

from assets.partitions import monthly_partitions
from assets.resources import MONTH_POOL, WRITER_POOL, VobWarehouse
from vob.db import transaction
from vob.figure_sources import reconciliation_sql
from vob.gx_suites import warm_up as warm_up_gx
from vob.landing import CHANNEL_LIST_SQL, CHANNELS, COUNT_SOURCES, CRM, EVENT_SOURCES, Source
from vob.loading import MonthLoad, load_source_month
from vob.periods import month_of
from vob.text import markdown_table, query_table
from vob.transforms import build_channel_facts, build_ticket_facts
from warehouse.lake import month_scope, whole_scope
from warehouse.store import write_dim_channel

PREVIEW_ROWS = 12


def run_months(context: dg.AssetExecutionContext) -> list[date]:
    return [month_of(key) for key in context.partition_keys]


def _load_metadata(loads: list[MonthLoad]) -> dict:
    by_month = markdown_table(
        ["month", "rows staged", "files", "files parsed", "rows read", "loaded", "rejected", "rejected %"],
        [
            (
                f"{l.month:%Y-%m}",
                f"{l.rows_staged:,}",
                l.files_read,
                l.files_parsed,
                f"{l.account.rows_read:,}",
                f"{l.account.rows_loaded:,}",
                f"{l.account.rows_rejected:,}",
                f"{l.account.rejected_pct:.3f}",
            )
            for l in loads
        ],
    )
    return {
        "dagster/row_count": dg.MetadataValue.int(sum(l.rows_staged for l in loads)),
        "months": dg.MetadataValue.text(", ".join(f"{l.month:%Y-%m}" for l in loads)),
        "files_read": dg.MetadataValue.int(sum(l.files_read for l in loads)),
        "files_parsed": dg.MetadataValue.int(sum(l.files_parsed for l in loads)),
        "rows_read": dg.MetadataValue.int(sum(l.account.rows_read for l in loads)),
        "rows_loaded": dg.MetadataValue.int(sum(l.account.rows_loaded for l in loads)),
        "rows_rejected": dg.MetadataValue.int(sum(l.account.rows_rejected for l in loads)),
        "file_errors": dg.MetadataValue.json([e for l in loads for e in l.account.file_errors]),
        # uploads in progress: modified after the run's settle cutoff, left for a later run
        "files_left_unsettled": dg.MetadataValue.json(sorted({f for l in loads for f in l.unsettled})),
        "by_month": dg.MetadataValue.md(by_month),
    }


STAGED_SOURCES = (*EVENT_SOURCES, *COUNT_SOURCES, CRM)


def staging_table(source: Source) -> str:
    return "staging.daily_counts" if source.kind == "counts" else f"staging.{source.name}"


def staging_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["staging", source.name])


def _load_log_line(load: MonthLoad) -> str:
    parsed = (
        "none new or changed since last read"
        if load.files_parsed == 0
        else f"{load.files_parsed} new or changed, read now"
    )
    # a month accounts for the rows of the files exported in it; every CRM month reads every snapshot
    files = "the CRM snapshots" if load.source == CRM.name else "the files exported that month"
    return (
        f"{load.source} {load.month:%Y-%m}: {load.rows_staged:,} records staged from {load.files_read} files "
        f"({parsed}); {load.account.rows_rejected:,} of the {load.account.rows_read:,} rows in {files} "
        "broke the contract and were set aside (quality.rejected_rows)"
    )


def _preview(con, source: Source, month: date) -> str:
    where = "month = $month" + (" AND source = $source" if source.kind == "counts" else "")
    return query_table(
        con,
        f"SELECT * FROM {staging_table(source)} WHERE {where} ORDER BY file, line_no LIMIT {PREVIEW_ROWS}",
        {"month": month, **({"source": source.name} if source.kind == "counts" else {})},
    )


@dg.multi_asset(
    name="staging",
    specs=[
        dg.AssetSpec(
            staging_key(source),
            group_name="landing",
            kinds={"duckdb"},
            description=(
                f"Valid {source.name} records of the month from `{source.pattern}` (LANDING.md), "
                f"de-duplicated; rejected rows are kept in quality.rejected_rows. Table: {staging_table(source)}."
            ),
            skippable=True,
        )
        for source in STAGED_SOURCES
    ],
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=MONTH_POOL,
    can_subset=True,
)
def staging(context: dg.AssetExecutionContext, vob: VobWarehouse):
    """Every landing source of the run's months in one step (one connection, one pool turn,
    one set of Dagster events): each selected source's months are loaded in turn."""
    settings = vob.settings()
    pii_key = settings.pii_key()
    sources = [s for s in STAGED_SOURCES if staging_key(s) in context.selected_asset_keys]
    months = run_months(context)
    loads: dict[str, list[MonthLoad]] = {source.name: [] for source in sources}
    previews: dict[str, str] = {}
    for month in months:  # one month's files at a time: in lake mode each month is its own commit
        with vob.work_db(month_scope(month), context.run.run_id) as con:
            for source in sources:
                load = load_source_month(con, source, month, settings, pii_key, context.run.run_id, vob.settled_before)
                loads[source.name].append(load)
                if load.files_parsed:  # new rows: the quality gate will validate with GX
                    warm_up_gx()
                if month == months[-1]:
                    previews[source.name] = _preview(con, source, month)
    for source in sources:
        context.log.info("\n".join(_load_log_line(load) for load in loads[source.name]))  # one event a source
        for path in sorted({f for load in loads[source.name] for f in load.unsettled}):
            context.log.warning(
                f"{path} left for a later run: modified after the settle cutoff (an upload in progress?)"
            )
        metadata = {**_load_metadata(loads[source.name]), "preview": dg.MetadataValue.md(previews[source.name])}
        yield dg.MaterializeResult(asset_key=staging_key(source), metadata=metadata)


staging_assets = [staging]


# What the monthly facts read (lake mode fills the step's DuckDB with these alone): the staged records,
# the bookkeeping, the marts, and the CRM snapshots' raw rows (ticket resolution reads them).
FACT_READS = ("staging", "meta", "marts", "raw.crm")


def build_monthly_fact(
    context, vob: VobWarehouse, build, table: str, preview: str = "{rows}", reconciled: str | None = None
) -> dg.MaterializeResult:
    """Rebuild a monthly fact for the run's months; its row count and a preview as metadata.
    `preview` is SQL around `{rows}`, the run's rows of the table; `reconciled` names a table
    whose figures are shown with the landing files that add up to them (marts.figure_sources)."""
    months = run_months(context)
    with vob.work_session(month_scope(*months, tables=FACT_READS), context.run.run_id) as work:
        con = work.con
        for month in months:
            with transaction(con):  # a month's delete and insert stand or fall together
                build(con, month)
        rows_sql = f"SELECT * FROM {table} WHERE month BETWEEN $lo AND $hi ORDER BY ALL"
        params = {"lo": months[0], "hi": months[-1]}
        rows = con.execute(f"SELECT count(*) FROM ({rows_sql})", params).fetchall()[0][0]
        shown = query_table(con, preview.format(rows=rows_sql), params)
        metadata = {"dagster/row_count": dg.MetadataValue.int(rows), "preview": dg.MetadataValue.md(shown)}
        if reconciled:
            metadata["reconciliation"] = dg.MetadataValue.md(
                "\n\n".join(query_table(con, reconciliation_sql(reconciled), {"month": month}) for month in months)
            )
    return dg.MaterializeResult(metadata={**metadata, **snapshot_metadata(work.snapshots)})


def snapshot_metadata(snapshots: dict[str, list[int]]) -> dict:
    """Lake mode: the Iceberg snapshot ids the step read, per table (none in the embedded mode)."""
    return {"iceberg_snapshots": dg.MetadataValue.json(snapshots)} if snapshots else {}


CHANNEL_STAGING_KEYS = [staging_key(s) for s in (*EVENT_SOURCES, *COUNT_SOURCES)]


@dg.asset(
    key_prefix="marts",
    group_name="marts",
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=MONTH_POOL,
    deps=CHANNEL_STAGING_KEYS,
    kinds={"duckdb"},
    description="Contacts per month and channel (marts.fct_channel_monthly, WAREHOUSE.md).",
)
def fct_channel_monthly(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    return build_monthly_fact(
        context,
        vob,
        build_channel_facts,
        "marts.fct_channel_monthly",
        preview=f"PIVOT ({{rows}}) ON channel IN ({CHANNEL_LIST_SQL}) "
        "USING sum(contacts) GROUP BY month ORDER BY month",
        reconciled="fct_channel_monthly",
    )


@dg.asset(
    key_prefix="marts",
    group_name="marts",
    partitions_def=monthly_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=MONTH_POOL,
    deps=[staging_key(CRM)],
    kinds={"duckdb"},
    description="Tickets created per month, open and closed as each CRM snapshot sees them "
    "(marts.fct_tickets_monthly, WAREHOUSE.md).",
)
def fct_tickets_monthly(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    return build_monthly_fact(
        context, vob, build_ticket_facts, "marts.fct_tickets_monthly", reconciled="fct_tickets_monthly"
    )


@dg.asset(
    key_prefix="marts",
    group_name="marts",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="The six contact channels with their Arabic and English names (marts.dim_channel).",
)
def dim_channel(vob: VobWarehouse) -> dg.MaterializeResult:
    with vob.work_db(whole_scope("marts.dim_channel")) as con:
        write_dim_channel(con)
        preview = query_table(con, "SELECT * FROM marts.dim_channel ORDER BY sort_order")
    return dg.MaterializeResult(metadata={"dagster/row_count": len(CHANNELS), "preview": dg.MetadataValue.md(preview)})


MONTHLY_MART_ASSETS = [fct_channel_monthly, fct_tickets_monthly, dim_channel]
