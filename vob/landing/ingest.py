"""Read landing files into the working database, keeping every rejected row.

A file is read once per content: its SHA-256 is kept in `meta.landing_files`,
and a file whose content is unchanged is not parsed again. A file whose size,
mtime, ctime and inode are those it had when it was last fingerprinted
(`meta.landing_file_stats`) is not even hashed again. A re-delivered file
(same path, new content) replaces all rows the earlier content gave, in
`raw.<source>` and in `quality.rejected_rows`.

Every file is accounted for: rows read = rows loaded + rows rejected. A row is
a non-blank line (after the header, for CSV), numbered by its physical line in
the file (1 = the header). Records are one per line; a quoted CSV field cannot
span lines (the contract's sources have none), so a broken line never swallows
its neighbours.

DuckDB reads the files; Python only streams each file once for its fingerprint,
its first line and its number of lines, and never holds a whole file:

- The fast path (`insert_fast`): one `INSERT ... SELECT` per header shape (CSV)
  or per group (JSON Lines), straight from one DuckDB read of all its files into
  raw.<source>, valid rows only, no reasons computed. CSV timestamps are typed by
  the reader (`TIMESTAMP` with a required offset), JSON Lines keys read as text.
  A file all of whose data lines became valid rows, numbered from its first data
  line to its last, is done; the others are read line by line.
- Line by line (`read_lines`): `read_csv` with one VARCHAR column per line (no
  quote, NUL as delimiter), its rejects giving the lines that are not UTF-8. A
  file whose lines do not add up (mixed line endings) is streamed by Python into
  a temporary table, one batch of lines at a time (`stream_lines`). The lines are
  then split and checked in SQL (`line_sql`, `validate_sql`): CSV fields by a
  regular expression, JSON with DuckDB's JSON functions; every rejected line gets
  its reason. The daily counts (a few hundred rows a file) always go this way.

Personal data is replaced by a keyed hash (HMAC-SHA256) inside DuckDB, once per
distinct value, so it never reaches a table in clear (vob/landing/personal_data.py). A file's
fingerprint and its disk stat: vob/base/fingerprints.py; the raw tables' DDL: vob/landing/contract.py.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb

from vob.base.fingerprints import CHUNK_BYTES, DiskStat, disk_stat, fingerprint
from vob.base.text import sql_quote
from vob.landing.contract import SQL_TYPES, Field, Source, stored_fields
from vob.landing.personal_data import hmac_pads, hmac_sql, redact, redact_sql

HEADER_MAX_BYTES = 1 << 20  # a first line longer than this is cut (it cannot be a header)
STREAM_BATCH_LINES = 100_000  # lines handed to DuckDB at once when Python streams a file
BOM = b"\xef\xbb\xbf"

CSV_FIELD = r'"(?:[^"]|"")*"|[^,"]*'
CSV_LINE = rf"(?:{CSV_FIELD})(?:,(?:{CSV_FIELD}))*"
OFFSET_SUFFIX = r"(Z|z|[+-]\d{2}(:?\d{2}(:?\d{2})?)?)$"  # seconds too: the typed reader's %z takes them

REJECT_TABLES = "rejects_table = '_reject_errors', rejects_scan = '_reject_scans'"
# One VARCHAR per line: no quote, and NUL as the delimiter (strict_mode must be off
# for a delimiter-less read; a line holding a NUL byte is cut there, and rejected
# as broken JSON or CSV).
LINE_READER = (
    "columns = {'line': 'VARCHAR'}, header = false, auto_detect = false, delim = '\\0', quote = '', "
    f"escape = '', strict_mode = false, store_rejects = true, {REJECT_TABLES}, filename = true"
)


# ---------------------------------------------------------------- file level


@dataclass(frozen=True)
class FileScan:
    """What one streaming pass over a file's bytes tells, before DuckDB reads it."""

    sha256: str
    size_bytes: int
    lines: int  # physical lines; a last line without a newline counts
    first_line: bytes  # without BOM and newline
    has_content: bool  # anything but white space
    rows_after_first: bool  # anything but white space after the first line


@dataclass
class LandingFile:
    """One landing file to read: where it is, what its first pass found."""

    path: str  # relative to the landing root
    disk_path: str  # as DuckDB's readers are given it
    file_date: date | None
    sha256: str
    size_bytes: int
    lines: int
    has_rows: bool  # any non-blank line that is a row (after the header for CSV)
    header: list[str] = field(default_factory=list)
    file_error: str | None = None  # the whole file is invalid: all its rows rejected
    file_warning: str | None = None
    bad_lines: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, reason


def scan_file(path: Path) -> FileScan:
    """SHA-256, size, line count and first line of a file, read in chunks.

    The digest is hex with the digits written g-p like the HMAC of personal data:
    a digest in plain hex often holds a run like 05xxxxxxxx, which a scan for phone
    numbers in the working database cannot tell from one (`tr 0-9 g-p` to compare)."""
    digest, size, newlines, last = hashlib.sha256(), 0, 0, b""
    head, first, rest = bytearray(), None, False
    with path.open("rb") as data:
        while chunk := data.read(CHUNK_BYTES):
            digest.update(chunk)
            size, newlines, last = size + len(chunk), newlines + chunk.count(b"\n"), chunk[-1:]
            if first is None:
                head += chunk
                cut = head.find(b"\n")
                if cut >= 0 or len(head) > HEADER_MAX_BYTES:
                    cut = cut if cut >= 0 else HEADER_MAX_BYTES
                    first, rest, head = bytes(head[:cut]), bool(head[cut + 1 :].strip()), bytearray()
            elif not rest:
                rest = bool(chunk.strip())
    first = (bytes(head) if first is None else first).removeprefix(BOM).rstrip(b"\r")
    lines = newlines + (1 if size and last != b"\n" else 0)
    return FileScan(fingerprint(digest), size, lines, first, bool(first.strip()) or rest, rest)


