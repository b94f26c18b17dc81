"""Half-year assets: the VoB registers (staging) and the half-year marts of WAREHOUSE.md.

Partitioned by half-year (`2025-H1`, ...). The beneficiaries figure also reads
the CRM tickets of the half's six months, so `marts/fct_vob_half_year` depends
on the six monthly partitions of `staging/crm` through `months_to_half_year`.
Every asset deletes and re-inserts its half-year: re-running is idempotent.
"""


import warnings

import dagster as dg

from assets.monthly import WRITER_POOL, markdown_table
from assets.registers import (
    DIMENSION_CODES, DIMENSIONS, SHEETS, RegisterStructureError, ensure_staging, read_registers,
    store_registers, workbook_path,
)
from pipelines.partitions import half_year_partitions, months_of_half, months_to_half_year
from pipelines.periods import half_year_bounds
from pipelines.resources import VobWarehouse

warnings.filterwarnings("ignore", category=dg.BetaWarning)

GROUP = "half_year"
REGISTERS_KEY = dg.AssetKey(["staging", "registers"])
CRM_KEY = dg.AssetKey(["staging", "crm"])
PREVIEW_ROWS = 12

CRM_DEP = dg.AssetDep(CRM_KEY, partition_mapping=months_to_half_year)

MARTS_DDL = """
CREATE TABLE IF NOT EXISTS marts.fct_vob_half_year (
    period VARCHAR PRIMARY KEY,
    beneficiaries BIGINT NOT NULL,
    notes BIGINT NOT NULL,
    plans_total BIGINT NOT NULL,
    plans_in_progress BIGINT NOT NULL,
    plans_implemented BIGINT NOT NULL,
    ticket_beneficiaries BIGINT NOT NULL,   -- of the tickets alone
    note_beneficiaries BIGINT NOT NULL,     -- of the notes alone
    ticket_snapshot_date DATE               -- the CRM snapshot the tickets were read from
);
CREATE TABLE IF NOT EXISTS marts.fct_feedback_dimension_half_year (
    period VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    tags BIGINT NOT NULL,
    share_pct DECIMAL(5,2),                 -- NULL when the half-year has no tags at all
    PRIMARY KEY (period, dimension)
);
CREATE TABLE IF NOT EXISTS marts.dim_dimension (
    dimension VARCHAR PRIMARY KEY,
    name_ar VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    sort_order INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS marts.corrective_plans_by_dimension (
    period VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL,
    plans_total BIGINT NOT NULL,
    plans_in_progress BIGINT NOT NULL,
    plans_implemented BIGINT NOT NULL,
    PRIMARY KEY (period, dimension)
);
CREATE TABLE IF NOT EXISTS marts.e_participations (
    period VARCHAR NOT NULL,
    title VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    target_group VARCHAR,
    channel VARCHAR,
    month VARCHAR NOT NULL,                 -- YYYY-MM
    url VARCHAR,
    sort_order INTEGER NOT NULL             -- the register's row order
);
CREATE TABLE IF NOT EXISTS marts.improvement_actions (
    period VARCHAR NOT NULL,
    action_no BIGINT NOT NULL,
    title VARCHAR NOT NULL,
    description VARCHAR,
    plan_id VARCHAR,
    PRIMARY KEY (period, action_no)
);
"""

# Share in hundredths of a percent, rounded half-up, in integer arithmetic
# (no float ever sees it): floor((2 * 10000 * tags + total) / (2 * total)).
# Multiplying a DECIMAL by a DECIMAL is exact in DuckDB; dividing is not.
SHARE_PCT_SQL = (
    "CASE WHEN {total} > 0 THEN CAST(CAST((20000 * {tags} + {total}) // (2 * {total}) AS DECIMAL(18,0)) "
    "* CAST(0.01 AS DECIMAL(3,2)) AS DECIMAL(5,2)) END"
)

DIMENSION_FACTS_SQL = f"""
INSERT INTO marts.fct_feedback_dimension_half_year
WITH tags AS (
    SELECT unnest(dimensions) AS dimension FROM staging.feedback_notes WHERE period = $period
),
counted AS (
    SELECT d.dimension, count(t.dimension) AS tags
    FROM (SELECT unnest($codes) AS dimension) d LEFT JOIN tags t USING (dimension)
    GROUP BY d.dimension
)
SELECT $period, dimension, tags, {SHARE_PCT_SQL.format(tags="tags", total="sum(tags) OVER ()")}
FROM counted
"""

