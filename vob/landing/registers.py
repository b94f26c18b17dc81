"""The half-year registers the VoB team keeps by hand in Excel (LANDING.md).

`registers/vob_registers_YYYY-HN.xlsx` holds four sheets: feedback_notes,
corrective_plans, e_participations, improvement_actions. This module reads a
workbook (polars over the calamine reader), checks its structure and every
row, and writes the valid rows to working tables; rows that break the contract
go to `quality.rejected_rows` with their sheet, Excel row and reason.

Structure errors (no workbook, unreadable file, missing sheet or column) raise
`RegisterStructureError`: the half-year cannot be counted from a workbook that
is not the contract's, so the run fails with a message naming the workbook,
the sheet and the column.

Every cell is read as text (calamine writes a real Excel date as
`YYYY-MM-DD 00:00:00` and a whole number without `.0`); dates are then
accepted as Excel dates, ISO text `YYYY-MM-DD` (with an optional time) or an
Excel serial day number. Personal data (beneficiary_id) is replaced by the
keyed hash `pii_hash`, the same as the CRM tickets' `beneficiary_id_hmac`, so
one person on a ticket and on a note is one beneficiary.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from vob.base.db import transaction
from vob.base.fingerprints import fingerprint
from vob.base.periods import half_year_bounds
from vob.landing.personal_data import pii_hash, redact

SOURCE = "registers"  # quality.rejected_rows.source / meta.landing_files.source

DIMENSIONS = (
    # code, Arabic name (LANDING.md), English name
    ("speed", "سرعة التنفيذ", "Speed of execution"),
    ("outputs", "المخرجات", "Outputs"),
    ("procedures", "الإجراءات", "Procedures"),
    ("technology", "تقنية", "Technology"),
    ("employees", "الموظفين", "Employees"),
)
DIMENSION_CODES = tuple(code for code, _, _ in DIMENSIONS)
NOTE_SOURCES = ("najiz_ticket", "survey", "x")
PLAN_STATUSES = ("in_progress", "implemented")
PARTICIPATION_KINDS = ("consultation", "co_creation")

SHEETS: dict[str, tuple[str, ...]] = {
    "feedback_notes": ("note_id", "received_on", "source", "beneficiary_id", "dimensions", "summary"),
    "corrective_plans": ("plan_id", "title", "dimension", "status", "opened_on", "implemented_on"),
    "e_participations": ("title", "kind", "target_group", "channel", "month", "url"),
    "improvement_actions": ("action_no", "title", "description", "plan_id"),
}
PII_COLUMNS = ("beneficiary_id",)

DIMENSION_SEPARATORS = re.compile(r"[,،;]")  # the Latin comma, the Arabic comma, a semicolon
ISO_DATE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
SERIAL_DAY = re.compile(r"\d{5}(?:\.0+)?")
EXCEL_EPOCH = date(1899, 12, 30)  # serial day 1 is 1900-01-01 (with Excel's 1900 leap-year bug)
MONTH = re.compile(r"(\d{4})-(\d{2})")
WHOLE_NUMBER = re.compile(r"\d+(?:\.0+)?")


class RegisterStructureError(ValueError):
    """The workbook is missing, unreadable, or lacks a sheet or column of LANDING.md."""


WORKBOOK_DIR, WORKBOOK_PREFIX = "registers", "vob_registers_"  # registers/vob_registers_YYYY-HN.xlsx
WORKBOOK_NAME = re.compile(rf"{WORKBOOK_PREFIX}(\d{{4}})-H([12])\.xlsx")


def workbook_path(landing_dir: Path, period: str) -> Path:
    return landing_dir / WORKBOOK_DIR / f"{WORKBOOK_PREFIX}{period}.xlsx"


def workbooks(landing_dir: Path) -> list[Path]:
    """The registers workbooks in the landing zone, in name order."""
    return sorted((landing_dir / WORKBOOK_DIR).glob(f"{WORKBOOK_PREFIX}*.xlsx"))


def half_year_of(path: Path) -> str | None:
    """The half-year (2025-H1) a registers workbook is named for, None for another file."""
    match = WORKBOOK_NAME.fullmatch(path.name)
    return f"{match.group(1)}-H{match.group(2)}" if match else None


# ---------------------------------------------------------------- reading


@dataclass
class Rejected:
    sheet: str
    line_no: int  # the Excel row (the header is row 1)
    record: str  # "<sheet>: <row as JSON>", personal data masked
    reason: str


@dataclass
class Registers:
    """One workbook, read and checked: valid rows per sheet, and the rejected ones."""

    period: str
    file: str  # relative to the landing root
    sha256: str
    size_bytes: int
    notes: list[dict] = field(default_factory=list)
    plans: list[dict] = field(default_factory=list)
    participations: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    rows_read: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> dict[str, int]:
        return {
            "feedback_notes": len(self.notes),
            "corrective_plans": len(self.plans),
            "e_participations": len(self.participations),
            "improvement_actions": len(self.actions),
        }

    def rows_rejected(self, sheet: str) -> int:
        return sum(1 for r in self.rejected if r.sheet == sheet)


def read_sheets(data: bytes, rel: str) -> dict[str, list[tuple[int, dict[str, str | None]]]]:
    """Rows of the four sheets as text, each with its Excel row number; blank rows skipped.

    Raises RegisterStructureError naming the workbook, sheet and column when
    the workbook is not the contract's.
    """
    by_name = _workbook_frames(data, rel)
    _require_sheets(by_name, rel)
    return {sheet: _sheet_rows(by_name[sheet], sheet, columns, rel) for sheet, columns in SHEETS.items()}


def _workbook_frames(data: bytes, rel: str) -> dict:
    """Every sheet of the workbook as a frame of text cells, by its name trimmed and lower-case."""
    import polars as pl  # here: a run without a registers workbook does not pay for its import

    try:
        frames = pl.read_excel(
            io.BytesIO(data), sheet_id=0, engine="calamine", infer_schema_length=0, drop_empty_rows=False
        )
    except Exception as err:  # calamine's errors name neither the file nor the fix
        raise RegisterStructureError(f"register workbook {rel} cannot be read as an Excel workbook: {err}") from err
    return {name.strip().lower(): frame for name, frame in frames.items()}


def _require_sheets(by_name: dict, rel: str) -> None:
    missing_sheets = [sheet for sheet in SHEETS if sheet not in by_name]
    if missing_sheets:
        raise RegisterStructureError(
            f"register workbook {rel}: missing sheet(s) {', '.join(missing_sheets)}; "
            f"the workbook has {', '.join(by_name) or 'no sheets'}"
        )


def _sheet_rows(frame, sheet: str, columns: tuple[str, ...], rel: str) -> list[tuple[int, dict[str, str | None]]]:
    """The contract's columns of one sheet, row by row with the Excel row number; blank rows skipped."""
    frame = frame.rename({name: (_text(name) or name).lower() for name in frame.columns})
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise RegisterStructureError(
            f"register workbook {rel}, sheet {sheet}: missing column(s) {', '.join(missing)}; "
            f"the header row has {', '.join(frame.columns) or 'no columns'}"
        )
    rows = []
    for index, row in enumerate(frame.select(columns).iter_rows(named=True)):
        values = {name: _text(value) for name, value in row.items()}
        if any(value is not None for value in values.values()):
            rows.append((index + 2, values))  # row 1 is the header
    return rows


