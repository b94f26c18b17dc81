"""pipelines/dagster_patch.py: a step blocked on a pool slot sleeps instead of spinning a core. These tests
fail when Dagster's behaviour changes: when Dagster waits on its own (dagster-io/dagster#20367 or a successor
landed: drop the patch), or when the private method it replaces moves (rewrite the patch)."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import dagster as dg
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.utils import make_new_run_id

from pipelines.dagster_patch import DAGSTER_INTERVAL, apply_dagster_patch, interval_to_next_pending_claim_check

REPO = Path(__file__).resolve().parents[1]
POOL = "vob_warehouse_writer"


def instance_in(home: Path) -> dg.DagsterInstance:
    """An instance configured as deployed: the writer pool has one slot, claimed per step."""
    home.mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    instance = dg.DagsterInstance.from_config(str(home))
    instance.event_log_storage.set_concurrency_slots(POOL, 1)
    return instance


def run_holding_the_slot(instance: dg.DagsterInstance) -> str:
    run_id = make_new_run_id()
    instance.add_run(dg.DagsterRun(job_name="other", run_id=run_id, status=dg.DagsterRunStatus.STARTED))
    assert instance.event_log_storage.claim_concurrency_slot(POOL, run_id, "staging__calls").is_claimed
    return run_id


def test_dagster_itself_asks_a_blocked_step_to_recheck_at_once_and_the_patch_waits(tmp_path):
    instance = instance_in(tmp_path / "home")
    run_holding_the_slot(instance)
    run = instance.add_run(dg.DagsterRun(job_name="waiting", run_id=make_new_run_id()))
    with InstanceConcurrencyContext(instance, run) as context:
        assert not context.claim(POOL, "dim_month")  # blocked: the other run holds the only slot
        # Dagster's own interval: 0 however long the back-off, so the executor loops without sleeping.
        # When this fails, Dagster waits on its own: remove pipelines/dagster_patch.py.
        assert DAGSTER_INTERVAL(context) == 0
        wait = interval_to_next_pending_claim_check(context)
        assert 0.5 <= wait <= 15  # Dagster's back-off for a first refusal, as stored with the claim
        apply_dagster_patch()
        apply_dagster_patch()  # idempotent
        assert InstanceConcurrencyContext.interval_to_next_pending_claim_check is interval_to_next_pending_claim_check
        assert 0 < context.interval_to_next_pending_claim_check() <= wait


@dg.op(pool=POOL)
def write_step() -> int:
    return 1


@dg.job(executor_def=dg.in_process_executor)
def one_writer_step():
    write_step()


def test_a_step_blocked_on_the_writer_pool_does_not_spin_a_core(tmp_path):
    """The patched in-process executor, as `vob run` and the run workers use it: while another run holds
    the slot, the waiting process uses a few per cent of a core; it starts as soon as the slot is freed."""
    apply_dagster_patch()
    instance = instance_in(tmp_path / "home")
    holder = run_holding_the_slot(instance)
    results: list[dg.ExecuteInProcessResult | BaseException] = []

    def run() -> None:
        try:
            results.append(one_writer_step.execute_in_process(instance=instance))
        except BaseException as error:  # shown by the last assertion, not lost in the thread
            results.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    deadline = time.monotonic() + 60
    while not instance.event_log_storage.get_concurrency_info(POOL).pending_run_ids:
        assert runner.is_alive() and time.monotonic() < deadline
        time.sleep(0.05)
    time.sleep(0.5)  # past its first claim
    cpu, wall = time.process_time(), time.monotonic()
    time.sleep(3)
    used = (time.process_time() - cpu) / (time.monotonic() - wall)
    # Dagster's busy loop keeps a core busy (about 100 % idle, a third at load 12 on 2 cores); a sleeping
    # step re-checks once a second or less often
    assert used < 0.15, f"a blocked step used {used:.0%} of a core while it waited"
    assert runner.is_alive() and not results
    instance.event_log_storage.free_concurrency_slots_for_run(holder)
    runner.join(300)  # a loaded CI machine (load 10+ on 2 cores) took over 60 s to finish the run once
    assert results, "the run did not end within 300 s of the slot being freed"
    assert isinstance(results[0], dg.ExecuteInProcessResult) and results[0].success, results[0]
