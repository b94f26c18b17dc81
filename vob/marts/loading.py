"""Load one source's month: bring its files up to date, then stage the month.

Pure orchestration over the working database; the Dagster assets are thin
wrappers around `load_source_month`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

from vob.base.db import transaction
from vob.base.settings import Settings
from vob.landing.contract import Source, files_for_month, split_settled
from vob.landing.ingest import ingest
from vob.marts.transforms import stage_counts, stage_events, stage_tickets


@dataclass(frozen=True)
class MonthAccount:
    """Rows of the files accounted to a month: read = loaded + rejected."""

    rows_read: int
    rows_loaded: int
    rows_rejected: int
    file_errors: tuple[str, ...]

    @property
    def rejected_pct(self) -> float:
        return 100.0 * self.rows_rejected / self.rows_read if self.rows_read else 0.0


@dataclass(frozen=True)
class MonthLoad:
    source: str
    month: date
    files_read: int  # files in the month's window
    files_parsed: int  # of those, new or changed since they were last read
    rows_staged: int  # rows of the month after validation and de-duplication
    account: MonthAccount
    unsettled: tuple[str, ...] = ()  # files modified after the run's settle cutoff: left for a later run


def load_source_month(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    month: date,
    settings: Settings,
    pii_key: bytes,
    run_id: str,
    settled_before: float | None = None,
) -> MonthLoad:
    paths, unsettled = split_settled(
        files_for_month(source, settings.landing_dir, month, settings.export_lag_days), settled_before
    )
    files = [p.relative_to(settings.landing_dir).as_posix() for p in paths]
    # Two transactions: the files' rows, then the month staged from them. Staging reads what ingest
    # wrote; read before its commit, those rows were a transaction's own (slower to scan: the calls'
    # staging at 10x). A crash between the two leaves the files read and the month not staged with
    # them: its inputs' fingerprint (meta.month_inputs) differs, so the next run stages it.
    with transaction(con):
        audits = ingest(con, source, settings.landing_dir, paths, pii_key, run_id)
    with transaction(con):
        inputs = month_inputs(con, source, files)
        if inputs == staged_inputs(con, source, month):
            staged = staged_rows(con, source, month)  # the same files with the same content: the same rows
        elif source.kind == "events":
            staged = stage_events(con, source, month, files)
        elif source.kind == "counts":
            staged = stage_counts(con, source, month, files)
        else:
            staged = stage_tickets(con, month, files)
        con.execute("DELETE FROM meta.month_files WHERE month = $m AND source = $s", {"m": month, "s": source.name})
        con.execute("DELETE FROM meta.month_inputs WHERE month = $m AND source = $s", {"m": month, "s": source.name})
        con.execute(
            "INSERT INTO meta.month_inputs VALUES ($m, $s, $inputs, $run)",
            {"m": month, "s": source.name, "inputs": inputs, "run": run_id},
        )
        con.execute(
            "INSERT INTO meta.month_files SELECT $m, $s, unnest($files), $run",
            {"m": month, "s": source.name, "files": files, "run": run_id},
        )
    left = tuple(p.relative_to(settings.landing_dir).as_posix() for p in unsettled)
    return MonthLoad(
        source.name, month, len(files), len(audits), staged, account_month(con, source, month, files), left
    )


def month_inputs(con: duckdb.DuckDBPyConnection, source: Source, files: list[str]) -> str:
    """One fingerprint of the files a month reads and of their content (meta.landing_files),
    digits written g-p like every digest of the working database (vob/landing/ingest.py scan_file)."""
    return con.execute(
        """SELECT translate(sha256(count(*) || ';' || coalesce(string_agg(path || ':' || sha256, ';' ORDER BY path), '')),
                            '0123456789', 'ghijklmnop')
           FROM meta.landing_files WHERE source = $s AND path IN (SELECT unnest($files))""",
        {"s": source.name, "files": files},
    ).fetchall()[0][0]


def staged_inputs(con: duckdb.DuckDBPyConnection, source: Source, month: date) -> str | None:
    """`month_inputs` as it was when the month was last staged."""
    rows = con.execute(
        "SELECT inputs FROM meta.month_inputs WHERE month = $m AND source = $s", {"m": month, "s": source.name}
    ).fetchall()
    return rows[0][0] if rows else None


def staged_rows(con: duckdb.DuckDBPyConnection, source: Source, month: date) -> int:
    if source.kind == "counts":
        return con.execute(
            "SELECT count(*) FROM staging.daily_counts WHERE month = $m AND source = $s", {"m": month, "s": source.name}
        ).fetchall()[0][0]
    return con.execute(f"SELECT count(*) FROM staging.{source.name} WHERE month = $m", {"m": month}).fetchall()[0][0]


def account_month(con: duckdb.DuckDBPyConnection, source: Source, month: date, files: list[str]) -> MonthAccount:
    """Account the files of the month among `files`: those exported in it (all
    snapshots for the CRM) and any file whose name gives no date."""
    owned = (
        "true"
        if source.kind == "snapshot"
        else f"(file_date IS NULL OR date_trunc('month', file_date) = DATE '{month}')"
    )
    read, loaded, rejected, errors = con.execute(
        f"""SELECT coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), coalesce(sum(rows_rejected), 0),
                   list(path || ': ' || file_error) FILTER (WHERE file_error IS NOT NULL)
            FROM meta.landing_files
            WHERE source = $s AND path IN (SELECT unnest($files)) AND {owned}""",
        {"s": source.name, "files": files},
    ).fetchall()[0]
    return MonthAccount(read, loaded, rejected, tuple(errors or ()))
