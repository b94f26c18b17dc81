"""When contacts happen: Riyadh calendar, daily and hourly profiles, export dates.

Times are int64 "Riyadh seconds": seconds since 1970-01-01 00:00 on the Riyadh
wall clock (UTC+3, no DST). `riyadh - RIYADH_OFFSET_S` is the Unix epoch, and
`riyadh // DAY_S` the local day number. Keeping one integer clock makes the
month windows exact and the generation vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import polars as pl

DAY_S = 86_400
HOUR_S = 3_600
RIYADH_OFFSET_S = 3 * HOUR_S
EPOCH = date(1970, 1, 1)

# Saudi week: Friday and Saturday are the weekend (Python: Mon=0 ... Sun=6).
WEEKDAY_FACTOR = {0: 1.0, 1: 1.0, 2: 1.0, 3: 0.95, 4: 0.35, 5: 0.55, 6: 1.05}

# Ramadan 1446 and the two Eid holidays (government offices closed).
RAMADAN = (date(2025, 3, 1), date(2025, 3, 29))
HOLIDAYS = (
    (date(2025, 3, 30), date(2025, 4, 3)),  # Eid al-Fitr
    (date(2025, 6, 5), date(2025, 6, 9)),  # Arafat day and Eid al-Adha
    (date(2025, 2, 22), date(2025, 2, 22)),  # Founding Day
)
HOLIDAY_FACTOR = 0.45

# Share of the day's contacts per local hour 00..23 (relative weights).
HOURS_WORKDAY = np.array(
    [1.0, 0.6, 0.35, 0.25, 0.25, 0.4, 0.9, 2.4, 5.5, 8.5, 9.5, 9.5,
     8.0, 8.3, 7.8, 5.8, 4.4, 3.9, 3.8, 3.9, 3.7, 3.2, 2.5, 1.7]
)  # fmt: skip
HOURS_WEEKEND = np.array(
    [1.6, 1.0, 0.6, 0.4, 0.3, 0.3, 0.5, 0.9, 1.6, 2.6, 3.3, 3.6,
     3.5, 3.4, 3.3, 3.2, 3.3, 3.5, 3.6, 3.7, 3.6, 3.3, 2.8, 2.2]
)  # fmt: skip
HOURS_RAMADAN = np.array(
    [2.8, 2.0, 1.0, 0.5, 0.3, 0.2, 0.2, 0.4, 1.0, 3.0, 6.0, 8.0,
     8.5, 8.0, 7.0, 5.0, 3.0, 2.0, 1.5, 2.5, 4.5, 5.5, 5.0, 3.8]
)  # fmt: skip

# Daily exports start between 23:30 and 23:55 local; what arrives after the
# cut-off is written to the next day's file.
EXPORT_CUTOFF_EARLIEST_S = 23 * HOUR_S + 30 * 60
EXPORT_CUTOFF_SPREAD_S = 25 * 60


@dataclass(frozen=True)
class Profile:
    """How a source's contacts spread over the day."""

    flatten: float = 0.0  # 0 = the office-hours shape, 1 = flat over 24 h
    evening_boost: float = 0.0  # extra weight on 19:00-23:59


CALLS_PROFILE = Profile()
EMAIL_PROFILE = Profile(flatten=0.45)
CHAT_PROFILE = Profile(flatten=0.2, evening_boost=0.6)
TICKETS_PROFILE = Profile(flatten=0.1)


def day_number(day: date) -> int:
    return (day - EPOCH).days


def day_of(number: int) -> date:
    return EPOCH + timedelta(days=int(number))


