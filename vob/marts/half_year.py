"""The half-year marts of WAREHOUSE.md, built in SQL from the registers and the CRM tickets.

Every builder deletes and re-inserts its half-year in one transaction: re-running is idempotent.
"""

from __future__ import annotations

from vob.base.db import transaction
from vob.base.periods import half_year_bounds, months_of_half
from vob.landing.registers import DIMENSION_CODES, DIMENSIONS

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


def _replace(con, table: str, insert_sql: str, params: dict) -> int:
    """Delete the half-year's rows of a mart and insert them again, in one transaction."""
    with transaction(con):
        con.execute(f"DELETE FROM {table} WHERE period = $period", {"period": params["period"]})
        con.execute(insert_sql, params)
    return con.execute(f"SELECT count(*) FROM {table} WHERE period = $period", {"period": params["period"]}).fetchall()[
        0
    ][0]


def build_half_year_facts(con, period: str) -> int:
    first_day, last_day = half_year_bounds(period)
    months = months_of_half(period)
    params = {
        "period": period,
        "first_day": first_day,
        "last_day": last_day,
        "first_month": f"{months[0]}-01",
        "last_month": f"{months[-1]}-01",
    }
    return _replace(con, "marts.fct_vob_half_year", HALF_YEAR_FACTS_SQL, params)


def build_dimension_facts(con, period: str) -> int:
    return _replace(
        con,
        "marts.fct_feedback_dimension_half_year",
        DIMENSION_FACTS_SQL,
        {"period": period, "codes": list(DIMENSION_CODES)},
    )


def build_plans_by_dimension(con, period: str) -> int:
    return _replace(
        con,
        "marts.corrective_plans_by_dimension",
        PLANS_BY_DIMENSION_SQL,
        {"period": period, "codes": list(DIMENSION_CODES), "last_day": half_year_bounds(period)[1]},
    )


def build_participations(con, period: str) -> int:
    return _replace(con, "marts.e_participations", PARTICIPATIONS_SQL, {"period": period})


def build_actions(con, period: str) -> int:
    return _replace(con, "marts.improvement_actions", ACTIONS_SQL, {"period": period})


def build_dim_dimension(con) -> int:
    with transaction(con):
        con.execute("DELETE FROM marts.dim_dimension")
        con.executemany(
            "INSERT INTO marts.dim_dimension VALUES (?, ?, ?, ?)",
            [(code, ar, en, i + 1) for i, (code, ar, en) in enumerate(DIMENSIONS)],
        )
    return len(DIMENSIONS)
