"""Kill `vob run` with SIGKILL at any step, run it again: same figures as an undisturbed run
(issue 11, items 1 and 2; docs/operations.md, "A run died").

The whole process group of a real `vob run --period 2025-H1` is killed at moments chosen by the
run's own events (STEP_START of a step in the Dagster instance's event log, then, for a writing
step, the run holding the writer slot; for the publish, the moment its temporary file appears): during ingest, the quality gate, the half-year facts, the
publish and the report. The killed run still holds the writer-pool slot and stays STARTED: the
next `vob run` must reap it by itself and get past the point where it died. Between attempts the
published warehouse is always a complete one (the previous or the new), never torn.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import dagster as dg
import pytest
from vob_process import kill_group, marts, run, start, vob_env, wait_for_step, write_zone

pytestmark = pytest.mark.slow  # kills a run at every step: many whole runs

PERIOD = ["run", "--period", "2025-H1"]
POOL = "vob_warehouse_writer"
KILL_AT = [
    "staging",
    "monthly_quality_gate",
    "marts__fct_vob_half_year",
    "published_warehouse",
    "report__vob_report",
]
HELD_BACK = "calls/2025/06/calls_2025-06-10.csv"  # absent from the first publish, so "previous" differs from "new"


def kill_at(step: str, env: dict, home: Path, warehouse: Path, log: Path) -> str:
    """Start `vob run`, SIGKILL its process group when `step` starts (the publish: once its
    temporary file exists); the killed run's id."""
    process = start(PERIOD, env, log)
    try:
        run_id = wait_for_step(home, step, process)
        if step != "report__vob_report":
            # a writing step of 0.2 s may have ended by the time its STEP_START is seen: kill while the run
            # holds the writer slot (this step's, or the next writing step's), the case the recovery is for
            wait_for_slot(home, run_id, process)
        if step == "published_warehouse":
            deadline = time.monotonic() + 60
            while (
                not list(warehouse.parent.glob(f".{warehouse.name}.*.tmp*"))
                and process.poll() is None
                and time.monotonic() < deadline
            ):
                time.sleep(0.01)
    finally:
        kill_group(process)
    return run_id


def wait_for_slot(home: Path, run_id: str, process, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while process.poll() is None and time.monotonic() < deadline:
            if run_id in instance.event_log_storage.get_concurrency_info(POOL).active_run_ids:
                return
            time.sleep(0.01)
    raise AssertionError(f"run {run_id} never held the writer slot (vob exited: {process.poll()})")


def test_sigkill_at_every_step_then_the_same_command_gives_the_undisturbed_figures(tmp_path):
    # the undisturbed run, on its own copy of the zone, alongside the rest
    write_zone(tmp_path / "undisturbed" / "landing")
    shutil.copytree(tmp_path / "undisturbed" / "landing", tmp_path / "killed" / "landing")
    undisturbed = start(PERIOD, vob_env(tmp_path / "undisturbed"), tmp_path / "undisturbed.log")

    root = tmp_path / "killed"
    env, home = vob_env(root), root / "dagster_home"
    warehouse = root / "warehouse" / "vob.duckdb"
    held_back = root / "landing" / HELD_BACK
    kept = held_back.read_bytes()
    held_back.unlink()
    code, out = run(PERIOD, env, tmp_path / "previous.log")
    assert code == 0, out
    previous = marts(warehouse)
    held_back.write_bytes(kept)  # a re-delivered file: the next publish changes the figures

    assert undisturbed.wait(900) == 0, (tmp_path / "undisturbed.log").read_text()
    new = marts(tmp_path / "undisturbed" / "warehouse" / "vob.duckdb")
    assert new != previous and new["fct_channel_monthly"] != previous["fct_channel_monthly"]

    killed = []
    for attempt, step in enumerate(KILL_AT):
        run_id = kill_at(step, env, home, warehouse, tmp_path / f"killed_{attempt}.log")
        killed.append(run_id)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED  # dead, but says started
            if step != "report__vob_report":  # every other step writes: it held the writer slot when it died
                assert run_id in instance.event_log_storage.get_concurrency_info(POOL).active_run_ids
        assert marts(warehouse) in (previous, new), f"torn or missing warehouse after a kill at {step}"
        if attempt:  # this attempt got past the point where the previous one died: it reaped it first
            assert f"recovered: Run {killed[attempt - 1]}" in (tmp_path / f"killed_{attempt}.log").read_text()

    code, out = run(PERIOD, env, tmp_path / "final.log")
    assert code == 0, out
    assert f"recovered: Run {killed[-1]}" in out
    assert marts(warehouse) == new
    assert not list(warehouse.parent.glob(f".{warehouse.name}.*.tmp*")), "a killed publish's temporary file remains"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run_id in killed:
            run_record = instance.get_run_by_id(run_id)
            assert run_record.status == dg.DagsterRunStatus.FAILURE
        assert not instance.event_log_storage.get_concurrency_info(POOL).active_run_ids
        failures = [
            r.message for run_id in killed for r in instance.all_logs(run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        ]
        assert len(failures) == len(killed) and all("no longer exists" in m for m in failures)
