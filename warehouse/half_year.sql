-- The half-year tables: created when the first half-year asset runs (warehouse/store.ensure_half_year_schema),
-- so that a warehouse published before any half-year has none of them (the report names them as unpublished).

-- The VoB team's half-year registers (vob/landing/registers.py), one row per register row.
CREATE TABLE IF NOT EXISTS staging.feedback_notes (
    period VARCHAR NOT NULL, note_id VARCHAR NOT NULL, received_on DATE NOT NULL, source VARCHAR NOT NULL,
    beneficiary_id_hmac VARCHAR, dimensions VARCHAR[] NOT NULL, summary VARCHAR,
    file VARCHAR NOT NULL, line_no INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS staging.corrective_plans (
    period VARCHAR NOT NULL, plan_id VARCHAR NOT NULL, title VARCHAR, dimension VARCHAR NOT NULL,
    status VARCHAR NOT NULL, opened_on DATE NOT NULL, implemented_on DATE,
    file VARCHAR NOT NULL, line_no INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS staging.e_participations (
    period VARCHAR NOT NULL, title VARCHAR NOT NULL, kind VARCHAR NOT NULL, target_group VARCHAR,
    channel VARCHAR, month VARCHAR NOT NULL, url VARCHAR, file VARCHAR NOT NULL, line_no INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS staging.improvement_actions (
    period VARCHAR NOT NULL, action_no BIGINT NOT NULL, title VARCHAR NOT NULL, description VARCHAR,
    plan_id VARCHAR, file VARCHAR NOT NULL, line_no INTEGER NOT NULL
);

-- The half-year marts (WAREHOUSE.md), built by vob/marts/half_year.py.
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
