"""The contract's floor: LANDING.md's per-row work for calls and CRM, with nothing else.

    .venv/bin/python bench/contract_floor.py bench/data/scale1-seed2025 [--source calls crm] [--threads 2]

A minimal, Dagster-free implementation of what the contract asks of every row of the two
largest sources, written from LANDING.md alone, to measure what that work costs on this
machine beside the pipeline (bench/run.py runs it in the same run as the bare floor,
bench/floor.sql, and the pipeline):

- every file fingerprinted (SHA-256) and its lines counted, in one streaming pass;
- read by DuckDB's CSV reader, one `INSERT ... SELECT` per header shape, every contracted
  column read (a column the query does not read is not checked), timestamps typed
  `TIMESTAMP` with a required offset (`%z`), plain `trim()`, enums, cross-field rules;
- rows numbered by physical line (the reader gives each file's rows in order);
- personal fields replaced by HMAC-SHA256, one hash per distinct value;
- valid rows into an on-disk table; the rows of a file that does not add up
  (rows loaded + rows the reader rejected < its data lines: a bad line, a blank line,
  an unbalanced quote) are taken out and the file read again as text, every line with
  the contract's reason;
- per file, rows read = rows loaded + rows rejected (asserted).

It is a measuring stick, not the pipeline: it keeps no history, publishes nothing and
de-duplicates nothing. It prints one JSON line per source: rows, wall and CPU seconds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import duckdb

TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
SOURCES = {
    # name: (glob, id, {column: kind}, rules over typed columns (true when broken))
    "calls": (
        "calls/*/*/calls_*.csv",
        {
            "call_id": "id",
            "offered_at": "ts",
            "answered_at": "ts?",
            "ended_at": "ts?",
            "queue": "text",
            "disposition": "enum:answered,abandoned",
            "caller_number": "pii",
        },
        [
            "ended_at < offered_at",
            "answered_at < offered_at",
            "disposition = 'abandoned' AND answered_at IS NOT NULL",
        ],
    ),
    "crm": (
        "crm/tickets_*.csv",
        {
            "ticket_id": "id",
            "created_at": "ts",
            "channel": "text",
            "category": "text",
            "status": "enum:new,in_progress,pending,resolved,closed",
            "closed_at": "ts?",
            "beneficiary_id": "pii",
        },
        [
            "status IN ('resolved', 'closed') AND closed_at IS NULL",
            "status IN ('new', 'in_progress', 'pending') AND closed_at IS NOT NULL",
            "closed_at < created_at",
        ],
    ),
}


def scan(path: Path) -> tuple[str, int, str]:
    """SHA-256, physical lines and header line of a file, in one pass."""
    digest, lines, last, head = hashlib.sha256(), 0, b"", b""
    with path.open("rb") as data:
        while chunk := data.read(1 << 20):
            digest.update(chunk)
            lines += chunk.count(b"\n")
            last = chunk[-1:]
            if not head:
                head = chunk.split(b"\n", 1)[0]
    lines += 1 if last not in (b"\n", b"") else 0
    return digest.hexdigest(), lines, head.removeprefix(b"\xef\xbb\xbf").decode().rstrip("\r")


def stored(column: str, kind: str) -> str:
    return f"{column}_hmac" if kind == "pii" else column


def value(column: str, kind: str) -> str:
    """A column's stored value from the typed read."""
    if kind.startswith("ts"):
        return f"make_timestamptz(epoch_us({column}))"
    if kind.startswith("enum"):
        return f"lower(trim({column}))"
    if kind == "pii":
        return f"h_{column}.hmac"
    return f"nullif(trim({column}), '')"


def valid(columns: dict[str, str], rules: list[str]) -> str:
    """True when a typed row meets every rule (the reader already parsed the timestamps)."""
    conds = []
    for column, kind in columns.items():
        if kind in ("id", "ts"):
            conds.append(f"nullif(trim({column}::VARCHAR), '') IS NOT NULL")
        elif kind.startswith("enum"):
            allowed = ", ".join(f"'{v}'" for v in kind[5:].split(","))
            conds.append(f"lower(trim({column})) IN ({allowed})")
    conds += [f"NOT coalesce({rule}, false)" for rule in rules]
    return " AND ".join(conds)


def hmac_sql(v: str) -> str:
    return f"sha256($opad || unhex(sha256($ipad || encode({v}))))"


def pads(key: bytes) -> dict[str, bytes]:
    key = key.ljust(64, b"\0")
    return {"ipad": bytes(b ^ 0x36 for b in key), "opad": bytes(b ^ 0x5C for b in key)}


