"""The Dagster code location: `dagster dev` (through workspace.yaml) loads `defs`."""

import os
from datetime import datetime, timedelta

import dagster as dg

from assets.dashboard import bi_dashboard, dashboard_job
from assets.half_year import HALF_YEAR_ASSETS
from assets.monthly import MONTHLY_MART_ASSETS, staging_assets
from assets.months import MONTH_ASSETS
from assets.partitions import RANGE_END, RANGE_START, TIMEZONE
from assets.publish import published_warehouse
from assets.report import report_job, vob_report
from assets.resources import vob_resources
from assets.service_monthly import SERVICE_ASSETS
from checks.freshness import with_freshness
from checks.monthly_checks import monthly_checks
from checks.service_checks import service_checks
from pipelines.alerts import alert_outbox, run_failure_alert
from pipelines.dagster_patch import apply_dagster_patch
from pipelines.recovery import dead_runs_sensor
from pipelines.sensors import build_half_year_after_months_sensor, build_landing_sensor, dashboard_after_publish
from pipelines.workers import run_executor, step_retry_policy
from vob.base.periods import month_key

apply_dagster_patch()  # a step blocked on the writer pool sleeps instead of spinning (dagster-io/dagster#20367)

LATE_FILE_DAYS = 7  # during the first days of a month, the nightly run refreshes the previous month too

# With Celery workers a step meets the network (object store, catalog, broker): retried twice, after 10 and 20 s
STEP_RETRIES = step_retry_policy(os.environ)

monthly_assets = [*staging_assets, *MONTHLY_MART_ASSETS, *MONTH_ASSETS, *SERVICE_ASSETS]

# Monthly facts, then publish: what the schedule and a UI backfill run.
monthly_refresh_job = dg.define_asset_job(
    "monthly_refresh",
    selection=dg.AssetSelection.assets(*monthly_assets, published_warehouse),
    description="Load the month(s) from the landing zone, build the monthly facts, publish.",
    op_retry_policy=STEP_RETRIES,
)

# The same without publishing: `vob run` publishes once, after every part of the period passed.
monthly_facts_job = dg.define_asset_job(
    "monthly_facts",
    selection=dg.AssetSelection.assets(*monthly_assets),
    op_retry_policy=STEP_RETRIES,
)

# The half-year registers and marts, for one half-year partition (`vob run --period 2025-H1`).
half_year_facts_job = dg.define_asset_job(
    "half_year_facts",
    selection=dg.AssetSelection.assets(*HALF_YEAR_ASSETS),
    description="Read the half-year's VoB registers workbook and build the half-year marts.",
    op_retry_policy=STEP_RETRIES,
)

# What a re-delivered registers workbook triggers (landing sensor): the half-year, published, reported.
half_year_refresh_job = dg.define_asset_job(
    "half_year_refresh",
    selection=dg.AssetSelection.assets(*HALF_YEAR_ASSETS, published_warehouse, vob_report),
    description="Build the half-year marts from the registers, publish, render the report.",
    op_retry_policy=STEP_RETRIES,
)

publish_job = dg.define_asset_job(
    "publish", selection=dg.AssetSelection.assets(published_warehouse), op_retry_policy=STEP_RETRIES
)


def nightly_months(now: datetime) -> tuple[str, str]:
    """The partition range the nightly run refreshes: the current month, from the
    previous one while late files of it may still arrive."""
    current = now.date().replace(day=1)
    first = (current - timedelta(days=1)).replace(day=1) if now.day <= LATE_FILE_DAYS else current
    return month_key(first), month_key(current)


@dg.schedule(
    cron_schedule="0 2 * * *",
    execution_timezone=TIMEZONE,
    job=monthly_refresh_job,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="02:00 Riyadh: refresh the current month (and the previous one in the first "
    f"{LATE_FILE_DAYS} days of a month), then publish.",
)
def nightly_refresh(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    first, last = nightly_months(context.scheduled_execution_time)
    return dg.RunRequest(
        run_key=f"nightly-{context.scheduled_execution_time:%Y-%m-%d}",
        tags={
            RANGE_START: first,
            RANGE_END: last,
        },
    )


defs = dg.Definitions(
    assets=with_freshness([*monthly_assets, *HALF_YEAR_ASSETS, published_warehouse, vob_report, bi_dashboard]),
    asset_checks=[*monthly_checks, *service_checks],
    jobs=[
        monthly_refresh_job,
        monthly_facts_job,
        half_year_facts_job,
        half_year_refresh_job,
        publish_job,
        report_job,
        dashboard_job,
    ],
    schedules=[nightly_refresh],
    sensors=[
        build_landing_sensor(monthly_refresh_job, half_year_refresh_job),
        build_half_year_after_months_sensor(monthly_refresh_job, half_year_refresh_job),
        run_failure_alert,
        alert_outbox,
        dead_runs_sensor,
        dashboard_after_publish,
    ],
    # One resource per concern, each reading the VOB_* settings when a run or a tick initialises it.
    resources=vob_resources(),
    # VOB_EXECUTOR: in this process (the default), or on Celery workers (pipelines/workers.py)
    executor=run_executor(os.environ),
)
