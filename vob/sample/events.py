"""Event logs: calls (CSV), e-mail and chat (JSON Lines), one file per export day.

Each source is generated a month at a time: exactly the published number of
distinct records whose own timestamp falls in the Riyadh month, then spread
over daily files by export date. Late-evening records may land in the next
day's file (also across month ends), a few records are written to two
consecutive files, and one calls file in March is delivered twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from . import clock, people, vocab

DUPLICATE_SHARE = 0.003  # records written identically to two consecutive daily files
TIME = "_t"  # Riyadh seconds of the record's own timestamp (internal)
EXPORT = "_export"  # local day number of the file the row is written to (internal)
BOUNDARY = "_boundary"  # a deliberate month-edge record (internal)

CALLS_EXTRA_COLUMN = "wrap_up_code"
CALLS_EXTRA_COLUMN_FROM = date(2025, 4, 1)  # export date from which calls files carry it
CALLS_COLUMN_ORDER = (  # not the contract's order, on purpose
    "offered_at",
    "call_id",
    "queue",
    "caller_number",
    "disposition",
    "answered_at",
    "ended_at",
)
CALLS_REDELIVERED_DAY = date(2025, 3, 18)
CALLS_FIRST_DELIVERY_SHARE = 0.6  # the first delivery was cut off after 60 % of its rows


@dataclass(frozen=True)
class BoundaryRecord:
    """A record placed deliberately at the edge of a Riyadh month."""

    source: str
    record_id: str
    timestamp: str  # as written in the file
    riyadh_month: str  # YYYY-MM, the month it counts in
    utc_month: str  # YYYY-MM, where a naive UTC date_trunc would put it
    file: str  # path relative to the landing root


@dataclass(frozen=True)
class Redelivery:
    file: str  # relative path
    first_rows: int  # rows in the first (truncated) delivery
    final_rows: int  # rows in the corrected delivery, the one on disk


@dataclass
class EventReport:
    """What was written for one event source."""

    source: str
    files: int = 0
    rows: int = 0  # data rows written over all files (duplicates included)
    records: dict[str, int] = field(default_factory=dict)  # month -> distinct ids
    repeated_ids: list[str] = field(default_factory=list)  # ids written to two files
    next_day_rows: int = 0  # late records written to the next day's file
    next_month_rows: int = 0  # ... of which into the first file of the next month
    boundary_records: list[BoundaryRecord] = field(default_factory=list)
    redelivery: Redelivery | None = None


@dataclass(frozen=True)
class EventSource:
    name: str
    id_column: str
    time_column: str
    extension: str  # csv | jsonl
    stream: int  # seed stream of the source
    profile: clock.Profile
    # (rng, sorted Riyadh seconds, first sequence number) -> records, contract columns + TIME
    build: Callable[[np.random.Generator, np.ndarray, int], pl.DataFrame]
    columns: Callable[[date], tuple[str, ...]]  # columns written, in order, for an export day
    local_time: bool  # timestamps written with +03:00 (else UTC Z)
    redelivered_day: date | None = None

    def relative_path(self, day: date) -> str:
        return f"{self.name}/{day:%Y}/{day:%m}/{self.name}_{day:%Y-%m-%d}.{self.extension}"

    def write_file(self, path: Path, rows: pl.DataFrame, day: date) -> None:
        rows = rows.select(self.columns(day))
        if self.extension == "csv":
            rows.write_csv(path)
        else:
            rows.write_ndjson(path)


def _pick(rng: np.random.Generator, values: tuple, weights: tuple, n: int) -> pl.Series:
    p = np.asarray(weights, dtype=float)
    return pl.Series(values).gather(rng.choice(len(values), n, p=p / p.sum()))


def _sequence_ids(prefix: str, first: int, n: int, width: int = 8) -> pl.Series:
    numbers = pl.Series(np.arange(first, first + n, dtype=np.int64)).cast(pl.String).str.zfill(width)
    return pl.select(pl.concat_str(pl.lit(prefix), numbers)).to_series()


# --- calls ---------------------------------------------------------------


def _month_numbers(t: np.ndarray) -> np.ndarray:
    """The Riyadh month (1..12) of each time."""
    return (t // clock.DAY_S).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _hour_load(t: np.ndarray) -> np.ndarray:
    """For each call, how busy its hour was: calls offered in the same local hour over the month's
    average per busy hour (1 = a typical office hour)."""
    _, inverse, counts = np.unique(t // clock.HOUR_S, return_inverse=True, return_counts=True)
    load = counts[inverse].astype(float)
    return load / max(float(np.average(load)), 1.0)


def call_timings(rng: np.random.Generator, t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(abandoned, wait s, talk s) of calls offered at Riyadh seconds `t` (sorted).

    A call waits longer, and is more often abandoned, when its hour is busy and when the month is short of staff
    (vocab.CALL_STAFFING); talk time follows the month's case mix (vocab.HANDLE_FACTOR).
    So the month's waits and handle times differ from month to month, as a contact
    centre's do. The draws are the same in number and order whatever the month.
    """
    n = len(t)
    month = _month_numbers(t)
    queueing = np.clip(_hour_load(t), 0.2, 3.0) ** 0.8 / np.asarray(vocab.CALL_STAFFING)[month - 1]
    abandoned = rng.random(n) < np.clip(0.095 * queueing**0.7, 0.02, 0.35)  # a long queue loses callers
    gave_up_after = 2 + rng.exponential(55, n) * np.sqrt(queueing)
    answered_after = 3 + rng.exponential(40, n) * queueing
    wait = np.where(abandoned, gave_up_after, answered_after).astype(np.int64).clip(max=1200)
    handle = np.asarray(vocab.HANDLE_FACTOR)[month - 1]
    talk = np.maximum(15, rng.lognormal(np.log(200), 0.7, n) * handle).astype(np.int64)
    return abandoned, wait, talk


