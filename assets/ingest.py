"""Read landing files into the working database, keeping every rejected row.

A file is read once per content: its SHA-256 is kept in `meta.landing_files`,
and a file whose content is unchanged is not parsed again. A re-delivered file
(same path, new content) replaces all rows the earlier content gave, in
`raw.<source>` and in `quality.rejected_rows`.

Every file is accounted for: rows read = rows loaded + rows rejected. A row is
a non-blank line (after the header, for CSV). Records are one per line; a
quoted CSV field cannot span lines (the contract's sources have none), so a
broken line never swallows its neighbours.

Parsing runs in DuckDB, on the text Python has read and checked for UTF-8:
CSV lines are split on commas (a regular expression handles quoted fields),
JSON lines with DuckDB's JSON functions. Personal data is replaced by a keyed
hash (HMAC-SHA256) inside the same query, so it never reaches a table.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from assets.landing import Field, Source

BATCH_BYTES = 256 * 1024 * 1024  # text handed to DuckDB at once

CSV_FIELD = r'"(?:[^"]|"")*"|[^,"]*'
CSV_LINE = rf"(?:{CSV_FIELD})(?:,(?:{CSV_FIELD}))*"
OFFSET_SUFFIX = r"(Z|z|[+-]\d{2}(:?\d{2})?)$"

SQL_TYPES = {"id": "VARCHAR", "ts": "TIMESTAMPTZ", "date": "DATE", "count": "BIGINT"}


# ---------------------------------------------------------------- file level


@dataclass
class LandingFile:
    """One file as read from disk, before parsing."""

    path: str  # relative to the landing root
    file_date: date | None
    sha256: str
    size_bytes: int
    content: str = ""  # text, BOM removed; undecodable lines blanked
    header: list[str] = field(default_factory=list)
    file_error: str | None = None  # the whole file is invalid: all its rows rejected
    file_warning: str | None = None
    bad_lines: list[tuple[int, str, str]] = field(default_factory=list)  # line, raw, reason


def fingerprint(data: bytes) -> str:
    """SHA-256 of a file's bytes, hex with the digits written g-p like the HMAC of personal
    data: a digest in plain hex often holds a run like 05xxxxxxxx, which a scan for phone
    numbers in the working database cannot tell from one (`tr 0-9 g-p` to compare)."""
    return hashlib.sha256(data).hexdigest().translate(HEX_AS_LETTERS)


def decode_lines(data: bytes) -> tuple[str, list[tuple[int, str, str]]]:
    """UTF-8 text of a file; lines that are not UTF-8 are blanked and reported."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError:
        pass
    lines, bad = [], []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            lines.append(raw.decode("utf-8"))
        except UnicodeDecodeError as err:
            text = raw.decode("utf-8", errors="backslashreplace").rstrip("\r")
            reason = (
                f"not UTF-8 (byte 0x{raw[err.start]:02x} at column {err.start + 1}); "
                "the contract requires UTF-8 (was the file exported as Windows-1256?)"
            )
            bad.append((number, text, reason))
            lines.append("")
    return "\n".join(lines), bad


def read_landing_file(source: Source, rel: str, path: Path, data: bytes, sha256: str) -> LandingFile:
    file_date = source.file_date(path)
    found = LandingFile(rel, file_date, sha256, len(data))
    found.content, found.bad_lines = decode_lines(data)
    if file_date is None:
        found.file_error = f"file name {path.name!r} does not follow the contract ({source.pattern})"
    if not found.content.strip():
        found.file_error = found.file_error or f"empty file ({len(data)} bytes)"
    elif source.fmt == "csv":
        _read_header(source, found)
    # a "header" may be a data row (a file exported without one): mask what it shows
    found.file_error, found.file_warning = redact(found.file_error), redact(found.file_warning)
    return found


def _read_header(source: Source, found: LandingFile) -> None:
    first = found.content.split("\n", 1)[0].rstrip("\r")
    if found.bad_lines and found.bad_lines[0][0] == 1:
        found.file_error = found.file_error or "header row is not UTF-8"
        return
    header = [name.strip().lstrip("\ufeff") for name in next(csv.reader(io.StringIO(first)), [])]
    found.header = header
    missing = [name for name in source.required_columns if name not in header]
    duplicated = sorted({name for name in header if header.count(name) > 1})
    if missing:
        found.file_error = found.file_error or (
            f"missing required column(s) {', '.join(missing)}; header is {', '.join(header)}"
        )
    elif duplicated:
        found.file_error = found.file_error or f"column(s) {', '.join(duplicated)} appear twice in the header"
    elif "\n" not in found.content.strip():
        found.file_warning = "header only, no data rows"


# ---------------------------------------------------------------- SQL


