"""The soak's deliveries (tests/test_soak.py): what the source systems send each night, to LANDING.md,
from a seed. Every file is a pure function of (seed, date, version), so a re-delivery, a late
delivery or the clean run's landing zone hold exactly the bytes the harness meant.

A night of day D brings the calls, e-mail and chat exports of D; a CRM snapshot every
CRM_EVERY nights; the month's count files (x, sms, self_service) on its last day; the half-year's
registers workbook on the half-year's last day, and its closing CRM snapshot the next night. Faults (a contract-breaking line, a corrected
re-delivery, a broken then corrected re-delivery, a late file, a file still being written) are
planned in tests/test_soak.py and written here.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from landing_files import (
    CALL_COLUMNS,
    call,
    chat,
    csv_text,
    email,
    event_path,
    ticket,
    write_counts,
    write_crm,
    write_raw,
)
from registers_files import action, note, participation, plan, write_workbook

RIYADH = timezone(timedelta(hours=3))
CALLS_PER_DAY = 150  # one contract-breaking line in a day stays under the 1 % reject threshold of its month
EMAILS_PER_DAY = 40
CHATS_PER_DAY = 40
TICKETS_PER_DAY = 6
CRM_EVERY = 3
BROKEN_LINES = 30  # a broken delivery: 20 % of the day's calls break the contract, the month's gate fails
COUNT_CATEGORIES = {
    "x": ["mention", "reply", "direct_message"],
    "sms": ["S01", "S02"],
    "self_service": ["appointment", "certificate"],
}


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random("|".join(str(p) for p in (seed, *parts)))


def calls_rows(seed: int, day: date, version: int) -> list[dict]:
    """The day's calls; a corrected delivery (version > 0) carries `version` calls more, found late."""
    rng = _rng(seed, "calls", day)
    rows = []
    for i in range(CALLS_PER_DAY + version):
        offered = datetime(day.year, day.month, day.day, 7, tzinfo=RIYADH) + timedelta(
            seconds=i * 300 + rng.randint(0, 60)
        )
        disposition = "abandoned" if rng.random() < 0.1 else "answered"
        answered = offered + timedelta(seconds=rng.randint(3, 90))
        rows.append(
            call(
                f"C{day:%Y%m%d}-{i:04d}",
                offered.isoformat(),
                disposition,
                answered_at=answered.isoformat() if disposition == "answered" else "",
                ended_at=(answered + timedelta(seconds=rng.randint(30, 600))).isoformat(),
                queue=rng.choice(["general", "appointments", "complaints"]),
                caller_number=f"+9665{rng.randint(10_000_000, 99_999_999)}",
            )
        )
    return rows


def _utc(day: date, minutes: int) -> str:
    moment = datetime(day.year, day.month, day.day, 5, tzinfo=UTC) + timedelta(minutes=minutes)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")  # 08:00-20:00 in Riyadh: the same day


def email_rows(seed: int, day: date) -> list[dict]:
    rng = _rng(seed, "email", day)
    return [
        email(
            f"M{day:%Y%m%d}-{i:03d}",
            _utc(day, i * 15 + rng.randint(0, 10)),
            sender=f"p{rng.randint(1, 999)}@example.com",
        )
        for i in range(EMAILS_PER_DAY)
    ]


def chat_rows(seed: int, day: date) -> list[dict]:
    rng = _rng(seed, "chat", day)
    return [
        chat(
            f"S{day:%Y%m%d}-{i:03d}",
            _utc(day, i * 15),
            ended_at=_utc(day, i * 15 + rng.randint(1, 14)),
            entry_point=rng.choice(["web", "app"]),
            visitor_id=f"V-{rng.randint(1, 10**6)}",
            rating=rng.choice([None, 3, 4, 5]),
        )
        for i in range(CHATS_PER_DAY)
    ]


