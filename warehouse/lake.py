"""The Iceberg store (docs/scale-out.md, "The Iceberg store"): the working tables and the marts as
Iceberg tables in pyiceberg's SQL catalog `vob`, when VOB_ICEBERG_CATALOG_URI is set.

A step works in a private, memory-capped DuckDB file of its own (`lake_session`): it is filled
from the lake with the rows of the step's `Scope` (its months, its half-year, or the whole store
for a few named tables), the library's SQL runs on it unchanged, and every table the step changed
is written back with a scope-limited overwrite, one Iceberg commit per table, retried with a
bounded back-off when another process committed first. Then one commit of `meta.lake_commits`
records, per part (a month `YYYY-MM`, a half-year `YYYY-Hn`, or `*` for a whole table) and table,
the snapshot that holds the part as this step left it. Readers (the next step, the publish) read
each part of a table at the snapshot recorded for it, so a step that dies between its table
commits leaves nothing visible: its parts are read as its last complete commit left them.

Partitions: a table with a `period` column by it; one with a `month DATE` column by it; the
tables whose rows belong to the files a month read (raw.*, meta.landing_files,
meta.landing_file_stats, quality.rejected_rows) by a derived column `vob_part`, the part that read
them: each month keeps its own copy of the files it read, so two months never write the same rows.
WHOLE_TABLES are rewritten whole.
"""

from __future__ import annotations

import fcntl
import logging
import random
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.exceptions import CommitFailedException, NoSuchTableError, TableAlreadyExistsError
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, In, Or
from pyiceberg.table import DataScan, Table
from sqlalchemy.exc import DatabaseError

from vob.base.files import make_private, private_dir
from vob.base.periods import months_of_half
from vob.base.settings import Settings
from warehouse.store import StepDatabase, bound_memory, connect, ensure_half_year_schema, ensure_schema

log = logging.getLogger(__name__)

CATALOG_NAME = "vob"
NAMESPACES = ("raw", "staging", "quality", "meta", "marts")
PART = "vob_part"  # the derived partition column of the tables a month's files fill
WHOLE = "*"  # the part of a table rewritten whole
COMMITS = "meta.lake_commits"  # part, table, snapshot: what readers read (module docstring)
PARTS_PROPERTY = "vob.parts"  # in each snapshot's summary: the parts its commit wrote
RUN_PROPERTY = "vob.run"
WHOLE_TABLES = frozenset(
    {"marts.dim_channel", "marts.dim_month", "marts.fct_ticket_backlog", "marts.dim_dimension", "meta.publications"}
)
HALF_YEAR_MARKER = "marts.fct_vob_half_year"  # in the lake once a half-year step ran: the temp db gets half_year.sql
COMMIT_ATTEMPTS = 12
COMMIT_BACKOFF_SECONDS = (0.05, 2.0)  # first wait, longest wait (doubling, with jitter)


class LakeScopeError(RuntimeError):
    """A step changed a table outside what its scope may write (a programming error)."""


@dataclass(frozen=True)
class Scope:
    """What a step reads from the lake and may write back.

    `months`: the month-keyed tables' rows of these months and, for a single month, the rows of the
    files it read (`vob_part`); `period`: the half-year's rows; neither: the whole store (every part),
    where only WHOLE_TABLES may be written. `tables` limits what is read ("ns.table" or "ns"; None: all).
    `read_months` adds rows of other months, read only, for the month-keyed tables in `read_tables`;
    `history` adds the latest N committed months before the first of `months` the same way."""

    months: tuple[date, ...] = ()
    period: str | None = None
    tables: frozenset[str] | None = None
    read_months: tuple[date, ...] = ()
    history: int = 0
    read_tables: frozenset[str] = frozenset()

    @property
    def whole(self) -> bool:
        return not self.months and self.period is None

    def parts(self) -> list[str]:
        """The parts this scope writes (and locks)."""
        if self.whole:
            return [WHOLE]
        return sorted({month_part(m) for m in self.months} | ({self.period} if self.period else set()))

    def reads(self, table: str) -> bool:
        return self.tables is None or _listed(table, self.tables)


def _listed(table: str, names: frozenset[str]) -> bool:
    return table in names or table.split(".")[0] in names