def hmac_sql(value: str) -> str:
    """HMAC-SHA256 of a value in SQL; the padded key comes as $ipad / $opad.

    The hex digest is written with g-p for the digits 0-9, so a hash never holds
    a run of digits that could pass for a phone number or a national id.
    """
    return (
        f"translate(sha256($opad || unhex(sha256($ipad || encode({value})))), "
        "'0123456789', 'ghijklmnop')"
    )


HEX_AS_LETTERS = str.maketrans("0123456789", "ghijklmnop")


def pii_hash(value: str, key: bytes) -> str:
    """The same keyed hash as `hmac_sql`, in Python (for values read outside DuckDB)."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest().translate(HEX_AS_LETTERS)


def hmac_pads(key: bytes) -> dict[str, bytes]:
    """Inner and outer HMAC pads (RFC 2104) of a key, as query parameters."""
    if len(key) > 64:
        key = hashlib.sha256(key).digest()
    key = key.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


# What a rejected line, a rejection reason or a file error may hold that looks like
# personal data, masked in this order (one list for SQL and Python; RE2 and `re`
# read these patterns alike). Digits are [0-9], not \d, so both engines agree.
REDACTIONS: tuple[tuple[str, str], ...] = (
    # JSON keys that carry personal data (and Message-IDs, which look like e-mail addresses)
    (r'"(caller_number|sender|visitor_id|beneficiary_id|message_id)"\s*:\s*"(?:[^"\\]|\\.)*"', r'"\1":"<redacted>"'),
    # e-mail addresses and Message-IDs: anything@anything
    (r"""[^\s<>"',;:@]+@[^\s<>"',;:@]+""", "<email>"),
    # Saudi mobile numbers, with or without country code, spaces or dashes
    (r"(?:\+|00)?966[ -]?5(?:[ -]?[0-9]){8}|05(?:[ -]?[0-9]){8}", "<phone>"),
    # national ids (10 digits starting with 1 or 2), then any other long run of digits
    (r"\b[12][0-9]{9}\b", "<national-id>"),
    (r"\+?[0-9]{8,}", "<number>"),
    # the same in Arabic-Indic or Eastern Arabic-Indic digits
    (r"[\x{0660}-\x{0669}\x{06F0}-\x{06F9}]{8,}", "<number>"),
)


def redact_sql(value: str) -> str:
    """SQL: `value` with anything that looks like personal data masked (REDACTIONS)."""
    for pattern, replacement in REDACTIONS:
        value = f"regexp_replace({value}, {_quote(pattern)}, {_quote(replacement)}, 'g')"
    return value


_PY_REDACTIONS = [
    (re.compile(pattern.replace(r"\x{0660}", "\u0660").replace(r"\x{0669}", "\u0669")
                .replace(r"\x{06F0}", "\u06f0").replace(r"\x{06F9}", "\u06f9"), re.ASCII), replacement)
    for pattern, replacement in REDACTIONS
]


def redact(text: str | None) -> str | None:
    """Python twin of `redact_sql`, for messages built outside DuckDB (file errors)."""
    if text is None:
        return None
    for pattern, replacement in _PY_REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raw_value(source: Source, f: Field) -> str:
    if source.fmt == "csv":
        return f"nullif(trim(fields[pos_{f.name}]), '')"
    return f"nullif(trim(json_extract_string(line, {_quote('$.' + f.name)})), '')"


def _shown(value: str) -> str:
    return f"'\"' || left({value}, 60) || '\"'"


def _field_reason(f: Field, v: str) -> str:
    """SQL giving why a field's raw text value `v` is invalid, or NULL."""
    missing = _quote(f"missing {f.name}") if f.required else "NULL"
    checks: list[tuple[str, str]] = []
    if f.kind == "ts":
        checks = [
            (f"try_cast({v} AS TIMESTAMPTZ) IS NULL", f"'unparseable timestamp {f.name} ' || {_shown(v)}"),
            (f"NOT regexp_matches({v}, '{OFFSET_SUFFIX}')", f"'timestamp {f.name} has no UTC offset ' || {_shown(v)}"),
        ]
    elif f.kind == "date":
        checks = [
            (
                rf"NOT regexp_full_match({v}, '\d{{4}}-\d{{2}}-\d{{2}}') OR try_cast({v} AS DATE) IS NULL",
                f"'unparseable date {f.name} ' || {_shown(v)}",
            )
        ]
    elif f.kind == "count":
        checks = [
            (
                rf"NOT regexp_full_match({v}, '\d+') OR try_cast({v} AS BIGINT) IS NULL",
                f"'{f.name} is not a non-negative integer ' || {_shown(v)}",
            )
        ]
    elif f.kind == "enum" and f.values:
        allowed = ", ".join(_quote(x) for x in f.values)
        checks = [(f"lower({v}) NOT IN ({allowed})", f"'unknown {f.name} ' || {_shown(v)}")]
    whens = " ".join(f"WHEN {cond} THEN {reason}" for cond, reason in checks)
    return f"CASE WHEN {v} IS NULL THEN {missing} {whens} END"


