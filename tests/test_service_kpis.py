"""Service KPIs, figure sources, their checks and `vob explain`, on a small landing zone whose
figures are computed by hand below (the real monthly job, then the published warehouse)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import RANGE_END, RANGE_START, landing_env, query
from figure_checks import figures_with_sources
from landing_files import call, chat, ticket, write_calls, write_crm, write_jsonl

REPO = Path(__file__).parents[1]
D = Decimal
S1, S2 = date(2025, 6, 1), date(2025, 7, 1)  # the two CRM snapshots


def at(base: str, seconds: float) -> str:
    """An ISO timestamp `seconds` after `base` (which carries +03:00)."""
    return (datetime.fromisoformat(base) + timedelta(seconds=seconds)).isoformat()


def answered(call_id: str, offered: str, wait: float, handle: float | None, queue: str = "general") -> dict:
    return call(
        call_id,
        offered,
        "answered",
        queue=queue,
        answered_at=at(offered, wait),
        ended_at="" if handle is None else at(offered, wait + handle),
    )


def abandoned(call_id: str, offered: str, queue: str = "general") -> dict:
    return call(call_id, offered, "abandoned", queue=queue, answered_at="", ended_at=at(offered, 30))


def write_kpi_landing(landing: Path) -> None:
    t = "2025-03-10T10:00:00+03:00"
    # March. general: C1 waits 20 s (within the service level), C2 21 s (not), C3 2 s with no end yet,
    # C4 abandoned; C5 has no queue (-> unknown). C1 comes again in the next export: counted there.
    write_calls(
        landing,
        date(2025, 3, 10),
        [
            answered("C1", t, 20, 100),
            answered("C2", t, 21, 60),
            answered("C3", t, 2, None),
            abandoned("C4", t),
            answered("C5", t, 10, 5, queue=""),
            call("C-bad", "not a time"),
        ],
    )
    write_calls(landing, date(2025, 3, 11), [answered("C1", t, 20, 100)])
    # read by March (export lag) but holding an April call only
    write_calls(landing, date(2025, 4, 1), [answered("A-early", "2025-04-01T00:10:00+03:00", 1, 1, "bulk")])
    # April: 800 calls of queue bulk, one abandoned: 0.125 % abandoned -> 0.13, 99.875 % served -> 99.88
    write_calls(
        landing,
        date(2025, 4, 15),
        [
            *(answered(f"A{i}", "2025-04-15T09:00:00+03:00", 1, 1, "bulk") for i in range(798)),
            abandoned("A-gone", "2025-04-15T09:00:00+03:00", "bulk"),
        ],
    )
    # May: no call answered
    write_calls(
        landing,
        date(2025, 5, 5),
        [abandoned("M1", "2025-05-05T09:00:00+03:00"), abandoned("M2", "2025-05-05T09:05:00+03:00")],
    )

    chats = [
        chat("S1", "2025-03-10T07:00:00Z", ended_at="2025-03-10T07:01:00Z", entry_point="web", rating=5),
        chat("S2", "2025-03-10T08:00:00Z", ended_at="2025-03-10T08:01:30Z", entry_point="web", rating=4),
        chat("S3", "2025-03-10T09:00:00Z", ended_at=None, entry_point=None, rating=None),
        chat("S4", "2025-03-10T10:00:00Z", ended_at="2025-03-10T10:00:30Z", entry_point="app", rating=2),
    ]
    write_jsonl(landing, "chat", date(2025, 3, 10), chats)
    # April: eight ratings summing to 33: 4.125 -> 4.13
    write_jsonl(
        landing,
        "chat",
        date(2025, 4, 10),
        [
            chat(f"R{i}", "2025-04-10T07:00:00Z", ended_at="2025-04-10T07:00:10Z", entry_point="app", rating=r)
            for i, r in enumerate((5, 5, 5, 5, 5, 4, 2, 2))
        ],
    )

    created = "2025-05-20T10:00:00+03:00"
    write_crm(
        landing,
        S1,
        [
            ticket("T1", created, "new"),
            ticket("T4", created, "closed", "2025-05-25T10:00:00+03:00"),  # 120 h
            ticket("T5", "2025-05-10T08:00:00+03:00", "resolved", "2025-05-28T08:00:00+03:00"),  # 432 h
        ],
    )
    write_crm(
        landing,
        S2,
        [
            ticket("T1", created, "closed", "2025-06-02T10:00:00+03:00"),  # created in May, closed in June: 312 h
            ticket("T2", "2025-06-01T00:00:00+03:00", "closed", "2025-06-01T01:30:00+03:00"),  # 1.5 h
            ticket("T4", created, "in_progress"),  # reopened: closed in S1, open again in S2 (42 days old)
            ticket("T5", "2025-05-10T08:00:00+03:00", "closed", "2025-06-15T08:00:00+03:00"),  # closed again: 864 h
            # open tickets on the bands' edges: whole days from the Riyadh date of created_at to 1 July
            ticket("E7", "2025-06-24T00:30:00+03:00"),  # 7 days (23 June in UTC: the Riyadh date counts)
            ticket("E8", "2025-06-23T12:00:00+03:00"),  # 8
            ticket("E30", "2025-06-01T12:00:00+03:00"),  # 30
            ticket("E31", "2025-05-31T12:00:00+03:00"),  # 31
            ticket("E90", "2025-04-02T12:00:00+03:00"),  # 90
            ticket("E91", "2025-04-01T12:00:00+03:00"),  # 91
        ],
    )


@pytest.fixture(scope="module")
def kpi_run(tmp_path_factory) -> dict:
    """The real monthly job (with publish) over March to June, on the landing zone above."""
    import dagster as dg

    from assets.resources import vob_resources
    from pipelines.definitions import defs
    from vob.base.settings import load_settings

    root = tmp_path_factory.mktemp("kpis")
    env = landing_env(root)
    write_kpi_landing(root / "landing")
    settings = load_settings(env)
    result = defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={RANGE_START: "2025-03", RANGE_END: "2025-06"},
        resources=vob_resources(env),
    )
    return {"settings": settings, "result": result, "env": env, "root": root}


def published(kpi_run, sql: str, params: dict | None = None) -> list[tuple]:
    return query(kpi_run["settings"].warehouse_path, sql, params)


def test_call_kpis_are_the_hand_computed_ones(kpi_run):
    rows = published(
        kpi_run,
        "SELECT strftime(month, '%Y-%m'), queue, offered, answered, abandoned, abandon_rate_pct, "
        "service_level_20s_pct, avg_wait_s, p90_wait_s, avg_handle_s "
        "FROM marts.fct_calls_service_monthly ORDER BY 1, queue",
    )
    assert rows == [
        # waits 20, 21, 2: 20 s is within the service level, 21 s is not; p90 = 20 + 0.8 × 1
        ("2025-03", "all", 5, 4, 1, D("20.00"), D("60.00"), D("13.3"), D("20.7"), D("55.0")),
        ("2025-03", "general", 4, 3, 1, D("25.00"), D("50.00"), D("14.3"), D("20.8"), D("80.0")),
        ("2025-03", "unknown", 1, 1, 0, D("0.00"), D("100.00"), D("10.0"), D("10.0"), D("5.0")),
        # 1/800 = 0.125 % and 799/800 = 99.875 %: rounded half away from zero
        ("2025-04", "all", 800, 799, 1, D("0.13"), D("99.88"), D("1.0"), D("1.0"), D("1.0")),
        ("2025-04", "bulk", 800, 799, 1, D("0.13"), D("99.88"), D("1.0"), D("1.0"), D("1.0")),
        # no call answered: waits and handle times are NULL, not 0
        ("2025-05", "all", 2, 0, 2, D("100.00"), D("0.00"), None, None, None),
        ("2025-05", "general", 2, 0, 2, D("100.00"), D("0.00"), None, None, None),
        ("2025-06", "all", 0, 0, 0, None, None, None, None, None),
    ]
    # the all-queue average of 53 s over 4 waits is 13.25 s: half away from zero gives 13.3 (not 13.2)


def test_chat_kpis_are_the_hand_computed_ones(kpi_run):
    rows = published(
        kpi_run,
        "SELECT strftime(month, '%Y-%m'), entry_point, sessions, rated, avg_rating, "
        "p50_duration_s FROM marts.fct_chat_service_monthly ORDER BY 1, 2",
    )
    assert rows == [
        ("2025-03", "all", 4, 3, D("3.67"), D("60.0")),
        ("2025-03", "app", 1, 1, D("2.00"), D("30.0")),
        ("2025-03", "unknown", 1, 0, None, None),
        ("2025-03", "web", 2, 2, D("4.50"), D("75.0")),
        ("2025-04", "all", 8, 8, D("4.13"), D("10.0")),  # 33 / 8 = 4.125
        ("2025-04", "app", 8, 8, D("4.13"), D("10.0")),
        ("2025-05", "all", 0, 0, None, None),
        ("2025-06", "all", 0, 0, None, None),
    ]


def test_every_all_row_equals_its_channel_figure(kpi_run):
    mismatched = published(
        kpi_run,
        """
        SELECT f.month, f.channel, f.contacts, coalesce(c.offered, h.sessions)
        FROM marts.fct_channel_monthly f
        LEFT JOIN marts.fct_calls_service_monthly c ON c.month = f.month AND c.queue = 'all' AND f.channel = 'calls'
        LEFT JOIN marts.fct_chat_service_monthly h ON h.month = f.month AND h.entry_point = 'all' AND f.channel = 'chat'
        WHERE f.channel IN ('calls', 'chat') AND coalesce(c.offered, h.sessions) IS DISTINCT FROM f.contacts""",
    )
    assert mismatched == []
    assert len(published(kpi_run, "SELECT * FROM marts.fct_calls_service_monthly WHERE queue = 'all'")) == 4


def test_tickets_resolve_in_the_month_they_closed_in_each_snapshot(kpi_run):
    rows = published(
        kpi_run,
        "SELECT strftime(month, '%Y-%m'), snapshot_date, closed, p50_hours_to_close, "
        "p90_hours_to_close FROM marts.fct_ticket_resolution_monthly ORDER BY 1, 2",
    )
    assert rows == [
        ("2025-03", S1, 0, None, None),
        ("2025-03", S2, 0, None, None),
        ("2025-04", S1, 0, None, None),
        ("2025-04", S2, 0, None, None),
        # T4 (120 h) and T5 (432 h) closed in May as of 1 June; by 1 July T4 was reopened and T5 closed again
        ("2025-05", S1, 2, D("276.0"), D("400.8")),
        ("2025-05", S2, 0, None, None),
        # T1, created in May, closed in June (312 h); T2 1.5 h; T5 closed again (864 h)
        ("2025-06", S1, 0, None, None),
        ("2025-06", S2, 3, D("312.0"), D("753.6")),
    ]


def test_backlog_bands_edges(kpi_run):
    rows = published(
        kpi_run,
        "SELECT snapshot_date, age_band, open_tickets FROM marts.fct_ticket_backlog ORDER BY snapshot_date, sort_order",
    )
    assert rows == [
        (S1, "0-7d", 0),
        (S1, "8-30d", 1),
        (S1, "31-90d", 0),
        (S1, ">90d", 0),
        # E7 | E8, E30 | E31, E90, T4 (reopened, 42 days) | E91
        (S2, "0-7d", 1),
        (S2, "8-30d", 2),
        (S2, "31-90d", 3),
        (S2, ">90d", 1),
    ]


def test_files_add_up_to_every_published_figure(kpi_run):
    figures = figures_with_sources(kpi_run["settings"].warehouse_path)
    # four months of six channels; tickets of April (1 July), May (1 June, 1 July), June (1 July)
    assert len(figures) == 4 * 6 + 4 * 3
    not_adding_up = [f for f in figures if (f[3] or 0) != f[2] or f[5] > 1]
    assert not_adding_up == []
    march_calls = published(
        kpi_run,
        "SELECT file, figure_value, rows_read, rows_rejected, counted "
        "FROM marts.figure_sources WHERE figure_key = '2025-03|calls' ORDER BY file",
    )
    assert march_calls == [
        ("calls/2025/03/calls_2025-03-10.csv", 5, 6, 1, 4),  # C1 is counted in the later export
        ("calls/2025/03/calls_2025-03-11.csv", 5, 1, 0, 1),
        ("calls/2025/04/calls_2025-04-01.csv", 5, 1, 0, 0),  # read for March, gave nothing: listed with 0
    ]
    open_june = published(
        kpi_run,
        "SELECT file, figure_value, counted FROM marts.figure_sources "
        "WHERE figure_key = '2025-06|2025-07-01|tickets_open'",
    )
    assert open_june == [("crm/tickets_2025-07-01.csv", 3, 3)]
    # e-mail had no file at all in March: its 0 has no source rows
    assert published(kpi_run, "SELECT count(*) FROM marts.figure_sources WHERE figure_key = '2025-03|email'") == [(0,)]


def test_fact_assets_show_the_reconciliation_in_their_metadata(kpi_run):
    result = kpi_run["result"]
    channel = result.asset_materializations_for_node("marts__fct_channel_monthly")[0].metadata
    table = channel["reconciliation"].value
    # figure, value, files, files contributing, rows read, rows rejected, counted, adds up
    assert "| 2025-03 calls | 5 | 3 | 2 | 8 | 1 | 5 | ✅ |" in table
    tickets = result.asset_materializations_for_node("marts__fct_tickets_monthly")[0].metadata
    assert "| 2025-06 2025-07-01 tickets_open | 3 | 1 | 1 |" in tickets["reconciliation"].value
    assert "❌" not in table + tickets["reconciliation"].value


def _evaluations(result) -> dict[tuple[str, str], object]:
    return {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}


def test_service_checks_pass_and_the_drift_warning_flags_may(kpi_run):
    result = kpi_run["result"]
    assert result.success
    evaluations = _evaluations(result)
    for name in ("offered_adds_up", "all_equals_channel", "values_in_range"):
        assert evaluations[("marts/fct_calls_service_monthly", name)].passed, name
    assert evaluations[("marts/fct_chat_service_monthly", "all_equals_channel")].passed
    assert evaluations[("marts/figure_sources", "figures_add_up")].passed
    drift = evaluations[("marts/fct_calls_service_monthly", "kpi_in_band")]
    assert not drift.passed and drift.severity.value == "WARN"
    # May: 100 % abandoned against the median 10.065 of March (20.00) and April (0.13)
    assert "2025-05 abandonment rate %: 100.00 vs median 10.07" in drift.metadata["problems"].value


def test_the_blocking_checks_fail_on_broken_rows(kpi_run, tmp_path):
    from checks.service_checks import (
        check_all_equals_channel,
        check_figures_add_up,
        check_offered_adds_up,
        check_values_in_range,
    )

    copy = tmp_path / "work.duckdb"
    copy.write_bytes(kpi_run["settings"].work_db.read_bytes())
    con = duckdb.connect(str(copy))
    try:
        march = [date(2025, 3, 1)]
        for check in (
            check_offered_adds_up(con, march),
            check_values_in_range(con, march, "fct_calls_service_monthly"),
            check_all_equals_channel(con, march, "fct_calls_service_monthly", "queue", "offered", "calls"),
            check_figures_add_up(con, march),
        ):
            assert check.passed, check.problems
        con.execute(
            "UPDATE marts.fct_calls_service_monthly SET answered = answered + 1, abandon_rate_pct = 100.01 "
            "WHERE month = DATE '2025-03-01' AND queue = 'general'"
        )
        con.execute("UPDATE marts.figure_sources SET counted = counted + 1 WHERE figure_key = '2025-03|chat'")
        assert check_offered_adds_up(con, march).problems == [
            "2025-03 queue general: answered 4 + abandoned 1 <> offered 4"
        ]
        assert check_values_in_range(con, march, "fct_calls_service_monthly").problems == [
            "2025-03 queue general: abandon_rate_pct 100.01 not in [0, 100]"
        ]
        con.execute(
            "UPDATE marts.fct_calls_service_monthly SET offered = 6 WHERE month = DATE '2025-03-01' AND queue = 'all'"
        )
        assert not check_all_equals_channel(con, march, "fct_calls_service_monthly", "queue", "offered", "calls").passed
        assert check_figures_add_up(con, march).problems == [
            "fct_channel_monthly 2025-03|chat: figure 4 but its 1 file(s) give 5"
        ]
    finally:
        con.close()


def vob(kpi_run, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(kpi_run["env"], PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", *args],
        env=env,
        cwd=kpi_run["root"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_vob_explain_prints_the_files_reasons_duplicates_and_total(kpi_run):
    out = vob(kpi_run, "explain", "fct_channel_monthly", "2025-03", "calls")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert text.startswith("fct_channel_monthly 2025-03|calls = 5\n")
    lines = {
        line.split()[0]: line.split()[1:]
        for line in text.splitlines()
        if line.startswith("  calls/") or line.startswith("  total")
    }
    # rows read, rejected, other months, duplicates dropped, rows kept, counted
    assert lines["calls/2025/03/calls_2025-03-10.csv"] == ["6", "1", "0", "1", "4", "4"]
    assert lines["calls/2025/03/calls_2025-03-11.csv"] == ["1", "0", "0", "0", "1", "1"]
    assert lines["calls/2025/04/calls_2025-04-01.csv"] == ["1", "0", "1", "0", "0", "0"]
    assert lines["total"] == ["8", "1", "1", "1", "5", "5"]
    assert "calls/2025/03/calls_2025-03-10.csv: 1 × " in text and "offered_at" in text
    assert "Total: the files give 5, equal to the published figure 5." in text

    tickets = vob(kpi_run, "explain", "fct_tickets_monthly", "2025-06", "2025-07-01", "tickets_open")
    assert tickets.returncode == 0, tickets.stderr
    assert "crm/tickets_2025-07-01.csv" in tickets.stdout
    assert "Total: the files give 3, equal to the published figure 3." in tickets.stdout


def test_vob_explain_without_the_working_database_says_so(kpi_run, tmp_path):
    out = vob(kpi_run, "explain", "fct_channel_monthly", "2025-03|chat", env_extra={"VOB_WORK_DIR": str(tmp_path)})
    assert out.returncode == 0, out.stderr
    assert f"the working database {tmp_path / 'work.duckdb'} is not here" in out.stdout
    assert "Total: the files give 4, equal to the published figure 4." in out.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (("fct_nothing", "2025-03", "calls"), "unknown table 'fct_nothing'"),
        (("fct_channel_monthly", "2025-03", "fax"), "fct_channel_monthly takes MONTH CHANNEL"),
        (("fct_channel_monthly", "2025-13", "calls"), "'2025-13' is not a month"),
        (
            ("fct_channel_monthly", "2024-01", "calls"),
            "no published figure fct_channel_monthly 2024-01|calls "
            "(published months: 2025-03, 2025-04, 2025-05, 2025-06)",
        ),
        (
            ("fct_tickets_monthly", "2025-06", "2025-06-15", "tickets_open"),
            "published snapshots of 2025-06: 2025-06 2025-07-01",
        ),
    ],
)
def test_vob_explain_refuses_an_unknown_table_or_key(kpi_run, args, message):
    out = vob(kpi_run, "explain", *args)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stdout == ""
