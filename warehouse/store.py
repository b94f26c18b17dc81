"""The working database and the published warehouse.

Runs write to a working DuckDB file (`<work_dir>/work.duckdb`). Publishing
copies the marts into a brand-new DuckDB file and moves it over
`VOB_WAREHOUSE` with an atomic rename: a BI tool that holds the old file open
read-only keeps a whole, consistent view and never blocks a run; it sees the
new data when it reopens.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from vob.db import transaction
from vob.files import make_private, private_dir, share_with_bi, shared_dir
from vob.ingest import disk_stat, disk_stat_if_any, fingerprint, raw_table_ddl
from vob.landing import CHANNEL_NAMES, CHANNELS, CRM, EVENT_SOURCES, SOURCES
from vob.periods import Period
from vob.settings import DEFAULT_WAREHOUSE_MODE, Settings, memory_settings
from vob.text import sql_quote
from warehouse.dictionary import SCHEMA, apply_comments
from warehouse.writer_lock import holds_warehouse

# The command a damaged or lost working database names (docs/operations.md, "A run died"):
REBUILD_TAG = "vob/rebuild_command"  # run tag set by `vob run`: the rebuild command of its period
ANY_REBUILD = "vob rebuild --period <half-year> (or --month <month>)"  # a run without the tag

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
HALF_YEAR_SQL = Path(__file__).with_name("half_year.sql")
log = logging.getLogger(__name__)

LOCK_WAIT_SECONDS = 60.0
# The published file's storage format: DuckDB 1.4 LTS and every later client read it (WAREHOUSE.md,
# docs/serving.md). The working database stays on the newest format.
PUBLISHED_STORAGE_VERSION = "v1.4.0"


def connect(path: Path, read_only: bool = False, wait: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting a while if another process holds its lock."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as err:
            if "lock" not in str(err).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def open_work_db(settings: Settings, rebuild: str = ANY_REBUILD) -> duckdb.DuckDBPyConnection:
    """The working database, private, memory-capped, with its schema; WorkDatabaseDamaged (naming
    the command `rebuild`) when it is lost or does not open."""
    shared_dir(settings.warehouse_path.parent, settings)  # BI reads there; the default work dir is inside it
    private_dir(settings.work_dir, settings)  # DuckDB's WAL and spill files are created inside
    refuse_lost_work_db(settings, rebuild)
    try:
        con = connect(settings.work_db)
    except duckdb.Error as err:
        raise WorkDatabaseDamaged(damaged_sentence(settings, err, rebuild)) from None
    for path in (settings.work_db, Path(f"{settings.work_db}.wal")):  # pseudonymised personal data
        if path.exists():
            make_private(path, settings)
    bound_memory(con, settings)
    ensure_schema(con)
    return con


@dataclass
class StepDatabase:
    """A step's DuckDB connection and its file; `reopen` opens the file again after `released()`.
    The working file in the embedded mode, a step's own file in lake mode (warehouse/session.py)."""

    con: duckdb.DuckDBPyConnection
    path: Path
    reopen: Callable[[], duckdb.DuckDBPyConnection]
    snapshots: dict[str, list[int]] = field(default_factory=dict)  # lake mode: Iceberg snapshot ids read

    @contextmanager
    def released(self) -> Iterator[Path]:
        """The file with no connection of ours on it (Great Expectations opens it itself)."""
        self.con.close()
        try:
            yield self.path
        finally:
            self.con = self.reopen()


def bound_memory(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    for name, value in memory_settings(settings.work_dir, settings.duckdb_memory_limit).items():
        con.execute(f"SET {name} = {sql_quote(value)}")


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_SQL.read_text())
    for source in SOURCES.values():
        con.execute(raw_table_ddl(source))
    for source in (*EVENT_SOURCES, CRM):
        con.execute(
            f"CREATE TABLE IF NOT EXISTS staging.{source.name} AS "
            f"SELECT CAST(NULL AS DATE) AS month, * FROM raw.{source.name} LIMIT 0"
        )
    if not con.execute("SELECT count(*) FROM marts.dim_channel").fetchall()[0][0]:
        write_dim_channel(con)  # so that a publish always has it, even before the asset ran