def _typed_value(f: Field, v: str) -> str:
    if f.hashed:
        return f"hh_{f.name}"  # the value's HMAC, from the per-batch table of distinct values (parse_sql)
    if f.kind in ("ts", "date", "count"):
        return f"try_cast({v} AS {SQL_TYPES[f.kind]})"
    if f.kind == "enum":
        return f"lower({v})"
    return v


def stored_fields(source: Source) -> list[Field]:
    return [f for f in source.fields if f.stored]


def raw_table_ddl(source: Source) -> str:
    cols = ", ".join(f"{f.column} {SQL_TYPES.get(f.kind, 'VARCHAR')}" for f in stored_fields(source))
    return (
        f"CREATE TABLE IF NOT EXISTS raw.{source.name} "
        f"(file VARCHAR, file_date DATE, line_no INTEGER, {cols})"
    )


def parse_sql(source: Source) -> str:
    """One SELECT over temp tables _contents/_headers: every data line, typed, with its reason."""
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
        split = "NULL"
        structure = (
            "CASE WHEN NOT json_valid(line) THEN 'invalid JSON' "
            "WHEN json_type(line) <> 'OBJECT' THEN 'JSON line is not an object' END"
        )
        first_data_line = 1
    values = ", ".join(f"v_{f.name} := {_raw_value(source, f)}" for f in source.fields)
    reasons = ", ".join(_field_reason(f, f"v_{f.name}") for f in source.fields)
    typed = ", ".join(f"{_typed_value(f, f'v_{f.name}')} AS {f.column}" for f in stored_fields(source))
    rules = ", ".join(f"CASE WHEN {cond} THEN {_quote(reason)} END" for cond, reason in source.rules)
    rule_reason = f"nullif(concat_ws('; ', {rules}), '')" if rules else "NULL"
    duplicate = "NULL"
    if source.kind == "counts":
        duplicate = (
            "CASE WHEN reason IS NULL AND count(*) OVER (PARTITION BY file, date, category, reason IS NULL) > 1 "
            "THEN 'duplicate (date, category) in file' END"
        )
    # Personal data is hashed once per distinct value of the batch, then joined back: the
    # same phone number or national id recurs on many lines (and in every CRM snapshot),
    # and two SHA-256 per value were a third of parsing's CPU time (docs/benchmarks.md).
    # `typed` is then read twice: MATERIALIZED keeps DuckDB from parsing every line twice.
    hashed = [f for f in stored_fields(source) if f.hashed]
    hashes = "".join(
        f"    hash_{f.name} AS (SELECT hk_{f.name}, {hmac_sql(f'hk_{f.name}')} AS hh_{f.name} FROM "
        f"(SELECT DISTINCT v_{f.name} AS hk_{f.name} FROM typed WHERE v_{f.name} IS NOT NULL)),\n"
        for f in hashed
    )
    hash_joins = "".join(f" LEFT JOIN hash_{f.name} ON hk_{f.name} = v_{f.name}" for f in hashed)
    return f"""
    WITH lines AS (
        SELECT file, rtrim(line, chr(13)) AS line, line_no
        FROM (SELECT file, unnest(l) AS line, generate_subscripts(l, 1) AS line_no
              FROM (SELECT file, string_split(content, chr(10)) AS l FROM _contents))
    ),
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
    typed AS {'MATERIALIZED ' if hashed else ''}(
        SELECT file, file_date, line_no, line, structure_error, v.*
        FROM valued
    ),
{hashes}    checked AS (
        SELECT file, file_date, line_no, line,
               coalesce(structure_error, nullif(concat_ws('; ', {reasons}), '')) AS field_reason,
               {typed}
        FROM typed{hash_joins}
    ),
    ruled AS (
        SELECT * EXCLUDE (field_reason), coalesce(field_reason, {rule_reason}) AS reason FROM checked
    )
    SELECT * EXCLUDE (reason), coalesce(reason, {duplicate}) AS reason FROM ruled
    """


# ---------------------------------------------------------------- ingest


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


def _headers_table(source: Source, files: list[LandingFile]) -> pa.Table:
    columns: dict[str, list] = {
        "file": [f.path for f in files],
        "file_date": [f.file_date for f in files],
        "file_error": [f.file_error for f in files],
        "n_fields": [len(f.header) for f in files],
    }
    if source.fmt == "csv":
        for fld in source.fields:
            columns[f"pos_{fld.name}"] = [
                (f.header.index(fld.name) + 1) if fld.name in f.header else None for f in files
            ]
    return pa.table(columns, schema=None).cast(
        pa.schema(
            [("file", pa.string()), ("file_date", pa.date32()), ("file_error", pa.string()), ("n_fields", pa.int32())]
            + [(name, pa.int32()) for name in columns if name.startswith("pos_")]
        )
    )


