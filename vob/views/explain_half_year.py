"""`vob explain` for the half-year marts (vob/marts/half_year.py): the VoB figures of a half-year, the
feedback tags and shares per Adaa dimension, and the corrective plans per dimension.

Their records are the valid rows of the half-year's register workbook (one sheet each) and, for
the beneficiaries, the tickets of the latest CRM snapshot of the half-year. Each sheet is listed
with its rows read (valid + rejected) and rejected; beneficiaries are distinct keyed hashes, so
only their counts are read (never a hash).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from vob.base.periods import half_year_bounds, month_of, months_of_half
from vob.landing.registers import DIMENSION_CODES, SOURCE, workbook_path
from vob.views.explain_parts import FactTable, FileRow, Key, Reckoning, ratio_lines, rejected_reasons

HALF_YEAR_MEASURES = (
    "beneficiaries",
    "notes",
    "plans_total",
    "plans_in_progress",
    "plans_implemented",
    "ticket_beneficiaries",
    "note_beneficiaries",
)
PLAN_STATUS = {"plans_in_progress": "in_progress", "plans_implemented": "implemented"}
WORDS = {
    "beneficiaries": "beneficiaries (distinct people on a ticket or a feedback note)",
    "notes": "feedback notes",
    "plans_total": "corrective plans",
    "plans_in_progress": "corrective plans in progress",
    "plans_implemented": "corrective plans implemented",
    "ticket_beneficiaries": "beneficiaries of the tickets",
    "note_beneficiaries": "beneficiaries of the feedback notes",
    "tags": "feedback tags",
    "share_pct": "share of the feedback tags (%)",
}
TICKET_PEOPLE = (
    "tickets created in the half-year with a beneficiary_id, as the latest CRM snapshot of the "
    "half-year sees them (distinct keyed hashes)"
)
NOTE_PEOPLE = "feedback notes of the workbook with a beneficiary_id (distinct keyed hashes)"


def _period(key: Key) -> str:
    return str(key.values["period"])


def _workbook(period: str) -> str:
    return workbook_path(Path("."), period).as_posix()


def _sheet(con: duckdb.DuckDBPyConnection, period: str, sheet: str, gives: int) -> FileRow:
    """A sheet of the workbook as a file row: rows read = valid + rejected."""
    file = _workbook(period)
    valid = con.execute(f"SELECT count(*) FROM staging.{sheet} WHERE period = $p", {"p": period}).fetchall()[0][0]
    rejected = con.execute(
        "SELECT count(*) FROM quality.rejected_rows WHERE source = $s AND file = $f AND starts_with(reason, $prefix)",
        {"s": SOURCE, "f": file, "prefix": f"sheet {sheet},"},
    ).fetchall()[0][0]
    return FileRow(f"{file} (sheet {sheet})", valid + rejected, rejected, (gives,))


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: dict) -> int:
    return con.execute(sql, params).fetchall()[0][0]


def _counted(key: Key, what: str, files: list[FileRow], reasons: list) -> Reckoning:
    """A count: what its files give, added up."""
    value = sum(int(f.gives[0] or 0) for f in files)
    return Reckoning([f"  {key.measure} = {value:,}  ({what})"], value, (key.measure,), files, reasons)


def _sheet_reasons(con: duckdb.DuckDBPyConnection, period: str, sheet: str) -> list:
    return rejected_reasons(con, SOURCE, [_workbook(period)], sheet)


# ---------------------------------------------------------------- corrective plans


def _plans_sql(key: Key) -> str:
    status = " AND status = $status" if key.measure in PLAN_STATUS else ""
    dimension = " AND dimension = $dimension" if "dimension" in key.values else ""
    return (
        "SELECT count(*) FROM staging.corrective_plans "
        f"WHERE period = $period AND opened_on <= $last_day{status}{dimension}"
    )


def _plans_rule(key: Key) -> str:
    status = f" with status {PLAN_STATUS[key.measure]}" if key.measure in PLAN_STATUS else ""
    dimension = f" of dimension {key.values['dimension']}" if "dimension" in key.values else ""
    return (
        f"the number of valid rows of the sheet corrective_plans{dimension}{status} opened by the "
        "half-year's last day (a plan opened earlier and still followed counts)."
    )


def _plans(con: duckdb.DuckDBPyConnection, key: Key) -> Reckoning:
    period = _period(key)
    params: dict = {"period": period, "last_day": half_year_bounds(period)[1]}
    if key.measure in PLAN_STATUS:
        params["status"] = PLAN_STATUS[key.measure]
    if "dimension" in key.values:
        params["dimension"] = key.values["dimension"]
    sheet = _sheet(con, period, "corrective_plans", _count(con, _plans_sql(key), params))
    return _counted(key, "valid plans of the sheet, as above", [sheet], _sheet_reasons(con, period, "corrective_plans"))


# ---------------------------------------------------------------- fct_vob_half_year


def _half_year_words(key: Key) -> str:
    return f"{WORDS[key.measure]} in {_period(key)}"


def _half_year_rule(key: Key) -> str:
    if key.measure == "beneficiaries":
        return (
            f"the distinct people among the {TICKET_PEOPLE} and the {NOTE_PEOPLE}: the same keyed hash of a "
            "national id on a ticket and on a note is one beneficiary (ticket beneficiaries + note "
            "beneficiaries − those on both)."
        )
    if key.measure == "ticket_beneficiaries":
        return f"the number of distinct people of the {TICKET_PEOPLE}."
    if key.measure == "note_beneficiaries":
        return f"the number of distinct people of the {NOTE_PEOPLE}."
    if key.measure == "notes":
        return "the number of distinct note_id of the valid rows of the sheet feedback_notes received in the half-year."
    return _plans_rule(key)


def _ticket_people(con: duckdb.DuckDBPyConnection, period: str, snapshot: date | None) -> FileRow | None:
    """The latest snapshot's file with its distinct beneficiaries of the half-year's tickets."""
    months = months_of_half(period)
    rows = con.execute(
        """SELECT lf.path, lf.rows_read, lf.rows_rejected,
                  (SELECT count(DISTINCT beneficiary_id_hmac) FROM staging.crm
                   WHERE month BETWEEN $first AND $last AND file_date = $snapshot AND file = lf.path)
           FROM meta.landing_files lf WHERE lf.source = 'crm' AND lf.file_date = $snapshot""",
        {"first": month_of(months[0]), "last": month_of(months[-1]), "snapshot": snapshot},
    ).fetchall()
    return FileRow(rows[0][0], rows[0][1], rows[0][2], (rows[0][3],)) if rows else None


NOTE_PEOPLE_SQL = (
    "SELECT DISTINCT beneficiary_id_hmac FROM staging.feedback_notes "
    "WHERE period = $period AND beneficiary_id_hmac IS NOT NULL"
)


def _beneficiaries(con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
    period, snapshot = _period(key), row["ticket_snapshot_date"]
    months = months_of_half(period)
    notes = _sheet(
        con,
        period,
        "feedback_notes",
        _count(con, f"SELECT count(*) FROM ({NOTE_PEOPLE_SQL})", {"period": period}),
    )
    tickets = [f for f in [_ticket_people(con, period, snapshot)] if f is not None]
    ticket_reasons = rejected_reasons(con, "crm", [f.file for f in tickets])
    note_reasons = _sheet_reasons(con, period, "feedback_notes")
    if key.measure == "ticket_beneficiaries":
        return _counted(key, TICKET_PEOPLE, tickets, ticket_reasons)
    if key.measure == "note_beneficiaries":
        return _counted(key, NOTE_PEOPLE, [notes], note_reasons)
    on_tickets, on_notes = sum(int(f.gives[0] or 0) for f in tickets), int(notes.gives[0] or 0)
    both = _count(
        con,
        f"""SELECT count(*) FROM ({NOTE_PEOPLE_SQL}) n
            WHERE beneficiary_id_hmac IN (SELECT beneficiary_id_hmac FROM staging.crm
                                          WHERE month BETWEEN $first AND $last AND file_date = $snapshot)""",
        {"period": period, "first": month_of(months[0]), "last": month_of(months[-1]), "snapshot": snapshot},
    )
    value = on_tickets + on_notes - both
    lines = [
        f"  of tickets = {on_tickets:,}  (distinct beneficiaries of the half-year's tickets, snapshot {snapshot})",
        f"  of notes = {on_notes:,}  (distinct beneficiaries of the valid feedback notes)",
        f"  on both = {both:,}  (the same keyed hash on a ticket and on a note)",
        f"  {on_tickets:,} + {on_notes:,} − {both:,} = {value:,}",
    ]
    note = "Each file gives its distinct beneficiaries; they do not add up, a person on both counts once."
    return Reckoning(
        lines, value, ("beneficiaries",), [*tickets, notes], ticket_reasons + note_reasons, [note], adds_up=False
    )


def _half_year_reckon(con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
    if key.measure.endswith("beneficiaries"):
        return _beneficiaries(con, key, row)
    if key.measure == "notes":
        period = _period(key)
        first, last = half_year_bounds(period)
        count = _count(
            con,
            "SELECT count(DISTINCT note_id) FROM staging.feedback_notes "
            "WHERE period = $period AND received_on BETWEEN $first AND $last",
            {"period": period, "first": first, "last": last},
        )
        sheet = _sheet(con, period, "feedback_notes", count)
        return _counted(
            key, "valid notes received in the half-year", [sheet], _sheet_reasons(con, period, "feedback_notes")
        )
    return _plans(con, key)


VOB_HALF_YEAR = FactTable(
    "fct_vob_half_year",
    ("period",),
    HALF_YEAR_MEASURES,
    "2025-H1 beneficiaries",
    _half_year_words,
    _half_year_rule,
    _half_year_reckon,
)


# ---------------------------------------------------------------- per dimension

TAGS_SQL = (
    "SELECT count(*) FROM (SELECT unnest(dimensions) AS dimension FROM staging.feedback_notes "
    "WHERE period = $period) WHERE $dimension IS NULL OR dimension = $dimension"
)


def _dimension_words(key: Key) -> str:
    return f"{WORDS[key.measure]} of dimension {key.values['dimension']} in {_period(key)}"


def _dimension_rule(key: Key) -> str:
    tags = (
        f"the feedback notes of the half-year tagged with {key.values['dimension']} (valid rows of the sheet "
        "feedback_notes; a note tags a dimension once, and may tag several)"
    )
    if key.measure == "tags":
        return f"the number of {tags}."
    return (
        f"tags × 100 / all tags of the half-year (every dimension {', '.join(DIMENSION_CODES)}), where tags are "
        f"{tags}; exact, rounded half away from zero to 2 decimals; NULL when the half-year has no tag."
    )


def _dimension_reckon(con: duckdb.DuckDBPyConnection, key: Key, row: dict) -> Reckoning:
    period, dimension = _period(key), key.values["dimension"]
    tags = _count(con, TAGS_SQL, {"period": period, "dimension": dimension})
    reasons = _sheet_reasons(con, period, "feedback_notes")
    if key.measure == "tags":
        sheet = _sheet(con, period, "feedback_notes", tags)
        return _counted(key, f"notes tagged {dimension}", [sheet], reasons)
    total = _count(con, TAGS_SQL, {"period": period, "dimension": None})
    sheet = _sheet(con, period, "feedback_notes", tags)
    sheet.gives = (tags, total)
    lines, value = ratio_lines(
        ("tags", tags, f"notes tagged {dimension}"), ("all tags", total, "tags of every dimension"), 100, 2
    )
    return Reckoning(lines, value, ("tags", "all tags"), [sheet], reasons)


DIMENSION = FactTable(
    "fct_feedback_dimension_half_year",
    ("period", "dimension"),
    ("tags", "share_pct"),
    "2025-H1 speed share_pct",
    _dimension_words,
    _dimension_rule,
    _dimension_reckon,
)
PLANS_BY_DIMENSION = FactTable(
    "corrective_plans_by_dimension",
    ("period", "dimension"),
    ("plans_total", "plans_in_progress", "plans_implemented"),
    "2025-H1 speed plans_implemented",
    _dimension_words,
    _plans_rule,
    lambda con, key, row: _plans(con, key),
)

HALF_YEAR_TABLES = (VOB_HALF_YEAR, DIMENSION, PLANS_BY_DIMENSION)