def not_utf8(raw: bytes, err: UnicodeDecodeError) -> tuple[str, str]:
    """A line that is not UTF-8: what it shows (undecodable bytes escaped) and why."""
    text = raw.decode("utf-8", errors="backslashreplace").rstrip("\r")
    reason = (
        f"not UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
        "the contract requires UTF-8 (was the file exported as Windows-1256?)"
    )
    return text, reason


def check_file(source: Source, rel: str, path: Path, scan: FileScan) -> LandingFile:
    """File-level checks (name, emptiness, header) on what the first pass found."""
    file_date = source.file_date(path)
    has_rows = scan.rows_after_first if source.fmt == "csv" else scan.has_content
    found = LandingFile(rel, str(path), file_date, scan.sha256, scan.size_bytes, scan.lines, has_rows)
    if file_date is None:
        found.file_error = f"file name {path.name!r} does not follow the contract ({source.pattern})"
    if not scan.has_content:
        found.file_error = found.file_error or f"empty file ({scan.size_bytes} bytes)"
    elif source.fmt == "csv":
        _read_header(source, found, scan.first_line)
    # a "header" may be a data row (a file exported without one): mask what it shows
    found.file_error, found.file_warning = redact(found.file_error), redact(found.file_warning)
    return found


def _read_header(source: Source, found: LandingFile, first: bytes) -> None:
    try:
        text = first.decode("utf-8")
    except UnicodeDecodeError:
        found.file_error = found.file_error or "header row is not UTF-8"
        return
    header = [name.strip().lstrip("\ufeff") for name in next(csv.reader(io.StringIO(text)), [])]
    found.header = header
    missing = [name for name in source.required_columns if name not in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing:
        found.file_error = found.file_error or (
            f"missing required column(s) {', '.join(missing)}; header is {', '.join(header)}"
        )
    elif duplicated:
        found.file_error = found.file_error or f"column(s) {', '.join(duplicated)} appear twice in the header"
    elif not found.has_rows:
        found.file_warning = "header only, no data rows"


# ---------------------------------------------------------------- SQL


def _blank_as_null(value: str) -> str:
    """SQL: a value trimmed, NULL when empty (LANDING.md: a value of spaces only is empty; DuckDB's
    trim() strips the Unicode spaces too)."""
    return f"nullif(trim({value}), '')"


def _raw_value(source: Source, f: Field) -> str:
    if source.fmt == "csv":
        return _blank_as_null(f"fields[pos_{f.name}]")
    return _blank_as_null(f"fields[{source.fields.index(f) + 1}]")  # JSON: every key from one parse


def _shown(value: str) -> str:
    return f"'\"' || left({value}, 60) || '\"'"


def _field_reason(f: Field, v: str, c: str) -> str:
    """SQL giving why a field's raw text value `v` is invalid, or NULL; `c` is the
    value cast once (`_cast_value`), NULL when the cast failed."""
    missing = sql_quote(f"missing {f.name}") if f.required else "NULL"
    checks: list[tuple[str, str]] = []
    if f.kind == "ts":
        checks = [
            (f"{c} IS NULL", f"'unparseable timestamp {f.name} ' || {_shown(v)}"),
            (f"NOT regexp_matches({v}, '{OFFSET_SUFFIX}')", f"'timestamp {f.name} has no UTC offset ' || {_shown(v)}"),
        ]
    elif f.kind == "date":
        checks = [
            (
                rf"NOT regexp_full_match({v}, '\d{{4}}-\d{{2}}-\d{{2}}') OR {c} IS NULL",
                f"'unparseable date {f.name} ' || {_shown(v)}",
            )
        ]
    elif f.kind == "count":
        checks = [
            (
                rf"NOT regexp_full_match({v}, '\d+') OR {c} IS NULL",
                f"'{f.name} is not a non-negative integer ' || {_shown(v)}",
            )
        ]
    elif f.kind == "enum" and f.values:
        allowed = ", ".join(sql_quote(x) for x in f.values)
        checks = [(f"{c} NOT IN ({allowed})", f"'unknown {f.name} ' || {_shown(v)}")]
    whens = " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in checks)
    return f"CASE WHEN {v} IS NULL THEN {missing} {whens} END"


def _cast_value(f: Field, v: str) -> str:
    """SQL: a field's raw text `v` as stored (cast, lower-cased or hashed); the check of
    the field (`_field_reason`) reads the same value, so each value is cast once."""
    if f.hashed:
        return f"hh_{f.name}"  # the value's HMAC, from the table of distinct values (validate_sql)
    if f.kind in ("ts", "date", "count"):
        return f"try_cast({v} AS {SQL_TYPES[f.kind]})"
    if f.kind == "enum":
        return f"lower({v})"
    return v


def validate_sql(source: Source, ctes: str, materialize: bool = True) -> str:
    """One SELECT checking every row of `typed` (given by `ctes`: file, file_date, line_no,
    line, structure_error and one raw text value v_<field> per field): typed values and
    the reason a row is rejected (NULL when valid). `line` is kept for rejected rows only.
    `materialize`: `typed` is costly to compute again (lines split in SQL), so it is kept
    once for the two reads that hashing makes of it."""
    rules = ", ".join(f"CASE WHEN {cond} THEN {sql_quote(reason)} END" for cond, reason in source.rules)
    rule_reason = f"nullif(concat_ws('; ', {rules}), '')" if rules else "NULL"
    casts = ", ".join(f"{_cast_value(f, f'v_{f.name}')} AS c_{f.name}" for f in source.fields)
    reasons = ", ".join(_field_reason(f, f"v_{f.name}", f"c_{f.name}") for f in source.fields)
    typed = ", ".join(f"c_{f.name} AS {f.column}" for f in stored_fields(source))
    duplicate = "NULL"
    if source.kind == "counts":
        duplicate = (
            "CASE WHEN reason IS NULL AND count(*) OVER (PARTITION BY file, date, category, reason IS NULL) > 1 "
            "THEN 'duplicate (date, category) in file' END"
        )
    # Personal data is hashed once per distinct value of the batch, then joined back: the
    # same phone number or national id recurs on many lines (and in every CRM snapshot),
    # and two SHA-256 per value were a third of parsing's CPU time (docs/benchmarks.md).
    hashed = [f for f in stored_fields(source) if f.hashed]
    hashes = "".join(
        f"    hash_{f.name} AS (SELECT hk_{f.name}, {hmac_sql(f'hk_{f.name}')} AS hh_{f.name} FROM "
        f"(SELECT DISTINCT v_{f.name} AS hk_{f.name} FROM typed_rows WHERE v_{f.name} IS NOT NULL)),\n"
        for f in hashed
    )
    hash_joins = "".join(f" LEFT JOIN hash_{f.name} ON hk_{f.name} = v_{f.name}" for f in hashed)
    return f"""
    WITH {ctes},
    typed_rows AS {"MATERIALIZED " if hashed and materialize else ""}(SELECT * FROM typed),
{hashes}    cast_rows AS (SELECT *, {casts} FROM typed_rows{hash_joins}),
    checked AS (
        SELECT file, file_date, line_no, line,
               coalesce(structure_error, nullif(concat_ws('; ', {reasons}), '')) AS field_reason,
               {typed}
        FROM cast_rows
    ),
    ruled AS (
        SELECT * EXCLUDE (field_reason), coalesce(field_reason, {rule_reason}) AS reason FROM checked
    ),
    reasoned AS (SELECT * EXCLUDE (reason), coalesce(reason, {duplicate}) AS reason FROM ruled)
    SELECT * EXCLUDE (line), CASE WHEN reason IS NOT NULL THEN line END AS line FROM reasoned
    """


def line_sql(source: Source) -> str:
    """Every non-blank data line of temp table _lines (file, line_no, line), split (CSV by
    the positions in _headers, JSON by key) and checked: the rows of `validate_sql`."""
    if source.fmt == "csv":
        split = (
            "CASE WHEN strpos(line, '\"') = 0 THEN string_split(line, ',') ELSE list_transform("
            f"regexp_extract_all(line, '(?:^|,)({CSV_FIELD})', 1), "
            "lambda x: CASE WHEN starts_with(x, '\"') THEN replace(x[2:-2], '\"\"', '\"') ELSE x END) END"
        )
        structure = (
            f"CASE WHEN strpos(line, '\"') > 0 AND NOT regexp_full_match(line, '{CSV_LINE}') "
            "THEN 'malformed CSV line: unbalanced or stray quote' "
            "WHEN len(fields) <> n_fields THEN 'expected ' || n_fields || ' fields, found ' || len(fields) END"
        )
        first_data_line = 2
    else:
        keys = ", ".join(sql_quote("$." + f.name) for f in source.fields)
        split = (
            f"CASE WHEN json_valid(line) AND json_type(line) = 'OBJECT' THEN json_extract_string(line, [{keys}]) END"
        )
        structure = (
            "CASE WHEN NOT json_valid(line) THEN 'invalid JSON' "
            "WHEN json_type(line) <> 'OBJECT' THEN 'JSON line is not an object' END"
        )
        first_data_line = 1
    values = ", ".join(f"v_{f.name} := {_raw_value(source, f)}" for f in source.fields)
    return validate_sql(
        source,
        f"""
    lines AS (SELECT file, rtrim(line, chr(13)) AS line, line_no FROM _lines),
    parsed AS (
        SELECT l.line_no, l.line, h.*, {split} AS fields
        FROM lines l JOIN _headers h USING (file)
        WHERE l.line_no >= {first_data_line} AND trim(l.line) <> ''
    ),
    structured AS (
        SELECT *, coalesce(file_error, {structure}) AS structure_error FROM parsed
    ),
    valued AS (
        SELECT * EXCLUDE (fields), CASE WHEN structure_error IS NULL THEN struct_pack({values}) END AS v
        FROM structured
    ),
    typed AS (SELECT file, file_date, line_no, line, structure_error, v.* FROM valued)""",
    )


TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"  # the fast path's timestamps: an offset is required
UTC_FORMAT = "%Y-%m-%dT%H:%M:%SZ"  # ... or Z (a typed CSV read cannot take both: JSON Lines take them as text)
FAST_KINDS = frozenset({"id", "ts", "text", "enum", "pii"})


def fast_reader_sql(source: Source, header: list[str]) -> str:
    """The fast path's read of a group of files ($paths) sharing a format and a header.

    CSV: `read_csv` with timestamps typed by the reader (`TIMESTAMP` with a required offset,
    0.004 µs a value), everything else text; a line the reader cannot take (a bad timestamp, a
    wrong number of fields, a stray quote, bytes that are not UTF-8) is skipped. JSON Lines:
    `read_json` with every contracted key as text; a line that is not a JSON object (or not
    UTF-8) gives a row of NULLs. Either way its file then does not add up (`insert_fast`)."""
    if source.fmt == "jsonl":
        columns = "{" + ", ".join(f"{sql_quote(f.name)}: 'VARCHAR'" for f in source.fields) + "}"
        return f"read_json($paths, format = 'newline_delimited', columns = {columns}, ignore_errors = true)"
    types = {f.name: ("TIMESTAMP" if f.kind == "ts" else "VARCHAR") for f in source.fields}
    names = [reader_name(source, header, i) for i in range(len(header))]
    columns = "{" + ", ".join(f"{sql_quote(n)}: {sql_quote(types.get(n, 'VARCHAR'))}" for n in names) + "}"
    return (
        f"read_csv($paths, columns = {columns}, header = true, auto_detect = false, delim = ',', quote = '\"', "
        f"escape = '\"', strict_mode = true, ignore_errors = true, timestampformat = '{TS_FORMAT}')"
    )


def _fast_value(source: Source, f: Field) -> str:
    """SQL over the fast read: a field's stored value, as `validate_sql` stores it."""
    v = _blank_as_null(_ident(f.name))
    if f.hashed:
        return f"hh_{f.name}"
    if f.kind == "ts" and source.fmt == "jsonl":
        return (
            f"coalesce(make_timestamptz(epoch_us(try_strptime({v}, '{UTC_FORMAT}'))), try_strptime({v}, '{TS_FORMAT}'))"
        )
    if f.kind == "ts":
        return f"make_timestamptz(epoch_us({_ident(f.name)}))"
    if f.kind == "enum":
        return f"lower({v})"
    return v


def _fast_valid(source: Source, f: Field) -> str | None:
    """SQL over the stored values (and, for text read timestamps, the text): true when the field
    meets the contract (`_field_reason` finds nothing); None when any value read is valid."""
    present = f"{f.column} IS NOT NULL"
    if f.kind == "enum" and f.values:
        allowed = f"{f.column} IN ({', '.join(sql_quote(x) for x in f.values)})"
        return allowed if f.required else f"({f.column} IS NULL OR {allowed})"
    if f.kind == "ts" and source.fmt == "jsonl" and not f.required:  # text that did not parse is no NULL
        return f"({present} OR {_blank_as_null(f'_text_{f.name}')} IS NULL)"
    return present if f.required else None


def fast_hash_sql(source: Source, header: list[str], f: Field) -> str:
    """Temp table _hash_<field>: the keyed hash of every distinct value of a personal field in
    the group's files, read on its own (the same values recur on many lines and in every CRM
    snapshot: one HMAC a value, not a row). A table, not part of the INSERT: it can spill."""
    value = _blank_as_null(_ident(f.name))
    return (
        f"CREATE OR REPLACE TEMP TABLE _hash_{f.name} AS SELECT hk_{f.name}, {hmac_sql(f'hk_{f.name}')} AS hh_{f.name} "
        f"FROM (SELECT DISTINCT {value} AS hk_{f.name} FROM {fast_reader_sql(source, header)} WHERE {value} IS NOT NULL)"
    )


def fast_insert_sql(source: Source, header: list[str]) -> str:
    """One INSERT of the valid rows of every file of a group, streamed from the fast read: each
    row numbered by its rank in the read less its file's base (_fast_files: the rows of the files
    before it, were every line a row), personal fields joined to their hashes (_hash_<field>).
    Rows that break a rule are left out, not explained: their file does not add up (nor, then, do
    the line numbers of the files after it) and is read again line by line (`insert_fast`)."""
    stored = stored_fields(source)
    joins = "".join(
        f" LEFT JOIN _hash_{f.name} ON hk_{f.name} = {_blank_as_null(f's.{_ident(f.name)}')}"
        for f in stored
        if f.hashed
    )
    values = ", ".join(f"{_fast_value(source, f)} AS {f.column}" for f in source.fields)
    texts = "".join(
        f", s.{_ident(f.name)} AS _text_{f.name}" for f in source.fields if f.kind == "ts" and source.fmt == "jsonl"
    )
    checks = [c for f in source.fields if (c := _fast_valid(source, f))]
    checks += [f"NOT coalesce({cond}, false)" for cond, _ in source.rules]
    columns = ", ".join(f.column for f in stored)
    return f"""
    INSERT INTO raw.{source.name} (file, file_date, line_no, {columns})
    WITH stored AS (
        SELECT f.file, f.file_date, (s.rn - f.base)::INTEGER AS line_no, {values}{texts}
        FROM (SELECT file_index, row_number() OVER () AS rn, * FROM {fast_reader_sql(source, header)}) s
        JOIN _fast_files f USING (file_index){joins}
    )
    SELECT file, file_date, line_no, {columns} FROM stored WHERE {" AND ".join(checks) or "true"}"""


def insert_fast(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    header: list[str],
    files: list[LandingFile],
    pii_key: bytes,
    counts: dict[str, list[int]],
    first_pass_only: bool = False,
) -> list[LandingFile]:
    """The fast path: read files of one format and header with one DuckDB reader, their valid rows
    straight into raw.<source>. A file all of whose data lines became valid rows, numbered from its
    first data line to its last, is done (its rows loaded, none rejected); the others (a bad or
    blank line, a stray quote, bytes that are not UTF-8, or such a file before it in the read) lose
    the rows this read gave them and are returned, to be read line by line, where every line gets
    its reason. The few bad files pay twice; the rest pay no reasons. Files whose lines were all
    valid rows but numbered off by a bad file before them are read once more on the fast path."""
    header_lines = 1 if source.fmt == "csv" else 0
    data_lines = [f.lines - header_lines for f in files]
    before = [sum(data_lines[:i]) for i in range(len(files))]  # rows of the files before, were all complete
    temp_table(
        con,
        "_fast_files",
        {
            "file_index": ("BIGINT", list(range(len(files)))),
            "file": ("VARCHAR", [f.path for f in files]),
            "file_date": ("DATE", [f.file_date for f in files]),
            "base": ("BIGINT", [n - header_lines for n in before]),  # line = rank - base
        },
    )
    paths = {"paths": [f.disk_path for f in files]}
    hashed = [f for f in stored_fields(source) if f.hashed]
    pads = hmac_pads(pii_key) if hashed else {}
    for f in hashed:
        con.execute(fast_hash_sql(source, header, f), {**paths, **pads})
    con.execute(fast_insert_sql(source, header), paths)
    for table in ["_fast_files", *(f"_hash_{f.name}" for f in hashed)]:
        con.execute(f"DROP TABLE {table}")
    loaded = {
        file: (rows, first)
        for file, rows, first in con.execute(
            f"SELECT file, count(*), min(line_no) FROM raw.{source.name} WHERE file IN (SELECT unnest($files)) "
            "GROUP BY ALL",
            {"files": [f.path for f in files]},
        ).fetchall()
    }
    found_rows = {f.path: loaded.get(f.path, (0, None)) for f in files}
    done = [f for f, n in zip(files, data_lines) if found_rows[f.path] == (n, header_lines + 1)]
    # every line a valid row, numbered off by the lines an earlier file of the read lost: read again
    shifted = [f for f, n in zip(files, data_lines) if f not in done and found_rows[f.path][0] == n]
    again = [f for f in files if f not in done and f not in shifted]
    if shifted or again:
        con.execute(
            f"DELETE FROM raw.{source.name} WHERE file IN (SELECT unnest($files))",
            {"files": [f.path for f in shifted + again]},
        )
    for found in done:
        counts[found.path][0] += found_rows[found.path][0]
    if shifted and not first_pass_only:
        again += insert_fast(con, source, header, shifted, pii_key, counts, first_pass_only=True)
    else:
        again += shifted
    return again


def reader_name(source: Source, header: list[str], i: int) -> str:
    """The name `read_csv` gives column i of a header: the contract's names as they are,
    any other column (ignored, but read and checked all the same) a name of its own."""
    return header[i] if header[i] in source.required_columns else f"_extra_{i + 1}"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, tuple[str, list]]) -> None:
    """A temporary table from Python lists of equal length (column -> SQL type, values),
    passed as query parameters: registering an Arrow table instead makes DuckDB import
    pandas, half a second of CPU in every process that ingests (bench/ingest_cpu.py)."""
    select = ", ".join(
        f"unnest($c{i}::{sql_type}[]) AS {_ident(column)}" for i, (column, (sql_type, _)) in enumerate(columns.items())
    )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {select}",
        {f"c{i}": values for i, (_, values) in enumerate(columns.values())},
    )