def _load_batch(con, source: Source, files: list[LandingFile], pii_key: bytes, run_id: str) -> dict[str, tuple]:
    """Parse a batch of files; returns per file (read, loaded, rejected) from SQL."""
    contents = pa.table({"file": [f.path for f in files], "content": [f.content for f in files]})
    headers = _headers_table(source, files)
    con.register("_contents", contents)
    con.register("_headers", headers)
    try:
        params = hmac_pads(pii_key) if any(f.hashed for f in source.fields) else {}
        con.execute(f"CREATE OR REPLACE TEMP TABLE _parsed AS {parse_sql(source)}", params)
    finally:
        con.unregister("_contents")
        con.unregister("_headers")
    columns = ", ".join(f.column for f in stored_fields(source))
    con.execute(
        f"INSERT INTO raw.{source.name} (file, file_date, line_no, {columns}) "
        f"SELECT file, file_date, line_no, {columns} FROM _parsed WHERE reason IS NULL"
    )
    con.execute(
        f"""INSERT INTO quality.rejected_rows (source, file, line_no, record, reason, run_id, rejected_at)
            SELECT $s, file, line_no, {redact_sql('line')}, {redact_sql('reason')}, $r, now()
            FROM _parsed WHERE reason IS NOT NULL""",
        {"s": source.name, "r": run_id},
    )
    counts = con.execute(
        "SELECT file, count(*), count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) "
        "FROM _parsed GROUP BY file"
    ).fetchall()
    con.execute("DROP TABLE _parsed")
    return {row[0]: row[1:] for row in counts}


def _store_bad_lines(con, source: Source, found: LandingFile, run_id: str) -> None:
    if not found.bad_lines:
        return
    rows = pa.table(
        {
            "line_no": [n for n, _, _ in found.bad_lines],
            "record": [raw for _, raw, _ in found.bad_lines],
            "reason": [reason for _, _, reason in found.bad_lines],
        }
    )
    con.register("_bad", rows)
    try:
        con.execute(
            f"""INSERT INTO quality.rejected_rows (source, file, line_no, record, reason, run_id, rejected_at)
                SELECT $s, $f, line_no, {redact_sql('record')}, reason, $r, now() FROM _bad""",
            {"s": source.name, "f": found.path, "r": run_id},
        )
    finally:
        con.unregister("_bad")


def ingest(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    landing_dir: Path,
    paths: list[Path],
    pii_key: bytes,
    run_id: str,
) -> list[FileAudit]:
    """Bring `paths` of a source up to date in raw tables; forget vanished files."""
    known = known_fingerprints(con, source)
    on_disk = {p.relative_to(landing_dir).as_posix() for p in source.files(landing_dir)}
    forget_files(con, source, [path for path in known if path not in on_disk])

    audits: list[FileAudit] = []
    batch: list[LandingFile] = []
    batch_bytes = 0

    def flush() -> None:
        nonlocal batch, batch_bytes
        if not batch:
            return
        forget_files(con, source, [f.path for f in batch])
        counts = _load_batch(con, source, batch, pii_key, run_id)
        for found in batch:
            _store_bad_lines(con, source, found, run_id)
            read, loaded, rejected = counts.get(found.path, (0, 0, 0))
            bad = len(found.bad_lines)
            audit = FileAudit(
                source.name, found.path, read + bad, loaded, rejected + bad,
                found.file_error, found.file_warning, parsed=True,
            )
            audits.append(audit)
            con.execute(
                """INSERT INTO meta.landing_files VALUES ($source, $path, $file_date, $sha, $size,
                   $read, $loaded, $rejected, $error, $warning, $run, now())""",
                {
                    "source": source.name, "path": found.path, "file_date": found.file_date,
                    "sha": found.sha256, "size": found.size_bytes, "read": audit.rows_read,
                    "loaded": audit.rows_loaded, "rejected": audit.rows_rejected,
                    "error": found.file_error, "warning": found.file_warning, "run": run_id,
                },
            )
        batch, batch_bytes = [], 0

    for path in paths:
        data = path.read_bytes()
        rel = path.relative_to(landing_dir).as_posix()
        sha256 = fingerprint(data)
        if known.get(rel) == sha256:
            continue
        found = read_landing_file(source, rel, path, data, sha256)
        batch.append(found)
        batch_bytes += found.size_bytes
        if batch_bytes >= BATCH_BYTES:
            flush()
    flush()
    return audits
