"""The Iceberg store (docs/scale-out.md, "The Iceberg store") on a real pyiceberg SQL catalog (SQLite)
with a file:// warehouse: a month's step read from and committed to the lake, idempotent re-runs, two
months committing at the same moment, and a step that fails between its table commits."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from landing_files import call, write_calls
from pyiceberg.catalog.sql import SqlCatalog

from assets.resources import WRITER_POOL
from vob.db import transaction
from vob.landing import CALLS
from vob.loading import load_source_month
from vob.settings import Settings, load_settings
from vob.transforms import build_channel_facts
from warehouse.lake import (
    COMMITS,
    LakeScopeError,
    key_column,
    lake_session,
    month_scope,
    read_commits,
    read_marts,
    whole_scope,
    work_tables,
)
from warehouse.store import ensure_half_year_schema, open_work_db

MARCH, APRIL, MAY, JUNE = date(2025, 3, 1), date(2025, 4, 1), date(2025, 5, 1), date(2025, 6, 1)


def lake_settings(root: Path) -> Settings:
    (root / "lakehouse").mkdir(parents=True, exist_ok=True)
    return load_settings(
        {
            "VOB_LANDING_DIR": str(root / "landing"),
            "VOB_WAREHOUSE": str(root / "warehouse" / "vob.duckdb"),
            "VOB_PII_KEY": "test-key",
            "VOB_ICEBERG_CATALOG_URI": f"sqlite:///{root / 'catalog.db'}",
            "VOB_ICEBERG_WAREHOUSE": f"file://{root / 'lakehouse'}",
        }
    )


def write_month_of_calls(landing: Path, month: date, calls: int, tag: str = "") -> None:
    """A month of daily call exports, one call a day up to `calls` days, and a line that breaks the contract."""
    for day in range(calls):
        exported = month + timedelta(days=day)
        rows = [call(f"C{tag}{month:%m}{day:02}", f"{exported}T10:00:00+03:00")]
        if day == 0:
            rows.append(call(f"Cbad{tag}{month:%m}", "not a time"))
        write_calls(landing, exported, rows)


def run_month(settings: Settings, month: date, run_id: str = "run", before_commit=None, after_table=None) -> None:
    """The month's calls staged and its channel facts built, in one step of the lake (or the working file)."""
    with lake_session(settings, month_scope(month), run_id, after_table) as step:
        load_source_month(step.con, CALLS, month, settings, settings.pii_key(), run_id)
        with transaction(step.con):
            build_channel_facts(step.con, month)
        if before_commit is not None:
            before_commit()


def channel_rows(settings: Settings) -> list[tuple]:
    rows = read_marts(settings, "marts.fct_channel_monthly").to_pylist()
    return sorted((r["month"], r["channel"], r["contacts"]) for r in rows)


def catalog_of(settings: Settings) -> SqlCatalog:
    """A reader that knows only pyiceberg and the two settings."""
    return SqlCatalog("vob", uri=settings.iceberg_catalog_uri or "", warehouse=settings.iceberg_warehouse or "")