# ---------------------------------------------------------------- reading


@dataclass
class FileAudit:
    source: str
    path: str
    rows_read: int
    rows_loaded: int
    rows_rejected: int
    file_error: str | None
    file_warning: str | None
    parsed: bool  # False when the file was unchanged and not read again


def known_fingerprints(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    rows = con.execute("SELECT path, sha256 FROM meta.landing_files WHERE source = ?", [source.name]).fetchall()
    return dict(rows)


def fingerprinted_stats(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, tuple[DiskStat, str]]:
    """Each file's stat when its content was last fingerprinted, with that fingerprint."""
    rows = con.execute(
        "SELECT path, size_bytes, mtime_ns, ctime_ns, inode, device, sha256 "
        "FROM meta.landing_file_stats WHERE source = ?",
        [source.name],
    ).fetchall()
    return {path: (tuple(stat), sha) for path, *stat, sha in rows}


def unchanged_on_disk(known_sha: str | None, last: tuple[DiskStat, str] | None, now: DiskStat) -> bool:
    """A file read before whose size, mtime, ctime and inode are those it had when its read
    content was fingerprinted: it is not hashed again. (ctime changes with every write and no
    tool can set it back; the limit is a file system that does not keep it: docs/operations.md.)"""
    return known_sha is not None and last == (now, known_sha)


def remember_stats(con: duckdb.DuckDBPyConnection, source: Source, seen: dict[str, tuple[DiskStat, str]]) -> None:
    """Record the stat each file had before it was fingerprinted (taken first: a write during
    the hash leaves a stat that no longer matches, so the next run hashes it again)."""
    if seen:  # one statement: a row at a time cost 10 ms a file
        rows = [(path, *stat, sha) for path, (stat, sha) in seen.items()]
        names = ("path", "size_bytes", "mtime_ns", "ctime_ns", "inode", "device", "sha256")
        types = ("VARCHAR", "BIGINT", "BIGINT", "BIGINT", "UBIGINT", "UBIGINT", "VARCHAR")
        temp_table(con, "_stats", {n: (t, list(column)) for n, t, column in zip(names, types, zip(*rows))})
        con.execute(
            f"INSERT OR REPLACE INTO meta.landing_file_stats SELECT $s, {', '.join(names)} FROM _stats",
            {"s": source.name},
        )
        con.execute("DROP TABLE _stats")


def forget_stats(con: duckdb.DuckDBPyConnection, source: Source, paths: list[str]) -> None:
    if paths:
        con.execute(
            "DELETE FROM meta.landing_file_stats WHERE source = $s AND path IN (SELECT unnest($p))",
            {"s": source.name, "p": paths},
        )


def forget_files(con: duckdb.DuckDBPyConnection, source: Source, paths: list[str]) -> None:
    if not paths:
        return
    con.execute(f"DELETE FROM raw.{source.name} WHERE file IN (SELECT unnest($p))", {"p": paths})
    con.execute(
        "DELETE FROM quality.rejected_rows WHERE source = $s AND file IN (SELECT unnest($p))",
        {"s": source.name, "p": paths},
    )
    con.execute(
        "DELETE FROM meta.landing_files WHERE source = $s AND path IN (SELECT unnest($p))",
        {"s": source.name, "p": paths},
    )


def _scan_with_rejects(con: duckdb.DuckDBPyConnection, select: str, paths: list[str]) -> None:
    """Run a `read_csv` with store_rejects into temp table _scan, and copy its rejects
    at once into _rejects (disk_path, line, encoding, record): the reader's reject tables
    are temporary and the next scan replaces them. A line may have several rejects (one
    per missing column): one row per line."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _scan AS {select}", {"paths": paths})
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _rejects AS
           SELECT s.file_path AS disk_path, e.line::BIGINT AS line,
                  bool_or(e.error_type = 'INVALID ENCODING') AS encoding,
                  any_value(e.csv_line) AS record
           FROM _reject_errors e JOIN _reject_scans s USING (scan_id, file_id)
           GROUP BY ALL"""
    )
    con.execute("DROP TABLE _reject_errors")
    con.execute("DROP TABLE _reject_scans")


