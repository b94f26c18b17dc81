"""The landing sensor on a tmp landing zone: what triggers, what does not, and the run it asks for."""

import os
from datetime import date

import dagster as dg
from conftest import RANGE_END, RANGE_START, vob_resources
from landing_files import call, chat, ticket, write_calls, write_counts, write_crm, write_jsonl, write_raw

from pipelines.definitions import defs

sensor = next(s for s in defs.get_repository_def().sensor_defs if s.name == "landing_files")


def tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
    context = dg.build_sensor_context(cursor=cursor, definitions=defs, resources=vob_resources())
    result = sensor.evaluate_tick(context)
    return list(result.run_requests or []), result.cursor


def ranges(requests: list[dg.RunRequest]) -> list[tuple[str, str]]:
    return [(r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests]


def test_new_file_triggers_once_and_a_corrected_file_again(vob_env):
    landing = vob_env.landing_dir
    path = write_calls(landing, date(2025, 3, 15), [call("C-1", "2025-03-15T10:00:00+03:00")])
    requests, cursor = tick(None)
    assert ranges(requests) == [("2025-03", "2025-03")]
    assert requests[0].tags["vob/files"] == "calls/2025/03/calls_2025-03-15.csv"
    first_key = requests[0].run_key

    # the same file again: nothing; touched (new mtime, same bytes): nothing
    assert tick(cursor)[0] == []
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 5_000_000_000))
    requests, cursor = tick(cursor)
    assert requests == []

    # corrected content at the same path: triggers again, with a new run key
    write_calls(
        landing, date(2025, 3, 15), [call("C-1", "2025-03-15T10:00:00+03:00"), call("C-2", "2025-03-15T11:00:00+03:00")]
    )
    requests, cursor = tick(cursor)
    assert ranges(requests) == [("2025-03", "2025-03")]
    assert requests[0].run_key != first_key
    assert tick(cursor)[0] == []


def test_content_restored_after_a_correction_gets_a_run_key_of_its_own(vob_env):
    """A, then B, then A again at the same path (found by the soak, docs/operations.md section 12): the
    third delivery must not reuse the first one's run key, which Dagster skips as already launched."""
    landing = vob_env.landing_dir
    first = [call("C-1", "2025-03-15T10:00:00+03:00")]
    keys = []
    cursor = None
    for rows in (first, [*first, call("C-2", "2025-03-15T11:00:00+03:00")], first):
        path = write_calls(landing, date(2025, 3, 15), rows)
        delivered = path.stat().st_mtime_ns - (10 - len(keys)) * 1_000_000_000  # three distinct, settled mtimes
        os.utime(path, ns=(delivered, delivered))
        (request,), new_cursor = tick(cursor)
        (again,), _ = tick(cursor)  # the daemon evaluating the same tick again: the same key
        assert again.run_key == request.run_key
        keys.append(request.run_key)
        cursor = new_cursor
        assert tick(cursor)[0] == []  # nothing new since
    assert len(set(keys)) == 3, keys


def test_months_fed_by_each_kind_of_file(vob_env):
    landing = vob_env.landing_dir
    # exported on the 1st: may hold the evening before -> February and March
    write_jsonl(landing, "chat", date(2025, 3, 1), [chat("S1", "2025-02-28T22:00:00Z")])
    requests, cursor = tick(None)
    assert ranges(requests) == [("2025-02", "2025-03")]

    # a month of counts: its month and both neighbours, whose loads read it too (rows count
    # by their own date, files_for_month reads the neighbouring months' files)
    write_counts(landing, "sms", "2025-05", [("2025-05-01", "S01", 3)])
    requests, cursor = tick(cursor)
    assert ranges(requests) == [("2025-04", "2025-06")]

    # a CRM snapshot: every month up to the snapshot's month
    write_crm(landing, date(2025, 4, 1), [ticket("T1", "2025-01-05T10:00:00+03:00")])
    requests, cursor = tick(cursor)
    assert ranges(requests) == [("2025-01", "2025-04")]

    # two files of distant months in one tick: one run per contiguous range, distinct keys
    write_calls(landing, date(2025, 1, 10), [call("C-1", "2025-01-10T10:00:00+03:00")])
    write_calls(landing, date(2025, 9, 10), [call("C-9", "2025-09-10T10:00:00+03:00")])
    requests, cursor = tick(cursor)
    assert ranges(requests) == [("2025-01", "2025-01"), ("2025-09", "2025-09")]
    assert len({r.run_key for r in requests}) == 2

    # a name that is not the contract's: no run; a registers workbook: its half-year
    write_raw(landing / "calls" / "2025" / "03" / "calls_march.csv", "call_id\n")
    write_raw(landing / "registers" / "vob_registers_2025-H1.xlsx", b"PK\x03\x04")
    requests, cursor = tick(cursor)
    assert [(r.job_name, r.partition_key) for r in requests] == [("half_year_refresh", "2025-H1")]
    assert "registers/vob_registers_2025-H1.xlsx" in cursor


def test_the_triggered_run_refreshes_the_month(vob_env):
    """The request the sensor makes, run as the daemon would: the month is published."""
    from conftest import contacts

    landing = vob_env.landing_dir
    write_calls(landing, date(2025, 3, 15), [call("C-1", "2025-03-15T10:00:00+03:00")])
    (request,), _ = tick(None)
    result = defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), tags=request.tags, resources=vob_resources()
    )
    assert result.success
    assert contacts(vob_env, "2025-03")["calls"] == 1


def test_a_registers_workbook_refreshes_its_half_year_when_the_job_exists(vob_env):
    from assets.partitions import half_year_partitions
    from pipelines.definitions import monthly_refresh_job
    from pipelines.sensors import build_landing_sensor

    @dg.op
    def noop():
        pass

    @dg.job(name="half_year_facts", partitions_def=half_year_partitions)
    def half_year_facts():  # stands in for the half-year job of the registers issue
        noop()

    with_half_year = build_landing_sensor(monthly_refresh_job, half_year_facts)
    definitions = dg.Definitions(jobs=[half_year_facts], sensors=[with_half_year])
    write_raw(vob_env.landing_dir / "registers" / "vob_registers_2025-H1.xlsx", b"PK\x03\x04")
    result = with_half_year.evaluate_tick(
        dg.build_sensor_context(cursor=None, definitions=definitions, resources=vob_resources())
    )
    (request,) = result.run_requests
    assert (request.job_name, request.partition_key) == ("half_year_facts", "2025-H1")
    again = with_half_year.evaluate_tick(
        dg.build_sensor_context(cursor=result.cursor, definitions=definitions, resources=vob_resources())
    )
    assert not again.run_requests