def fast_insert(con, name: str, header: list[str], files: list[tuple[int, str]], key: bytes) -> None:
    """One INSERT ... SELECT for every file of one header shape: valid rows only, streamed (the
    personal field's distinct values hashed first, into a table that can spill; each row's line
    is its rank in the read less its file's base, from the line counts: _shape.base)."""
    _, columns, rules = SOURCES[name]
    types = {c: ("TIMESTAMP" if columns.get(c, "").startswith("ts") else "VARCHAR") for c in header}
    reader_cols = "{" + ", ".join(f"'{c}': '{t}'" for c, t in types.items()) + "}"
    reader = (
        f"read_csv($paths, columns = {reader_cols}, header = true, auto_detect = false, delim = ',', "
        f"quote = '\"', escape = '\"', strict_mode = true, ignore_errors = true, timestampformat = '{TS_FORMAT}')"
    )
    paths = {"paths": [p for _, p in files]}
    pii = [c for c, k in columns.items() if k == "pii"]
    for c in pii:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE h_{c} AS SELECT v, {hmac_sql('v')} AS hmac FROM "
            f"(SELECT DISTINCT nullif(trim({c}), '') AS v FROM {reader} WHERE nullif(trim({c}), '') IS NOT NULL)",
            {**paths, **pads(key)},
        )
    joins = "".join(f" LEFT JOIN h_{c} ON h_{c}.v = nullif(trim(s.{c}), '')" for c in pii)
    cols = ", ".join(stored(c, k) for c, k in columns.items())
    values = ", ".join(value(c, k) for c, k in columns.items())
    con.execute(
        f"""INSERT INTO raw_{name} (file_id, line_no, {cols})
            SELECT f.file_id, (s.rn - f.base)::INTEGER, {values}
            FROM (SELECT file_index, row_number() OVER () AS rn, {", ".join(header)} FROM {reader}) s
            JOIN _shape f ON f.file_index = s.file_index{joins}
            WHERE {valid(columns, rules)}""",
        paths,
    )


def reason_sql(columns: dict[str, str], rules: list[str]) -> str:
    """Why a text row breaks the contract (NULL when it does not), for files read again."""
    whens = []
    for column, kind in columns.items():
        v = f"nullif(trim({column}), '')"
        if kind in ("id", "ts"):
            whens.append(f"WHEN {v} IS NULL THEN 'missing {column}'")
        if kind.startswith("ts"):
            whens.append(
                f"WHEN {v} IS NOT NULL AND try_strptime({v}, '{TS_FORMAT}') IS NULL "
                f"THEN 'unparseable timestamp {column} ' || {v}"
            )
        if kind.startswith("enum"):
            allowed = ", ".join(f"'{x}'" for x in kind[5:].split(","))
            whens.append(f"WHEN lower({v}) NOT IN ({allowed}) THEN 'unknown {column} ' || {v}")
    typed = {c: f"try_strptime(nullif(trim({c}), ''), '{TS_FORMAT}')" for c, k in columns.items() if k.startswith("ts")}
    for rule in rules:
        text = rule
        for c, t in typed.items():
            text = text.replace(c, t)
        for c, k in columns.items():
            if k.startswith("enum"):
                text = text.replace(c, f"lower(trim({c}))")
        whens.append(f"WHEN coalesce({text}, false) THEN '{rule}'")
    return "CASE " + " ".join(whens) + " END"


