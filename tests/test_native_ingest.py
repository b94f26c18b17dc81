"""The traps of DuckDB's own readers (docs/design.md, "Reading with DuckDB"), each fed to
the real `ingest` on a real working database: rows loaded, rows rejected with their
physical line and reason, and read = loaded + rejected for every file."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from landing_files import CALL_COLUMNS, call, chat, csv_text, email, event_path, write_raw

from vob.landing.contract import CALLS, CHAT, CRM, EMAIL, Source
from vob.landing.ingest import ingest

DAY = date(2025, 3, 10)
TS = "2025-03-10T10:00:00+03:00"
HEADER = ",".join(CALL_COLUMNS)


def call_line(call_id: str, **overrides) -> str:
    return csv_text([call(call_id, TS, **overrides)], CALL_COLUMNS).split("\n")[1]


def run_ingest(con, source: Source, landing: Path) -> dict[str, tuple[int, int, int]]:
    audits = ingest(con, source, landing, source.files(landing), b"test-key", "run-1")
    return {a.path: (a.rows_read, a.rows_loaded, a.rows_rejected) for a in audits}


def loaded(con, source: Source, id_column: str) -> list[tuple[int, str]]:
    return con.execute(f"SELECT line_no, {id_column} FROM raw.{source.name} ORDER BY line_no").fetchall()


def rejected(con, source: Source) -> list[tuple[int, str]]:
    return con.execute(
        "SELECT line_no, reason FROM quality.rejected_rows WHERE source = $s ORDER BY line_no", {"s": source.name}
    ).fetchall()


def assert_accounted(con, source: Source, counts: dict[str, tuple[int, int, int]]) -> None:
    for path, (read, n_loaded, n_rejected) in counts.items():
        assert read == n_loaded + n_rejected, path
        assert (
            n_loaded
            == con.execute(f"SELECT count(*) FROM raw.{source.name} WHERE file = $f", {"f": path}).fetchall()[0][0]
        )
        assert (
            n_rejected
            == con.execute("SELECT count(*) FROM quality.rejected_rows WHERE file = $f", {"f": path}).fetchall()[0][0]
        )


def write_calls_lines(landing: Path, lines: list[str], day: date = DAY, header: str = HEADER) -> Path:
    return write_raw(event_path(landing, "calls", day), "\n".join([header, *lines]) + "\n")


def test_every_column_is_read_even_the_last_and_an_extra_one(con, tmp_path):
    """Projection pushdown would skip a column no query reads: not UTF-8 in the hashed
    last column, or in a column the contract does not know, still rejects the line."""
    landing = tmp_path / "landing"
    header = HEADER + ",wrap_up_code"
    path = event_path(landing, "calls", DAY)
    write_raw(
        path,
        (header + "\n" + call_line("C1") + ",w1\n").encode()
        + f"C2,{TS},,,q,abandoned,+9665000000\xe9,w2\n".encode("latin-1")
        + (call_line("C3") + ",\xe9t\xe9\n").encode("latin-1")
        + (call_line("C4") + ",w4\n").encode(),
    )
    counts = run_ingest(con, CALLS, landing)
    assert loaded(con, CALLS, "call_id") == [(2, "C1"), (5, "C4")]
    reasons = rejected(con, CALLS)
    assert [n for n, _ in reasons] == [3, 4]
    assert all(reason.startswith("not UTF-8 (byte 0xe9") for _, reason in reasons)
    assert_accounted(con, CALLS, counts)


def test_an_extra_field_on_a_line_is_rejected_not_dropped(con, tmp_path):
    """strict_mode = false would drop the eighth field silently and load the line."""
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("C1"), call_line("C2") + ",surplus", call_line("C3")])
    counts = run_ingest(con, CALLS, landing)
    assert loaded(con, CALLS, "call_id") == [(2, "C1"), (4, "C3")]
    assert rejected(con, CALLS) == [(3, "expected 7 fields, found 8")]
    assert_accounted(con, CALLS, counts)


def test_a_short_line_is_one_reject_not_one_per_missing_column(con, tmp_path):
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("C1"), "C2," + TS, call_line("C3")])
    counts = run_ingest(con, CALLS, landing)
    assert rejected(con, CALLS) == [(3, "expected 7 fields, found 2")]
    assert counts[event_path(landing, "calls", DAY).relative_to(landing).as_posix()] == (3, 2, 1)


def test_rejects_of_every_scan_are_kept_though_each_scan_replaces_the_reader_tables(con, tmp_path):
    """Two header shapes are two scans in one ingest; each scan's rejects are copied
    before the next one replaces DuckDB's temporary reject tables."""
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("A1"), "A2,short"], day=DAY)
    reordered = list(reversed(CALL_COLUMNS))
    write_raw(
        event_path(landing, "calls", date(2025, 3, 11)),
        csv_text([call("B1", TS)], reordered)
        + "B2,too,short\n"
        + csv_text([call("B3", TS)], reordered).split("\n")[1]
        + "\n",
    )
    counts = run_ingest(con, CALLS, landing)
    files = con.execute("SELECT file, line_no, reason FROM quality.rejected_rows ORDER BY ALL").fetchall()
    assert [(Path(f).name, n, r) for f, n, r in files] == [
        ("calls_2025-03-10.csv", 3, "expected 7 fields, found 2"),
        ("calls_2025-03-11.csv", 3, "expected 7 fields, found 3"),
    ]
    # columns in another order are matched by name
    assert con.execute("SELECT call_id, disposition FROM raw.calls ORDER BY call_id").fetchall() == [
        ("A1", "answered"),
        ("B1", "answered"),
        ("B3", "answered"),
    ]
    assert_accounted(con, CALLS, counts)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchall() == [(0,)]


