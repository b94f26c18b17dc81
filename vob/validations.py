"""The memory of the quality gate: a staged month whose rows did not change is
not validated again.

Each validation of a source's staged month is stored in the working database
(`quality.validations`, warehouse/schema.sql) with the month's fingerprint:

- the staged rows themselves: their count, and the sum and the XOR of DuckDB's
  hash of every whole row (all columns, file and line included), computed in
  one scan inside DuckDB (no GX, no rows in Python);
- the suite's version: the text of vob/gx_suites.py, the source's landing
  description (vob/landing.py) and the installed GX version, so that a
  changed rule or a GX upgrade validates again.

Same fingerprint and a stored pass: the stored outcome is reused and the check
says so. A changed fingerprint, no stored outcome, or a stored failure: the
month is validated again (a failure is never reused, so a failure caused by
the environment cannot outlive its cause, and a bad month fails again with
fresh details).

Nothing here imports Great Expectations.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from functools import cache, lru_cache
from importlib.metadata import version
from pathlib import Path

import duckdb

from vob.landing import Source

SUITES_FILE = Path(__file__).with_name("gx_suites.py")


@dataclass(frozen=True)
class StoredValidation:
    month: date
    fingerprint: str
    passed: bool
    summary: str
    details: str  # the markdown table of the expectations' outcomes
    run_id: str | None
    validated_at: object


@cache
def suite_version(source: Source) -> str:
    """What the suite of `source` is made of, as a short digest."""
    digest = hashlib.sha256()
    digest.update(SUITES_FILE.read_bytes())
    digest.update(repr(source).encode())
    digest.update(_gx_version().encode())
    return digest.hexdigest()[:16]


@lru_cache(maxsize=1)
def _gx_version() -> str:
    return version("great_expectations")  # from the package's metadata: GX is not imported


def staged_rows_sql(source: Source) -> tuple[str, dict]:
    """The staged rows of one month of `source` ($month), and the parameters besides the month."""
    if source.kind == "counts":
        return "SELECT * FROM staging.daily_counts WHERE month = $month AND source = $source", {"source": source.name}
    return f"SELECT * FROM staging.{source.name} WHERE month = $month", {}


def month_fingerprint(con: duckdb.DuckDBPyConnection, source: Source, month: date) -> tuple[int, str]:
    """The staged month's row count, and its fingerprint: the rows (count, sum and XOR of
    whole-row hashes) and the suite's version."""
    rows, params = staged_rows_sql(source)
    count, total, xor = con.execute(
        f"SELECT count(*), coalesce(sum(hash(staged)::HUGEINT), 0), coalesce(bit_xor(hash(staged)), 0) "
        f"FROM ({rows}) AS staged",
        {"month": month, **params},
    ).fetchall()[0]
    return count, f"{count}:{total:x}:{xor:x}:{suite_version(source)}"


def last_validations(
    con: duckdb.DuckDBPyConnection, source: Source, months: list[date]
) -> dict[date, StoredValidation]:
    rows = con.execute(
        """SELECT month, fingerprint, passed, summary, details, run_id, validated_at FROM quality.validations
           WHERE source = $s AND month IN (SELECT unnest($months))""",
        {"s": source.name, "months": months},
    ).fetchall()
    return {row[0]: StoredValidation(*row) for row in rows}


def record_validations(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    fingerprints: dict[date, str],
    passed: bool,
    summary: str,
    details: str,
    run_id: str | None,
) -> None:
    """Store the outcome of one validation of the months in `fingerprints` (validated together)."""
    con.executemany(
        """INSERT OR REPLACE INTO quality.validations
           VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp)""",
        [(source.name, month, fp, passed, summary, details, run_id) for month, fp in fingerprints.items()],
    )


def reusable(stored: StoredValidation | None, fingerprint: str) -> bool:
    """A stored pass of the same rows under the same suite."""
    return stored is not None and stored.passed and stored.fingerprint == fingerprint