EDGE_SPACE = re.compile(
    r"^[\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+|"
    r"[\s\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]+$"
)


def _text(value) -> str | None:
    """A cell as text, without surrounding spaces or the invisible direction marks
    an Arabic spreadsheet leaves around values."""
    if value is None:
        return None
    text = EDGE_SPACE.sub("", str(value))
    return text or None


def parse_date(text: str | None) -> date | None:
    """An Excel date (read as `YYYY-MM-DD 00:00:00`), ISO text, or an Excel serial day."""
    if text is None:
        return None
    if match := ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(match[1])
        except ValueError:
            return None
    if SERIAL_DAY.fullmatch(text):
        return EXCEL_EPOCH + timedelta(days=int(float(text)))
    return None


def parse_month(text: str | None) -> str | None:
    """`YYYY-MM`, also from an Excel date cell (its month)."""
    if text is None:
        return None
    if (match := MONTH.fullmatch(text)) and 1 <= int(match[2]) <= 12:
        return text
    day = parse_date(text)
    return f"{day:%Y-%m}" if day else None


def split_dimensions(text: str | None) -> list[str]:
    """Dimension codes of a note: trimmed, lower-case, in order, each once."""
    codes: list[str] = []
    for part in DIMENSION_SEPARATORS.split(text or ""):
        code = (_text(part) or "").lower()
        if code and code not in codes:
            codes.append(code)
    return codes


