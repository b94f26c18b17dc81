"""The memory of the quality gate: a staged month whose rows did not change is
not validated again.

Each validation of a source's staged month is stored in the working database
(`quality.validations`, warehouse/schema.sql) with the month's fingerprint:

- what the suite validates: the month's profile (its staged rows, and how many
  of them break each rule: vob/marts/gx_suites.py `profile_sql`), computed in one
  aggregate inside DuckDB (no GX, no rows in Python); the same profile gives the
  same verdict;
- the suite's version: the text of vob/marts/gx_suites.py, the source's landing
  description (vob/landing/contract.py) and the installed GX version, so that a
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

from vob.landing.contract import Source
from vob.marts.gx_suites import profile_sql  # the SQL only: that module imports GX only when it validates

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


@dataclass(frozen=True)
class MonthProfile:
    """A staged month as the suite sees it: its rows, and how many of them break each rule."""

    rows: int
    violations: tuple[tuple[str, int], ...]  # (rule, rows breaking it), in the suite's order

    def fingerprint(self, source: Source) -> str:
        counts = ";".join(f"{rule}={n}" for rule, n in self.violations)
        return f"{self.rows}:{hashlib.sha256(counts.encode()).hexdigest()[:16]}:{suite_version(source)}"


def month_profiles(con: duckdb.DuckDBPyConnection, source: Source, months: list[date]) -> dict[date, MonthProfile]:
    """The profile of each of `months` (`vob.marts.gx_suites.profile_sql`, one aggregate over the staged
    rows); a month with no staged row has no rule broken."""
    found: dict[date, list[tuple[str, int, int]]] = {}
    for _, month, rule, violations, rows in con.execute(profile_sql(source, months)).fetchall():
        found.setdefault(month, []).append((rule, violations, rows))
    return {
        m: MonthProfile(found[m][0][2], tuple((r, v) for r, v, _ in found[m])) if m in found else MonthProfile(0, ())
        for m in months
    }


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
