-- Working database: everything a run writes before publishing.
-- raw.<source> tables are created from the landing descriptions (vob/landing/contract.py).
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
    sha256 VARCHAR NOT NULL,        -- hex digest with digits written g-p (vob/landing/ingest.py fingerprint)
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

-- Per landing file: what the file system said of it when its content was last fingerprinted
-- (vob/landing/ingest.py `unchanged_on_disk`). A file whose size, mtime, ctime and inode are all
-- the same is not hashed again; any difference, or no row, hashes it (docs/operations.md).
CREATE TABLE IF NOT EXISTS meta.landing_file_stats (
    source VARCHAR NOT NULL,
    path VARCHAR NOT NULL,          -- relative to the landing root, as in meta.landing_files
    size_bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    ctime_ns BIGINT NOT NULL,       -- changes on every write and cannot be set back by a tool
    inode UBIGINT NOT NULL,
    device UBIGINT NOT NULL,
    sha256 VARCHAR NOT NULL,        -- the content fingerprint the file had with these
    PRIMARY KEY (source, path)
);

-- The last publish of each warehouse file (warehouse/store.py `publish_if_changed`): the
-- fingerprint of the marts it holds and what the file system said of the file just after.
-- Same marts, same file: the file is not written again (BI tools keep their handle).
CREATE TABLE IF NOT EXISTS meta.publications (
    warehouse VARCHAR NOT NULL,     -- absolute path of the published file
    fingerprint VARCHAR NOT NULL,   -- marts rows and columns, dictionary, storage version, file mode
    size_bytes BIGINT NOT NULL,
    mtime_ns BIGINT NOT NULL,
    ctime_ns BIGINT NOT NULL,
    inode UBIGINT NOT NULL,
    run_id VARCHAR,
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (warehouse)
);

-- Every month taken out of the marts by `vob withdraw` (docs/operations.md, "Withdrawing a month").
CREATE TABLE IF NOT EXISTS meta.withdrawals (
    month DATE NOT NULL,
    rows_removed VARCHAR NOT NULL,  -- JSON: table -> rows deleted
    reason VARCHAR,
    withdrawn_by VARCHAR,           -- the operating-system user
    withdrawn_at TIMESTAMPTZ NOT NULL
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
-- (vob/marts/validations.py): a month whose fingerprint is unchanged since a
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

-- One row per published month (WAREHOUSE.md, "Months in progress"; vob/marts/months.py).
CREATE TABLE IF NOT EXISTS marts.dim_month (
    month DATE PRIMARY KEY,
    status VARCHAR NOT NULL,          -- complete | in_progress
    data_through DATE NOT NULL,       -- the last day whose contacts are all in
    name_ar VARCHAR NOT NULL,
    name_en VARCHAR NOT NULL
);

-- Service KPIs and figure sources (WAREHOUSE.md, "Service KPIs and figure sources").
CREATE TABLE IF NOT EXISTS marts.fct_calls_service_monthly (
    month DATE NOT NULL,
    queue VARCHAR NOT NULL,           -- the CDR's queue, 'unknown' when empty, 'all' for every call
    offered BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    abandoned BIGINT NOT NULL,
    abandon_rate_pct DECIMAL(5,2),
    service_level_20s_pct DECIMAL(5,2),
    avg_wait_s DECIMAL(9,1),
    p90_wait_s DECIMAL(9,1),
    avg_handle_s DECIMAL(9,1),
    PRIMARY KEY (month, queue)
);

CREATE TABLE IF NOT EXISTS marts.fct_chat_service_monthly (
    month DATE NOT NULL,
    entry_point VARCHAR NOT NULL,     -- web, app, 'unknown' when empty, 'all' for every session
    sessions BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    avg_rating DECIMAL(3,2),
    p50_duration_s DECIMAL(9,1),
    PRIMARY KEY (month, entry_point)
);

CREATE TABLE IF NOT EXISTS marts.fct_ticket_resolution_monthly (
    month DATE NOT NULL,              -- Riyadh month of closed_at
    snapshot_date DATE NOT NULL,
    closed BIGINT NOT NULL,
    p50_hours_to_close DECIMAL(9,1),
    p90_hours_to_close DECIMAL(9,1),
    PRIMARY KEY (month, snapshot_date)
);

CREATE TABLE IF NOT EXISTS marts.fct_ticket_backlog (
    snapshot_date DATE NOT NULL,
    age_band VARCHAR NOT NULL,        -- 0-7d, 8-30d, 31-90d, >90d
    open_tickets BIGINT NOT NULL,
    sort_order INTEGER NOT NULL,
    PRIMARY KEY (snapshot_date, age_band)
);

-- Every published channel and ticket figure, with the landing files that make it up:
-- for each figure, sum(counted) = figure_value.
CREATE TABLE IF NOT EXISTS marts.figure_sources (
    table_name VARCHAR NOT NULL,      -- fct_channel_monthly | fct_tickets_monthly
    figure_key VARCHAR NOT NULL,      -- 2025-03|calls, 2025-03|2025-07-01|tickets_open
    figure_value BIGINT NOT NULL,
    file VARCHAR NOT NULL,            -- relative to the landing root
    rows_read BIGINT,                 -- the whole file's, from meta.landing_files
    rows_rejected BIGINT,
    counted BIGINT NOT NULL,          -- what this file gives to the figure
    month DATE NOT NULL,              -- the figure's month (the partition that builds the row)
    PRIMARY KEY (table_name, figure_key, file)
);
