"""Months (WAREHOUSE.md): a month appears in the monthly marts only with a record of its own, and
marts.dim_month says whether a published month is complete or still in progress."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from conftest import query, run_job
from landing_files import call, chat, email, ticket, write_calls, write_counts, write_crm, write_jsonl

MONTHLY_MARTS = (  # every published table with a month column
    "fct_channel_monthly",
    "fct_tickets_monthly",
    "fct_calls_service_monthly",
    "fct_chat_service_monthly",
    "fct_ticket_resolution_monthly",
    "figure_sources",
    "dim_month",
)
COUNT_SOURCES = ("x", "sms", "self_service")


def rows_of_month(path, month: str) -> dict[str, int]:
    """Rows of each monthly mart for `month` (YYYY-MM) in the published file."""
    return {
        table: query(path, f"SELECT count(*) FROM marts.{table} WHERE strftime(month, '%Y-%m') = $m", {"m": month})[0][
            0
        ]
        for table in MONTHLY_MARTS
    }


def failed_checks(result) -> list[str]:
    return [
        f"{e.asset_key.to_user_string()}:{e.check_name} ({e.severity.value})"
        for e in result.get_asset_check_evaluations()
        if not e.passed
    ]


def dim_month(settings) -> list[tuple]:
    return query(
        settings.warehouse_path,
        "SELECT strftime(month, '%Y-%m'), status, data_through, name_ar, name_en FROM marts.dim_month ORDER BY month",
    )


def write_late_june_only_in_a_july_export(landing) -> None:
    """June's evening calls, e-mails and chats in the 1 July exports: July has nothing of its own."""
    write_calls(landing, date(2025, 7, 1), [call("C-late", "2025-06-30T23:50:00+03:00")])
    write_jsonl(landing, "email", date(2025, 7, 1), [email("<late@x>", "2025-06-30T20:10:00Z")])
    write_jsonl(landing, "chat", date(2025, 7, 1), [chat("S-late", "2025-06-30T20:30:00Z")])
    write_crm(
        landing,
        date(2025, 7, 1),
        [ticket("T-june", "2025-06-20T10:00:00+03:00", "closed", "2025-07-01T09:00:00+03:00")],
    )


def test_a_month_whose_files_hold_only_other_months_records_has_no_rows_and_passes(vob_env):
    write_late_june_only_in_a_july_export(vob_env.landing_dir)
    result = run_job("2025-06", "2025-07", raise_on_error=False)
    assert result.success
    assert failed_checks(result) == []  # nothing to alert on: no blocking check failed, no warning either
    assert set(rows_of_month(vob_env.warehouse_path, "2025-07").values()) == {0}
    june = rows_of_month(vob_env.warehouse_path, "2025-06")
    assert june["fct_channel_monthly"] == 6 and june["dim_month"] == 1 and june["fct_calls_service_monthly"] == 2
    # July's own run alone publishes nothing for it either
    result = run_job("2025-07", raise_on_error=False)
    assert result.success and failed_checks(result) == []
    assert set(rows_of_month(vob_env.warehouse_path, "2025-07").values()) == {0}


def test_a_month_that_loses_its_last_record_loses_its_rows(vob_env):
    landing = vob_env.landing_dir
    write_calls(landing, date(2025, 4, 1), [call("C-1", "2025-04-01T08:00:00+03:00")])
    write_counts(landing, "x", "2025-04", [("2025-04-01", "mention", 3)])
    write_crm(landing, date(2025, 5, 1), [ticket("T-1", "2025-04-02T10:00:00+03:00")])
    run_job("2025-04")
    before = rows_of_month(vob_env.warehouse_path, "2025-04")
    assert before["fct_channel_monthly"] == 6 and before["fct_tickets_monthly"] == 1 and before["dim_month"] == 1
    assert before["figure_sources"] > 0 and before["fct_ticket_resolution_monthly"] == 1
    # corrected deliveries: the call was March's, the X file is empty, the ticket was created in March
    write_calls(landing, date(2025, 4, 1), [call("C-1", "2025-03-31T23:00:00+03:00")])
    write_counts(landing, "x", "2025-04", [])
    write_crm(landing, date(2025, 5, 1), [ticket("T-1", "2025-03-30T10:00:00+03:00")])
    run_job("2025-04")
    assert set(rows_of_month(vob_env.warehouse_path, "2025-04").values()) == {0}


def test_a_month_with_a_single_ticket_of_its_own_is_published_with_zero_contacts(vob_env):
    write_crm(vob_env.landing_dir, date(2025, 9, 1), [ticket("T-1", "2025-08-31T23:30:00+03:00")])
    run_job("2025-08")
    assert dict(query(vob_env.warehouse_path, "SELECT channel, contacts FROM marts.fct_channel_monthly")) == {
        c: 0 for c in ("calls", "email", "chat", "x", "sms", "self_service")
    }
    assert dim_month(vob_env) == [("2025-08", "in_progress", date(2025, 7, 31), "أغسطس 2025", "August 2025")]