def jsonl_text(records: list[dict]) -> str:
    import json

    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def calls_text(seed: int, day: date, version: int = 0, bad_line: bool = False, broken: bool = False) -> str:
    """The calls file of `day`. `bad_line`: its line 3 breaks the contract (an unparseable
    `offered_at`, kept for good: it must be in quality.rejected_rows). `broken`: BROKEN_LINES lines
    break it (the delivery a later corrected one replaces)."""
    rows = calls_rows(seed, day, version)
    if bad_line:
        rows[1] = {**rows[1], "offered_at": "yesterday evening"}
    if broken:
        rows = [{**r, "offered_at": "not a time"} if i < BROKEN_LINES else r for i, r in enumerate(rows)]
    return csv_text(rows, CALL_COLUMNS)


BAD_LINE_NO = 3  # the header is line 1, the second record line 3


def event_text(seed: int, source: str, day: date) -> str:
    return jsonl_text(email_rows(seed, day) if source == "email" else chat_rows(seed, day))


def event_file(landing: Path, source: str, day: date) -> Path:
    return event_path(landing, source, day)


def write_text(path: Path, text: str) -> Path:
    """Written beside and renamed into place, as an SFTP client with temporary names does: a reader
    sees the old content or the new, whole."""
    temporary = path.with_name(path.name + ".part")
    write_raw(temporary, text)
    temporary.replace(path)
    return path


def write_crm_snapshot(seed: int, landing: Path, first_day: date, snapshot: date) -> Path:
    """Every ticket created from `first_day` through the snapshot's day before: closed a day after
    it was created once two days old, open before."""
    rows = []
    day = first_day
    while day < snapshot:
        rng = _rng(seed, "crm", day)
        for i in range(TICKETS_PER_DAY):
            created = datetime(day.year, day.month, day.day, 9 + i, tzinfo=RIYADH)
            closed = (snapshot - day).days > 2
            rows.append(
                ticket(
                    f"T{day:%Y%m%d}-{i}",
                    created.isoformat(),
                    status="closed" if closed else "new",
                    closed_at=(created + timedelta(days=1)).isoformat() if closed else "",
                    channel=rng.choice(["calls", "email", "chat"]),
                    beneficiary_id=f"10{rng.randint(10**7, 10**8 - 1)}",
                )
            )
        day += timedelta(days=1)
    return write_crm(landing, snapshot, rows)


def write_month_counts(seed: int, landing: Path, month_days: list[date]) -> list[Path]:
    """The month's count files, with a row per day of `month_days` and category."""
    month = f"{month_days[0]:%Y-%m}"
    paths = []
    for source, categories in COUNT_CATEGORIES.items():
        rng = _rng(seed, source, month)
        rows = [(f"{d:%Y-%m-%d}", c, rng.randint(0, 40)) for d in month_days for c in categories]
        paths.append(write_counts(landing, source, month, rows))
    return paths


def write_registers(seed: int, landing: Path, period: str, days: list[date]) -> Path:
    rng = _rng(seed, "registers", period)
    dimensions = ["speed", "outputs", "procedures", "technology", "employees"]
    notes = [
        note(f"N-{i}", rng.choice(days), dimensions=",".join(rng.sample(dimensions, rng.randint(1, 2))))
        for i in range(12)
    ]
    plans = [
        plan(f"P-{i}", rng.choice(dimensions), "implemented", days[0], implemented_on=days[-1])
        if i % 2
        else plan(f"P-{i}", rng.choice(dimensions), "in_progress", days[0])
        for i in range(3)
    ]
    month = f"{days[0]:%Y-%m}"
    return write_workbook(
        landing,
        period,
        notes=notes,
        plans=plans,
        participations=[participation("استبيان رضا المستفيدين", month=month)],
        actions=[action(1, "تحسين زمن الرد", plan_id="P-1")],
    )


def month_end(day: date) -> bool:
    return (day + timedelta(days=1)).month != day.month


def half_year_end(day: date) -> str | None:
    if (day.month, day.day) == (6, 30):
        return f"{day.year}-H1"
    if (day.month, day.day) == (12, 31):
        return f"{day.year}-H2"
    return None
