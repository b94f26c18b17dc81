"""The code location loads, with its schedule, partitions and jobs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.definitions import defs, nightly_months
from pipelines.partitions import monthly_partitions


def test_definitions_load_with_assets_jobs_and_schedule():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"staging/calls", "staging/email", "staging/chat", "staging/x", "staging/sms",
            "staging/self_service", "staging/crm", "marts/fct_channel_monthly",
            "marts/fct_tickets_monthly", "marts/dim_channel", "published_warehouse"} <= keys
    schedule = defs.resolve_schedule_def("nightly_refresh")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Riyadh"
    assert defs.resolve_job_def("monthly_refresh").partitions_def == monthly_partitions


def test_every_month_from_january_2025_is_a_partition():
    keys = monthly_partitions.get_partition_keys(current_time=datetime(2026, 11, 28, tzinfo=ZoneInfo("UTC")))
    assert keys[0] == "2025-01" and "2025-06" in keys and keys[-1] == "2026-11"
    assert monthly_partitions.timezone == "Asia/Riyadh"


def test_the_nightly_run_refreshes_the_previous_month_during_the_first_days():
    riyadh = ZoneInfo("Asia/Riyadh")
    assert nightly_months(datetime(2025, 3, 3, 2, tzinfo=riyadh)) == ("2025-02", "2025-03")
    assert nightly_months(datetime(2025, 3, 20, 2, tzinfo=riyadh)) == ("2025-03", "2025-03")
    assert nightly_months(datetime(2025, 1, 1, 2, tzinfo=riyadh)) == ("2024-12", "2025-01")


def test_the_schedule_asks_for_one_run_over_the_month_range():
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 4, 2, 2, tzinfo=ZoneInfo("Asia/Riyadh")))
    request = defs.resolve_schedule_def("nightly_refresh").evaluate_tick(context).run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] == "2025-03"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-04"
