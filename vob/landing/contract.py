"""The one place that knows the landing zone (shared/contract/LANDING.md).

Each source is described once: where its files are, how they are named, what
format they have, which fields are required, which carry personal data and
which values are allowed. Readers, checks and the sample generator's tests use
these descriptions instead of repeating paths and column lists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from vob.base.text import sql_quote

OPEN_STATUSES = ("new", "in_progress", "pending")

# Uploads in progress (docs/operations.md, "Uploads in progress"): temporary names are never read,
# and a file modified after the run's settle cutoff (Settings.settle_seconds) is left for a later run.
TEMPORARY_SUFFIXES = (".part", ".filepart", ".tmp")
SETTLED_TAG = "vob/settled_before"  # run tag: epoch seconds; files modified after it are left


def is_temporary(path: Path) -> bool:
    """An upload's temporary name (`*.part`, `*.filepart`, `*.tmp`, a name starting with `.`)."""
    return path.name.startswith(".") or path.name.lower().endswith(TEMPORARY_SUFFIXES)


def split_settled(paths: list[Path], settled_before: float | None) -> tuple[list[Path], list[Path]]:
    """The files modified at or before the cutoff, and those modified after it (left for a later run)."""
    if settled_before is None:
        return list(paths), []
    settled, unsettled = [], []
    for path in paths:
        (settled if path.stat().st_mtime <= settled_before else unsettled).append(path)
    return settled, unsettled


CLOSED_STATUSES = ("resolved", "closed")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # id | ts | date | count | enum | text | pii
    required: bool = True  # an empty value rejects the row
    values: tuple[str, ...] = ()  # allowed values of an enum
    hashed: bool = False  # stored as a keyed hash (HMAC), never in clear
    stored: bool = True  # free text that may hold personal data is read, not kept

    @property
    def column(self) -> str:
        """The column name in the warehouse (hashed fields say so)."""
        return f"{self.name}_hmac" if self.hashed else self.name


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # events | counts | snapshot
    fmt: str  # csv | jsonl
    pattern: str  # glob under the landing root
    name_regex: str  # file name -> the file's date (export date, month or snapshot date)
    fields: tuple[Field, ...]
    id_field: str | None = None
    time_field: str | None = None  # the timestamp that places a record in its month
    channel: str | None = None  # the channel it feeds in marts.fct_channel_monthly
    # Rules across fields: (SQL over the typed columns, true when broken; reason).
    rules: tuple[tuple[str, str], ...] = ()

    def field(self, name: str | None) -> Field:
        """The field called `name` (a role such as `id_field` that the source lacks is an error)."""
        return next(f for f in self.fields if f.name == name)

    @property
    def required_columns(self) -> tuple[str, ...]:
        """Columns a CSV header must have; JSON Lines records may omit optional keys."""
        return tuple(f.name for f in self.fields)

    def file_date(self, path: Path) -> date | None:
        """The date in a file's name, or None when the name is not the contract's."""
        match = re.fullmatch(self.name_regex, path.name)
        if not match:
            return None
        year, month, day = (int(g) if g else 1 for g in match.groups(default=None))
        try:
            return date(year, month, day)
        except ValueError:
            return None

    def files(self, landing_dir: Path) -> list[Path]:
        return sorted(p for p in landing_dir.glob(self.pattern) if not is_temporary(p))


CALLS = Source(
    name="calls",
    kind="events",
    fmt="csv",
    pattern="calls/*/*/calls_*.csv",
    name_regex=r"calls_(\d{4})-(\d{2})-(\d{2})\.csv",
    id_field="call_id",
    time_field="offered_at",
    channel="calls",
    rules=(
        ("ended_at < offered_at", "ended_at before offered_at"),
        ("answered_at < offered_at", "answered_at before offered_at"),
        ("disposition = 'abandoned' AND answered_at IS NOT NULL", "abandoned call has answered_at"),
    ),
    fields=(
        Field("call_id", "id"),
        Field("offered_at", "ts"),
        Field("answered_at", "ts", required=False),
        Field("ended_at", "ts", required=False),
        Field("queue", "text", required=False),
        Field("disposition", "enum", values=("answered", "abandoned")),
        Field("caller_number", "pii", required=False, hashed=True),
    ),
)

EMAIL = Source(
    name="email",
    kind="events",
    fmt="jsonl",
    pattern="email/*/*/email_*.jsonl",
    name_regex=r"email_(\d{4})-(\d{2})-(\d{2})\.jsonl",
    id_field="message_id",
    time_field="received_at",
    channel="email",
    fields=(
        # Message-IDs look like e-mail addresses (RFC 5322), so they are stored keyed-hashed.
        Field("message_id", "id", hashed=True),
        Field("received_at", "ts"),
        Field("mailbox", "text", required=False),
        Field("sender", "pii", required=False, hashed=True),
        Field("subject", "text", required=False, stored=False),  # free text: never stored
        Field("language", "text", required=False),
    ),
)

