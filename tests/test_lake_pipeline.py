"""`vob run` in lake mode (VOB_ICEBERG_CATALOG_URI=sqlite:///…, VOB_ICEBERG_WAREHOUSE=file:///…) beside the
embedded mode, as separate processes on the same landing zone: every published marts table is the same,
row for row, and a reader that knows only pyiceberg finds the marts in the catalog with the published rows.

One landing zone the project has never seen (the sample generator with another seed and scale, plus
lines that break the contract), and the seed's own half-year."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from conftest import query
from pyiceberg.catalog.sql import SqlCatalog
from vob_process import marts

pytestmark = pytest.mark.slow  # whole half-years, each run twice (embedded and lake)

VOB = [sys.executable, "-m", "pipelines.cli"]
REPO = Path(__file__).parents[1]
FIGURE_TABLES = ("fct_channel_monthly", "fct_tickets_monthly", "fct_vob_half_year", "fct_calls_service_monthly")


def environment(root: Path, lake: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(
        DAGSTER_HOME=str(root / ".dagster"),
        PYTHONPATH=str(REPO),
        VOB_LANDING_DIR=str(root / "landing"),
        VOB_WAREHOUSE=str(root / "warehouse" / "vob.duckdb"),
        VOB_SETTLE_SECONDS="0",
        VOB_REJECT_THRESHOLD_PCT="50",
    )
    if lake:
        (root / "lakehouse").mkdir(parents=True, exist_ok=True)
        env.update(
            VOB_ICEBERG_CATALOG_URI=f"sqlite:///{root / 'catalog.db'}",
            VOB_ICEBERG_WAREHOUSE=f"file://{root / 'lakehouse'}",
        )
    (root / ".dagster").mkdir(parents=True, exist_ok=True)
    return env


def vob(root: Path, lake: bool, *args: str) -> str:
    done = subprocess.run(
        [*VOB, *args], cwd=root, env=environment(root, lake), capture_output=True, text=True, timeout=1800
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def published(root: Path) -> dict[str, list[tuple]]:
    return marts(root / "warehouse" / "vob.duckdb")


def both_modes(root: Path, write_landing) -> tuple[Path, Path]:
    """The same landing zone run by `vob run --period 2025-H1` in the embedded mode and in lake mode."""
    embedded, lake = root / "embedded", root / "lake"
    embedded.mkdir()
    write_landing(embedded)
    shutil.copytree(embedded / "landing", lake / "landing", symlinks=True)
    vob(embedded, False, "run", "--period", "2025-H1")
    vob(lake, True, "run", "--period", "2025-H1")
    return embedded, lake


def assert_same_marts(embedded: Path, lake: Path) -> dict[str, list[tuple]]:
    expected, got = published(embedded), published(lake)
    assert sorted(got) == sorted(expected)
    for table, rows in expected.items():
        assert got[table] == rows, table
    return got


# ---------------------------------------------------------------- a landing zone never seen


def unseen_landing(root: Path) -> None:
    """The sample generator with another seed and scale, and lines that break the contract."""
    vob(root, False, "sample", "--out", str(root / "landing"), "--scale", "0.03", "--seed", "7")
    calls = root / "landing" / "calls" / "2025" / "03" / "calls_2025-03-11.csv"
    with calls.open("a", encoding="utf-8") as out:
        out.write("not-a-time,CL-BROKEN-1,enforcement,+966500000000,answered,,\n")
        out.write("2025-03-10T10:00:00+03:00,CL-BROKEN-2\n")  # too few fields
    emails = root / "landing" / "email" / "2025" / "04" / "email_2025-04-15.jsonl"
    with emails.open("a", encoding="utf-8") as out:
        out.write('{"message_id": "<broken@x>", "received_at": "yesterday"}\n')
        out.write("{not json\n")


@pytest.fixture(scope="module")
def unseen(tmp_path_factory) -> tuple[Path, Path]:
    return both_modes(tmp_path_factory.mktemp("unseen"), unseen_landing)


def lake_catalog(lake: Path) -> SqlCatalog:
    """The reader of the acceptance: pyiceberg alone, with the two settings."""
    return SqlCatalog("vob", uri=f"sqlite:///{lake / 'catalog.db'}", warehouse=f"file://{lake / 'lakehouse'}")


def test_an_unseen_landing_zone_publishes_every_figure_as_the_embedded_mode(unseen):
    embedded, lake = unseen
    marts = assert_same_marts(embedded, lake)
    assert all(marts[t] for t in FIGURE_TABLES)  # figures, not empty tables alike


def test_a_pyiceberg_reader_finds_the_published_rows_in_the_catalog(unseen):
    _, lake = unseen
    catalog = lake_catalog(lake)
    files = published(lake)
    for table in FIGURE_TABLES:
        rows = catalog.load_table(f"marts.{table}").scan().to_arrow()
        con = duckdb.connect()
        con.register("lake_rows", rows)
        in_lake = sorted(con.execute("SELECT * FROM lake_rows").fetchall(), key=repr)
        con.close()
        assert in_lake == files[table], table


def test_contract_breaking_lines_end_in_the_lakes_rejected_rows(unseen):
    embedded, lake = unseen
    work = embedded / "warehouse" / "vob_work" / "work.duckdb"
    expected = query(work, "SELECT DISTINCT file, line_no, reason FROM quality.rejected_rows ORDER BY ALL")
    rejected = lake_catalog(lake).load_table("quality.rejected_rows").scan().to_arrow().to_pylist()
    got = sorted({(r["file"], r["line_no"], r["reason"]) for r in rejected})
    assert got == expected
    assert {"calls/2025/03/calls_2025-03-11.csv", "email/2025/04/email_2025-04-15.jsonl"} <= {f for f, _, _ in got}


def test_the_publish_names_the_snapshots_it_read(unseen):
    _, lake = unseen
    instance = dg.DagsterInstance.from_config(str(lake / ".dagster"))
    event = instance.get_latest_materialization_event(dg.AssetKey("published_warehouse"))
    assert event is not None and event.asset_materialization is not None
    snapshots = event.asset_materialization.metadata["iceberg_snapshots"].value
    assert isinstance(snapshots, dict)
    catalog = lake_catalog(lake)
    for table in FIGURE_TABLES:
        ids = snapshots[f"marts.{table}"]
        assert isinstance(ids, list)
        known = {s.snapshot_id for s in catalog.load_table(f"marts.{table}").metadata.snapshots}
        assert ids and set(ids) <= known, table


def test_running_a_month_again_in_the_lake_changes_no_figure(unseen):
    embedded, lake = unseen
    before = published(lake)
    vob(lake, True, "run", "--month", "2025-03")
    assert published(lake) == before
    staged = lake_catalog(lake).load_table("staging.calls").scan().to_arrow()
    con = duckdb.connect()
    con.register("s", staged)
    rows, distinct = con.execute("SELECT count(*), count(DISTINCT (month, call_id)) FROM s").fetchall()[0]
    con.close()
    assert rows == distinct  # a month's overwrite replaced its rows, it added none
    march = query(
        embedded / "warehouse" / "vob_work" / "work.duckdb",
        "SELECT count(*) FROM staging.calls WHERE month = DATE '2025-03-01'",
    )[0][0]
    assert march == sum(1 for m in staged.column("month").to_pylist() if m == date(2025, 3, 1))


# ---------------------------------------------------------------- the seed's half-year


def test_the_sample_half_year_in_the_lake_equals_the_embedded_run(tmp_path):
    def seed_landing(root: Path) -> None:
        vob(root, False, "sample", "--out", str(root / "landing"))

    embedded, lake = both_modes(tmp_path, seed_landing)
    marts = assert_same_marts(embedded, lake)
    assert len(marts["fct_channel_monthly"]) == 36