def test_a_month_in_the_lake_gives_the_working_files_figures(tmp_path):
    settings = lake_settings(tmp_path)
    write_month_of_calls(settings.landing_dir, MARCH, 5)
    run_month(settings, MARCH)

    embedded = load_settings({k: v for k, v in _variables(settings).items() if "ICEBERG" not in k})
    con = open_work_db(embedded)
    try:
        load_source_month(con, CALLS, MARCH, embedded, embedded.pii_key(), "run")
        build_channel_facts(con, MARCH)
        expected = con.execute("SELECT month, channel, contacts FROM marts.fct_channel_monthly ORDER BY ALL").fetchall()
        rejected = con.execute("SELECT file, line_no, reason FROM quality.rejected_rows ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert channel_rows(settings) == sorted(expected)
    assert ("2025-03-01", "calls", 5) in [(str(m), c, n) for m, c, n in channel_rows(settings)]
    lake_rejected = catalog_of(settings).load_table("quality.rejected_rows").scan().to_arrow().to_pylist()
    assert sorted((r["file"], r["line_no"], r["reason"]) for r in lake_rejected) == rejected
    assert {r["vob_part"] for r in lake_rejected} == {"2025-03"}
    # partitioned by month: staging by its month, the files' tables by the month that read them
    catalog = catalog_of(settings)
    assert [f.name for f in catalog.load_table("staging.calls").spec().fields] == ["month"]
    assert [f.name for f in catalog.load_table("raw.calls").spec().fields] == ["vob_part"]


def _variables(settings: Settings) -> dict[str, str]:
    return {
        "VOB_LANDING_DIR": str(settings.landing_dir),
        "VOB_WAREHOUSE": str(settings.warehouse_path),
        "VOB_PII_KEY": "test-key",
        "VOB_ICEBERG_CATALOG_URI": settings.iceberg_catalog_uri or "",
        "VOB_ICEBERG_WAREHOUSE": settings.iceberg_warehouse or "",
    }


def lake_counts(settings: Settings, table: str) -> tuple[int, int]:
    """Rows of a table as the lake's readers see them, and distinct rows."""
    rows = read_marts(settings, table)
    con = duckdb.connect()
    con.register("t", rows)
    counted = con.execute("SELECT count(*), (SELECT count(*) FROM (SELECT DISTINCT * FROM t)) FROM t").fetchall()[0]
    con.close()
    return counted


def test_running_a_month_again_changes_nothing(tmp_path):
    settings = lake_settings(tmp_path)
    write_month_of_calls(settings.landing_dir, MARCH, 4)
    run_month(settings, MARCH)
    first = channel_rows(settings), lake_counts(settings, "staging.calls"), lake_counts(settings, "raw.calls")
    run_month(settings, MARCH, "run-2")
    run_month(settings, MARCH, "run-3")
    again = channel_rows(settings), lake_counts(settings, "staging.calls"), lake_counts(settings, "raw.calls")
    assert again == first
    staged, distinct = first[1]
    assert staged == distinct == 4  # no duplicate rows
    raw_rows, _ = first[2]
    assert raw_rows == 4  # the line that breaks the contract is in quality.rejected_rows


def test_two_months_committing_at_the_same_moment_lose_no_commit(tmp_path):
    settings = lake_settings(tmp_path)
    months = [MARCH, APRIL, MAY, JUNE]
    for i, month in enumerate(months):
        write_month_of_calls(settings.landing_dir, month, 2 + i)
    barrier = threading.Barrier(len(months), timeout=120)
    errors: list[BaseException] = []

    def worker(month: date) -> None:
        try:
            run_month(settings, month, f"run-{month:%m}", before_commit=barrier.wait)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(m,)) for m in months]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    contacts = {(str(m), c): n for m, c, n in channel_rows(settings)}
    assert [contacts[(f"{m}", "calls")] for m in months] == [2, 3, 4, 5]
    commits = read_commits(catalog_of(settings))
    for table in ("raw.calls", "staging.calls", "marts.fct_channel_monthly", "meta.landing_files"):
        assert {p for (p, t) in commits if t == table} == {f"{m:%Y-%m}" for m in months}, table
    # every month's commit is in the table's history: four commits of staging.calls landed one after another
    staging = catalog_of(settings).load_table("staging.calls")
    written = [s.summary.get("vob.parts") for s in staging.metadata.snapshots if s.summary is not None]
    assert {p for p in written if p} == {f"{m:%Y-%m}" for m in months}


class StepDied(RuntimeError):
    pass


def test_a_step_that_dies_between_its_commits_leaves_no_half_written_month(tmp_path):
    settings = lake_settings(tmp_path)
    write_month_of_calls(settings.landing_dir, MARCH, 3)
    run_month(settings, MARCH)
    before = channel_rows(settings), lake_counts(settings, "staging.calls")
    commits_before = read_commits(catalog_of(settings))

    write_calls(settings.landing_dir, date(2025, 3, 20), [call("C-new", "2025-03-20T11:00:00+03:00")])
    written: list[str] = []

    def die_after_the_first_table(table: str) -> None:
        written.append(table)
        raise StepDied(table)

    with pytest.raises(StepDied):
        run_month(settings, MARCH, "run-dies", after_table=die_after_the_first_table)
    assert written == ["marts.fct_channel_monthly"]  # that table's commit landed, nothing after it
    lake_now = catalog_of(settings).load_table("marts.fct_channel_monthly").scan().to_arrow().to_pylist()
    assert [r["contacts"] for r in lake_now if r["channel"] == "calls"] == [4]  # half written, in the table

    # readers and the next step see the month as its last whole step left it
    assert channel_rows(settings) == before[0]
    assert lake_counts(settings, "staging.calls") == before[1]
    assert read_commits(catalog_of(settings)) == commits_before
    with lake_session(settings, whole_scope("marts")) as reader:
        assert reader.con.execute(
            "SELECT contacts FROM marts.fct_channel_monthly WHERE channel = 'calls'"
        ).fetchall() == [(3,)]

    run_month(settings, MARCH, "run-again")  # the re-run completes it
    assert [n for _, c, n in channel_rows(settings) if c == "calls"] == [4]
    assert lake_counts(settings, "staging.calls") == (4, 4)