def month_scope(
    *months: date, tables: tuple[str, ...] | None = None, history: int = 0, read_tables: tuple[str, ...] = ()
) -> Scope:
    return Scope(
        months=tuple(sorted(months)),
        tables=None if tables is None else frozenset(tables),
        history=history,
        read_tables=frozenset(read_tables),
    )


def half_year_scope(period: str) -> Scope:
    """A half-year's registers and marts; the CRM staging of its six months, read only."""
    months = tuple(date.fromisoformat(f"{m}-01") for m in months_of_half(period))
    return Scope(period=period, read_months=months, read_tables=frozenset({"staging.crm"}))


def whole_scope(*tables: str) -> Scope:
    return Scope(tables=frozenset(tables))


def month_part(month: date) -> str:
    return f"{month:%Y-%m}"


# ---------------------------------------------------------------- the catalog


def open_catalog(settings: Settings) -> SqlCatalog:
    """pyiceberg's SQL catalog `vob` on VOB_ICEBERG_CATALOG_URI, its files under VOB_ICEBERG_WAREHOUSE,
    the object store's settings as FileIO properties."""
    if not settings.iceberg_catalog_uri or not settings.iceberg_warehouse:
        raise ValueError("the Iceberg store needs VOB_ICEBERG_CATALOG_URI and VOB_ICEBERG_WAREHOUSE")
    properties = {
        "s3.endpoint": settings.s3_endpoint,
        "s3.access-key-id": settings.s3_access_key_id,
        "s3.secret-access-key": settings.s3_secret_access_key,
        "s3.region": settings.s3_region,
    }
    for attempt in range(COMMIT_ATTEMPTS):
        try:
            return SqlCatalog(
                CATALOG_NAME,
                uri=settings.iceberg_catalog_uri,
                warehouse=settings.iceberg_warehouse,
                **{k: v for k, v in properties.items() if v},
            )
        except DatabaseError as err:  # two processes making the catalog's own tables at the same moment
            if "already exists" not in str(err) or attempt == COMMIT_ATTEMPTS - 1:
                raise
            time.sleep(COMMIT_BACKOFF_SECONDS[0] * (1 + random.random()))
    raise AssertionError("unreachable")


def key_column(table: str, columns: dict[str, str]) -> str | None:
    """The column a table's parts are told by (and partitioned by): None for a whole table."""
    if table in WHOLE_TABLES:
        return None
    if "period" in columns:
        return "period"
    if columns.get("month") == "DATE":
        return "month"
    return PART


def file_key(columns: dict[str, str]) -> list[str]:
    """The columns that name a landing file in a `vob_part` table (rows of one file, one part each)."""
    return [c for c in ("source", "path" if "path" in columns else "file") if c in columns]


def lake_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """DuckDB's Arrow types as Iceberg takes them: unsigned integers as int64, timestamps in µs (UTC)."""
    fields = []
    for f in schema:
        kind = f.type
        if pa.types.is_unsigned_integer(kind):
            kind = pa.int64()
        elif pa.types.is_timestamp(kind):
            kind = pa.timestamp("us", tz="UTC" if kind.tz else None)
        elif pa.types.is_large_string(kind):
            kind = pa.string()
        fields.append(pa.field(f.name, kind))
    return pa.schema(fields)


def retried(action: Callable[[], Any], what: str) -> Any:
    """`action` again after CommitFailedException (another process committed first), with a doubling,
    jittered wait, COMMIT_ATTEMPTS times at most."""
    wait, longest = COMMIT_BACKOFF_SECONDS
    for attempt in range(1, COMMIT_ATTEMPTS + 1):
        try:
            return action()
        except CommitFailedException:
            if attempt == COMMIT_ATTEMPTS:
                raise
            log.info("%s: a concurrent commit came first, retrying (attempt %d)", what, attempt + 1)
            time.sleep(wait * (1 + random.random()))
            wait = min(wait * 2, longest)


def ensure_table(catalog: Catalog, table: str, schema: pa.Schema, key: str | None) -> Table:
    """The lake table, created with its partition spec in one commit if it is not there yet. Two
    processes may create it at the same moment: the one that loses finds it made (the SQL catalog
    says so with an integrity error or a failed commit) and loads it."""
    namespace = table.split(".")[0]
    try:
        catalog.create_namespace_if_not_exists(namespace)
    except Exception:
        if not catalog.namespace_exists(namespace):
            raise
    try:
        return with_columns(catalog, catalog.load_table(table), schema)
    except NoSuchTableError:
        pass
    try:
        with catalog.create_table_transaction(table, schema=schema) as create:
            if key is not None:
                with create.update_spec() as spec:
                    spec.add_identity(key)
    except (TableAlreadyExistsError, CommitFailedException):
        if not catalog.table_exists(table):
            raise
    return catalog.load_table(table)