def _count_scan(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> list[LandingFile]:
    """Number the rows of a line-by-line read (_scan) by their physical line (view _numbered);
    returns the files whose rows and rejected lines do not add up to their lines (to be read
    otherwise).

    The reader gives rows in file order and leaves rejected lines out: the k-th row of a
    file is on line k + (rejected lines before it). A file's rows are
    consecutive in _scan (rn), so a row's line is rn + the file's `base`, plus, in a file
    with rejected lines, the rejected lines before it (_shifts)."""
    counts = {
        path: (rows, rejected, first_rn)
        for path, rows, rejected, first_rn in con.execute(
            """SELECT f.disk_path, coalesce(n.rows, 0), coalesce(r.rejected, 0), n.first_rn
               FROM (SELECT unnest($paths) AS disk_path) f
               LEFT JOIN (SELECT disk_path, count(*) AS rows, min(rn) AS first_rn FROM _scan GROUP BY ALL) n
                   USING (disk_path)
               LEFT JOIN (SELECT disk_path, count(*) AS rejected FROM _rejects GROUP BY ALL) r USING (disk_path)""",
            {"paths": [f.disk_path for f in files]},
        ).fetchall()
    }
    whole = [f for f in files if sum(counts[f.disk_path][:2]) == f.lines]
    con.execute("DELETE FROM _rejects WHERE disk_path NOT IN (SELECT unnest($p))", {"p": [f.disk_path for f in whole]})
    temp_table(
        con,
        "_whole",
        {
            "disk_path": ("VARCHAR", [f.disk_path for f in whole]),
            "file": ("VARCHAR", [f.path for f in whole]),
            "base": ("BIGINT", [1 - (counts[f.disk_path][2] or 1) for f in whole]),
        },
    )
    _shift_after_rejects(con)
    con.execute(
        """CREATE OR REPLACE TEMP VIEW _numbered AS
           SELECT s.* EXCLUDE (rn), w.file, (s.rn + w.base + coalesce(h.skipped, 0))::INTEGER AS line_no
           FROM _scan s JOIN _whole w USING (disk_path) LEFT JOIN _shifts h USING (rn)"""
    )
    return [f for f in files if f not in whole]


def _shift_after_rejects(con: duckdb.DuckDBPyConnection) -> None:
    """Temp table _shifts (rn, skipped): for the rows of _scan that follow rejected lines
    of their file, how many rejected lines come before them. Only the few files with
    rejected lines are joined, on two narrow columns: an ASOF join over every row of the
    scan sorted all of it (3 s of CPU for the 1.4 M CRM rows, and spilling at 10x)."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _shifts AS
           WITH gaps AS (  -- consecutive rejected lines share a key: the last of them counts
               SELECT disk_path, key, max(skipped) AS skipped FROM (
                   SELECT disk_path, line - row_number() OVER (PARTITION BY disk_path ORDER BY line) AS key,
                          row_number() OVER (PARTITION BY disk_path ORDER BY line) AS skipped
                   FROM _rejects) GROUP BY ALL
           ),
           rows AS (
               SELECT s.disk_path, s.rn, s.rn + w.base AS line_if_none
               FROM _scan s JOIN _whole w USING (disk_path)
               WHERE s.disk_path IN (SELECT disk_path FROM _rejects)
           )
           SELECT r.rn, g.skipped FROM rows r ASOF JOIN gaps g
           ON r.disk_path = g.disk_path AND r.line_if_none > g.key"""
    )


