"""The real monthly assets on small landing zones written to LANDING.md."""

from __future__ import annotations

from datetime import date

from conftest import contacts, query, run_job
from landing_files import (
    call,
    chat,
    email,
    ticket,
    write_calls,
    write_counts,
    write_crm,
    write_jsonl,
)


def test_last_and_first_hour_of_a_month_land_in_their_riyadh_month(vob_env):
    landing = vob_env.landing_dir
    # calls carry +03:00; the 1 February export holds the evening of 31 January
    write_calls(
        landing,
        date(2025, 2, 1),
        [
            call("C-jan-last", "2025-01-31T23:59:59+03:00"),
            call("C-jan-late", "2025-01-31T23:00:00+03:00"),
            call("C-feb-first", "2025-02-01T00:00:00+03:00"),
            call("C-feb-early", "2025-02-01T00:59:59+03:00"),
        ],
    )
    # e-mail and chat carry Z: 21:00Z on 31 January is already February in Riyadh
    write_jsonl(
        landing,
        "email",
        date(2025, 2, 1),
        [
            email("<m1@x>", "2025-01-31T20:59:59Z"),
            email("<m2@x>", "2025-01-31T21:00:00Z"),
            email("<m3@x>", "2025-01-31T22:30:00Z"),
        ],
    )
    write_jsonl(
        landing,
        "chat",
        date(2025, 2, 1),
        [
            chat("S1", "2025-01-31T20:00:00Z"),
            chat("S2", "2025-01-31T21:00:00Z"),
        ],
    )
    run_job("2025-01", "2025-02")
    jan, feb = contacts(vob_env, "2025-01"), contacts(vob_env, "2025-02")
    assert (jan["calls"], feb["calls"]) == (2, 2)
    assert (jan["email"], feb["email"]) == (1, 2)
    assert (jan["chat"], feb["chat"]) == (1, 1)


def test_an_id_repeated_across_files_counts_once(vob_env):
    landing = vob_env.landing_dir
    late_call = call("C-1", "2025-03-10T23:50:00+03:00")
    write_calls(landing, date(2025, 3, 10), [late_call, call("C-2", "2025-03-10T12:00:00+03:00")])
    write_calls(landing, date(2025, 3, 11), [late_call, call("C-3", "2025-03-11T09:00:00+03:00")])
    message = email("<dup@mail>", "2025-03-10T08:00:00Z")
    write_jsonl(landing, "email", date(2025, 3, 10), [message])
    write_jsonl(landing, "email", date(2025, 3, 11), [message])
    run_job("2025-03")
    march = contacts(vob_env, "2025-03")
    assert march["calls"] == 3
    assert march["email"] == 1


def test_a_redelivered_file_replaces_the_earlier_content(vob_env, monkeypatch):
    monkeypatch.setenv("VOB_REJECT_THRESHOLD_PCT", "50")  # the first delivery has a broken line
    landing = vob_env.landing_dir
    path = write_calls(
        landing,
        date(2025, 3, 15),
        [call(f"C-{i}", "2025-03-15T10:00:00+03:00") for i in range(5)] + [call("C-bad", "not a time")],
    )
    run_job("2025-03")
    assert contacts(vob_env, "2025-03")["calls"] == 5
    # corrected content at the same path: two calls fewer, one more, the bad line fixed
    write_calls(
        landing,
        date(2025, 3, 15),
        [call(f"C-{i}", "2025-03-15T10:00:00+03:00") for i in range(3)]
        + [call("C-new", "2025-03-15T11:00:00+03:00"), call("C-bad", "2025-03-15T12:00:00+03:00")],
    )
    run_job("2025-03")
    assert contacts(vob_env, "2025-03")["calls"] == 5
    work = vob_env.work_db
    assert query(work, "SELECT count(*) FROM raw.calls")[0][0] == 5
    assert query(work, "SELECT count(*) FROM quality.rejected_rows")[0][0] == 0
    assert query(
        work,
        "SELECT rows_read, rows_loaded, rows_rejected FROM meta.landing_files WHERE path = $p",
        {"p": path.relative_to(landing).as_posix()},
    ) == [(5, 5, 0)]