def with_columns(catalog: Catalog, lake: Table, schema: pa.Schema) -> Table:
    """The lake table with every column of `schema` (warehouse/schema.sql gained one: added, by name,
    retried like any commit); rows written before have it empty."""
    if set(schema.names) <= set(lake.schema().column_names):
        return lake

    def evolve() -> Table:
        current = catalog.load_table(".".join(lake.name()))
        if not set(schema.names) <= set(current.schema().column_names):
            with current.update_schema() as update:
                update.union_by_name(schema)
        return catalog.load_table(".".join(lake.name()))

    return retried(evolve, f"{'.'.join(lake.name())} schema")


def load_if_any(catalog: Catalog, table: str) -> Table | None:
    try:
        return catalog.load_table(table)
    except NoSuchTableError:
        return None


def read_commits(catalog: Catalog) -> dict[tuple[str, str], int]:
    """(part, table) -> the snapshot id that holds that part as its last complete step left it."""
    commits = load_if_any(catalog, COMMITS)
    if commits is None:
        return {}
    rows = commits.scan(selected_fields=("part", "table_name", "snapshot_id")).to_arrow().to_pylist()
    return {(r["part"], r["table_name"]): r["snapshot_id"] for r in rows}


COMMITS_SCHEMA = pa.schema(
    [
        pa.field("part", pa.string()),
        pa.field("table_name", pa.string()),
        pa.field("snapshot_id", pa.int64()),
        pa.field("run_id", pa.string()),
        pa.field("committed_at", pa.timestamp("us", tz="UTC")),
    ]
)


def _overwrite(lake: Table, rows: pa.Table, where: BooleanExpression, properties: dict[str, str]) -> None:
    with warnings.catch_warnings():  # a part written for the first time: nothing to delete, as expected
        warnings.filterwarnings("ignore", "Delete operation did not match any records")
        lake.overwrite(rows, overwrite_filter=where, snapshot_properties=properties)


def record_commits(catalog: Catalog, written: dict[str, tuple[list[str], int]], run_id: str | None) -> None:
    """One commit of meta.lake_commits: for each written table, its parts now read at its new snapshot."""
    if not written:
        return
    now = datetime.now(UTC)
    rows = pa.Table.from_pylist(
        [
            {"part": p, "table_name": t, "snapshot_id": s, "run_id": run_id, "committed_at": now}
            for t, (parts, s) in written.items()
            for p in parts
        ],
        schema=COMMITS_SCHEMA,
    )
    clauses = [both(equal("table_name", t), one_of("part", parts)) for t, (parts, _) in written.items()]
    stale = clauses[0] if len(clauses) == 1 else either(*clauses)
    ensure_table(catalog, COMMITS, COMMITS_SCHEMA, None)

    def commit() -> None:
        _overwrite(catalog.load_table(COMMITS), rows, stale, {RUN_PROPERTY: run_id or ""})

    retried(commit, COMMITS)


# ---------------------------------------------------------------- reading a part at its snapshot


# pyiceberg's expressions, typed (pyright reads their constructors as taking no positional argument)
def equal(column: str, value: str) -> BooleanExpression:
    return EqualTo(column, value)  # pyright: ignore[reportCallIssue]


def one_of(column: str, values: list[str]) -> BooleanExpression:
    return In(column, values)  # pyright: ignore[reportCallIssue]


def both(left: BooleanExpression, right: BooleanExpression) -> BooleanExpression:
    return And(left, right)  # pyright: ignore[reportCallIssue]


def either(*clauses: BooleanExpression) -> BooleanExpression:
    return Or(*clauses)  # pyright: ignore[reportCallIssue]


def _filter_value(key: str, part: str) -> str:
    return f"{part}-01" if key == "month" else part


def _parts_of(snapshot) -> set[str]:
    summary = snapshot.summary
    text = summary.get(PARTS_PROPERTY) if summary is not None else None
    return set(text.split(",")) if text else set()


