"""Write small VoB register workbooks (LANDING.md) for tests, with xlsxwriter."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import xlsxwriter

COLUMNS = {
    "feedback_notes": ["note_id", "received_on", "source", "beneficiary_id", "dimensions", "summary"],
    "corrective_plans": ["plan_id", "title", "dimension", "status", "opened_on", "implemented_on"],
    "e_participations": ["title", "kind", "target_group", "channel", "month", "url"],
    "improvement_actions": ["action_no", "title", "description", "plan_id"],
}


def note(note_id, received_on, dimensions="speed", source="survey", beneficiary_id=None, summary="ملاحظة") -> dict:
    return {
        "note_id": note_id,
        "received_on": received_on,
        "source": source,
        "beneficiary_id": beneficiary_id,
        "dimensions": dimensions,
        "summary": summary,
    }


def plan(plan_id, dimension, status, opened_on, implemented_on=None, title="خطة تصحيحية") -> dict:
    return {
        "plan_id": plan_id,
        "title": title,
        "dimension": dimension,
        "status": status,
        "opened_on": opened_on,
        "implemented_on": implemented_on,
    }


def participation(
    title,
    kind="consultation",
    month="2025-03",
    target_group="all",
    channel="x",
    url="https://eparticipation.my.gov.sa/x",
) -> dict:
    return {"title": title, "kind": kind, "target_group": target_group, "channel": channel, "month": month, "url": url}


def action(action_no, title, plan_id=None, description="وصف") -> dict:
    return {"action_no": action_no, "title": title, "description": description, "plan_id": plan_id}


def write_workbook(
    landing: Path,
    period: str,
    notes=(),
    plans=(),
    participations=(),
    actions=(),
    drop_sheet: str | None = None,
    drop_column: tuple[str, str] | None = None,
) -> Path:
    """A workbook at registers/vob_registers_<period>.xlsx. A `date`/`datetime` value is
    written as a real Excel date; a string as text; an int as a number."""
    path = landing / "registers" / f"vob_registers_{period}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    rows = {
        "feedback_notes": notes,
        "corrective_plans": plans,
        "e_participations": participations,
        "improvement_actions": actions,
    }
    for sheet, columns in COLUMNS.items():
        if sheet == drop_sheet:
            continue
        if drop_column and drop_column[0] == sheet:
            columns = [c for c in columns if c != drop_column[1]]
        ws = book.add_worksheet(sheet)
        ws.write_row(0, 0, columns)
        for r, row in enumerate(rows[sheet], start=1):
            for c, column in enumerate(columns):
                value = row.get(column)
                if value is None:
                    continue
                if isinstance(value, (date, datetime)):
                    value = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
                    ws.write_datetime(r, c, value, date_format)
                elif isinstance(value, (int, float)):
                    ws.write_number(r, c, value)
                else:
                    ws.write_string(r, c, value)
    book.close()
    return path
