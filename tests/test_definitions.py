"""The code location loads, with its schedule, partitions and jobs."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import monthly_partitions
from pipelines.definitions import defs, nightly_months


def test_definitions_load_with_assets_jobs_and_schedule():
    dg.Definitions.validate_loadable(defs)
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {
        "staging/calls",
        "staging/email",
        "staging/chat",
        "staging/x",
        "staging/sms",
        "staging/self_service",
        "staging/crm",
        "marts/fct_channel_monthly",
        "marts/fct_tickets_monthly",
        "marts/dim_channel",
        "published_warehouse",
    } <= keys
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
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2025, 4, 2, 2, tzinfo=ZoneInfo("Asia/Riyadh"))
    )
    request = defs.resolve_schedule_def("nightly_refresh").evaluate_tick(context).run_requests[0]
    assert request.tags["dagster/asset_partition_range_start"] == "2025-03"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-04"


def test_the_half_year_assets_sit_downstream_of_the_monthly_crm_partitions():
    from dagster._core.remote_representation.external_data import RepositorySnap

    from assets.partitions import half_year_partitions

    graph = defs.resolve_asset_graph()
    fact, crm = dg.AssetKey(["marts", "fct_vob_half_year"]), dg.AssetKey(["staging", "crm"])
    assert {crm, dg.AssetKey(["staging", "registers"])} <= graph.get(fact).parent_keys
    assert isinstance(graph.get_partition_mapping(fact, crm), dg.AllPartitionMapping)
    job = defs.resolve_job_def("half_year_facts")
    assert job.partitions_def == half_year_partitions
    assert {
        "staging/registers",
        "marts/fct_vob_half_year",
        "marts/fct_feedback_dimension_half_year",
        "marts/dim_dimension",
        "marts/e_participations",
        "marts/improvement_actions",
    } <= {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    # what `dagster dev` sees: the edge from staging/crm with a built-in mapping it can check
    # (a custom mapping would be dropped, and the inferred identity mapping rejected)
    snap = RepositorySnap.from_def(defs.get_repository_def())
    node = next(n for n in snap.asset_nodes if n.asset_key == fact)
    edge = next(e for e in node.parent_edges if e.parent_asset_key == crm)
    edge.partition_mapping.validate_partition_mapping(monthly_partitions, half_year_partitions)