def build_calls(rng: np.random.Generator, t: np.ndarray, first: int) -> pl.DataFrame:
    n = len(t)
    abandoned, wait, talk = call_timings(rng, t)
    answered = t + wait
    ended = np.where(abandoned, answered, answered + talk)
    frame = pl.DataFrame(
        {
            "call_id": _sequence_ids("CL25", first, n),
            TIME: t,
            "_answered": answered,
            "_ended": ended,
            "_abandoned": abandoned,
            "queue": _pick(rng, vocab.CALL_QUEUES, vocab.CALL_QUEUE_WEIGHTS, n),
            "caller_number": people.mobile_numbers(rng, n),
            "_wrap": _pick(rng, vocab.WRAP_UP_CODES, vocab.WRAP_UP_WEIGHTS, n),
        }
    )
    return frame.select(
        "call_id",
        clock.local_iso(TIME).alias("offered_at"),
        pl.when(~pl.col("_abandoned")).then(clock.local_iso("_answered")).alias("answered_at"),
        clock.local_iso("_ended").alias("ended_at"),
        "queue",
        pl.when(pl.col("_abandoned")).then(pl.lit("abandoned")).otherwise(pl.lit("answered")).alias("disposition"),
        "caller_number",
        pl.when(~pl.col("_abandoned")).then(pl.col("_wrap")).alias(CALLS_EXTRA_COLUMN),
        TIME,
    )


def calls_columns(day: date) -> tuple[str, ...]:
    if day >= CALLS_EXTRA_COLUMN_FROM:
        return (*CALLS_COLUMN_ORDER, CALLS_EXTRA_COLUMN)
    return CALLS_COLUMN_ORDER


# --- email ---------------------------------------------------------------


def _subjects(rng: np.random.Generator, arabic: np.ndarray) -> pl.Series:
    n = len(arabic)
    ar = pl.Series(vocab.SUBJECTS_AR).gather(rng.integers(0, len(vocab.SUBJECTS_AR), n))
    en = pl.Series(vocab.SUBJECTS_EN).gather(rng.integers(0, len(vocab.SUBJECTS_EN), n))
    reply = rng.random(n) < vocab.REPLY_SHARE
    prefix_pick = rng.integers(0, 2, n)
    reference = rng.random(n) < vocab.REFERENCE_SHARE
    number = pl.Series(rng.integers(1_000_000, 9_999_999, n)).cast(pl.String)
    frame = pl.DataFrame(
        {
            "arabic": arabic,
            "ar": ar,
            "en": en,
            "reply": reply,
            "prefix_ar": pl.Series(vocab.REPLY_PREFIX_AR).gather(prefix_pick),
            "prefix_en": pl.Series(vocab.REPLY_PREFIX_EN).gather(prefix_pick),
            "reference": reference,
            "number": number,
        }
    )
    arabic_col = pl.col("arabic")
    return frame.select(
        pl.concat_str(
            pl.when(pl.col("reply"))
            .then(pl.when(arabic_col).then(pl.col("prefix_ar")).otherwise(pl.col("prefix_en")))
            .otherwise(pl.lit("")),
            pl.when(arabic_col).then(pl.col("ar")).otherwise(pl.col("en")),
            pl.when(pl.col("reference"))
            .then(
                pl.concat_str(
                    pl.when(arabic_col).then(pl.lit(vocab.REFERENCE_AR)).otherwise(pl.lit(vocab.REFERENCE_EN)),
                    pl.col("number"),
                )
            )
            .otherwise(pl.lit("")),
        ).alias("subject")
    ).to_series()


