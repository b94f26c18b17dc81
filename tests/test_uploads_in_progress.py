"""Uploads in progress are not read (issue 11, item 4; docs/operations.md, "Uploads in progress")."""

from __future__ import annotations

import os
import threading
import time
from datetime import date

import duckdb
import pytest
from landing_files import call, write_calls
from vob_process import kill_group, run, start, vob_env, write_zone

from pipelines.sensors import scan
from vob.landing.contract import CALLS, files_for_month

TEMPORARY = [
    "calls_2025-03-17.csv.part",
    "calls_2025-03-17.csv.filepart",
    "calls_2025-03-17.csv.tmp",
    ".calls_2025-03-17.csv",
    "calls_2025-03-18.TMP",
]
UPLOADED = "calls/2025/03/calls_2025-03-17.csv"
MONTHS = ["2025-02", "2025-03", "2025-04"]


def test_temporary_names_are_never_read_and_a_fresh_file_waits_for_a_later_sensor_tick(tmp_path):
    landing = tmp_path / "landing"
    real = write_calls(landing, date(2025, 3, 17), [call("C1", "2025-03-17T09:00:00+03:00")])
    for name in TEMPORARY:
        (real.parent / name).write_text("call_id,offered_at\nhalf a line")
    assert files_for_month(CALLS, landing, date(2025, 3, 1), 1) == [real]

    changes, cursor = scan(landing, {}, 1, MONTHS, settle_seconds=60)
    assert changes == [] and cursor == {}  # written just now: an upload in progress, not marked seen
    settled = time.time() - 61
    os.utime(real, (settled, settled))
    changes, cursor = scan(landing, cursor, 1, MONTHS, settle_seconds=60)
    assert [c.path for c in changes] == [UPLOADED] and list(cursor) == [UPLOADED]  # temporary names: never


def month_calls(warehouse) -> int:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            "SELECT contacts FROM marts.fct_channel_monthly WHERE channel = 'calls' AND month = DATE '2025-03-01'"
        ).fetchall()[0][0]
    finally:
        con.close()


@pytest.mark.slow  # a real upload, a line every 0.2 s, watched by a real `vob run`
def test_a_file_being_appended_to_is_left_and_named_then_read_once_it_has_settled(tmp_path):
    write_zone(tmp_path / "landing")
    uploading = tmp_path / "landing" / UPLOADED
    lines = uploading.read_text().splitlines(keepends=True)
    uploading.unlink()
    for name in TEMPORARY:  # never read, never block the month
        (uploading.parent / name).write_text("call_id,offered_at\nhalf a line")
    log = tmp_path / "first.log"
    probing, stop = threading.Event(), threading.Event()

    def upload() -> None:  # a slow transfer: once the run watches the file, a line every 0.2 s until it is named
        with uploading.open("w") as out:
            out.writelines(lines[:2])
            out.flush()
            probing.wait(300)
            for at, line in enumerate(lines[2:], start=2):  # noqa: B007 (`at` is read after the loop)
                out.write(line)
                out.flush()
                if stop.wait(0.2):
                    break
            out.writelines(lines[at + 1 :])

    uploader = threading.Thread(target=upload)
    uploader.start()
    env = vob_env(tmp_path, VOB_SETTLE_SECONDS="60")
    process = start(["run", "--month", "2025-03"], env, log)
    try:
        deadline = time.monotonic() + 300
        while "still being written" not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            if "watching them" in log.read_text():
                probing.set()
            time.sleep(0.05)
        stop.set()
        probing.set()
        uploader.join()
        assert process.wait(600) == 0, log.read_text()
    finally:
        stop.set()
        probing.set()
        kill_group(process)
    out = log.read_text()
    assert f"{UPLOADED} is still being written: left for a later run" in out, out
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    without = month_calls(warehouse)

    time.sleep(2.5)  # the upload has finished and held still for longer than the settle window below
    code, out = run(["run", "--month", "2025-03"], {**env, "VOB_SETTLE_SECONDS": "2"}, tmp_path / "second.log")
    assert code == 0, out
    assert "still being written" not in out
    assert month_calls(warehouse) > without
    con = duckdb.connect(str(tmp_path / "warehouse" / "vob_work" / "work.duckdb"), read_only=True)
    try:
        read = dict(con.execute("SELECT path, rows_read FROM meta.landing_files WHERE source = 'calls'").fetchall())
    finally:
        con.close()
    assert read[UPLOADED] == len(lines) - 1  # the whole uploaded file, every line of it
    assert not [p for p in read if "17.csv." in p or "/." in p or p.endswith(".TMP")]