ARABIC_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


def national_id(text: str | None) -> str | None:
    """A beneficiary id as the CRM writes it: Arabic-Indic digits as ASCII, no spaces
    (a number cell is already read without `.0`)."""
    return "".join(text.translate(ARABIC_DIGITS).split()) or None if text else None


def whole_number(text: str | None) -> int | None:
    return int(float(text)) if text and WHOLE_NUMBER.fullmatch(text) else None


def masked_record(sheet: str, values: dict[str, str | None]) -> str:
    shown = {k: ("<redacted>" if k in PII_COLUMNS and v else redact(v)) for k, v in values.items()}
    return f"{sheet}: {json.dumps(shown, ensure_ascii=False)}"


def _shown(text: str | None) -> str:
    return '""' if text is None else json.dumps(text[:60], ensure_ascii=False)


# ---------------------------------------------------------------- checking


def _required(values: dict, column: str, problems: list[str]) -> str | None:
    if values[column] is None:
        problems.append(f"missing {column}")
    return values[column]


def _enum(values: dict, column: str, allowed: tuple[str, ...], problems: list[str]) -> str:
    """The code, lower-case; a missing or unknown one is a problem."""
    code = (_required(values, column, problems) or "").lower()
    if code and code not in allowed:
        problems.append(f"unknown {column} {_shown(values[column])} (expected {', '.join(allowed)})")
    return code


def _date(values: dict, column: str, problems: list[str], required: bool = True) -> date | None:
    text = _required(values, column, problems) if required else values[column]
    day = parse_date(text)
    if text is not None and day is None:
        problems.append(f"unparseable date {column} {_shown(text)}")
    return day


def check_note(values: dict, first: date, last: date) -> tuple[list[str], dict]:
    problems: list[str] = []
    _required(values, "note_id", problems)
    received = _date(values, "received_on", problems)
    if received and not first <= received <= last:
        problems.append(f"received_on {received} is outside the half-year {first}..{last}")
    source = _enum(values, "source", NOTE_SOURCES, problems)
    codes = split_dimensions(values["dimensions"])
    unknown = [code for code in codes if code not in DIMENSION_CODES]
    if not codes:
        problems.append("no dimension (a note carries one or more Adaa dimension codes)")
    elif unknown:
        problems.append(
            f"unknown dimension(s) {', '.join(_shown(c) for c in unknown)} (expected {', '.join(DIMENSION_CODES)})"
        )
    row = {
        "note_id": values["note_id"],
        "received_on": received,
        "source": source,
        "beneficiary_id": national_id(values["beneficiary_id"]),
        "dimensions": codes,
        "summary": redact(values["summary"]),
    }  # masked by the landing reader's redaction list
    return problems, row


def check_plan(values: dict, first: date, last: date) -> tuple[list[str], dict]:
    problems: list[str] = []
    _required(values, "plan_id", problems)
    dimension = _enum(values, "dimension", DIMENSION_CODES, problems)
    status = _enum(values, "status", PLAN_STATUSES, problems)
    opened = _date(values, "opened_on", problems)
    if opened and opened > last:
        problems.append(f"opened_on {opened} is after the half-year's last day {last}")
    implemented = _date(values, "implemented_on", problems, required=False)
    if status == "implemented" and values["implemented_on"] is None:
        problems.append("implemented plan without implemented_on")
    elif status == "in_progress" and values["implemented_on"] is not None:
        problems.append("plan in progress with implemented_on")
    elif implemented and opened and implemented < opened:
        problems.append(f"implemented_on {implemented} before opened_on {opened}")
    row = {
        "plan_id": values["plan_id"],
        "title": values["title"],
        "dimension": dimension,
        "status": status,
        "opened_on": opened,
        "implemented_on": implemented,
    }
    return problems, row