HALF_YEAR_FACTS_SQL = """
INSERT INTO marts.fct_vob_half_year
WITH crm_half AS (
    SELECT * FROM staging.crm WHERE month BETWEEN $first_month AND $last_month
),
snapshot AS (SELECT max(file_date) AS snapshot_date FROM crm_half),
ticket_people AS (
    SELECT DISTINCT beneficiary_id_hmac AS person FROM crm_half
    WHERE file_date = (SELECT snapshot_date FROM snapshot) AND beneficiary_id_hmac IS NOT NULL
),
note_people AS (
    SELECT DISTINCT beneficiary_id_hmac AS person FROM staging.feedback_notes
    WHERE period = $period AND beneficiary_id_hmac IS NOT NULL
),
plans AS (
    SELECT * FROM staging.corrective_plans WHERE period = $period AND opened_on <= $last_day
)
SELECT
    $period,
    (SELECT count(*) FROM (SELECT person FROM ticket_people UNION SELECT person FROM note_people)),
    (SELECT count(DISTINCT note_id) FROM staging.feedback_notes
     WHERE period = $period AND received_on BETWEEN $first_day AND $last_day),
    (SELECT count(*) FROM plans),
    (SELECT count(*) FROM plans WHERE status = 'in_progress'),
    (SELECT count(*) FROM plans WHERE status = 'implemented'),
    (SELECT count(*) FROM ticket_people),
    (SELECT count(*) FROM note_people),
    (SELECT snapshot_date FROM snapshot)
"""

PLANS_BY_DIMENSION_SQL = """
INSERT INTO marts.corrective_plans_by_dimension
SELECT $period, d.dimension, count(p.plan_id),
       count(p.plan_id) FILTER (WHERE p.status = 'in_progress'),
       count(p.plan_id) FILTER (WHERE p.status = 'implemented')
FROM (SELECT unnest($codes) AS dimension) d
LEFT JOIN staging.corrective_plans p
       ON p.dimension = d.dimension AND p.period = $period AND p.opened_on <= $last_day
GROUP BY d.dimension
"""

PARTICIPATIONS_SQL = """
INSERT INTO marts.e_participations
SELECT period, title, kind, target_group, channel, month, url, row_number() OVER (ORDER BY line_no)
FROM staging.e_participations WHERE period = $period
"""

ACTIONS_SQL = """
INSERT INTO marts.improvement_actions
SELECT period, action_no, title, description, plan_id
FROM staging.improvement_actions WHERE period = $period
"""


def ensure_marts(con) -> None:
    ensure_staging(con)
    con.execute(MARTS_DDL)