def test_rerunning_a_month_is_idempotent_and_leaves_other_months_alone(vob_env):
    landing = vob_env.landing_dir
    write_calls(landing, date(2025, 1, 20), [call("J1", "2025-01-20T10:00:00+03:00")])
    write_calls(landing, date(2025, 2, 20), [call("F1", "2025-02-20T10:00:00+03:00")])
    write_counts(landing, "x", "2025-01", [("2025-01-01", "mention", 4), ("2025-01-02", "reply", 6)])
    write_crm(
        landing,
        date(2025, 7, 1),
        [ticket("T1", "2025-01-05T10:00:00+03:00"), ticket("T2", "2025-02-05T10:00:00+03:00")],
    )
    run_job("2025-01", "2025-02")
    all_facts = "SELECT * FROM marts.fct_channel_monthly ORDER BY ALL"
    before = query(vob_env.warehouse_path, all_facts)
    staged_before = query(vob_env.work_db, "SELECT * FROM staging.calls ORDER BY ALL")

    # a new February file arrives; re-running January must not touch February
    write_calls(landing, date(2025, 2, 21), [call("F2", "2025-02-21T10:00:00+03:00")])
    run_job("2025-01")
    assert query(vob_env.warehouse_path, all_facts) == before
    assert query(vob_env.work_db, "SELECT * FROM staging.calls ORDER BY ALL") == staged_before
    assert contacts(vob_env, "2025-01") == {"calls": 1, "email": 0, "chat": 0, "x": 10, "sms": 0, "self_service": 0}

    run_job("2025-02")
    assert contacts(vob_env, "2025-02")["calls"] == 2
    assert contacts(vob_env, "2025-01") == dict((c, n) for _, c, n in [r for r in before if r[0] == date(2025, 1, 1)])


def test_a_month_has_rows_once_it_has_a_record_of_its_own_and_a_month_never_run_has_none(vob_env):
    write_calls(vob_env.landing_dir, date(2025, 4, 1), [call("M1", "2025-03-31T23:10:00+03:00")])
    write_calls(vob_env.landing_dir, date(2025, 5, 2), [call("A1", "2025-05-02T10:00:00+03:00")])
    run_job("2025-04", "2025-05")
    assert contacts(vob_env, "2025-04") == {}  # its only file holds March's record (tests/test_months.py)
    assert contacts(vob_env, "2025-05") == {"calls": 1, "email": 0, "chat": 0, "x": 0, "sms": 0, "self_service": 0}
    assert contacts(vob_env, "2025-06") == {}


def test_daily_counts_sum_by_their_own_date(vob_env):
    landing = vob_env.landing_dir
    write_counts(
        landing, "sms", "2025-01", [("2025-01-30", "OTP", 10), ("2025-01-31", "OTP", 5), ("2025-02-01", "OTP", 7)]
    )  # a stray February day
    write_counts(landing, "sms", "2025-02", [("2025-02-02", "OTP", 3), ("2025-02-02", "NOTIFY", 1)])
    write_counts(landing, "self_service", "2025-02", [("2025-02-10", "certificate", 100)])
    run_job("2025-01", "2025-02")
    assert contacts(vob_env, "2025-01")["sms"] == 15
    assert contacts(vob_env, "2025-02")["sms"] == 11
    assert contacts(vob_env, "2025-02")["self_service"] == 100


def test_tickets_are_counted_per_snapshot_and_history_stays_queryable(vob_env):
    landing = vob_env.landing_dir
    write_crm(
        landing,
        date(2025, 4, 1),
        [
            ticket("T1", "2025-01-05T10:00:00+03:00", "new"),
            ticket("T2", "2025-01-31T23:59:00+03:00", "in_progress"),
            ticket("T3", "2025-02-01T00:00:00+03:00", "pending"),
        ],
    )
    write_crm(
        landing,
        date(2025, 7, 1),
        [
            ticket("T1", "2025-01-05T10:00:00+03:00", "closed", "2025-04-10T10:00:00+03:00"),
            ticket("T2", "2025-01-31T23:59:00+03:00", "resolved", "2025-05-01T10:00:00+03:00"),
            ticket("T3", "2025-02-01T00:00:00+03:00", "pending"),
            ticket("T4", "2025-06-30T23:00:00+03:00", "new"),
        ],
    )
    run_job("2025-01", "2025-06")
    rows = query(
        vob_env.warehouse_path,
        "SELECT strftime(month, '%Y-%m'), snapshot_date, tickets_total, tickets_open, tickets_closed "
        "FROM marts.fct_tickets_monthly ORDER BY 1, 2",
    )
    assert rows == [
        ("2025-01", date(2025, 4, 1), 2, 2, 0),
        ("2025-01", date(2025, 7, 1), 2, 0, 2),
        ("2025-02", date(2025, 4, 1), 1, 1, 0),
        ("2025-02", date(2025, 7, 1), 1, 1, 0),
        ("2025-06", date(2025, 7, 1), 1, 1, 0),
    ]


def test_personal_data_is_hashed_at_ingest(vob_env):
    write_calls(vob_env.landing_dir, date(2025, 5, 1), [call("P1", "2025-05-01T10:00:00+03:00")])
    write_crm(vob_env.landing_dir, date(2025, 7, 1), [ticket("T1", "2025-05-05T10:00:00+03:00")])
    run_job("2025-05")
    staged = query(vob_env.work_db, "SELECT caller_number_hmac FROM staging.calls")[0][0]
    assert "966512345678" not in staged and len(staged) == 64 and not any(ch.isdigit() for ch in staged)
    beneficiary = query(vob_env.work_db, "SELECT beneficiary_id_hmac FROM staging.crm")[0][0]
    assert "1012345678" not in beneficiary
