"""Serving BI safely: a reader in another process during a full run, and publish() itself."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from bi_reader import STATE_SQL
from conftest import query, run_job
from landing_files import call, chat, email, ticket, write_calls, write_counts, write_crm, write_jsonl

READER = Path(__file__).with_name("bi_reader.py")


def write_month(landing: Path, month: date, calls_per_day: int) -> None:
    """A month of landing files: calls, e-mail and chat every day, X and SMS counts."""
    day = month
    while day.month == month.month:
        stamp = f"{day:%Y-%m-%d}T10:00:00+03:00"
        write_calls(
            landing,
            day,
            [call(f"C-{day:%Y%m%d}-{i}", stamp, caller_number=f"+9665{i:08d}") for i in range(calls_per_day)],
        )
        write_jsonl(
            landing,
            "email",
            day,
            [email(f"<{day:%Y%m%d}.{i}@mail>", f"{day:%Y-%m-%d}T07:00:00Z") for i in range(calls_per_day // 10)],
        )
        write_jsonl(
            landing,
            "chat",
            day,
            [chat(f"S-{day:%Y%m%d}-{i}", f"{day:%Y-%m-%d}T08:00:00Z") for i in range(calls_per_day // 20)],
        )
        day += timedelta(days=1)
    days = [(month + timedelta(days=d)).isoformat() for d in range(28)]
    write_counts(landing, "x", f"{month:%Y-%m}", [(d, "mention", 3) for d in days])
    write_counts(landing, "sms", f"{month:%Y-%m}", [(d, "S01", 5) for d in days])


def tickets(months: list[date]) -> list[dict]:
    return [
        ticket(
            f"T-{m:%Y%m}-{i}",
            f"{m:%Y-%m}-05T10:00:00+03:00",
            *(("closed", f"{m:%Y-%m}-06T10:00:00+03:00") if i % 3 else ("new", "")),
        )
        for m in months
        for i in range(30)
    ]


def start_reader(mode: str, warehouse: Path, workdir: Path) -> subprocess.Popen:
    reader = subprocess.Popen(
        [sys.executable, str(READER), mode, str(warehouse), str(workdir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (workdir / f"{mode}.ready").exists():
        assert reader.poll() is None, reader.communicate()
        assert time.monotonic() < deadline, "reader did not start"
        time.sleep(0.05)
    return reader


def finish_reader(reader: subprocess.Popen, mode: str, workdir: Path) -> dict:
    out, err = reader.communicate(timeout=60)
    assert reader.returncode == 0, err
    return json.loads((workdir / f"{mode}.json").read_text())


@pytest.mark.slow  # readers in other processes during publishes
def test_readers_in_another_process_see_old_or_new_whole_never_partial(vob_env, tmp_path):
    landing = vob_env.landing_dir
    months = [date(2025, m, 1) for m in range(1, 7)]
    write_month(landing, months[0], 120)
    write_crm(landing, date(2025, 2, 1), tickets(months[:1]))
    run_job("2025-01")  # the warehouse BI tools have open when the nightly run starts
    old = list(query(vob_env.warehouse_path, STATE_SQL)[0])
    assert old[1] == 1

    for month in months[1:]:
        write_month(landing, month, 120)
    write_crm(landing, date(2025, 7, 1), tickets(months))

    workdir = tmp_path / "readers"
    workdir.mkdir()
    holder = start_reader("hold", vob_env.warehouse_path, workdir)
    reopener = start_reader("reopen", vob_env.warehouse_path, workdir)
    try:
        started = time.monotonic()
        result = run_job("2025-01", "2025-06")  # the full multi-month run, publish included
        elapsed = time.monotonic() - started
        new = list(query(vob_env.warehouse_path, STATE_SQL)[0])
        deadline = time.monotonic() + 30
        while not (workdir / "reopen.changed").exists() and time.monotonic() < deadline:
            time.sleep(0.05)  # until the reopening reader has queried the new file
    finally:
        (workdir / "stop").write_text("stop")
        held, reopened = finish_reader(holder, "hold", workdir), finish_reader(reopener, "reopen", workdir)

    print(
        f"run {elapsed:.1f} s; held reader {len(held['seen'])} reads, reopening reader "
        f"{len(reopened['seen'])} reads ({sum(s == new for s in reopened['seen'])} of the new file)"
    )
    assert result.success
    assert new[1] == 6 and new != old
    assert held["errors"] == [] and reopened["errors"] == []
    # the connection held across the publish reads the old file, whole, every time
    assert len(held["seen"]) > 20, elapsed
    assert all(state == old for state in held["seen"])
    assert held["held_after_publish"] == old
    # so does a second connection opened in that process meanwhile (one DuckDB instance per path)
    assert held["new_connection_while_held"] == old
    # closing them all and reopening shows the new data
    assert held["after_reopen"] == new
    # a reader reopening at each query sees the old or the new warehouse, nothing in between
    assert len(reopened["seen"]) > 20
    assert all(state in (old, new) for state in reopened["seen"]), {tuple(s) for s in reopened["seen"]}
    assert reopened["seen"][0] == old and reopened["seen"][-1] == new
    assert reopened["after_reopen"] == new
    # nothing but the published file is left beside it
    assert sorted(p.name for p in vob_env.warehouse_path.parent.iterdir() if p.is_file()) == ["vob.duckdb"]


def test_a_failed_publish_leaves_the_published_file_and_no_temporary_file(vob_env, monkeypatch):
    from warehouse import store

    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call("C1", "2025-03-10T10:00:00+03:00")])
    run_job("2025-03")
    before = vob_env.warehouse_path.read_bytes()

    def broken(con, catalog):
        raise RuntimeError("disk full while describing tables")

    monkeypatch.setattr(store, "apply_comments", broken)
    con = store.open_work_db(vob_env)
    try:
        with pytest.raises(RuntimeError, match="disk full"):
            store.publish(vob_env, con)
    finally:
        con.close()
    assert vob_env.warehouse_path.read_bytes() == before
    assert [p.name for p in vob_env.warehouse_path.parent.iterdir() if p.is_file()] == ["vob.duckdb"]


def test_publish_keeps_the_permissions_of_the_file_it_replaces_and_clears_stale_leftovers(vob_env):
    from warehouse import store

    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call("C1", "2025-03-10T10:00:00+03:00")])
    run_job("2025-03")
    os.chmod(vob_env.warehouse_path, 0o640)  # e.g. readable by the BI service's group only
    folder = vob_env.warehouse_path.parent
    killed = [folder / ".vob.duckdb.0123abcd.tmp", folder / ".vob.duckdb.0123abcd.tmp.wal"]
    running = folder / ".vob.duckdb.4567cdef.tmp"  # another publish, under way right now
    for leftover in (*killed, running):
        leftover.write_bytes(b"partial")
    for leftover in killed:
        os.utime(leftover, (time.time() - 2 * store.STALE_TEMP_SECONDS,) * 2)
    con = store.open_work_db(vob_env)
    try:
        counts = store.publish(vob_env, con)
    finally:
        con.close()
    assert counts["fct_channel_monthly"] == 6
    assert stat.S_IMODE(vob_env.warehouse_path.stat().st_mode) == 0o640
    assert not Path(f"{vob_env.warehouse_path}.wal").exists()
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [running.name, "vob.duckdb"]
