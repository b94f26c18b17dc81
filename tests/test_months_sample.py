"""Months on the sample landing zone, through the real `vob run` (WAREHOUSE.md, "Months in progress"):
a month with nothing of its own is no failure and publishes nothing; a month whose daily exports
stop on the 15th stays in progress until they arrive."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from conftest import query
from test_months import MONTHLY_MARTS
from vob_process import run, vob_env, write_zone

DAILY = ("calls", "email", "chat")


def hold_back(landing: Path, held: Path, after: date) -> list[Path]:
    """Move the calls, e-mail and chat exports dated after `after` out of the landing zone."""
    moved = []
    for source in DAILY:
        for path in sorted(landing.glob(f"{source}/*/*/{source}_*")):
            if date.fromisoformat(path.stem.split("_")[-1]) > after:
                target = held / path.relative_to(landing)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, target)
                moved.append(target)
    return moved


def dim_month(warehouse: Path) -> list[tuple]:
    return query(warehouse, "SELECT strftime(month, '%Y-%m'), status, data_through FROM marts.dim_month ORDER BY 1")


def month_end(key: str) -> date:
    year, month = map(int, key.split("-"))
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


@pytest.mark.slow
def test_on_the_sample_june_waits_for_its_exports_and_july_publishes_nothing(tmp_path):
    landing, held = tmp_path / "landing", tmp_path / "held"
    write_zone(landing)
    env = vob_env(tmp_path)
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    moved = hold_back(landing, held, date(2025, 6, 15))
    assert {p.name.split("_")[0] for p in moved} == set(DAILY)

    code, log = run(["run", "--period", "2025-H1"], env, tmp_path / "held_back.log")
    assert code == 0, log[-3000:]
    months = dim_month(warehouse)
    assert months[:5] == [(f"2025-0{m}", "complete", month_end(f"2025-0{m}")) for m in range(1, 6)]
    assert months[5] == ("2025-06", "in_progress", date(2025, 6, 14))

    for path in moved:  # the exports arrive
        target = landing / path.relative_to(held)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(path, target)
    code, log = run(["run", "--period", "2025-H1"], env, tmp_path / "h1.log")
    assert code == 0, log[-3000:]
    code, log = run(["run", "--month", "2025-07"], env, tmp_path / "july.log")
    assert code == 0, log[-3000:]
    assert "  warning: " not in log and "FAILED" not in log, log[-3000:]  # no check failed, not even a warning
    assert "2025-07: no record of its own in any source yet, so no rows (not a failure)" in log
    for table in MONTHLY_MARTS:
        assert query(warehouse, f"SELECT count(*) FROM marts.{table} WHERE month >= DATE '2025-07-01'") == [(0,)]
    assert dim_month(warehouse) == [(f"2025-0{m}", "complete", month_end(f"2025-0{m}")) for m in range(1, 7)]
