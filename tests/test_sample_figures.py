"""The README's first command, end to end: `vob sample` then `vob run --period 2025-H1`
in a fresh directory, as separate processes; the published warehouse must hold every
channel and ticket figure of the seed report exactly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import query
from figure_checks import figures_with_sources

pytestmark = pytest.mark.slow  # the whole sample half-year, run and published

FIGURES = json.loads((Path(__file__).parents[1] / "vob" / "sample" / "published_figures.json").read_text())
VOB = [sys.executable, "-m", "pipelines.cli"]


@pytest.fixture(scope="session")
def h1_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("h1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(DAGSTER_HOME=str(root / ".dagster"), PYTHONPATH=str(Path(__file__).parents[1]))
    sample = subprocess.run([*VOB, "sample"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert sample.returncode == 0, sample.stderr
    run = subprocess.run(
        [*VOB, "run", "--period", "2025-H1"], cwd=root, env=env, capture_output=True, text=True, timeout=900
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {"root": root, "warehouse": root / "warehouse" / "vob.duckdb", "stdout": run.stdout}


def test_channel_figures_match_the_published_report(h1_run):
    columns = FIGURES["channel_monthly"]["_columns"]
    rows = query(
        h1_run["warehouse"], "SELECT strftime(month, '%Y-%m'), channel, contacts FROM marts.fct_channel_monthly"
    )
    got = {(m, c): n for m, c, n in rows}
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"):
        expected = dict(zip(columns, FIGURES["channel_monthly"][month]))
        for channel in ("calls", "email", "chat", "x", "sms", "self_service"):
            assert got[(month, channel)] == expected[channel], (month, channel)


def test_ticket_figures_of_the_latest_snapshot_match(h1_run):
    columns = FIGURES["channel_monthly"]["_columns"]
    rows = query(
        h1_run["warehouse"],
        "SELECT strftime(month, '%Y-%m'), tickets_total, tickets_open, tickets_closed "
        "FROM marts.fct_tickets_monthly WHERE snapshot_date = DATE '2025-07-01' ORDER BY 1",
    )
    assert len(rows) == 6
    for month, total, open_, closed in rows:
        expected = dict(zip(columns, FIGURES["channel_monthly"][month]))
        assert (total, open_, closed) == (
            expected["tickets_total"],
            expected["tickets_open"],
            expected["tickets_closed"],
        ), month


def test_older_snapshots_stay_queryable(h1_run):
    snapshots = query(h1_run["warehouse"], "SELECT DISTINCT snapshot_date FROM marts.fct_tickets_monthly ORDER BY 1")
    assert len(snapshots) >= 2


def test_the_sample_lands_without_rejects_and_reports_it(h1_run):
    work = h1_run["root"] / "warehouse" / "vob_work" / "work.duckdb"
    assert query(work, "SELECT count(*) FROM quality.rejected_rows WHERE source <> 'registers'")[0][0] == 0
    read, loaded = query(
        work, "SELECT sum(rows_read), sum(rows_loaded) FROM meta.landing_files WHERE source <> 'registers'"
    )[0]
    assert read == loaded > 3_000_000
    # the registers hold 5 notes of December 2024 and 2 plans opened after June: outside the half
    reasons = query(work, "SELECT reason FROM quality.rejected_rows WHERE source = 'registers'")
    assert len(reasons) == 7
    assert "published" in h1_run["stdout"]


def test_the_half_year_figures_match_the_published_report(h1_run):
    half = FIGURES["half_year"]
    row = query(
        h1_run["warehouse"],
        "SELECT beneficiaries, notes, plans_total, plans_in_progress, plans_implemented "
        "FROM marts.fct_vob_half_year WHERE period = '2025-H1'",
    )
    assert row == [
        (
            half["beneficiaries"],
            half["notes"],
            half["plans_total"],
            half["plans_in_progress"],
            half["plans_implemented"],
        )
    ]
    shares = dict(
        query(
            h1_run["warehouse"],
            "SELECT dimension, share_pct::DOUBLE FROM marts.fct_feedback_dimension_half_year WHERE period = '2025-H1'",
        )
    )
    assert shares == FIGURES["dimension_share_pct"]
    titles = [r[0] for r in query(h1_run["warehouse"], "SELECT title FROM marts.e_participations ORDER BY sort_order")]
    assert titles == [p["title_ar"] for p in FIGURES["e_participations"]]
    actions = [
        r[0] for r in query(h1_run["warehouse"], "SELECT title FROM marts.improvement_actions ORDER BY action_no")
    ]
    assert actions == FIGURES["improvement_actions"]


# ---------------------------------------------------------------- service KPIs and figure sources (issue 14)

SAMPLE_MONTHS = ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06")


def test_every_all_row_of_the_sample_equals_its_channel_figure(h1_run):
    pairs = query(
        h1_run["warehouse"],
        """
        SELECT strftime(f.month, '%Y-%m'), f.channel, f.contacts,
               CASE f.channel WHEN 'calls' THEN c.offered ELSE h.sessions END
        FROM marts.fct_channel_monthly f
        LEFT JOIN marts.fct_calls_service_monthly c ON c.month = f.month AND c.queue = 'all'
        LEFT JOIN marts.fct_chat_service_monthly h ON h.month = f.month AND h.entry_point = 'all'
        WHERE f.channel IN ('calls', 'chat') ORDER BY 1, 2""",
    )
    assert [p[0] for p in pairs] == sorted(m for m in SAMPLE_MONTHS for _ in range(2))
    assert all(contacts == kpi and contacts > 0 for _, _, contacts, kpi in pairs), pairs
    # and the queues / entry points add up to it
    assert (
        query(
            h1_run["warehouse"],
            """
        SELECT month FROM marts.fct_calls_service_monthly GROUP BY month
        HAVING sum(offered) FILTER (WHERE queue <> 'all') <> max(offered) FILTER (WHERE queue = 'all')
            OR sum(answered) FILTER (WHERE queue <> 'all') + sum(abandoned) FILTER (WHERE queue <> 'all')
               <> max(offered) FILTER (WHERE queue = 'all')""",
        )
        == []
    )


def test_the_files_add_up_to_every_published_figure_of_the_sample(h1_run):
    figures = figures_with_sources(h1_run["warehouse"])
    channel = [f for f in figures if f[0] == "fct_channel_monthly"]
    tickets = [f for f in figures if f[0] == "fct_tickets_monthly"]
    assert len(channel) == 36 and len(tickets) >= 36
    for table, key, value, counted, files, values, recorded in figures:
        assert files > 0 and counted == value == recorded and values == 1, (table, key, value, counted)
    # each landing file of the month is listed once per figure of its channel, even if it gave 0
    assert (
        query(
            h1_run["warehouse"],
            "SELECT count(*) FROM marts.figure_sources GROUP BY table_name, figure_key, file HAVING count(*) > 1",
        )
        == []
    )


def test_the_kpi_marts_of_the_sample_have_every_row_the_contract_asks(h1_run):
    snapshots = query(h1_run["warehouse"], "SELECT count(DISTINCT snapshot_date) FROM marts.fct_ticket_backlog")[0][0]
    assert snapshots >= 2
    assert query(
        h1_run["warehouse"],
        "SELECT count(*), count(DISTINCT month), count(DISTINCT snapshot_date) "
        "FROM marts.fct_ticket_resolution_monthly",
    ) == [(6 * snapshots, 6, snapshots)]
    assert query(h1_run["warehouse"], "SELECT count(*) FROM marts.fct_ticket_backlog") == [(4 * snapshots,)]
    latest = query(
        h1_run["warehouse"],
        "SELECT sum(open_tickets) FROM marts.fct_ticket_backlog WHERE snapshot_date = DATE '2025-07-01'",
    )[0][0]
    assert latest >= sum(
        n
        for (n,) in query(
            h1_run["warehouse"],
            "SELECT tickets_open FROM marts.fct_tickets_monthly WHERE snapshot_date = DATE '2025-07-01'",
        )
    )
    calls = query(
        h1_run["warehouse"],
        "SELECT abandon_rate_pct, service_level_20s_pct, p90_wait_s, avg_handle_s "
        "FROM marts.fct_calls_service_monthly WHERE queue = 'all'",
    )
    assert len(calls) == 6 and all(v is not None for row in calls for v in row)


def test_vob_explain_reconciles_a_sample_figure(h1_run):
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(DAGSTER_HOME=str(h1_run["root"] / ".dagster"), PYTHONPATH=str(Path(__file__).parents[1]))
    out = subprocess.run(
        [*VOB, "explain", "fct_channel_monthly", "2025-03", "calls"],
        cwd=h1_run["root"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    expected = dict(zip(FIGURES["channel_monthly"]["_columns"], FIGURES["channel_monthly"]["2025-03"]))["calls"]
    assert out.stdout.startswith(f"fct_channel_monthly 2025-03|calls = {expected:,}\n")
    assert f"Total: the files give {expected:,}, equal to the published figure {expected:,}." in out.stdout
    assert "Rejected rows: none in these files." in out.stdout
