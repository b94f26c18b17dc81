"""Incremental runs (issue 12, per-run cost): what a run that finds nothing new may skip, and
what it must never skip.

- A landing file whose size, mtime, ctime and inode are those it had when it was fingerprinted
  is not hashed again (meta.landing_file_stats); any change of content is still read.
- A publish whose marts are those the published file already holds does not write the file
  again (meta.publications); a change of the marts, or of the file, publishes.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from landing_files import CALL_COLUMNS, call, csv_text, event_path, write_raw
from vob_process import marts, run, vob_env, write_zone

import vob.landing.ingest as ingest_module
from vob.landing.contract import CALLS
from vob.landing.ingest import ingest

DAY = date(2025, 3, 10)
TS = "2025-03-10T10:00:00+03:00"


@pytest.fixture
def hashed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files `ingest` hashes (the real scan_file, counted)."""
    seen: list[str] = []
    real = ingest_module.scan_file

    def counted(path: Path):
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(ingest_module, "scan_file", counted)
    return seen


def write_calls(landing: Path, day: date, ids: list[str]) -> Path:
    return write_raw(event_path(landing, "calls", day), csv_text([call(i, TS) for i in ids], CALL_COLUMNS))


def call_ids(con) -> list[tuple[str, str]]:
    return con.execute("SELECT file, call_id FROM raw.calls ORDER BY file, line_no").fetchall()


def run_ingest(con, landing: Path) -> list[str]:
    return [a.path for a in ingest(con, CALLS, landing, CALLS.files(landing), b"test-key", "run")]


def test_an_unchanged_file_is_not_hashed_again_and_a_changed_one_is_read(tmp_path, con, hashed):
    landing = tmp_path / "landing"
    first = write_calls(landing, DAY, ["C1", "C2"])
    second = write_calls(landing, date(2025, 3, 11), ["C3"])
    assert run_ingest(con, landing) == ["calls/2025/03/calls_2025-03-10.csv", "calls/2025/03/calls_2025-03-11.csv"]
    assert sorted(hashed) == [first.name, second.name]

    hashed.clear()
    assert run_ingest(con, landing) == []
    assert hashed == []  # nothing changed on disk: nothing read, nothing hashed
    stats = con.execute(
        "SELECT path, size_bytes, sha256 = (SELECT sha256 FROM meta.landing_files f "
        "WHERE f.path = s.path) FROM meta.landing_file_stats s ORDER BY path"
    ).fetchall()
    assert stats == [
        ("calls/2025/03/calls_2025-03-10.csv", first.stat().st_size, True),
        ("calls/2025/03/calls_2025-03-11.csv", second.stat().st_size, True),
    ]

    # the same size, and the old mtime put back: ctime still tells, and the new content is read
    before = first.stat()
    write_calls(landing, DAY, ["C9", "C8"])
    assert first.stat().st_size == before.st_size
    os.utime(first, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert run_ingest(con, landing) == ["calls/2025/03/calls_2025-03-10.csv"]
    assert hashed == [first.name]
    assert call_ids(con) == [
        ("calls/2025/03/calls_2025-03-10.csv", "C9"),
        ("calls/2025/03/calls_2025-03-10.csv", "C8"),
        ("calls/2025/03/calls_2025-03-11.csv", "C3"),
    ]


def test_a_touched_file_with_the_same_content_is_hashed_not_read_again(tmp_path, con, hashed):
    landing = tmp_path / "landing"
    path = write_calls(landing, DAY, ["C1"])
    run_ingest(con, landing)
    stamp = path.stat().st_mtime_ns + 5_000_000_000
    os.utime(path, ns=(stamp, stamp))
    hashed.clear()
    assert run_ingest(con, landing) == []  # hashed: same content, so not parsed again
    assert hashed == [path.name]
    assert con.execute("SELECT mtime_ns FROM meta.landing_file_stats").fetchall() == [(stamp,)]
    hashed.clear()
    assert run_ingest(con, landing) == [] and hashed == []  # the new stat is remembered


def test_a_vanished_file_is_forgotten_with_its_stat_and_read_again_if_it_returns(tmp_path, con, hashed):
    landing = tmp_path / "landing"
    path = write_calls(landing, DAY, ["C1"])
    run_ingest(con, landing)
    kept = path.read_bytes()
    path.unlink()
    assert run_ingest(con, landing) == []
    assert con.execute("SELECT count(*) FROM meta.landing_file_stats").fetchall() == [(0,)]
    assert call_ids(con) == []
    path.write_bytes(kept)
    hashed.clear()
    assert run_ingest(con, landing) == ["calls/2025/03/calls_2025-03-10.csv"]
    assert call_ids(con) == [("calls/2025/03/calls_2025-03-10.csv", "C1")]


def publications(home: Path) -> list[bool]:
    """`written` of every materialization of the published warehouse, oldest first."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        events = instance.fetch_materializations(dg.AssetKey("published_warehouse"), limit=100).records
        return [e.asset_materialization.metadata["written"].value for e in reversed(events)]


@pytest.mark.slow  # several whole runs
def test_the_same_marts_are_not_published_again_and_new_ones_are(tmp_path):
    write_zone(tmp_path / "landing")
    env, home = vob_env(tmp_path), tmp_path / "dagster_home"
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    held_back = tmp_path / "landing" / "calls" / "2025" / "03" / "calls_2025-03-10.csv"
    kept = held_back.read_bytes()
    held_back.unlink()
    month = ["run", "--month", "2025-03"]
    code, out = run(month, env, tmp_path / "first.log")
    assert code == 0, out
    first, first_stat = marts(warehouse), warehouse.stat()

    killed_publish = warehouse.with_name(f".{warehouse.name}.0123abcd.tmp")  # a publish killed earlier
    killed_publish.write_bytes(b"partial")
    code, out = run(month, env, tmp_path / "again.log")
    assert code == 0, out
    assert "published warehouse unchanged" in out
    assert not killed_publish.exists()
    again = warehouse.stat()
    assert (again.st_ino, again.st_mtime_ns, again.st_size) == (
        first_stat.st_ino,
        first_stat.st_mtime_ns,
        first_stat.st_size,
    )
    assert marts(warehouse) == first
    assert publications(home) == [True, False]

    held_back.write_bytes(kept)  # a new day of files: other figures, a new file
    code, out = run(month, env, tmp_path / "new_day.log")
    assert code == 0, out
    assert "published warehouse unchanged" not in out
    assert warehouse.stat().st_ino != first_stat.st_ino
    changed = marts(warehouse)
    assert changed["fct_channel_monthly"] != first["fct_channel_monthly"]

    # the published file replaced behind the pipeline's back: the next run publishes its marts again
    warehouse.unlink()
    duckdb.connect(str(warehouse)).close()
    code, out = run(month, env, tmp_path / "replaced.log")
    assert code == 0, out
    assert marts(warehouse) == changed
    assert publications(home) == [True, False, True, True]