def test_a_step_writes_only_what_its_scope_owns(tmp_path):
    settings = lake_settings(tmp_path)
    write_month_of_calls(settings.landing_dir, MARCH, 2)
    run_month(settings, MARCH)
    with pytest.raises(LakeScopeError, match="dim_month"):
        with lake_session(settings, month_scope(MARCH)) as step:
            step.con.execute("INSERT INTO marts.dim_month VALUES ('2025-03-01', 'complete', '2025-03-31', 'x', 'y')")
    with pytest.raises(LakeScopeError, match="staging.calls"):
        with lake_session(settings, whole_scope("staging")) as step:
            step.con.execute("DELETE FROM staging.calls")
    assert lake_counts(settings, "staging.calls") == (2, 2)


def test_every_working_table_has_its_partition_key():
    con = duckdb.connect()
    from warehouse.store import ensure_schema

    ensure_schema(con)
    ensure_half_year_schema(con)
    keys = {table: key_column(table, columns) for table, columns in work_tables(con).items()}
    con.close()
    assert {t for t, k in keys.items() if k == "vob_part"} == {
        "meta.landing_files",
        "meta.landing_file_stats",
        "quality.rejected_rows",
        *(f"raw.{s}" for s in ("calls", "email", "chat", "x", "sms", "self_service", "crm")),
    }
    assert {t for t, k in keys.items() if k is None} == {
        "marts.dim_channel",
        "marts.dim_month",
        "marts.fct_ticket_backlog",
        "marts.dim_dimension",
        "meta.publications",
    }
    assert keys["staging.e_participations"] == "period"  # its `month` is text: the half-year keeps it
    assert keys["marts.fct_channel_monthly"] == keys["meta.withdrawals"] == "month"
    assert COMMITS not in keys


def test_a_months_lock_holds_back_a_second_step_of_that_month_only(tmp_path):
    settings = lake_settings(tmp_path)
    order: list[str] = []
    inside = threading.Event()

    def first() -> None:
        with lake_session(settings, month_scope(MARCH)):
            order.append("march first in")
            inside.set()
            time.sleep(1.0)
            order.append("march first out")

    def second(month: date, name: str) -> None:
        inside.wait()
        with lake_session(settings, month_scope(month)):
            order.append(name)

    threads = [
        threading.Thread(target=first),
        threading.Thread(target=second, args=(MARCH, "march second in")),
        threading.Thread(target=second, args=(APRIL, "april in")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert order.index("april in") < order.index("march first out")  # another month runs meanwhile
    assert order.index("march second in") > order.index("march first out")  # the same month waits


def test_in_lake_mode_the_month_steps_leave_the_writer_pool_to_the_whole_store_steps(tmp_path):
    """The pools are chosen when the code location loads: with the catalog set, a month's steps take
    none (each month has its lock), the publish and the half-year keep the writer pool."""
    script = (
        "from pipelines.definitions import defs\n"
        "graph = defs.resolve_job_def('monthly_refresh').graph\n"
        "print({n.name: n.definition.pool for n in graph.nodes})\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(DAGSTER_HOME=str(tmp_path), PYTHONPATH=str(Path(__file__).parents[1]))
    pools = {}
    for lake in (False, True):
        if lake:
            env.update(VOB_ICEBERG_CATALOG_URI=f"sqlite:///{tmp_path / 'c.db'}", VOB_ICEBERG_WAREHOUSE="file:///tmp")
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        pools[lake] = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    writers = {name for name, pool in pools[False].items() if pool == WRITER_POOL}
    assert {"staging", "marts__fct_channel_monthly", "published_warehouse", "marts__dim_month"} <= writers
    freed = {name for name in writers if pools[True][name] is None}
    assert {"staging", "marts__fct_channel_monthly", "monthly_quality_gate", "marts__figure_sources"} <= freed
    assert writers - freed == {
        "published_warehouse",
        "marts__dim_month",
        "marts__dim_channel",
        "marts__fct_ticket_backlog",
    }


def test_a_column_the_schema_gains_is_added_to_the_lake_table(tmp_path):
    settings = lake_settings(tmp_path)
    write_month_of_calls(settings.landing_dir, MARCH, 2)
    run_month(settings, MARCH)
    with lake_session(settings, month_scope(MARCH)) as step:  # as a later schema.sql would have it
        step.con.execute("ALTER TABLE marts.fct_channel_monthly ADD COLUMN note VARCHAR")
        step.con.execute("UPDATE marts.fct_channel_monthly SET note = 'checked' WHERE channel = 'calls'")
    lake = catalog_of(settings).load_table("marts.fct_channel_monthly")
    assert "note" in lake.schema().column_names
    assert [
        r["note"] for r in read_marts(settings, "marts.fct_channel_monthly").to_pylist() if r["channel"] == "calls"
    ] == ["checked"]
    run_month(settings, MARCH, "run-2")  # today's schema reads and writes it still
    assert [n for _, c, n in channel_rows(settings) if c == "calls"] == [2]
