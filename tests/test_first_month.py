"""VOB_FIRST_MONTH: history before 2025 loads once the setting says where the partitions begin; a
period outside [first month, current month] is refused at once, in one sentence."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import query
from landing_files import call, chat, email, ticket, write_calls, write_counts, write_crm, write_jsonl
from registers_files import note, plan, write_workbook
from vob_process import REPO, vob_env

from assets.partitions import half_year_keys
from pipelines.cli import main
from pipelines.runner import period_refusal
from vob.base.periods import parse_period


def test_half_year_keys_run_from_the_first_month_s_half_through_next_year():
    assert half_year_keys("2024-01", date(2026, 12, 2)) == [
        f"{y}-H{h}" for y in (2024, 2025, 2026, 2027) for h in (1, 2)
    ]
    assert half_year_keys("2025-08", date(2025, 8, 1))[:2] == ["2025-H2", "2026-H1"]
    assert half_year_keys("2025-01", date(2040, 1, 1))[-1] == "2041-H2"  # no end year written anywhere


@pytest.mark.parametrize(
    "period, expected",
    [
        ("2024-H1", "2024-H1 begins before 2025-01, the first month the pipeline loads: set VOB_FIRST_MONTH=2024-01"),
        ("2024-12", "2024-12 begins before 2025-01, the first month the pipeline loads: set VOB_FIRST_MONTH=2024-12"),
        ("2026-01", "2026-01 has not begun yet: the current month is 2025-12"),
        ("2026-H1", "2026-H1 has not begun yet: the current month is 2025-12"),
        ("2025-H2", None),
        ("2025-12", None),
        ("2025-01", None),
    ],
)
def test_periods_outside_the_partitions_are_refused(period, expected):
    refusal = period_refusal(parse_period(period), "2025-01", date(2025, 12, 31))
    assert refusal == expected or (refusal and expected and refusal.startswith(expected))


def test_vob_run_refuses_a_period_before_the_first_month_in_one_sentence(vob_env, capsys, umask_kept):
    assert main(["run", "--period", "2024-H1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "set VOB_FIRST_MONTH=2024-01" in err
    assert main(["run", "--month", "2099-01"]) == 2
    assert "2099-01 has not begun yet" in capsys.readouterr().err
    assert not vob_env.warehouse_path.exists()


def test_a_bad_first_month_setting_is_refused(vob_env, monkeypatch, capsys, umask_kept):
    monkeypatch.setenv("VOB_FIRST_MONTH", "2024-13")
    assert main(["run", "--period", "2025-H1"]) == 2
    assert "VOB_FIRST_MONTH must be a month like 2024-01, not '2024-13'" in capsys.readouterr().err


def test_the_partitions_start_at_the_setting():
    code = (
        "from assets.partitions import monthly_partitions, half_year_partitions;"
        "print(monthly_partitions.get_first_partition_key(), half_year_partitions.get_partition_keys()[0])"
    )
    env = vob_env(Path("/nonexistent"), VOB_FIRST_MONTH="2023-11")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2023-11", "2023-H2"]


def write_2024_h1(landing: Path) -> None:
    """A leap-year half-year: records on and around 29 February, across midnight UTC and Riyadh."""
    write_calls(
        landing,
        date(2024, 1, 1),
        [call("C-dec", "2023-12-31T23:30:00+03:00"), call("C-jan", "2024-01-01T00:00:00+03:00")],
    )
    write_calls(landing, date(2024, 2, 29), [call("C-leap", "2024-02-29T12:00:00+03:00")])
    write_calls(
        landing,
        date(2024, 3, 1),
        [call("C-leap-last", "2024-02-29T23:59:59+03:00"), call("C-mar", "2024-03-01T00:00:00+03:00")],
    )
    write_jsonl(
        landing,
        "email",
        date(2024, 3, 1),
        [
            email("<a@x>", "2024-02-28T23:30:00Z"),  # 29 Feb 02:30 in Riyadh: crossed midnight UTC, still February
            email("<b@x>", "2024-02-29T20:59:59Z"),  # 29 Feb 23:59:59 in Riyadh
            email("<c@x>", "2024-02-29T21:00:00Z"),  # 1 March 00:00 in Riyadh
        ],
    )
    # 1 July 00:30 in Riyadh, in the export June reads: not in the half-year
    write_jsonl(landing, "email", date(2024, 7, 1), [email("<d@x>", "2024-06-30T21:30:00Z")])
    write_jsonl(
        landing,
        "chat",
        date(2024, 2, 1),
        [chat("S-1", "2024-01-31T21:30:00Z"), chat("S-2", "2024-01-31T20:30:00Z")],  # 1 Feb 00:30; 31 Jan 23:30
    )
    write_counts(landing, "x", "2024-02", [("2024-02-28", "mention", 2), ("2024-02-29", "reply", 5)])
    write_counts(landing, "sms", "2024-06", [("2024-06-30", "OTP", 7)])
    write_crm(
        landing,
        date(2024, 7, 1),
        [
            ticket("T-1", "2024-02-29T23:30:00+03:00", beneficiary_id="1000000001"),
            ticket(
                "T-2", "2024-03-01T00:10:00+03:00", "closed", "2024-03-02T10:00:00+03:00", beneficiary_id="1000000002"
            ),
            ticket("T-3", "2023-12-31T23:00:00+03:00", beneficiary_id="1000000003"),  # 2023: outside
        ],
    )
    write_workbook(
        landing,
        "2024-H1",
        notes=[
            note("N-1", date(2024, 2, 29), "speed,outputs", beneficiary_id="1000000001"),
            note("N-2", date(2024, 6, 30), "speed", beneficiary_id="1000000009"),
            note("N-3", date(2024, 7, 1), "technology"),  # H2: outside
        ],
        plans=[
            plan("P-1", "speed", "implemented", date(2024, 2, 29), date(2024, 5, 1)),
            plan("P-2", "outputs", "in_progress", date(2024, 6, 30)),
            plan("P-3", "speed", "in_progress", date(2024, 7, 1)),  # opened after the half-year
        ],
    )


@pytest.mark.slow
def test_a_2024_half_year_runs_with_vob_first_month_and_gives_every_figure(tmp_path):
    write_2024_h1(tmp_path / "landing")
    log = tmp_path / "run.log"
    env = vob_env(tmp_path)
    code = subprocess.run(
        [str(Path(sys.executable).parent / "vob"), "run", "--period", "2024-H1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert code.returncode == 2 and "set VOB_FIRST_MONTH=2024-01" in code.stderr

    env["VOB_FIRST_MONTH"] = "2024-01"
    done = subprocess.run(
        [str(Path(sys.executable).parent / "vob"), "run", "--period", "2024-H1"],
        cwd=REPO,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    assert done.returncode == 0, log.read_text()[-3000:]
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    channels = query(
        warehouse,
        "SELECT strftime(month, '%Y-%m'), channel, contacts FROM marts.fct_channel_monthly WHERE contacts > 0 "
        "ORDER BY ALL",
    )
    assert channels == [
        ("2024-01", "calls", 1),
        ("2024-01", "chat", 1),
        ("2024-02", "calls", 2),
        ("2024-02", "chat", 1),
        ("2024-02", "email", 2),
        ("2024-02", "x", 7),
        ("2024-03", "calls", 1),
        ("2024-03", "email", 1),
        ("2024-06", "sms", 7),
    ]
    # April and May have no record of their own: no rows (WAREHOUSE.md)
    published = query(warehouse, "SELECT DISTINCT strftime(month, '%Y-%m') FROM marts.fct_channel_monthly ORDER BY 1")
    assert [m for (m,) in published] == ["2024-01", "2024-02", "2024-03", "2024-06"]
    assert query(
        warehouse,
        "SELECT strftime(month, '%Y-%m'), snapshot_date, tickets_total, tickets_open, tickets_closed "
        "FROM marts.fct_tickets_monthly ORDER BY ALL",
    ) == [("2024-02", date(2024, 7, 1), 1, 1, 0), ("2024-03", date(2024, 7, 1), 1, 0, 1)]
    assert query(
        warehouse,
        "SELECT period, beneficiaries, notes, plans_total, plans_in_progress, plans_implemented "
        "FROM marts.fct_vob_half_year",
    ) == [("2024-H1", 3, 2, 2, 1, 1)]
    assert query(
        warehouse,
        "SELECT dimension, tags, share_pct::VARCHAR FROM marts.fct_feedback_dimension_half_year "
        "WHERE tags > 0 ORDER BY dimension",
    ) == [("outputs", 1, "33.33"), ("speed", 2, "66.67")]
