"""The Great Expectations path is alive: a known-good batch passes, a known-bad one
fails on exactly the rules it breaks. A silent breakage of the validation path (an
engine that stops evaluating, a suite that lost its expectations, a rule that stopped
being counted) fails here.

The suites validate month profiles (vob/marts/gx_suites.py): every rule counted over every
staged row of a month. The batches below are staged tables written as the staging step
writes them, so the profile SQL and GX both run on real rows."""

from __future__ import annotations

from datetime import date

import duckdb

from vob.landing.contract import CALLS, CRM, X
from vob.marts.gx_suites import validate_query, validate_sources
from vob.marts.validations import month_profiles

MARCH = date(2025, 3, 1)


def staged(db_path, table: str, columns: str, rows: list[str]) -> None:
    """A staging table of the working database with the given rows (SQL literals)."""
    con = duckdb.connect(str(db_path))
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(f"CREATE TABLE staging.{table} ({columns})")
    for row in rows:
        con.execute(f"INSERT INTO staging.{table} VALUES ({row})")
    con.close()


CALLS_COLUMNS = (
    "month DATE, file VARCHAR, file_date DATE, line_no INTEGER, call_id VARCHAR, offered_at TIMESTAMPTZ, "
    "answered_at TIMESTAMPTZ, ended_at TIMESTAMPTZ, queue VARCHAR, disposition VARCHAR, caller_number_hmac VARCHAR"
)


def call(call_id: str, offered: str, answered: str | None, ended: str, disposition: str) -> str:
    ts = lambda v: "NULL" if v is None else f"TIMESTAMPTZ '{v}+03:00'"  # noqa: E731
    return (
        f"DATE '2025-03-01', 'f.csv', DATE '2025-03-02', 2, '{call_id}', {ts(offered)}, {ts(answered)}, "
        f"{ts(ended)}, 'q', '{disposition}', NULL"
    )


def broken(db_path, source, months=(MARCH,)) -> tuple[bool, set[str]]:
    """GX's verdict on the source's months, and the rules the profile counts as broken."""
    con = duckdb.connect(str(db_path))
    profiles = month_profiles(con, source, list(months))
    con.close()
    outcome = validate_sources(db_path, {source: list(months)})[source.name]
    rules = {rule for p in profiles.values() for rule, n in p.violations if n}
    return outcome.success, rules


def test_a_known_good_calls_batch_passes(tmp_path):
    db = tmp_path / "work.duckdb"
    staged(
        db,
        "calls",
        CALLS_COLUMNS,
        [
            call("C1", "2025-03-01 00:00:00", "2025-03-01 00:00:05", "2025-03-01 00:03:00", "answered"),
            call("C2", "2025-03-31 23:59:59", None, "2025-04-01 00:00:30", "abandoned"),
        ],
    )
    con = duckdb.connect(str(db))
    (profile,) = month_profiles(con, CALLS, [MARCH]).values()
    con.close()
    assert profile.rows == 2 and len(profile.violations) >= 8  # every rule counted, none broken
    assert broken(db, CALLS) == (True, set())


def test_a_known_bad_calls_batch_fails_on_what_it_breaks(tmp_path):
    db = tmp_path / "work.duckdb"
    staged(
        db,
        "calls",
        CALLS_COLUMNS,
        [
            call("C1", "2025-03-10 10:00:00", "2025-03-10 10:00:05", "2025-03-10 10:03:00", "answered"),
            call("C1", "2025-03-10 11:00:00", None, "2025-03-10 11:00:10", "abandoned"),  # duplicate id
            call("C3", "2025-04-01 00:00:00", None, "2025-04-01 00:00:10", "abandoned"),  # next month
            call("C4", "2025-03-10 12:00:00", None, "2025-03-10 11:00:00", "dropped"),  # ends before start, bad value
            call("C5", "2025-03-10 12:00:00", "2025-03-10 12:00:09", "2025-03-10 12:01:00", "abandoned"),  # answered
        ],
    )
    assert broken(db, CALLS) == (
        False,
        {
            "call_id repeated",
            "offered_at outside its month",
            "ended_at before offered_at",
            "disposition not in its set",
            "abandoned call has answered_at",
        },
    )


def test_counts_and_tickets_suites_catch_their_rules(tmp_path):
    db = tmp_path / "work.duckdb"
    staged(
        db,
        "daily_counts",
        "month DATE, source VARCHAR, date DATE, category VARCHAR, count BIGINT, file VARCHAR, line_no INTEGER",
        [
            "DATE '2025-03-01', 'x', DATE '2025-03-01', 'mention', 3, 'x.csv', 2",
            "DATE '2025-03-01', 'x', DATE '2025-03-01', 'mention', -1, 'x.csv', 3",
            "DATE '2025-03-01', 'x', DATE '2025-02-28', 'retweet', 2, 'x.csv', 4",
            "DATE '2025-03-01', 'sms', DATE '2025-02-28', 'retweet', -2, 'sms.csv', 2",  # another source: not x's
        ],
    )
    assert broken(db, X) == (
        False,
        {"(date, category) repeated", "count negative", "date outside its month", "category not in its set"},
    )
    staged(
        db,
        "crm",
        "month DATE, file VARCHAR, file_date DATE, line_no INTEGER, ticket_id VARCHAR, created_at TIMESTAMPTZ, "
        "channel VARCHAR, category VARCHAR, status VARCHAR, closed_at TIMESTAMPTZ, beneficiary_id_hmac VARCHAR",
        [
            "DATE '2025-03-01', 't.csv', DATE '2025-07-01', 2, 'T1', TIMESTAMPTZ '2025-03-02 10:00+03', "
            "'calls', 'c', 'closed', TIMESTAMPTZ '2025-03-05 10:00+03', NULL",
            "DATE '2025-03-01', 't.csv', DATE '2025-07-01', 3, 'T2', TIMESTAMPTZ '2025-03-03 10:00+03', "
            "'calls', 'c', 'closed', NULL, NULL",
            "DATE '2025-03-01', 'u.csv', DATE '2025-06-01', 2, 'T2', TIMESTAMPTZ '2025-03-03 10:00+03', "
            "'calls', 'c', 'new', NULL, NULL",  # the same ticket in another snapshot: not repeated
        ],
    )
    assert broken(db, CRM) == (
        False,
        {"closed ticket without closed_at", "closed_at not set exactly for closed tickets"},
    )


def test_the_gx_connection_carries_the_working_connections_memory_cap_and_spill_folder(tmp_path):
    """GX opens the working database through a connection of its own: it must not take DuckDB's
    default memory limit (80 % of RAM; the 10x six-month gate reached 4.4 GiB without the cap)."""
    import great_expectations.expectations as gxe

    shown_cap = (
        duckdb.connect(config={"memory_limit": "321MB"}).sql("SELECT current_setting('memory_limit')").fetchall()[0][0]
    )
    work = tmp_path / "work"
    work.mkdir()
    duckdb.connect(str(work / "work.duckdb")).close()
    settings = "SELECT current_setting('memory_limit') AS memory_limit, current_setting('temp_directory') AS spill"

    def outcome(cap: str, spill: str) -> list[bool]:
        suite = [
            gxe.ExpectColumnValuesToBeInSet(column="memory_limit", value_set=[cap]),
            gxe.ExpectColumnValuesToBeInSet(column="spill", value_set=[spill]),
        ]
        return [o.success for o in validate_query(work / "work.duckdb", "gx_settings", settings, suite, "321MB")]

    assert outcome(shown_cap, str(work / "duckdb_spill")) == [True, True]
    assert outcome("1.0 GiB", "/nowhere") == [False, False]  # the same path fails on other values