def build_email(rng: np.random.Generator, t: np.ndarray, first: int) -> pl.DataFrame:
    n = len(t)
    arabic = rng.random(n) < vocab.ARABIC_MAIL_SHARE
    frame = pl.DataFrame(
        {
            TIME: t,
            "_token": people.scrambled_hex(np.arange(first, first + n), salt=0x5EED_E4A1),
            "mailbox": _pick(rng, vocab.MAILBOXES, vocab.MAILBOX_WEIGHTS, n),
            "sender": people.email_senders(rng, n),
            "subject": _subjects(rng, arabic),
            "language": pl.Series(np.where(arabic, "ar", "en")),
        }
    )
    stamp = pl.from_epoch(pl.col(TIME) - clock.RIYADH_OFFSET_S, time_unit="s").dt.strftime("%Y%m%d%H%M%S")
    return frame.select(
        pl.concat_str(pl.lit("<"), stamp, pl.lit("."), pl.col("_token"), pl.lit("@" + vocab.MAIL_DOMAIN + ">")).alias(
            "message_id"
        ),
        clock.utc_iso(TIME).alias("received_at"),
        "mailbox",
        "sender",
        "subject",
        "language",
        TIME,
    )


# --- chat ----------------------------------------------------------------


def build_chat(rng: np.random.Generator, t: np.ndarray, first: int) -> pl.DataFrame:
    n = len(t)
    handle = np.asarray(vocab.HANDLE_FACTOR)[_month_numbers(t) - 1]  # the month's case mix
    duration = np.maximum(30, rng.lognormal(np.log(420), 0.6, n) * handle).astype(np.int64)
    visitors = max(100, int(n * 0.7))
    visitor = (rng.random(n) ** 1.5 * visitors).astype(np.int64) + first  # some come back
    agent = rng.integers(1, vocab.CHAT_AGENTS + 1, n)
    assigned = rng.random(n) >= vocab.CHAT_UNASSIGNED_SHARE
    rated = assigned & (rng.random(n) < vocab.CHAT_RATED_SHARE)
    p = np.asarray(vocab.CHAT_RATING_WEIGHTS)
    rating = rng.choice(np.arange(1, 6), n, p=p / p.sum())
    frame = pl.DataFrame(
        {
            TIME: t,
            "_ended": t + duration,
            "_session": people.scrambled_hex(np.arange(first, first + n), salt=0xC4A7),
            "entry_point": pl.Series(np.where(rng.random(n) < vocab.CHAT_APP_SHARE, "app", "web")),
            "_visitor": people.scrambled_hex(visitor, salt=0x715170),
            "_agent": pl.Series(agent).cast(pl.String).str.zfill(3),
            "_assigned": assigned,
            "_rating": rating,
            "_rated": rated,
        }
    )
    return frame.select(
        pl.concat_str(pl.lit("CHT-"), pl.col("_session").str.to_uppercase()).alias("session_id"),
        clock.utc_iso(TIME).alias("started_at"),
        clock.utc_iso("_ended").alias("ended_at"),
        "entry_point",
        pl.concat_str(pl.lit("v-"), pl.col("_visitor").str.slice(0, 12)).alias("visitor_id"),
        pl.when(pl.col("_assigned")).then(pl.concat_str(pl.lit("AG"), pl.col("_agent"))).alias("agent_id"),
        pl.when(pl.col("_rated")).then(pl.col("_rating")).alias("rating"),
        TIME,
    )


CALLS = EventSource(
    name="calls",
    id_column="call_id",
    time_column="offered_at",
    extension="csv",
    stream=1,
    profile=clock.CALLS_PROFILE,
    build=build_calls,
    columns=calls_columns,
    local_time=True,
    redelivered_day=CALLS_REDELIVERED_DAY,
)
EMAIL = EventSource(
    name="email",
    id_column="message_id",
    time_column="received_at",
    extension="jsonl",
    stream=2,
    profile=clock.EMAIL_PROFILE,
    build=build_email,
    columns=lambda day: ("message_id", "received_at", "mailbox", "sender", "subject", "language"),
    local_time=False,
)
CHAT = EventSource(
    name="chat",
    id_column="session_id",
    time_column="started_at",
    extension="jsonl",
    stream=3,
    profile=clock.CHAT_PROFILE,
    build=build_chat,
    columns=lambda day: (
        "session_id",
        "started_at",
        "ended_at",
        "entry_point",
        "visitor_id",
        "agent_id",
        "rating",
    ),
    local_time=False,
)
EVENT_SOURCES = (CALLS, EMAIL, CHAT)


