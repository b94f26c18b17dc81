"""A landing zone + warehouse environment shared by the tests of one module (one run, many asserts)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from vob.base.settings import Settings, load_settings


@contextlib.contextmanager
def module_env(root: Path, **extra: str) -> Iterator[Settings]:
    """Like conftest's `vob_env`, for a module-scoped fixture: env set inside the block only."""
    (root / "landing").mkdir()
    (root / "dagster_home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOB_LANDING_DIR", str(root / "landing"))
        mp.setenv("VOB_WAREHOUSE", str(root / "warehouse" / "vob.duckdb"))
        mp.setenv("VOB_PII_KEY", "test-key")
        mp.setenv("DAGSTER_HOME", str(root / "dagster_home"))
        mp.setenv("VOB_SETTLE_SECONDS", "0")  # the zone is written just before the run (docs/operations.md)
        for name in ("VOB_WORK_DIR", "VOB_REPORT_DIR", "VOB_REJECT_THRESHOLD_PCT", "VOB_EXPORT_LAG_DAYS"):
            mp.delenv(name, raising=False)
        for name, value in extra.items():
            mp.setenv(name, value)
        yield load_settings()
