"""Write small landing zones to LANDING.md for tests, file by file."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

CALL_COLUMNS = ["call_id", "offered_at", "answered_at", "ended_at", "queue", "disposition", "caller_number"]
CRM_COLUMNS = ["ticket_id", "created_at", "channel", "category", "status", "closed_at", "beneficiary_id"]


def call(call_id: str, offered_at: str, disposition: str = "answered", **overrides) -> dict:
    row = {
        "call_id": call_id,
        "offered_at": offered_at,
        "answered_at": offered_at if disposition == "answered" else "",
        "ended_at": offered_at,
        "queue": "general",
        "disposition": disposition,
        "caller_number": "+966512345678",
    }
    return {**row, **overrides}


def email(message_id: str, received_at: str, **overrides) -> dict:
    row = {
        "message_id": message_id,
        "received_at": received_at,
        "mailbox": "info",
        "sender": "someone@example.com",
        "subject": "استفسار عن موعد",
        "language": "ar",
    }
    return {**row, **overrides}


def chat(session_id: str, started_at: str, **overrides) -> dict:
    row = {
        "session_id": session_id,
        "started_at": started_at,
        "ended_at": started_at,
        "entry_point": "web",
        "visitor_id": "V-abc123",
        "agent_id": "AG-1",
        "rating": 5,
    }
    return {**row, **overrides}


def ticket(ticket_id: str, created_at: str, status: str = "new", closed_at: str = "", **overrides) -> dict:
    row = {
        "ticket_id": ticket_id,
        "created_at": created_at,
        "channel": "calls",
        "category": "general",
        "status": status,
        "closed_at": closed_at,
        "beneficiary_id": "1012345678",
    }
    return {**row, **overrides}


def csv_text(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def _write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def event_path(landing: Path, source: str, export_date: date) -> Path:
    ext = "csv" if source == "calls" else "jsonl"
    return landing / source / f"{export_date:%Y}" / f"{export_date:%m}" / f"{source}_{export_date:%Y-%m-%d}.{ext}"


def write_calls(landing: Path, export_date: date, rows: list[dict], columns: list[str] = CALL_COLUMNS) -> Path:
    return _write(event_path(landing, "calls", export_date), csv_text(rows, columns))


def write_jsonl(landing: Path, source: str, export_date: date, records: list[dict]) -> Path:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    return _write(event_path(landing, source, export_date), text)


def write_counts(landing: Path, source: str, month: str, rows: list[tuple[str, str, int]]) -> Path:
    text = "date,category,count\n" + "".join(f"{d},{c},{n}\n" for d, c, n in rows)
    return _write(landing / source / f"{source}_{month}.csv", text)


def write_crm(landing: Path, snapshot: date, rows: list[dict]) -> Path:
    return _write(landing / "crm" / f"tickets_{snapshot:%Y-%m-%d}.csv", csv_text(rows, CRM_COLUMNS))


def write_raw(path: Path, content: str | bytes) -> Path:
    return _write(path, content)
