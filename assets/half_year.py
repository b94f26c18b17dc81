"""Half-year assets: the VoB registers (staging) and the half-year marts of WAREHOUSE.md.

Partitioned by half-year (`2025-H1`, ...). The beneficiaries figure also reads
the CRM tickets of the half's six months: `marts/fct_vob_half_year` depends on
`staging/crm` as a whole (`months_to_half_year`, assets/partitions.py says why)
and its SQL picks the six months.
Every asset deletes and re-inserts its half-year (vob/half_year.py): re-running is idempotent.
"""

import dagster as dg

from assets.partitions import half_year_partitions, months_to_half_year
from assets.resources import WRITER_POOL, VobWarehouse
from vob.half_year import (
    build_actions,
    build_dim_dimension,
    build_dimension_facts,
    build_half_year_facts,
    build_participations,
    build_plans_by_dimension,
)
from vob.periods import months_of_half
from vob.registers import SHEETS, RegisterStructureError, read_registers, store_registers, workbook_path
from vob.text import markdown_table, query_table
from warehouse.lake import half_year_scope, whole_scope
from warehouse.store import ensure_half_year_schema

GROUP = "half_year"
REGISTERS_KEY = dg.AssetKey(["staging", "registers"])
CRM_KEY = dg.AssetKey(["staging", "crm"])
PREVIEW_ROWS = 12

CRM_DEP = dg.AssetDep(CRM_KEY, partition_mapping=months_to_half_year)


# ---------------------------------------------------------------- assets


def _result(con, rows: int, preview_sql: str, params: dict | None = None) -> dg.MaterializeResult:
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(rows),
            "preview": dg.MetadataValue.md(query_table(con, preview_sql, params)),
        }
    )


@dg.asset(
    name="registers",
    key_prefix="staging",
    group_name=GROUP,
    partitions_def=half_year_partitions,
    pool=WRITER_POOL,
    kinds={"duckdb", "excel"},
    check_specs=[
        dg.AssetCheckSpec(
            "no_rejected_register_rows",
            asset=REGISTERS_KEY,
            description="Every row of the workbook follows LANDING.md (warning).",
        )
    ],
    description=(
        "The VoB registers of the half-year, read from `registers/vob_registers_YYYY-HN.xlsx` "
        f"(sheets {', '.join(SHEETS)}) and checked; a missing workbook, sheet or column fails the run. "
        "Tables: staging.feedback_notes, staging.corrective_plans, staging.e_participations, "
        "staging.improvement_actions; rejected rows in quality.rejected_rows (source 'registers')."
    ),
)
def registers(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    period = context.partition_key
    settings = vob.settings()
    workbook = workbook_path(settings.landing_dir, period)
    if vob.settled_before is not None and workbook.exists() and workbook.stat().st_mtime > vob.settled_before:
        raise dg.Failure(
            description=f"{workbook.relative_to(settings.landing_dir)} was modified after the run's "
            "settle cutoff (an upload in progress?): left for a later run"
        )
    try:
        found = read_registers(settings.landing_dir, period, settings.pii_key())
    except RegisterStructureError as err:
        raise dg.Failure(description=str(err)) from None  # the message says it all; no traceback
    with vob.work_db(half_year_scope(period), context.run.run_id) as con:
        ensure_half_year_schema(con)
        store_registers(con, found, context.run.run_id)
    loaded = found.rows_loaded
    by_sheet = markdown_table(
        ["sheet", "rows read", "loaded", "rejected"],
        [(sheet, found.rows_read[sheet], loaded[sheet], found.rows_rejected(sheet)) for sheet in SHEETS],
    )
    problems = "\n".join(r.reason for r in found.rejected[:50])
    for reject in found.rejected:
        context.log.warning(f"{found.file}: {reject.reason}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(sum(loaded.values())),
            "workbook": dg.MetadataValue.text(found.file),
            "sha256": dg.MetadataValue.text(found.sha256),
            "rows_rejected": dg.MetadataValue.int(len(found.rejected)),
            "by_sheet": dg.MetadataValue.md(by_sheet),
        },
        check_results=[
            dg.AssetCheckResult(
                check_name="no_rejected_register_rows",
                passed=not found.rejected,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={
                    "rows_rejected": dg.MetadataValue.int(len(found.rejected)),
                    "problems": dg.MetadataValue.text(problems or "none"),
                },
            )
        ],
    )