def month_bounds(year: int, month: int) -> tuple[int, int]:
    """Local day numbers [first, end) of a calendar month."""
    first = date(year, month, 1)
    end = date(year + month // 12, month % 12 + 1, 1)
    return day_number(first), day_number(end)


def _in(day: date, span: tuple[date, date]) -> bool:
    return span[0] <= day <= span[1]


def day_weights(days: np.ndarray) -> np.ndarray:
    """Relative volume of each local day: week-end and holidays are quieter."""
    weights = np.empty(len(days))
    for i, number in enumerate(days):  # one per day, not per record
        day = day_of(number)
        factor = WEEKDAY_FACTOR[day.weekday()]
        if any(_in(day, span) for span in HOLIDAYS):
            factor *= HOLIDAY_FACTOR
        elif _in(day, RAMADAN):
            factor *= 0.9
        weights[i] = factor
    return weights


def hour_weights(days: np.ndarray, profile: Profile) -> np.ndarray:
    """(days, 24) relative weights of each local hour of each day."""
    rows = []
    for number in days:
        day = day_of(number)
        if _in(day, RAMADAN):
            shape = HOURS_RAMADAN
        elif WEEKDAY_FACTOR[day.weekday()] < 0.9 or any(_in(day, s) for s in HOLIDAYS):
            shape = HOURS_WEEKEND
        else:
            shape = HOURS_WORKDAY
        shape = shape / shape.sum()
        shape = (1 - profile.flatten) * shape + profile.flatten / 24
        boost = np.zeros(24)
        boost[19:24] = profile.evening_boost / 24
        rows.append(shape + boost)
    return np.vstack(rows)


@dataclass(frozen=True)
class MonthTimes:
    """The timestamps of one source's records in one month, sorted."""

    riyadh_s: np.ndarray  # int64 Riyadh seconds
    boundary: np.ndarray  # bool: a deliberate month-boundary record


def boundary_offsets(rng: np.random.Generator, first_day: int, end_day: int) -> np.ndarray:
    """Records at the edges of a Riyadh month, where a UTC reader goes wrong.

    First second and first minute/hour of the month (UTC: still the month
    before), the last second and last minute/hour (UTC and Riyadh agree, but
    they are written to next month's first daily file), and the two seconds
    around midnight UTC on the 1st (03:00 local).
    """
    start, end = first_day * DAY_S, end_day * DAY_S
    return np.array(
        [
            start,  # 00:00:00 on the 1st
            start + rng.integers(1, 60),  # first minute
            start + rng.integers(60, HOUR_S),  # first hour
            start + 3 * HOUR_S - 1,  # 02:59:59 local = 23:59:59Z the day before
            start + 3 * HOUR_S,  # 03:00:00 local = 00:00:00Z
            end - 1,  # 23:59:59 on the last day
            end - rng.integers(2, 60),  # last minute
            end - rng.integers(60, HOUR_S),  # last hour
        ],
        dtype=np.int64,
    )


def month_times(rng: np.random.Generator, year: int, month: int, n: int, profile: Profile) -> MonthTimes:
    """Exactly `n` timestamps inside the Riyadh month (year, month).

    Every day gets one record after midnight (00:00-00:59) and one late in the
    evening (23:00-23:59); the month gets its boundary records; the rest follow
    the day and hour profile (multinomial over day x hour, uniform second).
    """
    first, end = month_bounds(year, month)
    days = np.arange(first, end, dtype=np.int64)
    edges = boundary_offsets(rng, first, end)
    after_midnight = days * DAY_S + rng.integers(0, HOUR_S, len(days))
    late_evening = days * DAY_S + 23 * HOUR_S + rng.integers(0, HOUR_S - 1, len(days))
    fixed = np.concatenate([edges, after_midnight, late_evening])[:n]
    is_edge = np.zeros(len(fixed), dtype=bool)
    is_edge[: min(len(edges), n)] = True

    cells = day_weights(days)[:, None] * hour_weights(days, profile)
    counts = rng.multinomial(n - len(fixed), (cells / cells.sum()).ravel())
    cell_start = (days[:, None] * DAY_S + np.arange(24) * HOUR_S).ravel()
    bulk = np.repeat(cell_start, counts) + rng.integers(0, HOUR_S, counts.sum())

    times = np.concatenate([fixed, bulk])
    boundary = np.concatenate([is_edge, np.zeros(len(bulk), dtype=bool)])
    order = np.argsort(times, kind="stable")
    return MonthTimes(times[order], boundary[order])


def export_cutoffs(rng: np.random.Generator, first_day: int, end_day: int) -> np.ndarray:
    """Time of day (seconds) each day's export ran, one per day of [first, end)."""
    return EXPORT_CUTOFF_EARLIEST_S + rng.integers(0, EXPORT_CUTOFF_SPREAD_S, end_day - first_day)


def export_days(riyadh_s: np.ndarray, first_day: int, cutoffs: np.ndarray) -> np.ndarray:
    """The daily file (local day number) a record lands in: its own day, or the
    next one when it arrived after that day's export had run."""
    day = riyadh_s // DAY_S
    late = (riyadh_s % DAY_S) >= cutoffs[day - first_day]
    return day + late


def local_iso(column: str) -> pl.Expr:
    """Riyadh seconds -> '2025-01-31T23:59:30+03:00'."""
    return pl.from_epoch(pl.col(column), time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%S+03:00")


def utc_iso(column: str) -> pl.Expr:
    """Riyadh seconds -> '2025-01-31T20:59:30Z'."""
    return pl.from_epoch(pl.col(column) - RIYADH_OFFSET_S, time_unit="s").dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def scaled(value: int, scale: float) -> int:
    """A published volume times `scale`, rounded half up (exact at scale 1)."""
    return int(np.floor(value * scale + 0.5))