def read_plan(table: Table, pins: dict[str, int]) -> list[tuple[int, list[str]]]:
    """The scans that read each pinned part at its snapshot: the parts that no later, unrecorded
    commit touched in one scan at the newest pin, each other part at its own pin."""
    if not pins:
        return []
    snapshots = {s.snapshot_id: s for s in table.metadata.snapshots}
    sequence = {sid: snapshots[sid].sequence_number or 0 for sid in pins.values()}
    newest = max(pins.values(), key=lambda sid: sequence[sid])
    dirty = set()
    for snapshot in table.metadata.snapshots:
        number = snapshot.sequence_number or 0
        for part in _parts_of(snapshot) & pins.keys():
            if sequence[pins[part]] < number <= sequence[newest]:
                dirty.add(part)  # written after its recorded snapshot by a step that did not finish
    plan: dict[int, list[str]] = {}
    for part, sid in sorted(pins.items()):
        plan.setdefault(sid if part in dirty else newest, []).append(part)
    return sorted(plan.items())


# ---------------------------------------------------------------- the step's DuckDB


@dataclass
class TableState:
    key: str | None
    columns: dict[str, str]
    fingerprint: tuple
    read: bool = False


def _connect(path: Path, settings: Settings) -> duckdb.DuckDBPyConnection:
    con = connect(path)
    make_private(path, settings)
    bound_memory(con, settings)
    return con


def work_tables(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    rows = con.execute(
        "SELECT schema_name || '.' || table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name IN (SELECT unnest($ns)) "
        "ORDER BY schema_name, table_name, column_index",
        {"ns": list(NAMESPACES)},
    ).fetchall()
    tables: dict[str, dict[str, str]] = {}
    for table, column, kind in rows:
        tables.setdefault(table, {})[column] = kind
    return tables


def table_fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple:
    return con.execute(
        f"SELECT count(*), coalesce(sum(hash(t)::HUGEINT), 0), coalesce(bit_xor(hash(t)), 0) FROM {table} AS t"
    ).fetchall()[0]


def _committed_months(commits: dict[tuple[str, str], int], table: str) -> list[str]:
    return sorted(p for (p, t) in commits if t == table and p != WHOLE and "-H" not in p)


def parts_to_read(scope: Scope, table: str, key: str | None, commits: dict[tuple[str, str], int]) -> list[str]:
    """The parts of `table` the step reads (each at its recorded snapshot)."""
    recorded = sorted(p for (p, t) in commits if t == table)
    if key is None:
        return recorded
    if scope.whole:
        return recorded
    wanted: set[str] = set()
    if key == "period":
        wanted = {scope.period} if scope.period else set()
    elif key == "month":
        wanted = {month_part(m) for m in scope.months}
        if _listed(table, scope.read_tables):
            wanted |= {month_part(m) for m in scope.read_months}
            if scope.history and scope.months:
                first = month_part(scope.months[0])
                wanted |= set([p for p in _committed_months(commits, table) if p < first][-scope.history :])
    else:  # vob_part: the files this scope's own parts read
        wanted = set(scope.parts())
    return [p for p in recorded if p in wanted]


def pinned_scans(lake: Table, key: str | None, pins: dict[str, int]) -> Iterator[tuple[int, DataScan]]:
    """Each snapshot of the read plan with the scan of its parts at it (every row of a table without a key):
    what a step fills its DuckDB with and what the lake's readers see."""
    for snapshot_id, parts in read_plan(lake, pins):
        row_filter = AlwaysTrue() if key is None else one_of(key, [_filter_value(key, p) for p in parts])
        yield snapshot_id, lake.scan(row_filter=row_filter, snapshot_id=snapshot_id)


def hydrate(con: duckdb.DuckDBPyConnection, lake: Table, table: str, state: TableState, pins: dict[str, int]) -> list:
    """Replace the DuckDB table's rows with the lake's rows of the pinned parts."""
    con.execute(f"DELETE FROM {table}")
    snapshots = []
    names = ", ".join(f'"{c}"' for c in state.columns)
    for i, (snapshot_id, scan) in enumerate(pinned_scans(lake, state.key, pins)):
        snapshots.append(snapshot_id)
        reader = scan.to_arrow_batch_reader()
        con.register("lake_rows", reader)
        try:
            into = "lake_scan" if state.key == PART else table
            if state.key == PART and i == 0:
                con.execute("CREATE OR REPLACE TEMP TABLE lake_scan AS SELECT * FROM lake_rows")
            else:
                con.execute(f"INSERT INTO {into} BY NAME SELECT {'*' if into == 'lake_scan' else names} FROM lake_rows")
        finally:
            con.unregister("lake_rows")
    if state.key == PART and snapshots:
        # A file read by several months is in each month's part: the latest month's copy, once.
        keys = ", ".join(file_key(state.columns))
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT {names} FROM lake_scan "
            f"QUALIFY {PART} = max({PART}) OVER (PARTITION BY {keys})"
        )
        con.execute("DROP TABLE lake_scan")
    return snapshots