CHAT = Source(
    name="chat",
    kind="events",
    fmt="jsonl",
    pattern="chat/*/*/chat_*.jsonl",
    name_regex=r"chat_(\d{4})-(\d{2})-(\d{2})\.jsonl",
    id_field="session_id",
    time_field="started_at",
    channel="chat",
    rules=(("ended_at < started_at", "ended_at before started_at"),),
    fields=(
        Field("session_id", "id"),
        Field("started_at", "ts"),
        Field("ended_at", "ts", required=False),
        Field("entry_point", "enum", required=False, values=("web", "app")),
        Field("visitor_id", "pii", required=False, hashed=True),
        Field("agent_id", "text", required=False),
        Field("rating", "enum", required=False, values=("1", "2", "3", "4", "5")),
    ),
)


def _counts(name: str, categories: tuple[str, ...] = ()) -> Source:
    # The contract fixes X's categories only; SMS service codes and self-service
    # transaction types are open sets (any non-empty code counts).
    return Source(
        name=name,
        kind="counts",
        fmt="csv",
        pattern=f"{name}/{name}_*.csv",
        name_regex=rf"{name}_(\d{{4}})-(\d{{2}})()\.csv",
        time_field="date",
        channel=name,
        fields=(
            Field("date", "date"),
            Field("category", "enum" if categories else "text", values=categories),
            Field("count", "count"),
        ),
    )


X = _counts("x", ("mention", "reply", "direct_message"))
SMS = _counts("sms")
SELF_SERVICE = _counts("self_service")

CRM = Source(
    name="crm",
    kind="snapshot",
    fmt="csv",
    pattern="crm/tickets_*.csv",
    name_regex=r"tickets_(\d{4})-(\d{2})-(\d{2})\.csv",
    id_field="ticket_id",
    time_field="created_at",
    rules=(
        (f"status IN {CLOSED_STATUSES} AND closed_at IS NULL", "closed ticket without closed_at"),
        (f"status IN {OPEN_STATUSES} AND closed_at IS NOT NULL", "open ticket with closed_at"),
        ("closed_at < created_at", "closed_at before created_at"),
    ),
    fields=(
        Field("ticket_id", "id"),
        Field("created_at", "ts"),
        Field("channel", "text", required=False),
        Field("category", "text", required=False),
        Field("status", "enum", values=OPEN_STATUSES + CLOSED_STATUSES),
        Field("closed_at", "ts", required=False),
        Field("beneficiary_id", "pii", required=False, hashed=True),
    ),
)

EVENT_SOURCES = (CALLS, EMAIL, CHAT)
COUNT_SOURCES = (X, SMS, SELF_SERVICE)
SOURCES = {s.name: s for s in (*EVENT_SOURCES, *COUNT_SOURCES, CRM)}
CHANNELS = tuple(
    str(s.channel) for s in (*EVENT_SOURCES, *COUNT_SOURCES)
)  # the one channel list, in the report's order
CHANNEL_NAMES = {  # channel: (Arabic name as in the seed report, English name); published as marts.dim_channel
    "calls": ("الاتصال (المكالمات)", "Calls"),
    "email": ("الاتصال (البريد الإلكتروني)", "E-mail"),
    "chat": ("الاتصال (المحادثة المباشرة)", "Live chat"),
    "x": ("منصة X", "X (Twitter)"),
    "sms": ("رسائل SMS", "SMS"),
    "self_service": ("الخدمة الذاتية", "Self-service"),
}
assert tuple(CHANNEL_NAMES) == CHANNELS, "every channel has its names, in the same order"
CHANNEL_LIST_SQL = ", ".join(sql_quote(c) for c in CHANNELS)  # for PIVOT ... ON channel IN (...)


def month_start(day: date) -> date:
    return day.replace(day=1)


def next_month(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1)


def files_for_month(source: Source, landing_dir: Path, month: date, lag_days: int) -> list[Path]:
    """The files that may hold records of `month`.

    Event files are named by export date and may hold the day before's records,
    so a month reads the files exported from `lag_days` before it to `lag_days`
    after its end. Count files are monthly; a month also reads its neighbours'
    files, since a row belongs to the month of its own date. Snapshots: all.
    Files whose name is not the contract's are returned too (the reader reports
    them) when they sit in the source's folder.
    """
    end = next_month(month)
    if source.kind == "events":
        lo, hi = month - timedelta(days=lag_days), end + timedelta(days=lag_days)
    elif source.kind == "counts":
        lo, hi = month_start(month - timedelta(days=1)), end
    else:
        return source.files(landing_dir)
    chosen = []
    for path in source.files(landing_dir):
        day = source.file_date(path)
        if day is None or lo <= day <= hi:
            chosen.append(path)
    return chosen


# ---------------------------------------------------------------- the raw tables' DDL

SQL_TYPES = {"id": "VARCHAR", "ts": "TIMESTAMPTZ", "date": "DATE", "count": "BIGINT"}


def stored_fields(source: Source) -> list[Field]:
    return [f for f in source.fields if f.stored]


def raw_table_ddl(source: Source) -> str:
    cols = ", ".join(f"{f.column} {SQL_TYPES.get(f.kind, 'VARCHAR')}" for f in stored_fields(source))
    return f"CREATE TABLE IF NOT EXISTS raw.{source.name} (file VARCHAR, file_date DATE, line_no INTEGER, {cols})"