def _replace(con, table: str, insert_sql: str, params: dict) -> int:
    """Delete the half-year's rows of a mart and insert them again, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"DELETE FROM {table} WHERE period = $period", {"period": params["period"]})
        con.execute(insert_sql, params)
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return con.execute(f"SELECT count(*) FROM {table} WHERE period = $period",
                       {"period": params["period"]}).fetchall()[0][0]


def build_half_year_facts(con, period: str) -> int:
    first_day, last_day = half_year_bounds(period)
    months = months_of_half(period)
    params = {
        "period": period, "first_day": first_day, "last_day": last_day,
        "first_month": f"{months[0]}-01", "last_month": f"{months[-1]}-01",
    }
    return _replace(con, "marts.fct_vob_half_year", HALF_YEAR_FACTS_SQL, params)


def build_dimension_facts(con, period: str) -> int:
    return _replace(con, "marts.fct_feedback_dimension_half_year", DIMENSION_FACTS_SQL,
                    {"period": period, "codes": list(DIMENSION_CODES)})


def build_plans_by_dimension(con, period: str) -> int:
    return _replace(con, "marts.corrective_plans_by_dimension", PLANS_BY_DIMENSION_SQL,
                    {"period": period, "codes": list(DIMENSION_CODES), "last_day": half_year_bounds(period)[1]})


def build_participations(con, period: str) -> int:
    return _replace(con, "marts.e_participations", PARTICIPATIONS_SQL, {"period": period})


def build_actions(con, period: str) -> int:
    return _replace(con, "marts.improvement_actions", ACTIONS_SQL, {"period": period})


def build_dim_dimension(con) -> int:
    con.execute("BEGIN TRANSACTION")
    con.execute("DELETE FROM marts.dim_dimension")
    con.executemany("INSERT INTO marts.dim_dimension VALUES (?, ?, ?, ?)",
                    [(code, ar, en, i + 1) for i, (code, ar, en) in enumerate(DIMENSIONS)])
    con.execute("COMMIT")
    return len(DIMENSIONS)


# ---------------------------------------------------------------- assets


def _result(con, rows: int, preview_sql: str, params: dict | None = None) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={
        "dagster/row_count": dg.MetadataValue.int(rows),
        "preview": dg.MetadataValue.md(markdown_table(con, preview_sql, params)),
    })


@dg.asset(
    name="registers",
    key_prefix="staging",
    group_name=GROUP,
    partitions_def=half_year_partitions,
    pool=WRITER_POOL,
    kinds={"duckdb", "excel"},
    check_specs=[dg.AssetCheckSpec("no_rejected_register_rows", asset=REGISTERS_KEY,
                                   description="Every row of the workbook follows LANDING.md (warning).")],
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
        raise dg.Failure(description=f"{workbook.relative_to(settings.landing_dir)} was modified after the run's "
                         "settle cutoff (an upload in progress?): left for a later run")
    try:
        found = read_registers(settings.landing_dir, period, settings.pii_key())
    except RegisterStructureError as err:
        raise dg.Failure(description=str(err)) from None  # the message says it all; no traceback
    with vob.work_db() as con:
        ensure_marts(con)
        store_registers(con, found, context.run.run_id)
    loaded = found.rows_loaded
    by_sheet = "\n".join(
        f"| {sheet} | {found.rows_read[sheet]} | {loaded[sheet]} | {found.rows_rejected(sheet)} |" for sheet in SHEETS
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
            "by_sheet": dg.MetadataValue.md(
                "| sheet | rows read | loaded | rejected |\n|---|---|---|---|\n" + by_sheet
            ),
        },
        check_results=[dg.AssetCheckResult(
            check_name="no_rejected_register_rows",
            passed=not found.rejected,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_rejected": dg.MetadataValue.int(len(found.rejected)),
                "problems": dg.MetadataValue.text(problems or "none"),
            },
        )],
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
        with vob.work_db() as con:
            ensure_marts(con)
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
    check_specs=[dg.AssetCheckSpec(
        "crm_months_staged", asset=FCT_KEY,
        description="Every month of the half-year has CRM tickets staged (warning): a month never run "
        "would silently leave its ticket beneficiaries out.",
    )],
    description="Beneficiaries (CRM tickets of the half in the latest snapshot, and feedback notes, as keyed "
    "hashes), notes and corrective plans of the half-year (marts.fct_vob_half_year, WAREHOUSE.md).",
)
def fct_vob_half_year(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    period = context.partition_key
    with vob.work_db() as con:
        ensure_marts(con)
        rows = build_half_year_facts(con, period)
        result = _result(con, rows, "SELECT * FROM marts.fct_vob_half_year WHERE period = $period",
                         {"period": period})
        missing = [m for (m,) in con.execute(
            MONTHS_WITHOUT_TICKETS_SQL, {"months": [f"{m}-01" for m in months_of_half(period)]}
        ).fetchall()]
    problems = (f"no CRM tickets staged for {', '.join(missing)}: run monthly_facts for "
                "these months first, or check the CRM snapshots") if missing else "none"
    return dg.MaterializeResult(
        metadata=result.metadata,
        check_results=[dg.AssetCheckResult(
            check_name="crm_months_staged", passed=not missing, severity=dg.AssetCheckSeverity.WARN,
            metadata={"problems": dg.MetadataValue.text(problems)},
        )],
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
    with vob.work_db() as con:
        ensure_marts(con)
        rows = build_dim_dimension(con)
        return _result(con, rows, "SELECT * FROM marts.dim_dimension ORDER BY sort_order")


HALF_YEAR_ASSETS = [
    registers, fct_vob_half_year, fct_feedback_dimension_half_year, corrective_plans_by_dimension,
    e_participations, improvement_actions, dim_dimension,
]