def check_participation(values: dict, first: date, last: date) -> tuple[list[str], dict]:
    problems: list[str] = []
    _required(values, "title", problems)
    kind = _enum(values, "kind", PARTICIPATION_KINDS, problems)
    text = _required(values, "month", problems)
    month = parse_month(text)
    if text is not None and month is None:
        problems.append(f"unparseable month {_shown(text)} (expected YYYY-MM)")
    elif month and not f"{first:%Y-%m}" <= month <= f"{last:%Y-%m}":
        problems.append(f"month {month} is outside the half-year {first:%Y-%m}..{last:%Y-%m}")
    row = {
        "title": values["title"],
        "kind": kind,
        "target_group": values["target_group"],
        "channel": values["channel"],
        "month": month,
        "url": values["url"],
    }
    return problems, row


def check_action(values: dict, first: date, last: date) -> tuple[list[str], dict]:
    problems: list[str] = []
    text = _required(values, "action_no", problems)
    number = whole_number(text)
    if text is not None and number is None:
        problems.append(f"action_no {_shown(text)} is not a whole number")
    _required(values, "title", problems)
    row = {
        "action_no": number,
        "title": values["title"],
        "description": values["description"],
        "plan_id": values["plan_id"],
    }
    return problems, row


CHECKS = {
    "feedback_notes": (check_note, "note_id"),
    "corrective_plans": (check_plan, "plan_id"),
    "e_participations": (check_participation, None),
    "improvement_actions": (check_action, "action_no"),
}


@dataclass
class CheckedRow:
    """A sheet's row after the checks: the cells as read, what is wrong with it, the row it gives."""

    line_no: int
    values: dict[str, str | None]
    problems: list[str]
    row: dict

    @property
    def valid(self) -> bool:
        return not self.problems


def read_registers(landing_dir: Path, period: str, pii_key: bytes) -> Registers:
    """Read and check the workbook of a half-year (pure: touches no database)."""
    rel, data = _workbook_bytes(landing_dir, period)
    sheets = read_sheets(data, rel)
    first, last = half_year_bounds(period)
    registers = Registers(period, rel, fingerprint(hashlib.sha256(data)), len(data))
    valid: dict[str, list[dict]] = {}
    for sheet, (check, id_column) in CHECKS.items():
        checked = [CheckedRow(line_no, values, *check(values, first, last)) for line_no, values in sheets[sheet]]
        if id_column:
            _reject_duplicate_ids(checked, sheet, id_column)
        if sheet == "improvement_actions":
            _reject_unknown_plans(checked, {plan["plan_id"] for plan in valid["corrective_plans"]})
        valid[sheet] = _keep_valid(registers, sheet, checked)
        registers.rows_read[sheet] = len(checked)
    _hash_beneficiaries(valid["feedback_notes"], pii_key)
    registers.notes = valid["feedback_notes"]
    registers.plans = valid["corrective_plans"]
    registers.participations = valid["e_participations"]
    registers.actions = valid["improvement_actions"]
    return registers


def _workbook_bytes(landing_dir: Path, period: str) -> tuple[str, bytes]:
    """The half-year's workbook, its path relative to the landing root and its content."""
    path = workbook_path(landing_dir, period)
    rel = path.relative_to(landing_dir).as_posix()
    if not path.exists():
        raise RegisterStructureError(
            f"register workbook {rel} not found under the landing root {landing_dir} "
            "(LANDING.md: registers/vob_registers_YYYY-HN.xlsx, one per half-year)"
        )
    return rel, path.read_bytes()  # once: what is checked is what is fingerprinted


def _reject_duplicate_ids(checked: list[CheckedRow], sheet: str, id_column: str) -> None:
    """An id on two rows: which one is right cannot be told, so neither counts."""
    ids = Counter(c.row[id_column] for c in checked if c.valid)
    for c in checked:
        if c.valid and ids[c.row[id_column]] > 1:
            c.problems.append(f"duplicate {id_column} {_shown(str(c.row[id_column]))} in sheet {sheet}")