def test_an_unbalanced_quote_does_not_swallow_the_rest_of_the_file(con, tmp_path):
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("C1"), f'C2,"{TS},,,q,abandoned,', call_line("C3"), call_line("C4")])
    counts = run_ingest(con, CALLS, landing)
    assert loaded(con, CALLS, "call_id") == [(2, "C1"), (4, "C3"), (5, "C4")]
    assert rejected(con, CALLS) == [(3, "malformed CSV line: unbalanced or stray quote")]
    assert_accounted(con, CALLS, counts)


def test_a_quoted_line_break_is_two_bad_lines_and_later_lines_keep_their_numbers(con, tmp_path):
    """DuckDB would read the quoted line break as one record and number the later records
    one line short; the contract has no multi-line fields: both lines are rejected."""
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("C1"), f'C2,{TS},,,"two', 'lines",abandoned,', call_line("C3")])
    counts = run_ingest(con, CALLS, landing)
    assert loaded(con, CALLS, "call_id") == [(2, "C1"), (5, "C3")]
    assert [n for n, _ in rejected(con, CALLS)] == [3, 4]
    assert_accounted(con, CALLS, counts)


def test_blank_lines_are_not_rows_and_do_not_shift_line_numbers(con, tmp_path):
    landing = tmp_path / "landing"
    write_calls_lines(landing, [call_line("C1"), "", "   ", call_line("C2"), "X,short"])
    counts = run_ingest(con, CALLS, landing)
    assert loaded(con, CALLS, "call_id") == [(2, "C1"), (5, "C2")]
    assert rejected(con, CALLS) == [(6, "expected 7 fields, found 2")]
    assert list(counts.values()) == [(3, 2, 1)]


def test_line_numbers_stay_exact_in_a_big_file_read_in_parallel(con, tmp_path):
    """Rows come out of the parallel reader in file order: each id sits on the line its
    number says, with rejected lines spread through the file."""
    landing = tmp_path / "landing"
    lines = [call_line(f"{n}") if n % 9973 else f"{n},bad" for n in range(2, 300_002)]
    write_calls_lines(landing, lines)
    counts = run_ingest(con, CALLS, landing)
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE call_id::INT <> line_no) FROM raw.calls"
    ).fetchall() == [(300_000 - 30, 0)]
    assert [n for n, _ in rejected(con, CALLS)] == [n for n in range(2, 300_002) if n % 9973 == 0]
    assert_accounted(con, CALLS, counts)


