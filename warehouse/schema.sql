-- Working database: everything a run writes before publishing.
-- raw.<source> tables are created from the landing descriptions (assets/landing.py).
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS meta;
CREATE SCHEMA IF NOT EXISTS quality;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS marts;

-- One row per landing file as last read: rows read = rows loaded + rows rejected.
CREATE TABLE IF NOT EXISTS meta.landing_files (
    source VARCHAR NOT NULL,
    path VARCHAR NOT NULL,          -- relative to the landing root
    file_date DATE,                 -- export date, month or snapshot date from the name
    sha256 VARCHAR NOT NULL,        -- hex digest with digits written g-p (assets/ingest.py fingerprint)
    size_bytes BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_loaded BIGINT NOT NULL,
    rows_rejected BIGINT NOT NULL,
    file_error VARCHAR,             -- the whole file is invalid (blocking)
    file_warning VARCHAR,
    run_id VARCHAR,
    ingested_at TIMESTAMPTZ,
    PRIMARY KEY (source, path)
);

-- Every row that breaks LANDING.md, with its file, line and reason.
-- `record` is the raw line with anything that looks like personal data masked.
CREATE TABLE IF NOT EXISTS quality.rejected_rows (
    source VARCHAR NOT NULL,
    file VARCHAR NOT NULL,
    line_no INTEGER NOT NULL,
    record VARCHAR,
    reason VARCHAR NOT NULL,
    run_id VARCHAR,
    rejected_at TIMESTAMPTZ
);

-- The last Great Expectations validation of each source's staged month
-- (checks/validations.py): a month whose fingerprint is unchanged since a
-- passed validation is not validated again.
CREATE TABLE IF NOT EXISTS quality.validations (
    source VARCHAR NOT NULL,
    month DATE NOT NULL,
    fingerprint VARCHAR NOT NULL,   -- staged rows (count, sum and XOR of row hashes) and suite version
    passed BOOLEAN NOT NULL,
    summary VARCHAR NOT NULL,       -- e.g. "11 of 11 expectations met on 385,433 rows"
    details VARCHAR NOT NULL,       -- markdown table of the expectations' outcomes
    run_id VARCHAR,                 -- the Dagster run that validated
    validated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (source, month)
);

-- Per month and source: which files the month read, and what they gave.
CREATE TABLE IF NOT EXISTS meta.month_files (
    month DATE NOT NULL,
    source VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    run_id VARCHAR
);

-- Per month and source: a fingerprint of the files it was staged from and of their
-- content; a month whose fingerprint did not change is not staged again.
CREATE TABLE IF NOT EXISTS meta.month_inputs (
    month DATE NOT NULL,
    source VARCHAR NOT NULL,
    inputs VARCHAR NOT NULL,
    run_id VARCHAR
);

CREATE TABLE IF NOT EXISTS staging.daily_counts (
    month DATE NOT NULL,
    source VARCHAR NOT NULL,
    date DATE NOT NULL,
    category VARCHAR NOT NULL,
    count BIGINT NOT NULL,
    file VARCHAR NOT NULL,
    line_no INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS marts.fct_channel_monthly (
    month DATE NOT NULL,
    channel VARCHAR NOT NULL,
    contacts BIGINT NOT NULL,
    PRIMARY KEY (month, channel)
);

CREATE TABLE IF NOT EXISTS marts.fct_tickets_monthly (
    month DATE NOT NULL,
    snapshot_date DATE NOT NULL,
    tickets_total BIGINT NOT NULL,
    tickets_open BIGINT NOT NULL,
    tickets_closed BIGINT NOT NULL,
    PRIMARY KEY (month, snapshot_date)
);

CREATE TABLE IF NOT EXISTS marts.dim_channel (
    channel VARCHAR PRIMARY KEY,
    name_ar VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL,
    sort_order INTEGER NOT NULL
);