def _half_year_mart(name: str, description: str, build, preview_sql: str):
    @dg.asset(
        name=name,
        key_prefix="marts",
        group_name=GROUP,
        partitions_def=half_year_partitions,
        pool=WRITER_POOL,
        deps=[REGISTERS_KEY],
        kinds={"duckdb"},
        description=description,
    )
    def _asset(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
        period = context.partition_key
        with vob.work_db(half_year_scope(period), context.run.run_id) as con:
            ensure_half_year_schema(con)
            rows = build(con, period)
            return _result(con, rows, preview_sql, {"period": period})

    return _asset


FCT_KEY = dg.AssetKey(["marts", "fct_vob_half_year"])

MONTHS_WITHOUT_TICKETS_SQL = """
SELECT strftime(m, '%Y-%m') FROM (SELECT unnest($months)::DATE AS m)
WHERE m NOT IN (SELECT DISTINCT month FROM staging.crm) ORDER BY m
"""


@dg.asset(
    key=FCT_KEY,
    group_name=GROUP,
    partitions_def=half_year_partitions,
    pool=WRITER_POOL,
    deps=[REGISTERS_KEY, CRM_DEP],
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            "crm_months_staged",
            asset=FCT_KEY,
            description="Every month of the half-year has CRM tickets staged (warning): a month never run "
            "would silently leave its ticket beneficiaries out.",
        )
    ],
    description="Beneficiaries (CRM tickets of the half in the latest snapshot, and feedback notes, as keyed "
    "hashes), notes and corrective plans of the half-year (marts.fct_vob_half_year, WAREHOUSE.md).",
)
def fct_vob_half_year(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    period = context.partition_key
    with vob.work_db(half_year_scope(period), context.run.run_id) as con:
        ensure_half_year_schema(con)
        rows = build_half_year_facts(con, period)
        result = _result(con, rows, "SELECT * FROM marts.fct_vob_half_year WHERE period = $period", {"period": period})
        missing = [
            m
            for (m,) in con.execute(
                MONTHS_WITHOUT_TICKETS_SQL, {"months": [f"{m}-01" for m in months_of_half(period)]}
            ).fetchall()
        ]
    problems = (
        (
            f"no CRM tickets staged for {', '.join(missing)}: run monthly_facts for "
            "these months first, or check the CRM snapshots"
        )
        if missing
        else "none"
    )
    return dg.MaterializeResult(
        metadata=result.metadata,
        check_results=[
            dg.AssetCheckResult(
                check_name="crm_months_staged",
                passed=not missing,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"problems": dg.MetadataValue.text(problems)},
            )
        ],
    )


fct_feedback_dimension_half_year = _half_year_mart(
    "fct_feedback_dimension_half_year",
    "Adaa dimension tags of the half-year's feedback notes and their share of all tags, "
    "rounded half-up to two decimals (marts.fct_feedback_dimension_half_year).",
    build_dimension_facts,
    "SELECT * FROM marts.fct_feedback_dimension_half_year WHERE period = $period ORDER BY tags DESC",
)

corrective_plans_by_dimension = _half_year_mart(
    "corrective_plans_by_dimension",
    "Corrective plans opened by the half-year's last day, per Adaa dimension and status.",
    build_plans_by_dimension,
    "SELECT * FROM marts.corrective_plans_by_dimension WHERE period = $period ORDER BY plans_total DESC",
)

e_participations = _half_year_mart(
    "e_participations",
    "The half-year's e-participations (consultations, co-creation), in register order (marts.e_participations).",
    build_participations,
    f"SELECT * FROM marts.e_participations WHERE period = $period ORDER BY sort_order LIMIT {PREVIEW_ROWS}",
)

improvement_actions = _half_year_mart(
    "improvement_actions",
    "The half-year's improvement actions, each linked to a corrective plan (marts.improvement_actions).",
    build_actions,
    f"SELECT * FROM marts.improvement_actions WHERE period = $period ORDER BY action_no LIMIT {PREVIEW_ROWS}",
)


@dg.asset(
    key_prefix="marts",
    group_name=GROUP,
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="The five Adaa dimensions with their Arabic and English names (marts.dim_dimension).",
)
def dim_dimension(vob: VobWarehouse) -> dg.MaterializeResult:
    with vob.work_db(whole_scope("marts.dim_dimension")) as con:
        ensure_half_year_schema(con)
        rows = build_dim_dimension(con)
        return _result(con, rows, "SELECT * FROM marts.dim_dimension ORDER BY sort_order")


HALF_YEAR_ASSETS = [
    registers,
    fct_vob_half_year,
    fct_feedback_dimension_half_year,
    corrective_plans_by_dimension,
    e_participations,
    improvement_actions,
    dim_dimension,
]
