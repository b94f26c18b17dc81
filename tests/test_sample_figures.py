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

FIGURES = json.loads((Path(__file__).parents[1] / "pipelines" / "sample" / "published_figures.json").read_text())
VOB = [sys.executable, "-m", "pipelines.cli"]


@pytest.fixture(scope="session")
def h1_run(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("h1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(DAGSTER_HOME=str(root / ".dagster"), PYTHONPATH=str(Path(__file__).parents[1]))
    sample = subprocess.run([*VOB, "sample"], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert sample.returncode == 0, sample.stderr
    run = subprocess.run([*VOB, "run", "--period", "2025-H1"], cwd=root, env=env,
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return {"root": root, "warehouse": root / "warehouse" / "vob.duckdb", "stdout": run.stdout}


def test_channel_figures_match_the_published_report(h1_run):
    columns = FIGURES["channel_monthly"]["_columns"]
    rows = query(h1_run["warehouse"], "SELECT strftime(month, '%Y-%m'), channel, contacts FROM marts.fct_channel_monthly")
    got = {(m, c): n for m, c, n in rows}
    for month in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"):
        expected = dict(zip(columns, FIGURES["channel_monthly"][month]))
        for channel in ("calls", "email", "chat", "x", "sms", "self_service"):
            assert got[(month, channel)] == expected[channel], (month, channel)


def test_ticket_figures_of_the_latest_snapshot_match(h1_run):
    columns = FIGURES["channel_monthly"]["_columns"]
    rows = query(h1_run["warehouse"],
                 "SELECT strftime(month, '%Y-%m'), tickets_total, tickets_open, tickets_closed "
                 "FROM marts.fct_tickets_monthly WHERE snapshot_date = DATE '2025-07-01' ORDER BY 1")
    assert len(rows) == 6
    for month, total, open_, closed in rows:
        expected = dict(zip(columns, FIGURES["channel_monthly"][month]))
        assert (total, open_, closed) == (expected["tickets_total"], expected["tickets_open"],
                                          expected["tickets_closed"]), month


def test_older_snapshots_stay_queryable(h1_run):
    snapshots = query(h1_run["warehouse"], "SELECT DISTINCT snapshot_date FROM marts.fct_tickets_monthly ORDER BY 1")
    assert len(snapshots) >= 2


def test_the_sample_lands_without_rejects_and_reports_it(h1_run):
    work = h1_run["root"] / "warehouse" / "vob_work" / "work.duckdb"
    assert query(work, "SELECT count(*) FROM quality.rejected_rows WHERE source <> 'registers'")[0][0] == 0
    read, loaded = query(work, "SELECT sum(rows_read), sum(rows_loaded) FROM meta.landing_files "
                               "WHERE source <> 'registers'")[0]
    assert read == loaded > 3_000_000
    # the registers hold 5 notes of December 2024 and 2 plans opened after June: outside the half
    reasons = query(work, "SELECT reason FROM quality.rejected_rows WHERE source = 'registers'")
    assert len(reasons) == 7
    assert "published" in h1_run["stdout"]


def test_the_half_year_figures_match_the_published_report(h1_run):
    half = FIGURES["half_year"]
    row = query(h1_run["warehouse"], "SELECT beneficiaries, notes, plans_total, plans_in_progress, plans_implemented "
                                     "FROM marts.fct_vob_half_year WHERE period = '2025-H1'")
    assert row == [(half["beneficiaries"], half["notes"], half["plans_total"], half["plans_in_progress"],
                    half["plans_implemented"])]
    shares = dict(query(h1_run["warehouse"], "SELECT dimension, share_pct::DOUBLE FROM "
                                             "marts.fct_feedback_dimension_half_year WHERE period = '2025-H1'"))
    assert shares == FIGURES["dimension_share_pct"]
    titles = [r[0] for r in query(h1_run["warehouse"], "SELECT title FROM marts.e_participations ORDER BY sort_order")]
    assert titles == [p["title_ar"] for p in FIGURES["e_participations"]]
    actions = [r[0] for r in query(h1_run["warehouse"], "SELECT title FROM marts.improvement_actions ORDER BY action_no")]
    assert actions == FIGURES["improvement_actions"]
