"""Two operators, one warehouse (issue 11, item 5): two `vob run` at once on the same
VOB_WAREHOUSE from different DAGSTER_HOMEs; the second waits for the first, saying who holds it."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from vob_process import REPO, kill_group, marts, run, start, vob_env, write_zone

from warehouse.writer_lock import lock_path

pytestmark = pytest.mark.slow  # two concurrent `vob run` processes

LOCK_ERRORS = ("Could not set lock", "Conflicting lock", "Traceback")


def wait_for_holder(lock, pid: int, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(lock.read_text() or "{}").get("pid") == pid:
                return
        except (FileNotFoundError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"pid {pid} did not take {lock}")


def test_the_second_run_waits_for_the_first_and_both_publish_whole_files(tmp_path):
    write_zone(tmp_path / "landing")
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    first = start(["run", "--month", "2025-03"], vob_env(tmp_path, "home_a"), tmp_path / "a.log")
    try:
        wait_for_holder(lock_path(warehouse), first.pid)
        code, second = run(["run", "--month", "2025-03"], vob_env(tmp_path, "home_b"), tmp_path / "b.log")
        assert first.wait(600) == 0, (tmp_path / "a.log").read_text()
    finally:
        kill_group(first)
    assert code == 0, second
    waiting = [line for line in second.splitlines() if line.startswith("waiting for the warehouse")]
    assert len(waiting) == 1 and f"held by pid {first.pid} on host " in waiting[0], second
    assert "(vob run 2025-03)" in waiting[0]
    for log in (tmp_path / "a.log", tmp_path / "b.log"):
        assert not any(error in log.read_text() for error in LOCK_ERRORS), log.read_text()
    assert marts(warehouse)["fct_channel_monthly"]  # a whole, readable file


def test_with_a_timeout_the_second_stops_and_names_the_holder(tmp_path):
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from vob.base.settings import load_settings; from warehouse.writer_lock import "
            "hold_warehouse\nwith hold_warehouse(load_settings({'VOB_WAREHOUSE': sys.argv[1]}), 'vob run 2025-H1'):\n"
            "    time.sleep(600)",
            str(warehouse),
        ],
        cwd=REPO,
    )
    try:
        wait_for_holder(lock_path(warehouse), holder.pid, timeout=60)
        (tmp_path / "landing").mkdir()
        code, out = run(
            ["run", "--month", "2025-03"],
            vob_env(tmp_path, VOB_LOCK_TIMEOUT_SECONDS="1"),
            tmp_path / "c.log",
            timeout=120,
        )
        assert code == 1, out
        assert f"vob run: the warehouse is still held by pid {holder.pid} on host " in out, out
        assert "Traceback" not in out
        holder.kill()
        holder.wait()  # the kernel releases a dead holder's lock: the next one gets it at once
        from vob.base.settings import load_settings
        from warehouse.writer_lock import hold_warehouse

        with hold_warehouse(
            load_settings({"VOB_WAREHOUSE": str(warehouse)}),
            "test",
            say=lambda text: (_ for _ in ()).throw(AssertionError(text)),
        ):
            pass
    finally:
        holder.kill()