def _drop_scan(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DROP VIEW IF EXISTS _numbered")
    for table in ("_scan", "_whole", "_rejects", "_shifts"):
        con.execute(f"DROP TABLE IF EXISTS {table}")


def _take_rejects(con: duckdb.DuckDBPyConnection, by_disk_path: dict[str, LandingFile]) -> None:
    """Rejected lines of the last scan: lines that are not UTF-8 become the file's bad
    lines (their reason read from the bytes on disk), the others go to _lines to be
    split and given the contract's reason like any line read line by line."""
    encoding: dict[str, list[int]] = {}
    for disk_path, line in con.execute("SELECT disk_path, line FROM _rejects WHERE encoding").fetchall():
        encoding.setdefault(disk_path, []).append(line)
    for disk_path, numbers in encoding.items():
        read_bad_lines(by_disk_path[disk_path], set(numbers))
    temp_table(
        con,
        "_paths",
        {"disk_path": ("VARCHAR", list(by_disk_path)), "file": ("VARCHAR", [f.path for f in by_disk_path.values()])},
    )
    con.execute(
        "INSERT INTO _lines SELECT p.file, r.line, r.record FROM _rejects r JOIN _paths p USING (disk_path) "
        "WHERE NOT r.encoding"
    )
    con.execute("DROP TABLE _paths")


def read_bad_lines(found: LandingFile, numbers: set[int]) -> None:
    """The lines `numbers` of a file, which DuckDB found not UTF-8, with the byte and
    column that break it; read from disk one line at a time."""
    with open(found.disk_path, "rb") as data:
        for number, raw in enumerate(data, start=1):
            if number in numbers:
                raw = raw.rstrip(b"\n")
                try:
                    text = raw.decode("utf-8")
                    found.bad_lines.append((number, text.rstrip("\r"), "not UTF-8"))
                except UnicodeDecodeError as err:
                    found.bad_lines.append((number, *not_utf8(raw, err)))
                numbers.discard(number)
                if not numbers:
                    return


def read_lines(con: duckdb.DuckDBPyConnection, files: list[LandingFile]) -> list[LandingFile]:
    """Read files line by line into _lines (file, line_no, line) with DuckDB's CSV reader,
    lines that are not UTF-8 to the files' bad lines. Returns the files whose lines DuckDB
    did not number exactly (mixed line endings), to be streamed instead."""
    if not files:
        return []
    _scan_with_rejects(
        con,
        f"SELECT filename AS disk_path, row_number() OVER () AS rn, line FROM read_csv($paths, {LINE_READER})",
        [f.disk_path for f in files],
    )
    again = _count_scan(con, files)
    con.execute("INSERT INTO _lines SELECT file, line_no, line FROM _numbered WHERE line IS NOT NULL")
    _take_rejects(con, {f.disk_path: f for f in files if f not in again})
    return again


def stream_lines(con: duckdb.DuckDBPyConnection, found: LandingFile) -> None:
    """Python's reading of a file's lines into _lines, one batch at a time: for the rare
    file whose line endings DuckDB's reader does not number line by line."""
    batch: dict[str, list] = {"file": [], "line_no": [], "line": []}

    def flush() -> None:
        con.execute(
            "INSERT INTO _lines SELECT unnest($file::VARCHAR[]), unnest($line_no::BIGINT[]), unnest($line::VARCHAR[])",
            batch,
        )
        for column in batch.values():
            column.clear()

    with open(found.disk_path, "rb") as data:
        for number, raw in enumerate(data, start=1):
            raw = raw.rstrip(b"\n").removeprefix(BOM if number == 1 else b"")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                found.bad_lines.append((number, *not_utf8(raw, err)))
                continue
            if text.strip():
                batch["file"].append(found.path)
                batch["line_no"].append(number)
                batch["line"].append(text)
            if len(batch["line"]) >= STREAM_BATCH_LINES:
                flush()
    flush()


# ---------------------------------------------------------------- storing


def _headers_table(con: duckdb.DuckDBPyConnection, source: Source, files: list[LandingFile]) -> None:
    """Temp table _headers: each file's date, error, number of fields and, for CSV, the
    position of each contracted column in its header."""
    columns: dict[str, tuple[str, list]] = {
        "file": ("VARCHAR", [f.path for f in files]),
        "file_date": ("DATE", [f.file_date for f in files]),
        "file_error": ("VARCHAR", [f.file_error for f in files]),
        "n_fields": ("INTEGER", [len(f.header) for f in files]),
    }
    if source.fmt == "csv":
        for fld in source.fields:
            columns[f"pos_{fld.name}"] = (
                "INTEGER",
                [(f.header.index(fld.name) + 1) if fld.name in f.header else None for f in files],
            )
    temp_table(con, "_headers", columns)


def store_checked(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    select: str,
    pii_key: bytes,
    run_id: str,
    counts: dict[str, list[int]],
) -> None:
    """Run a `validate_sql` query: valid rows to raw.<source>, the others (masked) to
    quality.rejected_rows; adds loaded and rejected rows per file to `counts`."""
    params = hmac_pads(pii_key) if any(f.hashed for f in source.fields) else {}
    con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS {select}", params)
    columns = ", ".join(f.column for f in stored_fields(source))
    con.execute(
        f"INSERT INTO raw.{source.name} (file, file_date, line_no, {columns}) "
        f"SELECT file, file_date, line_no, {columns} FROM _parsed WHERE reason IS NULL"
    )
    con.execute("CREATE OR REPLACE TEMP TABLE _rejected AS SELECT * FROM _parsed WHERE reason IS NOT NULL")
    con.execute(
        f"""INSERT INTO quality.rejected_rows (source, file, line_no, record, reason, run_id, rejected_at)
            SELECT $s, file, line_no, {redact_sql("line")}, {redact_sql("reason")}, $r, now() FROM _rejected""",
        {"s": source.name, "r": run_id},
    )
    con.execute("DROP TABLE _rejected")
    for file, loaded, rejected in con.execute(
        "SELECT file, count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) "
        "FROM _parsed GROUP BY file"
    ).fetchall():
        counts[file][0] += loaded
        counts[file][1] += rejected
    con.execute("DROP TABLE _parsed")


def _store_bad_lines(con, source: Source, found: LandingFile, run_id: str) -> None:
    if not found.bad_lines:
        return
    temp_table(
        con,
        "_bad",
        {
            "line_no": ("INTEGER", [n for n, _, _ in found.bad_lines]),
            "record": ("VARCHAR", [raw for _, raw, _ in found.bad_lines]),
            "reason": ("VARCHAR", [reason for _, _, reason in found.bad_lines]),
        },
    )
    con.execute(
        f"""INSERT INTO quality.rejected_rows (source, file, line_no, record, reason, run_id, rejected_at)
            SELECT $s, $f, line_no, {redact_sql("record")}, reason, $r, now() FROM _bad""",
        {"s": source.name, "f": found.path, "r": run_id},
    )
    con.execute("DROP TABLE _bad")


def _store_file(con, source: Source, found: LandingFile, loaded: int, rejected: int, run_id: str) -> FileAudit:
    _store_bad_lines(con, source, found, run_id)
    rejected += len(found.bad_lines)
    audit = FileAudit(
        source.name, found.path, loaded + rejected, loaded, rejected, found.file_error, found.file_warning, parsed=True
    )
    con.execute(
        """INSERT INTO meta.landing_files VALUES ($source, $path, $file_date, $sha, $size,
           $read, $loaded, $rejected, $error, $warning, $run, now())""",
        {
            "source": source.name,
            "path": found.path,
            "file_date": found.file_date,
            "sha": found.sha256,
            "size": found.size_bytes,
            "read": audit.rows_read,
            "loaded": audit.rows_loaded,
            "rejected": audit.rows_rejected,
            "error": found.file_error,
            "warning": found.file_warning,
            "run": run_id,
        },
    )
    return audit


# ---------------------------------------------------------------- ingest


def _by_header(files: list[LandingFile]) -> dict[tuple[str, ...], list[LandingFile]]:
    groups: dict[tuple[str, ...], list[LandingFile]] = {}
    for found in files:
        groups.setdefault(tuple(found.header), []).append(found)
    return groups


def read_files(
    con: duckdb.DuckDBPyConnection, source: Source, files: list[LandingFile], pii_key: bytes, run_id: str
) -> dict[str, list[int]]:
    """Read, check and store the rows of `files`; (loaded, rejected) per file."""
    counts = {f.path: [0, 0] for f in files}
    con.execute("CREATE OR REPLACE TEMP TABLE _lines (file VARCHAR, line_no BIGINT, line VARCHAR)")
    to_read = [f for f in files if f.has_rows]
    by_lines = [f for f in to_read if f.file_error]
    if not {f.kind for f in source.fields} <= FAST_KINDS:
        by_lines = to_read  # daily counts: a few hundred rows a file, checked line by line
    for header, group in _by_header([f for f in to_read if f not in by_lines]).items():
        by_lines += insert_fast(con, source, list(header), group, pii_key, counts)
    for found in read_lines(con, by_lines):
        stream_lines(con, found)
    _drop_scan(con)
    _headers_table(con, source, files)
    store_checked(con, source, line_sql(source), pii_key, run_id, counts)
    con.execute("DROP TABLE _headers")
    con.execute("DROP TABLE _lines")
    return counts


def ingest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    landing_dir: Path,
    paths: list[Path],
    pii_key: bytes,
    run_id: str,
) -> list[FileAudit]:
    """Bring `paths` of a source up to date in raw tables; forget vanished files."""
    known, stats = known_fingerprints(con, source), fingerprinted_stats(con, source)
    on_disk = {p.relative_to(landing_dir).as_posix() for p in source.files(landing_dir)}
    vanished = [path for path in known if path not in on_disk]
    forget_files(con, source, vanished)
    forget_stats(con, source, vanished + [path for path in stats if path not in on_disk and path not in known])
    files, seen = [], {}
    for path in paths:
        rel = path.relative_to(landing_dir).as_posix()
        stat = disk_stat(path)  # before the hash: see remember_stats
        if unchanged_on_disk(known.get(rel), stats.get(rel), stat):
            continue
        scan = scan_file(path)
        seen[rel] = (stat, scan.sha256)
        if known.get(rel) != scan.sha256:
            files.append(check_file(source, rel, path, scan))
    remember_stats(con, source, seen)
    if not files:
        return []
    forget_files(con, source, [f.path for f in files])
    counts = read_files(con, source, files, pii_key, run_id)
    return [_store_file(con, source, f, counts[f.path][0], counts[f.path][1], run_id) for f in files]