def write_full_march(landing, held_back: tuple[date, ...] = (), counts: tuple[str, ...] = COUNT_SOURCES) -> None:
    """A daily export of calls, e-mail and chat for every day from 1 March to 2 April (each with one record
    of its day, the 1 April ones with a late-March record), and the March file of each count source."""
    day = date(2025, 3, 1)
    while day <= date(2025, 4, 2):
        if day not in held_back:
            stamp = min(day, date(2025, 3, 31))
            write_calls(landing, day, [call(f"C-{day}", f"{stamp}T12:00:00+03:00")])
            write_jsonl(landing, "email", day, [email(f"<{day}@x>", f"{stamp}T09:00:00Z")])
            write_jsonl(landing, "chat", day, [chat(f"S-{day}", f"{stamp}T09:00:00Z")])
        day += timedelta(days=1)
    for source in counts:
        write_counts(landing, source, "2025-03", [("2025-03-10", "mention", 2)])


def test_a_held_back_daily_file_keeps_the_month_in_progress_until_it_arrives(vob_env):
    landing = vob_env.landing_dir
    write_full_march(landing, held_back=(date(2025, 3, 16),))
    run_job("2025-03")
    # every source has files through 15 March: with one day of export lag, data through the 14th
    assert dim_month(vob_env) == [("2025-03", "in_progress", date(2025, 3, 14), "مارس 2025", "March 2025")]
    write_full_march(landing)  # the 16 March chat... and the rest arrive
    run_job("2025-03")
    assert dim_month(vob_env) == [("2025-03", "complete", date(2025, 3, 31), "مارس 2025", "March 2025")]


@pytest.mark.parametrize(
    "held_back, counts, lag, expected",
    [
        # the next month's first export not yet in: the month's last day is not all in yet
        ((date(2025, 4, 1), date(2025, 4, 2)), COUNT_SOURCES, "1", ("in_progress", date(2025, 3, 30))),
        # no export lag: a file of the day holds all of the day
        ((date(2025, 4, 1), date(2025, 4, 2)), COUNT_SOURCES, "0", ("complete", date(2025, 3, 31))),
        # every day in, but the SMS month file not yet read
        ((), ("x", "self_service"), "1", ("in_progress", date(2025, 3, 31))),
        # no file of the month's first day: nothing is all in
        ((date(2025, 3, 1),), COUNT_SOURCES, "1", ("in_progress", date(2025, 2, 28))),
    ],
)
def test_data_through_and_status(vob_env, monkeypatch, held_back, counts, lag, expected):
    monkeypatch.setenv("VOB_EXPORT_LAG_DAYS", lag)
    write_full_march(vob_env.landing_dir, held_back, counts)
    run_job("2025-03")
    assert [row[1:3] for row in dim_month(vob_env)] == [expected]


def test_dim_month_is_exactly_the_contract_s_table(vob_env):
    write_full_march(vob_env.landing_dir)
    run_job("2025-03")
    columns = query(
        vob_env.warehouse_path,
        "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = 'dim_month' "
        "ORDER BY column_index",
    )
    assert columns == [
        ("month", "DATE"),
        ("status", "VARCHAR"),
        ("data_through", "DATE"),
        ("name_ar", "VARCHAR"),
        ("name_en", "VARCHAR"),
    ]


def test_vob_withdraw_takes_a_month_out_of_every_monthly_mart_and_publishes(vob_env, capsys, umask_kept):
    from pipelines.cli import main

    landing = vob_env.landing_dir
    for day in (date(2025, 3, 5), date(2025, 4, 5)):
        write_calls(landing, day, [call(f"C-{day}", f"{day}T10:00:00+03:00")])
        write_jsonl(landing, "chat", day, [chat(f"S-{day}", f"{day}T07:00:00Z")])
    write_crm(landing, date(2025, 5, 1), [ticket("T-apr", "2025-04-05T10:00:00+03:00")])
    run_job("2025-03", "2025-04")
    march = rows_of_month(vob_env.warehouse_path, "2025-03")
    assert rows_of_month(vob_env.warehouse_path, "2025-04")["fct_tickets_monthly"] == 1

    assert main(["withdraw", "--month", "2025-04", "--reason", "published by mistake"]) == 0
    out = capsys.readouterr().out
    assert "fct_channel_monthly 6" in out and "publish: ok" in out
    assert set(rows_of_month(vob_env.warehouse_path, "2025-04").values()) == {0}
    assert rows_of_month(vob_env.warehouse_path, "2025-03") == march
    assert query(vob_env.work_db, "SELECT strftime(month, '%Y-%m'), reason FROM meta.withdrawals") == [
        ("2025-04", "published by mistake")
    ]
    # withdrawing a half-year is refused; a later run of the month publishes it again
    assert main(["withdraw", "--month", "2025-H1"]) == 2
    run_job("2025-04")
    assert rows_of_month(vob_env.warehouse_path, "2025-04")["fct_channel_monthly"] == 6