def ensure_half_year_schema(con: duckdb.DuckDBPyConnection) -> None:
    """The registers' staging tables and the half-year marts, made by the first half-year asset."""
    con.execute(HALF_YEAR_SQL.read_text())


def write_dim_channel(con: duckdb.DuckDBPyConnection) -> None:
    with transaction(con):
        con.execute("DELETE FROM marts.dim_channel")
        con.executemany(
            "INSERT INTO marts.dim_channel VALUES (?, ?, ?, ?)",
            [(c, *CHANNEL_NAMES[c], i + 1) for i, c in enumerate(CHANNELS)],
        )


def published_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
            "AND database_name = current_database() ORDER BY table_name"
        ).fetchall()
    ]


def publish(settings: Settings, con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Copy the marts of the working database into a new file, then rename it into place.
    Returns the row count of each published table.

    The new file is written in PUBLISHED_STORAGE_VERSION, complete, checkpointed (no
    `.wal` beside it), described (`COMMENT ON`, warehouse/dictionary.py), readable as
    VOB_WAREHOUSE_MODE and VOB_BI_GROUP say (vob/files.py), and flushed to disk before the rename; the
    rename is atomic, so a reader opens either the old file or the new one. On
    any failure the temporary file is removed and the published file is left as
    it was.
    """
    target = settings.warehouse_path.absolute()
    shared_dir(target.parent, settings)
    _remove_stale_temp_files(target)
    staging_file = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con.execute(
            f"ATTACH {sql_quote(str(staging_file))} AS publish_target "
            f"(STORAGE_VERSION {sql_quote(PUBLISHED_STORAGE_VERSION)})"
        )
        try:
            con.execute(f"CREATE SCHEMA publish_target.{SCHEMA}")
            for table in published_tables(con):
                con.execute(f"CREATE TABLE publish_target.marts.{table} AS SELECT * FROM marts.{table}")
                counts[table] = con.execute(f"SELECT count(*) FROM publish_target.marts.{table}").fetchall()[0][0]
            undescribed = apply_comments(con, "publish_target")
            if undescribed:
                log.warning(
                    "published without a description (add them to warehouse/dictionary.py): %s", ", ".join(undescribed)
                )
            con.execute("CHECKPOINT publish_target")
        finally:
            con.execute("DETACH publish_target")
        leftover_wal = Path(f"{staging_file}.wal")
        if leftover_wal.exists():  # a checkpointed, detached file has none; never publish one half-written
            raise RuntimeError(f"publish: {leftover_wal} left after CHECKPOINT and DETACH")
        share_with_bi(staging_file, settings)  # VOB_WAREHOUSE_MODE (default 0640), group VOB_BI_GROUP
        _fsync(staging_file)
        os.replace(staging_file, target)  # atomic on one file system
        _fsync(target.parent)
    except BaseException:
        for leftover in (staging_file, Path(f"{staging_file}.wal")):
            leftover.unlink(missing_ok=True)
        raise
    return counts


def monthly_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The marts with a `month DATE` column: every monthly fact, figure_sources and dim_month."""
    dated = con.execute(
        "SELECT table_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = 'marts' AND column_name = 'month' AND data_type = 'DATE'"
    ).fetchall()
    return [table for table in published_tables(con) if (table,) in dated]


def withdraw_month(con: duckdb.DuckDBPyConnection, month: date, reason: str | None, user: str) -> dict[str, int]:
    """Delete the month's rows from every monthly mart of the working database, in one transaction,
    and log it in meta.withdrawals. Returns the rows deleted per table. Staging is left as it is:
    a later run of the month publishes it again if it has records of its own."""
    with transaction(con):
        removed = {
            table: con.execute(f"DELETE FROM marts.{table} WHERE month = $m", {"m": month}).fetchall()[0][0]
            for table in monthly_marts(con)
        }
        con.execute(
            "INSERT INTO meta.withdrawals VALUES ($m, $rows, $reason, $user, now())",
            {"m": month, "rows": json.dumps(removed), "reason": reason, "user": user},
        )
    return removed


DICTIONARY_FILE = Path(__file__).with_name("dictionary.py")  # the published comments come from it


def marts_fingerprint(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """What a publish would write, as one digest: every marts table's columns and rows (count,
    sum and XOR of whole-row hashes), the dictionary's text, the storage version and the file
    mode and group settings. Computed in DuckDB; the marts are small. Hex digits written g-p
    (vob/ingest.py scan_file: a plain hex digest can look like a phone number to a scan)."""
    digest = hashlib.sha256()
    mode = "" if settings.warehouse_mode == DEFAULT_WAREHOUSE_MODE else f"{settings.warehouse_mode:o}"
    for setting in (PUBLISHED_STORAGE_VERSION, mode, settings.bi_group or ""):
        digest.update(f"{setting};".encode())
    digest.update(DICTIONARY_FILE.read_bytes())
    for table in published_tables(con):
        columns = con.execute(
            "SELECT string_agg(column_name || ' ' || data_type, ',' ORDER BY column_index) FROM duckdb_columns() "
            "WHERE database_name = current_database() AND schema_name = 'marts' AND table_name = $t",
            {"t": table},
        ).fetchall()[0][0]
        rows = con.execute(
            f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0) "
            f"FROM marts.{table} AS t"
        ).fetchall()[0]
        digest.update(f"{table}({columns}):{rows};".encode())
    return fingerprint(digest)  # digits as g-p, like every digest stored


def published_unchanged(settings: Settings, con: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """The published file is the one the last publish wrote (same size, mtime, ctime, inode) and
    it was written from marts with this fingerprint."""
    target = settings.warehouse_path.absolute()
    rows = con.execute(
        "SELECT fingerprint, size_bytes, mtime_ns, ctime_ns, inode FROM meta.publications WHERE warehouse = $w",
        {"w": str(target)},
    ).fetchall()
    now = disk_stat_if_any(target)  # the landing files' stat; meta.publications keeps all but the device
    return bool(rows) and now is not None and rows[0] == (fingerprint, *now[:4])


def publish_if_changed(
    settings: Settings, con: duckdb.DuckDBPyConnection, run_id: str | None
) -> tuple[dict[str, int], bool]:
    """`publish`, unless the published file already holds these marts: then it is left as it is
    (a BI tool's open handle stays on the current file) and nothing is written. Returns the row
    count of each table and whether the file was written."""
    fingerprint = marts_fingerprint(con, settings)
    if published_unchanged(settings, con, fingerprint):
        _remove_stale_temp_files(settings.warehouse_path.absolute())  # of a publish killed earlier
        return {
            table: con.execute(f"SELECT count(*) FROM marts.{table}").fetchall()[0][0]
            for table in published_tables(con)
        }, False
    counts = publish(settings, con)
    target = settings.warehouse_path.absolute()
    size, mtime, ctime, inode = disk_stat(target)[:4]  # just written: it exists
    con.execute(
        "INSERT OR REPLACE INTO meta.publications VALUES ($w, $f, $size, $mtime, $ctime, $inode, $run, now())",
        {
            "w": str(target),
            "f": fingerprint,
            "run": run_id,
            "size": size,
            "mtime": mtime,
            "ctime": ctime,
            "inode": inode,
        },
    )
    return counts, True


STALE_TEMP_SECONDS = 3600.0


def _remove_stale_temp_files(target: Path) -> None:
    """Temporary files of publishes that were killed (no `except` runs on SIGKILL or power loss).
    All of them when this process holds the warehouse's writer lock (no other publish can be under
    way); otherwise only old ones: a publish takes seconds, and another one may be under way."""
    now = time.time()
    max_age = 0.0 if holds_warehouse(target) else STALE_TEMP_SECONDS
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        try:
            if now - leftover.stat().st_mtime >= max_age:
                leftover.unlink()
        except FileNotFoundError:
            pass


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- a lost or damaged working database (docs/operations.md, "A run died") ---

DAMAGE_MARKERS = (
    "not a valid DuckDB database",
    "Corrupt database file",
    "Could not read enough bytes",
    "truncated",
    "checksum",
)


class WorkDatabaseDamaged(RuntimeError):
    """The working database is missing or unreadable; the message is one sentence naming the fix."""


def rebuild_command(period: Period) -> str:
    """The command that rebuilds the working database for `period` (named when it is damaged or lost)."""
    return f"vob rebuild --{'period' if period.is_half_year else 'month'} {period.key}"


def damaged_sentence(settings: Settings, cause: object, rebuild: str = ANY_REBUILD) -> str:
    first_line = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
    return (
        f"The working database {settings.work_db} is damaged ({first_line}); the published warehouse "
        f"is untouched: rebuild it from the landing zone with `{rebuild}`."
    )


def is_damage(error: BaseException | str) -> bool:
    text = str(error)
    return any(marker in text for marker in DAMAGE_MARKERS)


def refuse_lost_work_db(settings: Settings, rebuild: str = ANY_REBUILD) -> None:
    """A missing working database is a first run, unless a warehouse was published from one:
    then it was lost, and building a new one from a single month would publish that month alone.
    In lake mode there is no working file: the working tables are in the Iceberg catalog."""
    if settings.lake:
        return
    if not settings.work_db.exists() and settings.warehouse_path.exists():
        raise WorkDatabaseDamaged(
            f"The working database {settings.work_db} is lost (the published warehouse "
            f"{settings.warehouse_path} was built from it and is untouched): rebuild it from the landing "
            f"zone with `{rebuild}`."
        )


def check_work_db(settings: Settings, rebuild: str = ANY_REBUILD) -> None:
    """Before a run: the working database is there (or this is a first run), opens, and is long enough
    for the last block its tables use (a truncated file opens, and fails only when a lost block is read;
    the file's own block count is no measure: a file may end before its free blocks, after a crash too).
    A file whose blocks are garbage is found when a step reads them (`is_damage`)."""
    refuse_lost_work_db(settings, rebuild)
    if settings.lake or not settings.work_db.exists():
        return
    try:
        con = connect(settings.work_db, read_only=True)
        try:
            needed = bytes_used(con)
        finally:
            con.close()
    except duckdb.Error as err:
        if "lock" in str(err).lower() and not is_damage(err):
            return  # a run of the daemon is writing it: it opens
        raise WorkDatabaseDamaged(damaged_sentence(settings, err, rebuild)) from None
    size = settings.work_db.stat().st_size
    if size < needed:
        raise WorkDatabaseDamaged(
            damaged_sentence(settings, f"truncated: {size:,} bytes, its tables need {needed:,}", rebuild)
        )


def bytes_used(con: duckdb.DuckDBPyConnection) -> int:
    """The file length the tables' stored segments need (from their block ids: metadata only, no data read)."""
    block_size = con.execute(
        "SELECT block_size FROM pragma_database_size() WHERE database_name = current_database()"
    ).fetchall()[0][0]
    last = -1
    for schema, table in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall():
        used = con.execute(
            f"SELECT max(block_id) FROM pragma_storage_info({sql_quote(f'{schema}.{table}')}) WHERE persistent"
        ).fetchall()[0][0]
        last = max(last, used if used is not None else -1)
    return DUCKDB_HEADER_BYTES + (last + 1) * block_size


DUCKDB_HEADER_BYTES = 3 * 4096  # the main header and two database headers before the first block


def new_work_db(settings: Settings) -> None:
    """Create an empty working database (`vob rebuild`, after `discard_work_db`)."""
    private_dir(settings.work_dir, settings)
    con = connect(settings.work_db)
    try:
        ensure_schema(con)
    finally:
        con.close()


def discard_work_db(settings: Settings) -> list[Path]:
    """Delete the working database and its WAL (they hold pseudonymised personal data: no copy is kept)."""
    removed = []
    for path in (settings.work_db, Path(f"{settings.work_db}.wal")):
        if path.exists():
            path.unlink()
            removed.append(path)
    return removed


def published_periods(settings: Settings) -> tuple[list[str], list[str]]:
    """The months (YYYY-MM) and half-years (YYYY-Hn) the published warehouse holds."""
    if not settings.warehouse_path.exists():
        return [], []
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        tables = set(published_tables(con))
        months = sorted(
            {
                row[0]
                for table in ("fct_channel_monthly", "fct_tickets_monthly")
                if table in tables
                for row in con.execute(f"SELECT DISTINCT strftime(month, '%Y-%m') FROM marts.{table}").fetchall()
            }
        )
        halves = (
            sorted(row[0] for row in con.execute("SELECT DISTINCT period FROM marts.fct_vob_half_year").fetchall())
            if "fct_vob_half_year" in tables
            else []
        )
    finally:
        con.close()
    return months, halves