def test_line_numbers_stay_exact_per_file_when_only_some_files_of_a_scan_have_rejects(con, tmp_path):
    """One scan of three files: the clean ones are numbered by their place in the scan,
    the middle one shifted by its rejected lines (first line, two in a row, last line)."""
    landing = tmp_path / "landing"
    days = [date(2025, 3, d) for d in (10, 11, 12)]
    for day in (days[0], days[2]):
        write_calls_lines(landing, [call_line(f"{day.day}-{n}") for n in range(2, 2002)], day=day)
    bad = {2, 700, 701, 2001}
    write_calls_lines(
        landing, [f"{n},short" if n in bad else call_line(f"11-{n}") for n in range(2, 2002)], day=days[1]
    )
    counts = run_ingest(con, CALLS, landing)
    assert con.execute(
        "SELECT count(*), count(*) FILTER (WHERE split_part(call_id, '-', 2)::INT <> line_no "
        "OR split_part(call_id, '-', 1)::INT <> day(file_date)) FROM raw.calls"
    ).fetchall() == [(3 * 2000 - len(bad), 0)]
    assert [n for n, _ in rejected(con, CALLS)] == sorted(bad)
    assert_accounted(con, CALLS, counts)


def jsonl_bytes(records: list[dict | str]) -> list[bytes]:
    return [(r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)).encode() for r in records]


@pytest.mark.parametrize("ending", [b"\n", b"\r\n"], ids=["LF", "CRLF"])
def test_json_lines_keep_their_numbers_with_bom_blank_lines_and_bad_bytes(con, tmp_path, ending):
    landing = tmp_path / "landing"
    z = "2025-03-10T07:00:00Z"
    lines = jsonl_bytes(
        [
            email("<a@x>", z),
            "",
            email("<b@x>", z),
            '{"message_id": "<c@x>", "received_at": ',
            "[1, 2]",
            email("<d@x>", "yesterday"),
        ]
    )
    lines.insert(3, '{"message_id": "<e@x>", "subject": "طلب"}'.encode("cp1256"))
    lines.append(json.dumps(email("<f@x>", z)).encode())
    write_raw(event_path(landing, "email", DAY), b"\xef\xbb\xbf" + ending.join(lines) + ending)
    counts = run_ingest(con, EMAIL, landing)
    assert con.execute("SELECT line_no FROM raw.email ORDER BY 1").fetchall() == [(1,), (3,), (8,)]
    assert [(n, r.split(" (")[0].split(' "')[0]) for n, r in rejected(con, EMAIL)] == [
        (4, "not UTF-8"),
        (5, "invalid JSON"),
        (6, "JSON line is not an object"),
        (7, "unparseable timestamp received_at"),
    ]
    assert list(counts.values()) == [(7, 3, 4)]
    assert_accounted(con, EMAIL, counts)


def test_json_lines_with_mixed_line_endings_are_numbered_by_their_lines(con, tmp_path):
    """DuckDB's reader does not number lines exactly when \\n and \\r\\n mix: such a
    file is streamed line by line instead, with the same result."""
    landing = tmp_path / "landing"
    z = "2025-03-10T07:00:00Z"
    a, b, c = (json.dumps(chat(s, z)).encode() for s in ("S1", "S2", "S3"))
    write_raw(event_path(landing, "chat", DAY), a + b"\r\n\r\n" + b + b"\n\n" + b"{broken\r\n" + c + b"\n")
    counts = run_ingest(con, CHAT, landing)
    assert loaded(con, CHAT, "session_id") == [(1, "S1"), (3, "S2"), (6, "S3")]
    assert rejected(con, CHAT) == [(5, "invalid JSON")]
    assert list(counts.values()) == [(4, 3, 1)]


def test_a_rejected_typed_row_shows_its_fields_masked(con, tmp_path):
    landing = tmp_path / "landing"
    write_raw(
        landing / "crm" / "tickets_2025-04-01.csv",
        "ticket_id,created_at,channel,category,status,closed_at,beneficiary_id\n"
        f'T1,{TS},calls,"a, b",archived,,1012345678\n',
    )
    counts = run_ingest(con, CRM, landing)
    assert con.execute("SELECT line_no, record, reason FROM quality.rejected_rows").fetchall() == [
        (2, f'T1,{TS},calls,"a, b",archived,,<national-id>', 'unknown status "archived"')
    ]
    assert list(counts.values()) == [(1, 0, 1)]


