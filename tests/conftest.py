from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pytest

from assets.partitions import RANGE_END, RANGE_START  # noqa: F401 (tests import them from here)
from vob.base.settings import Settings, load_settings


@pytest.fixture
def vob_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A fresh landing zone and warehouse under tmp_path, with a test PII key."""
    landing = tmp_path / "landing"
    landing.mkdir()
    monkeypatch.setenv("VOB_LANDING_DIR", str(landing))
    monkeypatch.setenv("VOB_WAREHOUSE", str(tmp_path / "warehouse" / "vob.duckdb"))
    monkeypatch.setenv("VOB_PII_KEY", "test-key")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for name in ("VOB_WORK_DIR", "VOB_REPORT_DIR", "VOB_REJECT_THRESHOLD_PCT", "VOB_EXPORT_LAG_DAYS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "dagster_home").mkdir()
    return load_settings()


def landing_env(root: Path) -> dict[str, str]:
    """The VOB_* variables of a module's own landing zone and warehouse under `root`: a test key,
    a tolerant reject threshold for hand-written faults, and no settle wait (the zone is written
    just before the run, docs/operations.md)."""
    return {
        "VOB_LANDING_DIR": str(root / "landing"),
        "VOB_WAREHOUSE": str(root / "warehouse" / "vob.duckdb"),
        "VOB_PII_KEY": "test-key",
        "VOB_REJECT_THRESHOLD_PCT": "50",
        "VOB_SETTLE_SECONDS": "0",
    }


def vob_resources() -> dict:
    """The resources as the code location wires them (pipelines/definitions.py): they read this test's
    environment when the run initialises them."""
    from assets.resources import vob_resources

    return vob_resources()


def run_job(first: str, last: str | None = None, job: str = "monthly_refresh", raise_on_error: bool = True):
    """Run the real monthly job over a month range, in process, on an ephemeral instance."""
    import dagster as dg

    from pipelines.definitions import defs

    return defs.resolve_job_def(job).execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={RANGE_START: first, RANGE_END: last or first},
        raise_on_error=raise_on_error,
        resources=vob_resources(),
    )


def query(path: Path, sql: str, params: dict | None = None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or {}).fetchall()
    finally:
        con.close()


def contacts(settings: Settings, month: str) -> dict[str, int]:
    rows = query(
        settings.warehouse_path,
        "SELECT channel, contacts FROM marts.fct_channel_monthly WHERE strftime(month, '%Y-%m') = $m",
        {"m": month},
    )
    return dict(rows)


@pytest.fixture(autouse=True)
def landing_settles_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests write a landing zone and run on it at once: no settle window (docs/operations.md,
    "Uploads in progress"). The settle tests set VOB_SETTLE_SECONDS themselves."""
    monkeypatch.setenv("VOB_SETTLE_SECONDS", "0")


@pytest.fixture
def con(tmp_path: Path):
    """An empty working database with the pipeline's schema, for tests that call ingest directly."""
    from warehouse.store import ensure_schema

    con = duckdb.connect(str(tmp_path / "work.duckdb"))
    ensure_schema(con)
    yield con
    con.close()


@pytest.fixture
def umask_kept():
    """`vob` makes the files its process creates private (vob/base/files.py): the tests' process gets its umask back."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)