def _writable_rows(scope: Scope, table: str, state: TableState) -> tuple[str, BooleanExpression, list[str]]:
    """The SELECT of the rows a step writes back, the overwrite filter and the parts it records."""
    key = state.key
    if key is None:
        if not scope.whole:
            raise LakeScopeError(f"{table} is rewritten whole: only a whole-store step may change it")
        return f"SELECT * FROM {table}", AlwaysTrue(), [WHOLE]
    if scope.whole:
        raise LakeScopeError(f"a whole-store step changed {table}, which is kept by month or half-year")
    if key == "period":
        if scope.period is None:
            raise LakeScopeError(f"{table} is kept by half-year: a month's step may not change it")
        where = f"period = '{scope.period}'"
        return f"SELECT * FROM {table} WHERE {where}", equal("period", scope.period), [scope.period]
    if key == "month":
        if not scope.months:
            raise LakeScopeError(f"{table} is kept by month: a half-year's step may not change it")
        parts = [month_part(m) for m in scope.months]
        listed = ", ".join(f"DATE '{m}'" for m in scope.months)
        return (
            f"SELECT * FROM {table} WHERE month IN ({listed})",
            one_of("month", [f"{m}" for m in scope.months]),
            parts,
        )
    parts = scope.parts()
    if len(parts) != 1:
        raise LakeScopeError(f"{table} keeps each month's files apart: write it one month at a time")
    return f"SELECT *, '{parts[0]}' AS {PART} FROM {table}", equal(PART, parts[0]), parts


def overwrite_part(
    catalog: Catalog, table: str, rows: pa.Table, where: BooleanExpression, properties: dict[str, str]
) -> int | None:
    """One commit: the rows matching `where` replaced by `rows`; the new snapshot's id."""
    lake = catalog.load_table(table)
    _overwrite(lake, rows, where, properties)
    snapshot = lake.current_snapshot()  # ours: the table object holds what its own commit made
    return snapshot.snapshot_id if snapshot is not None else None


def write_back(
    con: duckdb.DuckDBPyConnection,
    catalog: Catalog,
    scope: Scope,
    states: dict[str, TableState],
    run_id: str | None,
    after_table: Callable[[str], None] | None = None,
) -> dict[str, tuple[list[str], int]]:
    """Every table the step changed, one retried commit each; then their parts recorded in one commit."""
    written: dict[str, tuple[list[str], int]] = {}
    for table, columns in work_tables(con).items():  # tables the step created (half_year.sql) start empty
        if table not in states:
            states[table] = TableState(key_column(table, columns), columns, (0, 0, 0), scope.reads(table))
    for table, state in states.items():
        if table_fingerprint(con, table) == state.fingerprint:
            continue
        if not state.read:
            raise LakeScopeError(f"the step changed {table}, which its scope did not read")
        select, overwrite_filter, parts = _writable_rows(scope, table, state)
        rows = con.sql(select).to_arrow_table()
        schema = lake_arrow_schema(rows.schema)
        rows = rows.cast(schema)
        ensure_table(catalog, table, schema, state.key)
        properties = {PARTS_PROPERTY: ",".join(parts), RUN_PROPERTY: run_id or ""}

        snapshot_id = retried(partial(overwrite_part, catalog, table, rows, overwrite_filter, properties), table)
        if snapshot_id is not None:  # None: a new table left empty, no snapshot; readers find no part
            written[table] = (parts, snapshot_id)
        if after_table is not None:
            after_table(table)
    record_commits(catalog, written, run_id)
    return written


# ---------------------------------------------------------------- locks per part


