"""A publish never copies another run's months half refreshed (found by the soak, issue 24): the
writer pool is taken a step at a time, so a half-year run's publish could land between a monthly
run's fct_channel_monthly and figure_sources steps, before that run's checks. The publish is then
left to the run that is mid-way: its own publish carries both."""

import logging
import time
from datetime import date

import dagster as dg
from conftest import RANGE_END, RANGE_START, contacts, vob_resources
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.utils import make_new_run_id
from landing_files import call, write_calls

from pipelines.definitions import defs


def refresh(instance: dg.DagsterInstance, month: str = "2025-03") -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=instance, tags={RANGE_START: month, RANGE_END: month}, resources=vob_resources()
    )


def publish_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (materialization,) = [
        m for m in result.get_asset_materialization_events() if m.asset_key.path == ["published_warehouse"]
    ]
    return {k: v.value for k, v in materialization.step_materialization_data.materialization.metadata.items()}


def run_midway(instance: dg.DagsterInstance, like: dg.DagsterRun) -> dg.DagsterRun:
    """A run of the same job in progress that has refreshed fct_channel_monthly and not published yet."""
    run = instance.add_run(
        dg.DagsterRun(
            job_name=like.job_name,
            run_id=make_new_run_id(),
            status=dg.DagsterRunStatus.STARTED,
            execution_plan_snapshot_id=like.execution_plan_snapshot_id,
            job_snapshot_id=like.job_snapshot_id,
        )
    )
    written = DagsterEvent(
        event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
        job_name=run.job_name,
        event_specific_data=StepMaterializationData(dg.AssetMaterialization(["marts", "fct_channel_monthly"])),
    )
    instance.store_event(
        EventLogEntry(None, logging.INFO, "", run.run_id, time.time(), dagster_event=written, step_key="x")
    )
    return run


def test_a_publish_is_left_to_a_run_that_is_midway_and_happens_once_it_is_not(vob_env):
    landing = vob_env.landing_dir
    write_calls(landing, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        first = refresh(instance)
        assert contacts(vob_env, "2025-03")["calls"] == 1
        other = run_midway(instance, first.dagster_run)

        write_calls(landing, date(2025, 3, 6), [call("C-2", "2025-03-06T10:00:00+03:00")])
        second = refresh(instance)
        assert publish_metadata(second) == {"written": False, "left_to": other.run_id}
        assert contacts(vob_env, "2025-03")["calls"] == 1  # the previous publish, whole

        instance.report_run_failed(other, "killed")  # no longer mid-way (its months: the next publish)
        third = refresh(instance)
        assert publish_metadata(third)["written"] is True
        assert contacts(vob_env, "2025-03")["calls"] == 2