# --- writing ---------------------------------------------------------------


def _month_label(riyadh_s: int) -> str:
    return f"{clock.day_of(riyadh_s // clock.DAY_S):%Y-%m}"


def _boundary_records(source: EventSource, rows: pl.DataFrame) -> list[BoundaryRecord]:
    out = []
    for record in rows.filter(pl.col(BOUNDARY)).iter_rows(named=True):  # 8 per month
        t = record[TIME]
        out.append(
            BoundaryRecord(
                source=source.name,
                record_id=record[source.id_column],
                timestamp=record[source.time_column],
                riyadh_month=_month_label(t),
                utc_month=_month_label(t - clock.RIYADH_OFFSET_S),
                file=source.relative_path(clock.day_of(record[EXPORT])),
            )
        )
    return out


def _with_duplicates(
    rng: np.random.Generator, rows: pl.DataFrame, last_export_day: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Copy a few rows into the next day's file (the day before for the last file)."""
    k = int(round(DUPLICATE_SHARE * rows.height))
    chosen = np.sort(rng.choice(rows.height, k, replace=False)) if k else np.empty(0, np.int64)
    copies = rows[chosen]
    copies = copies.with_columns(
        pl.when(pl.col(EXPORT) < last_export_day).then(pl.col(EXPORT) + 1).otherwise(pl.col(EXPORT) - 1).alias(EXPORT)
    )
    return pl.concat([rows, copies]), copies


def write_event_source(
    source: EventSource,
    out: Path,
    months: list[tuple[int, int, int]],  # (year, month, records)
    seed: int,
) -> EventReport:
    """Write all daily files of one source for the given months (consecutive)."""
    report = EventReport(source=source.name)
    last_export_day = clock.month_bounds(*months[-1][:2])[1]  # the day after the period
    carry = None  # rows already generated, for files of a later month
    sequence = 1
    for year, month, n in months:
        rng = np.random.default_rng([seed, source.stream, year, month])
        first_day, end_day = clock.month_bounds(year, month)
        times = clock.month_times(rng, year, month, n, source.profile)
        rows = source.build(rng, times.riyadh_s, sequence).with_columns(pl.Series(BOUNDARY, times.boundary))
        sequence += n
        cutoffs = clock.export_cutoffs(rng, first_day, end_day)
        rows = rows.with_columns(pl.Series(EXPORT, clock.export_days(times.riyadh_s, first_day, cutoffs)))
        report.records[f"{year:04d}-{month:02d}"] = n
        late = rows.filter(pl.col(EXPORT) > pl.col(TIME) // clock.DAY_S)
        report.next_day_rows += late.height
        report.next_month_rows += late.filter(pl.col(EXPORT) >= end_day).height
        report.boundary_records += _boundary_records(source, rows)
        rows, copies = _with_duplicates(rng, rows, last_export_day)
        report.repeated_ids += copies.get_column(source.id_column).to_list()
        if carry is not None:
            rows = pl.concat([carry, rows])
        rows = rows.sort(EXPORT, TIME, source.id_column)
        is_last = (year, month) == months[-1][:2]
        due = rows if is_last else rows.filter(pl.col(EXPORT) < end_day)
        carry = None if is_last else rows.filter(pl.col(EXPORT) >= end_day)
        _write_days(source, out, due, report)
    return report


def _write_days(source: EventSource, out: Path, rows: pl.DataFrame, report: EventReport) -> None:
    export = rows.get_column(EXPORT).to_numpy()
    starts = np.flatnonzero(np.r_[True, export[1:] != export[:-1]])
    ends = np.r_[starts[1:], len(export)]
    for start, end in zip(starts, ends, strict=True):  # one iteration per daily file
        day = clock.day_of(export[start])
        relative = source.relative_path(day)
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        part = rows.slice(int(start), int(end - start))
        if day == source.redelivered_day:
            first = part.head(int(part.height * CALLS_FIRST_DELIVERY_SHARE))
            source.write_file(path, first, day)  # the first, truncated delivery ...
            report.redelivery = Redelivery(relative, first.height, part.height)
        source.write_file(path, part, day)  # ... replaced by the corrected one
        report.files += 1
        report.rows += part.height