def test_the_working_database_caps_duckdb_memory_and_spills_under_the_work_dir(vob_env):
    from warehouse.store import open_work_db

    con = open_work_db(vob_env)
    try:
        limit, spill = con.execute(
            "SELECT current_setting('memory_limit'), current_setting('temp_directory')"
        ).fetchall()[0]
    finally:
        con.close()
    assert limit.endswith("MiB") or limit.endswith("GiB")
    assert float(limit.split()[0]) * (1024 if limit.endswith("GiB") else 1) <= 1024
    assert Path(spill).parent == vob_env.work_dir


def test_a_month_is_staged_again_when_a_file_it_reads_was_read_anew_for_another_month(vob_env):
    """A month whose files and their content are unchanged is not staged again; a file
    two months share, re-delivered and read by the other month's run, re-stages it."""
    from vob.marts.loading import load_source_month
    from warehouse.store import open_work_db

    path = event_path(vob_env.landing_dir, "calls", date(2025, 4, 1))
    write_raw(
        path, csv_text([call("C1", "2025-03-31T23:00:00+03:00"), call("C2", "2025-04-01T09:00:00+03:00")], CALL_COLUMNS)
    )
    con = open_work_db(vob_env)
    try:
        march, april = date(2025, 3, 1), date(2025, 4, 1)
        first = load_source_month(con, CALLS, march, vob_env, b"k", "run-1")
        again = load_source_month(con, CALLS, march, vob_env, b"k", "run-2")
        assert (first.files_parsed, first.rows_staged, again.files_parsed, again.rows_staged) == (1, 1, 0, 1)
        write_raw(
            path,
            csv_text(
                [
                    call("C1", "2025-03-31T23:00:00+03:00"),
                    call("C3", "2025-03-31T22:00:00+03:00"),
                    call("C2", "2025-04-01T09:00:00+03:00"),
                ],
                CALL_COLUMNS,
            ),
        )
        assert load_source_month(con, CALLS, april, vob_env, b"k", "run-3").files_parsed == 1
        later = load_source_month(con, CALLS, march, vob_env, b"k", "run-4")
        assert (later.files_parsed, later.rows_staged) == (0, 2)
        assert con.execute(
            "SELECT call_id FROM staging.calls WHERE month = $m ORDER BY 1", {"m": march}
        ).fetchall() == [("C1",), ("C3",)]
    finally:
        con.close()


def test_files_after_a_bad_one_in_the_same_read_keep_their_own_line_numbers(con, tmp_path):
    """The fast path numbers a file's rows by their rank in one read of many files: a bad line in
    an earlier file shifts the ranks of every later file. Those files are read again, and each row
    keeps its physical line; the bad file's lines get their reasons."""
    days = [date(2025, 3, d) for d in (10, 11, 12)]
    bad_time = call_line("A2").replace(TS, "2025-03-10 10:00", 1)  # the typed read skips this line
    write_calls_lines(tmp_path, [call_line("A1"), bad_time, call_line("A3")], days[0])
    write_calls_lines(tmp_path, [call_line("B1"), call_line("B2")], days[1])
    write_calls_lines(tmp_path, [call_line("C1"), "", call_line("C2")], days[2])  # a blank line
    counts = run_ingest(con, CALLS, tmp_path)
    assert sorted(counts.values()) == [(2, 2, 0), (2, 2, 0), (3, 2, 1)]
    assert_accounted(con, CALLS, counts)
    rows = con.execute("SELECT call_id, line_no FROM raw.calls ORDER BY call_id").fetchall()
    assert rows == [("A1", 2), ("A3", 4), ("B1", 2), ("B2", 3), ("C1", 2), ("C2", 4)]
    assert rejected(con, CALLS) == [(3, 'timestamp offered_at has no UTC offset "2025-03-10 10:00"')]
