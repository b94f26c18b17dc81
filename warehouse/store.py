"""The working database and the published warehouse.

Runs write to a working DuckDB file (`<work_dir>/work.duckdb`). Publishing
copies the marts into a brand-new DuckDB file and moves it over
`VOB_WAREHOUSE` with an atomic rename: a BI tool that holds the old file open
read-only keeps a whole, consistent view and never blocks a run; it sees the
new data when it reopens.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

import duckdb

from assets.ingest import raw_table_ddl
from assets.landing import CRM, EVENT_SOURCES, SOURCES
from pipelines.config import Settings
from warehouse.dictionary import SCHEMA, apply_comments, sql_quote

SCHEMA_SQL = Path(__file__).with_name("schema.sql")
log = logging.getLogger(__name__)

CHANNEL_NAMES = (
    # channel, Arabic name (as in the seed report), English name
    ("calls", "الاتصال (المكالمات)", "Calls"),
    ("email", "الاتصال (البريد الإلكتروني)", "E-mail"),
    ("chat", "الاتصال (المحادثة المباشرة)", "Live chat"),
    ("x", "منصة X", "X (Twitter)"),
    ("sms", "رسائل SMS", "SMS"),
    ("self_service", "الخدمة الذاتية", "Self-service"),
)

LOCK_WAIT_SECONDS = 60.0
MEMORY_LIMIT_ENV = "VOB_DUCKDB_MEMORY_LIMIT"  # e.g. 2GB: the working database's DuckDB memory limit
DEFAULT_MEMORY_LIMIT = "1GB"
SPILL_DIR = "duckdb_spill"  # under the working directory


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


def open_work_db(settings: Settings) -> duckdb.DuckDBPyConnection:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    con = connect(settings.work_db)
    bound_memory(con, settings.work_dir)
    ensure_schema(con)
    return con


def bound_memory(con: duckdb.DuckDBPyConnection, work_dir: Path) -> None:
    """DuckDB's memory capped by default, spilling to a folder of the working directory
    above it (docs/benchmarks.md): a run's memory does not grow with the files' size."""
    limit = os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT
    con.execute(f"SET memory_limit = {sql_quote(limit)}")
    con.execute(f"SET temp_directory = {sql_quote(str(work_dir / SPILL_DIR))}")


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


def write_dim_channel(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM marts.dim_channel")
    con.executemany(
        "INSERT INTO marts.dim_channel VALUES (?, ?, ?, ?)",
        [(c, ar, en, i + 1) for i, (c, ar, en) in enumerate(CHANNEL_NAMES)],
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

    The new file is complete, checkpointed (no `.wal` beside it), described
    (`COMMENT ON`, warehouse/dictionary.py), readable by the owner's group and
    others like the file it replaces, and flushed to disk before the rename; the
    rename is atomic, so a reader opens either the old file or the new one. On
    any failure the temporary file is removed and the published file is left as
    it was.
    """
    target = settings.warehouse_path.absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temp_files(target)
    staging_file = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    counts: dict[str, int] = {}
    try:
        con.execute(f"ATTACH {sql_quote(str(staging_file))} AS publish_target")
        try:
            con.execute(f"CREATE SCHEMA publish_target.{SCHEMA}")
            for table in published_tables(con):
                con.execute(f"CREATE TABLE publish_target.marts.{table} AS SELECT * FROM marts.{table}")
                counts[table] = con.execute(f"SELECT count(*) FROM publish_target.marts.{table}").fetchall()[0][0]
            undescribed = apply_comments(con, "publish_target")
            if undescribed:
                log.warning("published without a description (add them to warehouse/dictionary.py): %s",
                            ", ".join(undescribed))
            con.execute("CHECKPOINT publish_target")
        finally:
            con.execute("DETACH publish_target")
        leftover_wal = Path(f"{staging_file}.wal")
        if leftover_wal.exists():  # a checkpointed, detached file has none; never publish one half-written
            raise RuntimeError(f"publish: {leftover_wal} left after CHECKPOINT and DETACH")
        _match_mode(staging_file, target)
        _fsync(staging_file)
        os.replace(staging_file, target)  # atomic on one file system
        _fsync(target.parent)
    except BaseException:
        for leftover in (staging_file, Path(f"{staging_file}.wal")):
            leftover.unlink(missing_ok=True)
        raise
    return counts


STALE_TEMP_SECONDS = 3600.0


def _remove_stale_temp_files(target: Path) -> None:
    """Temporary files of publishes that were killed (no `except` runs on SIGKILL or power loss).
    Only old ones: a publish takes seconds, and another one may be under way."""
    now = time.time()
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        try:
            if now - leftover.stat().st_mtime > STALE_TEMP_SECONDS:
                leftover.unlink()
        except FileNotFoundError:
            pass


def _match_mode(new: Path, old: Path) -> None:
    """The new file gets the permissions of the one it replaces (BI service accounts keep
    read access), or at least owner read-write and group/other read."""
    mode = (old.stat().st_mode & 0o777) if old.exists() else 0o644
    os.chmod(new, mode | 0o600)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