def _reject_unknown_plans(checked: list[CheckedRow], plans: set[str]) -> None:
    """An action names a plan of this workbook, or none."""
    for c in checked:
        if c.valid and c.row["plan_id"] is not None and c.row["plan_id"] not in plans:
            c.problems.append(f"plan_id {_shown(c.row['plan_id'])} is not a valid plan of sheet corrective_plans")


def _keep_valid(registers: Registers, sheet: str, checked: list[CheckedRow]) -> list[dict]:
    """The valid rows with their Excel row number; the others go to `registers.rejected`, masked."""
    valid = []
    for c in checked:
        if c.problems:
            reason = f"sheet {sheet}, row {c.line_no}: " + "; ".join(c.problems)
            registers.rejected.append(
                Rejected(sheet, c.line_no, masked_record(sheet, c.values), redact(reason) or reason)
            )
        else:
            valid.append({"line_no": c.line_no, **c.row})
    return valid


def _hash_beneficiaries(notes: list[dict], pii_key: bytes) -> None:
    """Each note's beneficiary_id becomes its keyed hash, the CRM tickets' beneficiary_id_hmac."""
    for note in notes:
        beneficiary = note.pop("beneficiary_id")
        note["beneficiary_id_hmac"] = pii_hash(beneficiary, pii_key) if beneficiary else None


# ---------------------------------------------------------------- storing


STAGING_COLUMNS = {
    "feedback_notes": ("note_id", "received_on", "source", "beneficiary_id_hmac", "dimensions", "summary"),
    "corrective_plans": ("plan_id", "title", "dimension", "status", "opened_on", "implemented_on"),
    "e_participations": ("title", "kind", "target_group", "channel", "month", "url"),
    "improvement_actions": ("action_no", "title", "description", "plan_id"),
}


def _insert(con: duckdb.DuckDBPyConnection, table: str, records: list[dict]) -> None:
    """Insert rows given as dicts, through Arrow (executemany is slow on DuckDB)."""
    import pyarrow as pa

    if not records:
        return
    batch = pa.Table.from_pylist(records)
    con.register("_register_rows", batch)
    try:
        names = ", ".join(batch.column_names)
        con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _register_rows")
    finally:
        con.unregister("_register_rows")


def store_registers(con: duckdb.DuckDBPyConnection, registers: Registers, run_id: str) -> None:
    """Replace the half-year's rows (a re-delivered workbook replaces the previous one)."""
    period, file = registers.period, registers.file
    now = datetime.now(UTC)
    rows = {
        "feedback_notes": registers.notes,
        "corrective_plans": registers.plans,
        "e_participations": registers.participations,
        "improvement_actions": registers.actions,
    }
    with transaction(con):
        for table, columns in STAGING_COLUMNS.items():
            con.execute(f"DELETE FROM staging.{table} WHERE period = $p", {"p": period})
            _insert(
                con,
                f"staging.{table}",
                [
                    {"period": period, **{c: row[c] for c in columns}, "file": file, "line_no": row["line_no"]}
                    for row in rows[table]
                ],
            )
        # the previous delivery's rejects go with it; the path carries the half-year
        con.execute("DELETE FROM quality.rejected_rows WHERE source = $s AND file = $f", {"s": SOURCE, "f": file})
        _insert(
            con,
            "quality.rejected_rows",
            [
                {
                    "source": SOURCE,
                    "file": file,
                    "line_no": r.line_no,
                    "record": r.record,
                    "reason": r.reason,
                    "run_id": run_id,
                    "rejected_at": now,
                }
                for r in registers.rejected
            ],
        )
        read = sum(registers.rows_read.values())
        loaded = sum(registers.rows_loaded.values())
        con.execute("DELETE FROM meta.landing_files WHERE source = $s AND path = $f", {"s": SOURCE, "f": file})
        con.execute(
            "INSERT INTO meta.landing_files VALUES ($s, $f, $d, $sha, $size, $read, $loaded, $rejected, "
            "NULL, NULL, $run, now())",
            {
                "s": SOURCE,
                "f": file,
                "d": half_year_bounds(period)[0],
                "sha": registers.sha256,
                "size": registers.size_bytes,
                "read": read,
                "loaded": loaded,
                "rejected": len(registers.rejected),
                "run": run_id,
            },
        )
