"""The half-year assets on small register workbooks and CRM snapshots written to LANDING.md."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import dagster as dg
import duckdb
import pytest
from conftest import query, run_job, vob_resources
from landing_files import ticket, write_crm
from registers_files import action, note, participation, plan, write_workbook

from vob.landing.registers import RegisterStructureError, national_id, parse_date, read_registers, split_dimensions
from vob.marts.half_year import SHARE_PCT_SQL

PERIOD = "2025-H1"
ALICE, BOB, ZAINAB, DANA = "1012345678", "1023456789", "1034567890", "2045678901"


def run_half_year(period: str = PERIOD, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
    from pipelines.definitions import defs

    return defs.resolve_job_def("half_year_facts").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        partition_key=period,
        raise_on_error=raise_on_error,
        resources=vob_resources(),
    )


def publish() -> None:
    from pipelines.definitions import defs

    defs.resolve_job_def("publish").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), resources=vob_resources()
    )


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(
        (e.step_failure_data.error.message if e.step_failure_data.error else "")
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE"
    )


def write_crm_half(landing) -> None:
    # an older snapshot with a ticket later deleted (Zainab), and the latest one
    write_crm(
        landing,
        date(2025, 4, 1),
        [
            ticket("T1", "2025-01-05T10:00:00+03:00", beneficiary_id=ALICE),
            ticket("T2", "2025-03-10T10:00:00+03:00", beneficiary_id=BOB),
            ticket("T9", "2025-03-11T10:00:00+03:00", beneficiary_id=ZAINAB),
        ],
    )
    write_crm(
        landing,
        date(2025, 7, 1),
        [
            ticket("T0", "2024-12-31T23:59:00+03:00", beneficiary_id="1099999999"),  # December: not the half
            ticket("T1", "2025-01-05T10:00:00+03:00", "closed", "2025-02-01T10:00:00+03:00", beneficiary_id=ALICE),
            ticket("T2", "2025-03-10T10:00:00+03:00", beneficiary_id=BOB),
            ticket("T3", "2025-06-30T23:59:00+03:00", beneficiary_id=ALICE),  # Alice again
            ticket("T4", "2025-07-01T00:30:00+03:00", beneficiary_id="1088888888"),  # July: not the half
        ],
    )


# 32 tags: speed 17, outputs 8, procedures 1, technology 4, employees 2
GOOD_NOTES = (
    [note("N01", date(2025, 1, 1), "speed, outputs", "najiz_ticket", beneficiary_id=int(ALICE))]
    + [note(f"N0{i}", date(2025, 2, i), "speed,outputs") for i in range(2, 9)]
    + [note(f"N{i}", f"2025-03-{i:02d}", "Speed") for i in range(9, 18)]
    + [
        note(
            "N18",
            "2025-04-01",
            "procedures ، technology",
            "x",
            beneficiary_id=DANA,
            summary=f"رقم الهوية {DANA} والجوال 0551234567",
        )
    ]
    + [note(f"N{i}", date(2025, 5, i), "technology") for i in range(19, 22)]
    + [note("N22", date(2025, 6, 30), "employees, EMPLOYEES"), note("N23", "2025-06-30T00:00:00", "employees")]
)
GOOD_PLANS = [
    plan("P1", "speed", "implemented", date(2024, 11, 20), date(2025, 2, 1)),  # opened before the half
    plan("P2", "outputs", "in_progress", "2025-03-01"),
    plan("P3", "technology", "implemented", date(2025, 5, 5), "2025-06-01"),
]
GOOD_PARTICIPATIONS = [
    participation("برأيك، ما هي المشاريع العدلية ذات الأولوية؟", "consultation", "2025-02", "all"),
    participation("الأفكار الابتكارية لتحسين رحلة المستفيد", "co_creation", date(2025, 5, 1), "youth"),
]
GOOD_ACTIONS = [action(1, "إضافة خدمة إثبات سداد", "P1"), action(2, "توعية المستفيد", "P3")]


def test_half_year_marts_from_a_workbook_and_the_latest_crm_snapshot(vob_env):
    landing = vob_env.landing_dir
    write_crm_half(landing)
    write_workbook(landing, PERIOD, GOOD_NOTES, GOOD_PLANS, GOOD_PARTICIPATIONS, GOOD_ACTIONS)
    run_job("2025-01", "2025-06", job="monthly_facts")
    run_half_year()
    result = run_half_year()  # idempotent
    publish()
    checks = {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks["no_rejected_register_rows"].passed
    crm_check = checks["crm_months_staged"]  # tickets only in January, March and June
    assert not crm_check.passed and crm_check.severity == dg.AssetCheckSeverity.WARN
    assert "no CRM tickets staged for 2025-02, 2025-04, 2025-05" in crm_check.metadata["problems"].value

    wh = vob_env.warehouse_path
    # Alice (two tickets and a note) once, Bob (ticket), Dana (note); not Zainab (older snapshot only)
    assert query(
        wh,
        "SELECT period, beneficiaries, notes, plans_total, plans_in_progress, plans_implemented, "
        "ticket_beneficiaries, note_beneficiaries, ticket_snapshot_date FROM marts.fct_vob_half_year",
    ) == [("2025-H1", 3, 23, 3, 1, 2, 2, 2, date(2025, 7, 1))]
    shares = query(
        wh,
        "SELECT dimension, tags, share_pct FROM marts.fct_feedback_dimension_half_year "
        "WHERE period = '2025-H1' ORDER BY dimension",
    )
    assert shares == [
        ("employees", 2, Decimal("6.25")),
        ("outputs", 8, Decimal("25.00")),
        ("procedures", 1, Decimal("3.13")),  # 3.125 rounds half-up
        ("speed", 17, Decimal("53.13")),  # 53.125
        ("technology", 4, Decimal("12.50")),
    ]
    assert query(
        wh,
        "SELECT data_type FROM information_schema.columns WHERE table_name = "
        "'fct_feedback_dimension_half_year' AND column_name = 'share_pct'",
    ) == [("DECIMAL(5,2)",)]
    assert query(wh, "SELECT dimension, name_ar FROM marts.dim_dimension ORDER BY sort_order") == [
        ("speed", "سرعة التنفيذ"),
        ("outputs", "المخرجات"),
        ("procedures", "الإجراءات"),
        ("technology", "تقنية"),
        ("employees", "الموظفين"),
    ]
    assert query(
        wh, "SELECT period, title, kind, target_group, channel, month FROM marts.e_participations ORDER BY sort_order"
    ) == [
        ("2025-H1", "برأيك، ما هي المشاريع العدلية ذات الأولوية؟", "consultation", "all", "x", "2025-02"),
        ("2025-H1", "الأفكار الابتكارية لتحسين رحلة المستفيد", "co_creation", "youth", "x", "2025-05"),
    ]
    assert query(wh, "SELECT period, action_no, title, plan_id FROM marts.improvement_actions ORDER BY action_no") == [
        ("2025-H1", 1, "إضافة خدمة إثبات سداد", "P1"),
        ("2025-H1", 2, "توعية المستفيد", "P3"),
    ]
    assert query(
        wh,
        "SELECT dimension, plans_total, plans_in_progress, plans_implemented "
        "FROM marts.corrective_plans_by_dimension WHERE plans_total > 0 ORDER BY dimension",
    ) == [
        ("outputs", 1, 1, 0),
        ("speed", 1, 0, 1),
        ("technology", 1, 0, 1),
    ]
    assert query(vob_env.work_db, "SELECT count(*) FROM quality.rejected_rows")[0][0] == 0

    # no national id in clear, anywhere: every text cell of the working and the published database
    for db in (vob_env.work_db, wh):
        con = duckdb.connect(str(db), read_only=True)
        try:
            tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
            for schema, table in tables:
                text = con.execute(f'SELECT CAST(list(t) AS VARCHAR) FROM "{schema}"."{table}" t').fetchall()[0][0]
                for clear_id in (ALICE, BOB, ZAINAB, DANA):
                    assert clear_id not in (text or ""), (db, schema, table)
        finally:
            con.close()


def test_bad_register_rows_are_rejected_with_sheet_row_and_reason(vob_env):
    landing = vob_env.landing_dir
    notes = [
        note("N1", date(2025, 1, 10), "speed"),  # row 2, good
        note("N2", date(2025, 1, 11), "speed, quality", beneficiary_id=ALICE),  # row 3, unknown dimension
        note("N3", date(2025, 1, 12), "outputs"),  # row 4, duplicate id
        note("N3", date(2025, 1, 13), "outputs"),  # row 5, duplicate id
        note("N4", date(2025, 7, 1), "speed"),  # row 6, outside the half
        note("N5", "2025-13-01", "speed"),  # row 7, unparseable
        note("N6", date(2025, 6, 30), "technology", source="email"),  # row 8, unknown source
        note("N7", date(2025, 6, 30), "  "),  # row 9, no dimension
        note("N8", date(2025, 2, 1), "employees"),  # row 10, good
    ]
    plans = [
        plan("P1", "speed", "implemented", date(2025, 1, 1), date(2025, 2, 1)),  # good
        plan("P2", "speed", "implemented", date(2025, 1, 1)),  # no implemented_on
        plan("P3", "speed", "in_progress", date(2025, 7, 2)),  # opened after the half
        plan("P4", "speed", "done", date(2025, 1, 1)),  # unknown status
    ]
    actions = [action(1, "إجراء", "P1"), action(2, "إجراء آخر", "P2"), action("x", "إجراء")]
    participations = [participation("استشارة", "survey"), participation("مبادرة", "co_creation", "2025-08")]
    path = write_workbook(landing, PERIOD, notes, plans, participations, actions)
    run_job("2025-01", "2025-06", job="monthly_facts")
    result = run_half_year()

    work = vob_env.work_db
    rejected = query(
        work,
        "SELECT file, line_no, record, reason FROM quality.rejected_rows WHERE source = 'registers' ORDER BY reason",
    )
    assert {row[0] for row in rejected} == {"registers/vob_registers_2025-H1.xlsx"}
    by_place = {(r[3].split(",")[0].removeprefix("sheet "), r[1]): r[3] for r in rejected}
    assert sorted(by_place) == sorted(
        [
            ("feedback_notes", 3),
            ("feedback_notes", 4),
            ("feedback_notes", 5),
            ("feedback_notes", 6),
            ("feedback_notes", 7),
            ("feedback_notes", 8),
            ("feedback_notes", 9),
            ("corrective_plans", 3),
            ("corrective_plans", 4),
            ("corrective_plans", 5),
            ("improvement_actions", 3),
            ("improvement_actions", 4),
            ("e_participations", 2),
            ("e_participations", 3),
        ]
    )
    assert 'unknown dimension(s) "quality"' in by_place[("feedback_notes", 3)]
    assert 'duplicate note_id "N3"' in by_place[("feedback_notes", 5)]
    assert "received_on 2025-07-01 is outside the half-year 2025-01-01..2025-06-30" in by_place[("feedback_notes", 6)]
    assert 'unparseable date received_on "2025-13-01"' in by_place[("feedback_notes", 7)]
    assert "implemented plan without implemented_on" in by_place[("corrective_plans", 3)]
    assert "opened_on 2025-07-02 is after the half-year's last day" in by_place[("corrective_plans", 4)]
    assert 'plan_id "P2" is not a valid plan' in by_place[("improvement_actions", 3)]
    assert "month 2025-08 is outside the half-year" in by_place[("e_participations", 3)]
    # the record shows the row, with the national id masked
    record = next(r[2] for r in rejected if r[1] == 3 and r[3].startswith("sheet feedback_notes"))
    assert record.startswith("feedback_notes: ")
    assert json.loads(record.removeprefix("feedback_notes: "))["beneficiary_id"] == "<redacted>"
    assert ALICE not in record

    # the other rows still count
    assert query(work, "SELECT notes, plans_total, plans_implemented FROM marts.fct_vob_half_year") == [(2, 1, 1)]
    assert query(
        work,
        "SELECT dimension, tags, share_pct FROM marts.fct_feedback_dimension_half_year "
        "WHERE tags > 0 ORDER BY dimension",
    ) == [("employees", 1, Decimal("50.00")), ("speed", 1, Decimal("50.00"))]
    assert query(work, "SELECT action_no FROM marts.improvement_actions") == [(1,)]
    assert query(work, "SELECT count(*) FROM marts.e_participations")[0][0] == 0
    # rows read = loaded + rejected, and the run warns
    assert query(
        work,
        "SELECT rows_read, rows_loaded, rows_rejected FROM meta.landing_files WHERE source = 'registers' AND path = $p",
        {"p": path.relative_to(landing).as_posix()},
    ) == [(18, 4, 14)]
    checks = [e.event_specific_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    assert ("no_rejected_register_rows", False) in [(c.check_name, c.passed) for c in checks]


def test_a_missing_sheet_or_column_fails_the_run_with_a_clear_message(vob_env):
    landing = vob_env.landing_dir
    write_workbook(landing, PERIOD, GOOD_NOTES, GOOD_PLANS, drop_sheet="corrective_plans")
    result = run_half_year(raise_on_error=False)
    assert not result.success
    message = failure_messages(result)
    assert "register workbook registers/vob_registers_2025-H1.xlsx: missing sheet(s) corrective_plans" in message
    assert query(vob_env.work_db, "SELECT count(*) FROM marts.fct_vob_half_year")[0][0] == 0

    write_workbook(landing, PERIOD, GOOD_NOTES, GOOD_PLANS, drop_column=("feedback_notes", "dimensions"))
    with pytest.raises(
        RegisterStructureError,
        match=r"vob_registers_2025-H1.xlsx, sheet feedback_notes: "
        r"missing column\(s\) dimensions",
    ):
        read_registers(landing, PERIOD, b"k")
    result = run_half_year(raise_on_error=False)
    assert "sheet feedback_notes: missing column(s) dimensions" in failure_messages(result)

    result = run_half_year("2025-H2", raise_on_error=False)
    assert "register workbook registers/vob_registers_2025-H2.xlsx not found" in failure_messages(result)

    (landing / "registers" / "vob_registers_2026-H1.xlsx").write_text("note_id,received_on\n")  # a CSV
    with pytest.raises(RegisterStructureError, match="vob_registers_2026-H1.xlsx cannot be read as an Excel"):
        read_registers(landing, "2026-H1", b"k")


def test_a_redelivered_workbook_replaces_the_previous_one(vob_env):
    landing = vob_env.landing_dir
    write_workbook(
        landing,
        PERIOD,
        [note("N1", date(2025, 1, 1)), note("N2", date(2025, 1, 2)), note("N3", date(2025, 1, 3), "bogus")],
        GOOD_PLANS,
    )
    run_half_year()
    work = vob_env.work_db
    assert query(work, "SELECT notes, plans_total FROM marts.fct_vob_half_year") == [(2, 3)]
    assert query(work, "SELECT count(*) FROM quality.rejected_rows")[0][0] == 1

    write_workbook(
        landing, PERIOD, [note("N1", date(2025, 1, 1)), note("N3", date(2025, 1, 3), "outputs")], GOOD_PLANS[:1]
    )
    run_half_year()
    assert query(work, "SELECT notes, plans_total FROM marts.fct_vob_half_year") == [(2, 1)]
    assert query(work, "SELECT note_id FROM staging.feedback_notes ORDER BY 1") == [("N1",), ("N3",)]
    assert query(work, "SELECT count(*) FROM quality.rejected_rows")[0][0] == 0
    assert query(
        work, "SELECT dimension, share_pct FROM marts.fct_feedback_dimension_half_year WHERE tags > 0 ORDER BY 1"
    ) == [("outputs", Decimal("50.00")), ("speed", Decimal("50.00"))]


@pytest.mark.parametrize(
    "tags,total",
    [
        (2740, 5000),
        (1237, 5000),
        (103, 5000),
        (201, 20000),
        (1, 32),
        (1, 3),
        (2, 3),
        (1, 8),
        (5, 5),
        (0, 7),
        (14, 20001),
    ],
)
def test_shares_round_half_up_in_exact_decimal_arithmetic(tags, total):
    expected = (Decimal(tags) * 100 / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    sql = "SELECT " + SHARE_PCT_SQL.format(tags="$tags", total="$total")
    assert duckdb.sql(sql, params={"tags": tags, "total": total}).fetchall()[0][0] == expected


def test_dates_dimensions_and_blank_rows_as_a_hand_kept_workbook_has_them(tmp_path):
    assert parse_date("2025-03-01 00:00:00") == date(2025, 3, 1)  # a real Excel date, as calamine gives it
    assert parse_date("2025-03-01") == date(2025, 3, 1)
    assert parse_date("45717") == date(2025, 3, 1)  # an Excel serial day
    assert parse_date("01/03/2025") is None
    assert national_id(" ١٠١٢٣٤٥٦٧٨ ") == "1012345678"
    assert split_dimensions(" Speed ،outputs,, speed ") == ["speed", "outputs"]
    assert split_dimensions("\u200fspeed\u200f،\u200eoutputs") == ["speed", "outputs"]  # direction marks
    notes = [note("N1", date(2025, 1, 1)), {}, note("N2", date(2025, 1, 2), "bogus")]  # a blank row 3
    write_workbook(tmp_path, PERIOD, notes)
    found = read_registers(tmp_path, PERIOD, b"k")
    assert [n["note_id"] for n in found.notes] == ["N1"]
    assert [(r.sheet, r.line_no) for r in found.rejected] == [("feedback_notes", 4)]


def test_a_seed_sized_workbook_gives_the_published_half_year_figures(vob_env):
    # the seed report: 4,000 notes carrying 5,000 tags, 77 plans (18 in progress, 59 implemented)
    tags = {"speed": 2740, "outputs": 1237, "procedures": 103, "technology": 528, "employees": 392}
    pool = [code for code, n in tags.items() for _ in range(n)]
    notes = []
    for i in range(4000):  # the first 1,000 notes carry two dimensions
        codes = [pool.pop()] + ([pool.pop(0)] if i < 1000 else [])
        day = date(2025, 1, 1) + timedelta(days=i % 181)
        notes.append(
            note(
                f"VOB-{i:05d}",
                day if i % 2 else day.isoformat(),
                ", ".join(codes),
                beneficiary_id=str(1_100_000_000 + i % 3000),
            )
        )
    plans = [
        plan(
            f"CP-{i:03d}",
            "speed",
            "in_progress" if i < 18 else "implemented",
            date(2025, 1, 2),
            None if i < 18 else date(2025, 6, 1),
        )
        for i in range(77)
    ]
    write_workbook(vob_env.landing_dir, PERIOD, notes, plans, GOOD_PARTICIPATIONS, GOOD_ACTIONS[:1])
    run_half_year()
    work = vob_env.work_db
    assert query(
        work,
        "SELECT beneficiaries, notes, plans_total, plans_in_progress, plans_implemented FROM marts.fct_vob_half_year",
    ) == [(3000, 4000, 77, 18, 59)]
    assert dict(query(work, "SELECT dimension, share_pct FROM marts.fct_feedback_dimension_half_year")) == {
        "speed": Decimal("54.80"),
        "outputs": Decimal("24.74"),
        "procedures": Decimal("2.06"),
        "technology": Decimal("10.56"),
        "employees": Decimal("7.84"),
    }


PERSONAL_DATA_IN_FREE_TEXT = [
    "+966 55 123 4567",  # a mobile number written with spaces
    "٠٥٥١٢٣٤٥٦٧",  # the same kind, in Arabic-Indic digits
    "۱۰۱۲۳۴۵۶۷۸",  # a national id in Eastern Arabic-Indic digits
    "dana@ministry",  # an internal address without a top-level domain
    "1012345678",
]


def test_register_summaries_and_rejected_records_mask_personal_data_as_the_landing_files_do(tmp_path):
    """Notes' free text is masked by the one redaction list of the landing reader (vob/landing/ingest.py):
    a valid note's stored summary, a rejected note's record and a reason quoting a value show none."""
    text = "اتصلت من " + " و ".join(PERSONAL_DATA_IN_FREE_TEXT)
    write_workbook(
        tmp_path,
        PERIOD,
        [
            note("N1", date(2025, 2, 1), summary=text),
            note("N2", date(2025, 2, 2), "bogus", summary=text),
            note("N3", date(2025, 2, 3), "1012345678"),
        ],
    )  # an id in a coded column
    found = read_registers(tmp_path, PERIOD, b"k")
    shown = [found.notes[0]["summary"], next(r.record for r in found.rejected if r.line_no == 3)]
    shown += [r.reason for r in found.rejected]
    assert len(found.rejected) == 2 and "unknown dimension(s)" in found.rejected[1].reason
    for value in PERSONAL_DATA_IN_FREE_TEXT:
        assert not any(value in text for text in shown), value
    assert "اتصلت من" in shown[0]


def test_a_crm_snapshot_staged_after_the_workbook_refreshes_the_half_year(vob_env):
    """Found by the soak (issue 24): the half-year's closing CRM snapshot staged after its registers
    workbook left marts.fct_vob_half_year counting the older snapshot's beneficiaries. Sensor
    `half_year_after_months` asks for the half-year again once the monthly refresh succeeded."""
    from pipelines.definitions import defs

    landing = vob_env.landing_dir
    sensor = next(s for s in defs.get_repository_def().sensor_defs if s.name == "half_year_after_months")
    first = [ticket("T1", "2025-06-05T10:00:00+03:00", beneficiary_id=ALICE)]
    write_crm(landing, date(2025, 6, 20), first)
    write_workbook(landing, PERIOD, GOOD_NOTES, GOOD_PLANS, GOOD_PARTICIPATIONS, GOOD_ACTIONS)

    def refresh_months(instance: dg.DagsterInstance) -> dg.DagsterRun:
        result = defs.resolve_job_def("monthly_refresh").execute_in_process(
            instance=instance, partition_key="2025-06", resources=vob_resources()
        )
        assert result.success
        return result.dagster_run

    def requests_after(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[dg.RunRequest]:
        (success,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)
        context = dg.build_run_status_sensor_context(
            sensor_name=sensor.name,
            dagster_instance=instance,
            dagster_run=run,
            dagster_event=success.get_dagster_event(),
            resources=vob_resources(),
        )
        result = sensor(context)  # type: ignore[operator]
        return [] if isinstance(result, dg.SkipReason) else list(result)

    def ticket_beneficiaries() -> list[tuple]:
        return query(vob_env.warehouse_path, "SELECT ticket_beneficiaries FROM marts.fct_vob_half_year")

    with dg.DagsterInstance.ephemeral() as instance:
        refresh_months(instance)
        defs.resolve_job_def("half_year_refresh").execute_in_process(
            instance=instance, partition_key=PERIOD, resources=vob_resources()
        )
        assert ticket_beneficiaries() == [(1,)]

        # the closing snapshot, exported after the workbook: Bob's ticket too
        write_crm(landing, date(2025, 7, 1), [*first, ticket("T2", "2025-06-29T10:00:00+03:00", beneficiary_id=BOB)])
        run = refresh_months(instance)
        assert ticket_beneficiaries() == [(1,)]  # the monthly refresh alone leaves the half-year behind
        (request,) = requests_after(instance, run)
        assert request.partition_key == PERIOD and request.tags["vob/after_run"] == run.run_id
        defs.resolve_job_def("half_year_refresh").execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags, resources=vob_resources()
        )
        assert ticket_beneficiaries() == [(2,)]

        # a month of a half-year without its workbook: nothing to refresh
        second_half = defs.resolve_job_def("monthly_refresh").execute_in_process(
            instance=instance, partition_key="2025-07", resources=vob_resources()
        )
        assert requests_after(instance, second_half.dagster_run) == []