@contextmanager
def part_locks(settings: Settings, parts: list[str]) -> Iterator[None]:
    """Exclusive per part, across processes: PostgreSQL advisory locks on a PostgreSQL catalog
    (released when the connection ends, a killed worker's too), file locks beside a SQLite catalog
    (released when the process ends). Taken in sorted order, so two steps never wait on each other."""
    from sqlalchemy import create_engine, make_url, text
    from sqlalchemy.pool import NullPool

    uri = settings.iceberg_catalog_uri or ""
    url = make_url(uri)
    with ExitStack() as stack:
        if url.get_backend_name() == "postgresql":
            engine = create_engine(url, poolclass=NullPool)
            stack.callback(engine.dispose)
            connection = stack.enter_context(engine.connect())
            for part in sorted(parts):
                connection.execute(text("SELECT pg_advisory_lock(hashtext(:k))"), {"k": f"vob_lake:{part}"})
        else:
            folder = (
                Path(f"{url.database}.locks")
                if url.get_backend_name() == "sqlite" and url.database
                else settings.work_dir / "lake_locks"
            )
            folder.mkdir(parents=True, exist_ok=True)
            for part in sorted(parts):
                handle = stack.enter_context(open(folder / f"{part.replace('*', 'all')}.lock", "a"))
                fcntl.flock(handle, fcntl.LOCK_EX)  # released when closed
        yield


# ---------------------------------------------------------------- the session


@contextmanager
def lake_session(
    settings: Settings,
    scope: Scope,
    run_id: str | None = None,
    after_table: Callable[[str], None] | None = None,
) -> Iterator[StepDatabase]:
    """A step's DuckDB, filled from the lake with what `scope` reads; when the block ends without an
    error, every table it changed is written back and recorded (module docstring). On an error nothing
    is written. `after_table` is called after each table's commit (tests stop a step there)."""
    catalog = open_catalog(settings)
    with part_locks(settings, scope.parts()):
        folder = Path(tempfile.mkdtemp(prefix="lake-step-", dir=private_dir(settings.work_dir, settings)))
        path = folder / "step.duckdb"
        session = StepDatabase(_connect(path, settings), path, partial(_connect, path, settings))
        try:
            states = _fill(session, catalog, scope)
            yield session
            write_back(session.con, catalog, scope, states, run_id, after_table)
        finally:
            session.con.close()
            shutil.rmtree(folder, ignore_errors=True)
            catalog.engine.dispose()  # no pooled catalog connections outlive the step


def _fill(session: StepDatabase, catalog: Catalog, scope: Scope) -> dict[str, TableState]:
    con = session.con
    ensure_schema(con)
    if scope.period is not None or catalog.table_exists(HALF_YEAR_MARKER):
        ensure_half_year_schema(con)
    commits = read_commits(catalog)
    states = {}
    for table, columns in work_tables(con).items():
        state = TableState(key_column(table, columns), columns, ())
        lake = load_if_any(catalog, table) if scope.reads(table) else None
        if lake is not None:
            parts = parts_to_read(scope, table, state.key, commits)
            session.snapshots[table] = hydrate(con, lake, table, state, {p: commits[(p, table)] for p in parts})
        state.read = scope.reads(table)
        state.fingerprint = table_fingerprint(con, table)
        states[table] = state
    return states


def lake_tables(catalog: Catalog) -> list[str]:
    """Every table of the store's namespaces in the catalog, as ns.table."""
    found = []
    for namespace in NAMESPACES:
        if catalog.namespace_exists(namespace):
            found += [".".join(identifier) for identifier in catalog.list_tables(namespace)]
    return sorted(found)


def read_marts(settings: Settings, table: str) -> pa.Table:
    """A marts table as the lake's readers see it: each part at its recorded snapshot (tests, tools)."""
    catalog = open_catalog(settings)
    commits = read_commits(catalog)
    lake = catalog.load_table(table)
    schema = lake.schema()
    arrow = schema.as_arrow()
    key = key_column(table, {f.name: "DATE" if pa.types.is_date(f.type) else "" for f in arrow})
    pins = {p: sid for (p, t), sid in commits.items() if t == table}
    parts = [scan.to_arrow() for _, scan in pinned_scans(lake, key, pins)]
    return pa.concat_tables(parts) if parts else arrow.empty_table()