def slow_read(con, name: str, file_id: int, path: str, header: list[str], key: bytes) -> tuple[int, int]:
    """A file that did not add up, read as text line by line: (loaded, rejected)."""
    _, columns, rules = SOURCES[name]
    con.execute(f"DELETE FROM raw_{name} WHERE file_id = $f", {"f": file_id})
    lines = con.execute(
        "SELECT row_number() OVER () + 0 AS line_no, line FROM read_csv($p, columns = {'line': 'VARCHAR'}, "
        "header = false, auto_detect = false, delim = '\\0', quote = '', escape = '', strict_mode = false)",
        {"p": path},
    ).fetchall()
    loaded = rejected = 0
    rows = []
    for line_no, line in lines[1:]:
        if line is None or not line.strip():
            continue
        fields = next(csv.reader([line]))
        if len(fields) != len(header):
            rejected += 1
            con.execute(
                "INSERT INTO rejected VALUES ($s, $f, $l, $r)",
                {"s": name, "f": file_id, "l": line_no, "r": f"expected {len(header)} fields, found {len(fields)}"},
            )
            continue
        rows.append([line_no, *fields])
    if rows:
        cols = ", ".join(f"unnest($c{i}::VARCHAR[]) AS {c}" for i, c in enumerate(header))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _text AS SELECT unnest($ln::INTEGER[]) AS line_no, {cols}",
            {"ln": [r[0] for r in rows], **{f"c{i}": [r[i + 1] for r in rows] for i in range(len(header))}},
        )
        reason = reason_sql(columns, rules)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _why AS SELECT *, {reason} AS reason FROM _text")
        typed = {
            c: (
                f"make_timestamptz(epoch_us(try_strptime(nullif(trim({c}), ''), '{TS_FORMAT}')))"
                if k.startswith("ts")
                else (
                    hmac_sql(f"nullif(trim({c}), '')")
                    if k == "pii"
                    else (f"lower(trim({c}))" if k.startswith("enum") else f"nullif(trim({c}), '')")
                )
            )
            for c, k in columns.items()
        }
        cols_out = ", ".join(stored(c, k) for c, k in columns.items())
        con.execute(
            f"INSERT INTO raw_{name} (file_id, line_no, {cols_out}) SELECT $f, line_no, "
            f"{', '.join(typed.values())} FROM _why WHERE reason IS NULL",
            {"f": file_id, **pads(key)},
        )
        con.execute(
            "INSERT INTO rejected SELECT $s, $f, line_no, reason FROM _why WHERE reason IS NOT NULL",
            {"s": name, "f": file_id},
        )
        loaded_now, rejected_now = con.execute(
            "SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason IS NOT NULL) FROM _why"
        ).fetchone()
        loaded, rejected = loaded + loaded_now, rejected + rejected_now
    return loaded, rejected


def ingest(con, name: str, landing: Path, key: bytes) -> int:
    pattern, columns, _ = SOURCES[name]
    cols = ", ".join(f"{stored(c, k)} {'TIMESTAMPTZ' if k.startswith('ts') else 'VARCHAR'}" for c, k in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE raw_{name} (file_id INTEGER, line_no INTEGER, {cols})")
    con.execute(
        "CREATE TABLE IF NOT EXISTS rejected (source VARCHAR, file_id INTEGER, line_no INTEGER, reason VARCHAR)"
    )
    files = sorted(landing.glob(pattern))
    scans = [scan(p) for p in files]
    shapes: dict[str, list[int]] = {}
    for i, (_, _, header) in enumerate(scans):
        shapes.setdefault(header, []).append(i)
    for header, ids in shapes.items():
        names = next(csv.reader([header]))
        rows_before = [sum(scans[j][1] - 1 for j in ids[:k]) for k in range(len(ids))]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _shape AS SELECT unnest($i::INTEGER[]) - 1 AS file_index, "
            "unnest($f::INTEGER[]) AS file_id, unnest($b::BIGINT[]) AS base",
            {"i": list(range(1, len(ids) + 1)), "f": ids, "b": [n - 1 for n in rows_before]},
        )
        fast_insert(con, name, names, [(i, str(files[i])) for i in ids], key)
        loaded = {
            file_id: (rows, first)
            for file_id, rows, first in con.execute(
                f"SELECT file_id, count(*), min(line_no) FROM raw_{name} WHERE file_id IN (SELECT unnest($f)) "
                "GROUP BY ALL",
                {"f": ids},
            ).fetchall()
        }
        for i in ids:  # (a file numbered off by a bad one before it is read as text too: a floor keeps it simple)
            if loaded.get(i) != (scans[i][1] - 1, 2):
                got, rejected = slow_read(con, name, i, str(files[i]), names, key)
                assert got + rejected == sum(1 for line in open(files[i], "rb").read().split(b"\n")[1:] if line.strip())
    return con.execute(f"SELECT count(*) FROM raw_{name}").fetchone()[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--source", nargs="+", default=["calls", "crm"], choices=sorted(SOURCES))
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(os.path.join(tmp, "floor.duckdb"))
        con.execute(f"SET threads = {args.threads}")
        con.execute("SET memory_limit = '1GB'")
        con.execute(f"SET temp_directory = '{tmp}/spill'")
        for name in args.source:
            wall, cpu = time.perf_counter(), time.process_time()
            rows = ingest(con, name, args.landing, b"floor-key")
            con.execute("CHECKPOINT")
            print(
                json.dumps(
                    {
                        "source": name,
                        "rows": rows,
                        "wall_s": round(time.perf_counter() - wall, 3),
                        "cpu_s": round(time.process_time() - cpu, 3),
                    }
                ),
                flush=True,
            )
        con.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
