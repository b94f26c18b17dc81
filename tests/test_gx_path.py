"""The Great Expectations path is alive: a known-good batch passes, a known-bad one
fails on exactly the expectations it breaks. A silent breakage of the validation
path (an engine that stops evaluating, a suite that lost its expectations) fails here."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from vob.gx_suites import expectations, validate_query
from vob.landing import CALLS, CRM, X

MARCH = {"month_start": datetime(2025, 3, 1), "month_end": datetime(2025, 4, 1)}


def calls_frame(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["call_id", "offered_at", "answered_at", "ended_at", "disposition"])
    for column in ("offered_at", "answered_at", "ended_at"):
        frame[column] = pd.to_datetime(frame[column])
    return frame.assign(**MARCH)[
        ["month_start", "month_end", "call_id", "offered_at", "answered_at", "ended_at", "disposition"]
    ]


def validate_frame(db_path, name: str, frame: pd.DataFrame, suite: list):
    """Put the frame in a DuckDB file and run the suite through the pipeline's GX path."""
    con = duckdb.connect(str(db_path))
    con.register("frame", frame)
    con.execute(f"CREATE TABLE {name} AS SELECT * FROM frame")
    con.close()
    return validate_query(db_path, name, f"SELECT * FROM {name}", suite)


def failed(outcomes) -> set[tuple[str, str]]:
    return {(o.expectation, o.column) for o in outcomes if not o.success}


def test_a_known_good_calls_batch_passes(tmp_path):
    frame = calls_frame(
        [
            ("C1", "2025-03-01 00:00:00", "2025-03-01 00:00:05", "2025-03-01 00:03:00", "answered"),
            ("C2", "2025-03-31 23:59:59", None, "2025-04-01 00:00:30", "abandoned"),
        ]
    )
    outcomes = validate_frame(tmp_path / "gx.duckdb", "test_calls_good", frame, expectations(CALLS))
    assert len(outcomes) >= 10
    assert failed(outcomes) == set()


def test_a_known_bad_calls_batch_fails_on_what_it_breaks(tmp_path):
    frame = calls_frame(
        [
            ("C1", "2025-03-10 10:00:00", "2025-03-10 10:00:05", "2025-03-10 10:03:00", "answered"),
            ("C1", "2025-03-10 11:00:00", None, "2025-03-10 11:00:10", "abandoned"),  # duplicate id
            ("C3", "2025-04-01 00:00:00", None, "2025-04-01 00:00:10", "abandoned"),  # next month
            ("C4", "2025-03-10 12:00:00", None, "2025-03-10 11:00:00", "dropped"),  # ends before start, bad value
        ]
    )
    outcomes = validate_frame(tmp_path / "gx.duckdb", "test_calls_bad", frame, expectations(CALLS))
    assert failed(outcomes) == {
        ("expect_compound_columns_to_be_unique", "month_start,call_id"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "month_end,offered_at"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "ended_at,offered_at"),
        ("expect_column_values_to_be_in_set", "disposition"),
    }
    in_set = next(o for o in outcomes if o.column == "disposition" and not o.success)
    assert in_set.unexpected_count == 1 and in_set.sample == ["dropped"]


def test_counts_and_tickets_suites_catch_their_rules(tmp_path):
    counts = pd.DataFrame(
        {
            "date": pd.to_datetime(["2025-03-01", "2025-03-01", "2025-02-28"]),
            "category": ["mention", "mention", "retweet"],
            "count": [3, -1, 2],
        }
    ).assign(**MARCH)
    assert failed(validate_frame(tmp_path / "gx.duckdb", "test_x_bad", counts, expectations(X))) == {
        ("expect_compound_columns_to_be_unique", "date,category"),
        ("expect_column_values_to_be_between", "count"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "date,month_start"),
        ("expect_column_values_to_be_in_set", "category"),
    }
    tickets = pd.DataFrame(
        {
            "ticket_id": ["T1", "T2"],
            "created_at": pd.to_datetime(["2025-03-02 10:00", "2025-03-03 10:00"]),
            "status": ["closed", "new"],
            "closed_at": pd.to_datetime(["2025-03-05 10:00", None]),
            "snapshot_date": pd.to_datetime(["2025-07-01", "2025-07-01"]),
            "closed_at_matches_status": [True, False],
        }
    ).assign(**MARCH)
    assert failed(validate_frame(tmp_path / "gx.duckdb", "test_crm_bad", tickets, expectations(CRM))) == {
        ("expect_column_values_to_be_in_set", "closed_at_matches_status"),
    }


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
